"""1D-CNN over SMILES tokens: embedding -> stacked Conv1d with pooling -> global max."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from chemchallenge.models.nets.mlp import MLP


class SmilesCNN(nn.Module):
    """Input: (batch, length) token ids padded with ``pad_idx``; output: (batch, out_dim).

    Every conv block is Conv1d -> BatchNorm (``norm="batch"``) -> ReLU, followed (except
    the last) by a max-pool of width 2; padded positions are excluded from the global max.
    BatchNorm statistics include padded positions, so pair it with unbucketed batches.
    """

    def __init__(
        self,
        vocab_size: int,
        out_dim: int,
        pad_idx: int = 0,
        embed_dim: int = 32,
        channels: Sequence[int] = (64, 128),
        kernel_size: int = 5,
        dropout: float = 0.1,
        head_hidden: int = 64,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        if norm not in ("batch", "none"):
            raise ValueError(f"norm must be 'batch' or 'none', got {norm!r}")
        self.pad_idx = pad_idx
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        d = embed_dim
        for c in channels:
            self.convs.append(nn.Conv1d(d, c, kernel_size, padding=kernel_size // 2))
            self.norms.append(nn.BatchNorm1d(c) if norm == "batch" else nn.Identity())
            d = c
        self.dropout = nn.Dropout(dropout)
        self.head = MLP(d, out_dim, (head_hidden,), dropout=dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != self.pad_idx).unsqueeze(1).to(self.embed.weight.dtype)
        h = self.embed(tokens).transpose(1, 2)  # (B, E, L)
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = F.relu(norm(conv(h))) * mask
            if i < last:
                h = F.max_pool1d(h, 2, ceil_mode=True)
                mask = F.max_pool1d(mask, 2, ceil_mode=True)
        pooled = h.amax(dim=2)  # h >= 0 and padding is zeroed, so the max ignores it
        return self.head(self.dropout(pooled))
