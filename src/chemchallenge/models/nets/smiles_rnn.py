"""Recurrent net over SMILES tokens: embedding -> (bi)GRU/LSTM -> masked pooling -> head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from chemchallenge.models.nets.mlp import MLP

CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}
POOLS = ("max", "mean", "meanmax")


class SmilesRNN(nn.Module):
    """Input: (batch, length) token ids padded with ``pad_idx``; output: (batch, out_dim).

    ``pool`` reduces the per-token states over the real (unpadded) positions: ``max``,
    ``mean`` or ``meanmax`` (both, concatenated).
    """

    def __init__(
        self,
        vocab_size: int,
        out_dim: int,
        pad_idx: int = 0,
        embed_dim: int = 32,
        hidden: int = 64,
        layers: int = 1,
        cell: str = "gru",
        bidirectional: bool = True,
        dropout: float = 0.1,
        pool: str = "meanmax",
        head_hidden: int = 64,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        self.pad_idx = pad_idx
        self.pool = pool
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.rnn = CELLS[cell](
            embed_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        d = hidden * (2 if bidirectional else 1) * (2 if pool == "meanmax" else 1)
        self.dropout = nn.Dropout(dropout)
        self.head = MLP(d, out_dim, (head_hidden,), dropout=dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != self.pad_idx).sum(dim=1).clamp(min=1)
        packed = pack_padded_sequence(
            self.embed(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        mask = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]
        mask = mask.unsqueeze(-1)
        parts = []
        if self.pool in ("mean", "meanmax"):
            parts.append((out * mask).sum(dim=1) / lengths[:, None].to(out.dtype))
        if self.pool in ("max", "meanmax"):
            parts.append(out.masked_fill(~mask, torch.finfo(out.dtype).min).amax(dim=1))
        return self.head(self.dropout(torch.cat(parts, dim=1)))
