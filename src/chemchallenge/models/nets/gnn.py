"""Graph convolution nets (GCN, GIN, GINE) with PyG layers and a global read-out.

Input: a PyG :class:`~torch_geometric.data.Batch` of molecule graphs
(``chemchallenge.features.graphs``) with an optional ``extra`` (num_graphs, n_extra)
tensor of descriptors that is concatenated to the pooled graph vector.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import (
    GCNConv,
    GINConv,
    GINEConv,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
)

from chemchallenge.features.graphs import ATOM_FDIM, BOND_FDIM
from chemchallenge.models.nets.mlp import MLP

POOLS = {"mean": global_mean_pool, "sum": global_add_pool, "max": global_max_pool}
CONVS = ("gcn", "gin", "gine")


def pool_nodes(h: torch.Tensor, batch: torch.Tensor, size: int, pool: str) -> torch.Tensor:
    """(num_nodes, d) node states -> (size, d) graph vectors."""
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {sorted(POOLS)}, got {pool!r}")
    return POOLS[pool](h, batch, size)


def with_extra(g: torch.Tensor, data: Batch, n_extra: int) -> torch.Tensor:
    """Concatenate ``data.extra`` to the graph vectors when the net was built for it."""
    if n_extra == 0:
        return g
    extra = getattr(data, "extra", None)
    if extra is None or extra.shape[-1] != n_extra:
        raise ValueError(f"this net needs data.extra with {n_extra} descriptor columns")
    return torch.cat([g, extra.to(g.dtype)], dim=1)


class GNN(nn.Module):
    """Atom embedding -> ``layers`` residual graph convolutions -> pooling -> MLP head.

    ``conv``: ``gcn`` (GCNConv, ignores bond features), ``gin`` (GINConv) or ``gine``
    (GINEConv, uses bond features).
    """

    def __init__(
        self,
        out_dim: int,
        conv: str = "gcn",
        hidden: int = 64,
        layers: int = 3,
        dropout: float = 0.1,
        pool: str = "mean",
        n_extra: int = 0,
        head_hidden: int = 64,
        atom_dim: int = ATOM_FDIM,
        bond_dim: int = BOND_FDIM,
    ) -> None:
        super().__init__()
        if conv not in CONVS:
            raise ValueError(f"conv must be one of {CONVS}, got {conv!r}")
        pool_nodes(torch.zeros(1, 1), torch.zeros(1, dtype=torch.long), 1, pool)  # validate
        self.conv_kind, self.pool, self.n_extra, self.dropout = conv, pool, n_extra, dropout
        self.embed = nn.Linear(atom_dim, hidden)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(layers):
            if conv == "gcn":
                layer: nn.Module = GCNConv(hidden, hidden)
            else:
                mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
                layer = (
                    GINConv(mlp, train_eps=True)
                    if conv == "gin"
                    else GINEConv(mlp, train_eps=True, edge_dim=bond_dim)
                )
            self.convs.append(layer)
            self.norms.append(nn.BatchNorm1d(hidden))
        self.head = MLP(hidden + n_extra, out_dim, (head_hidden,), dropout=dropout)

    def forward(self, data: Batch) -> torch.Tensor:
        h = self.embed(data.x)
        for conv, norm in zip(self.convs, self.norms):
            if self.conv_kind == "gine":
                z = conv(h, data.edge_index, data.edge_attr)
            else:
                z = conv(h, data.edge_index)
            z = F.relu(norm(z))
            h = h + F.dropout(z, self.dropout, self.training)
        g = pool_nodes(h, data.batch, data.num_graphs, self.pool)
        return self.head(with_extra(g, data, self.n_extra))
