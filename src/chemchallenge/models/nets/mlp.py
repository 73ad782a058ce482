"""Multi-layer perceptron: the tabular model and the prediction head of the other nets."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NORMS = ("batch", "layer", "none")


class MLP(nn.Module):
    """``in_dim -> hidden[0] -> ... -> out_dim`` with ReLU, optional norm and dropout.

    Parameters
    ----------
    norm
        ``"batch"`` (BatchNorm1d), ``"layer"`` (LayerNorm) or ``"none"`` after each
        hidden linear layer.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.1,
        norm: str = "none",
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers.append(nn.Linear(d, h))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(h))
            elif norm == "layer":
                layers.append(nn.LayerNorm(h))
            layers += [nn.ReLU(), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
