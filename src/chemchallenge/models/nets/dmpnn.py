"""Directed message passing (chemprop's D-MPNN) with plain torch index operations.

Hidden states live on directed bonds. With ``rev`` the reverse of every edge (``e ^ 1``,
see :mod:`chemchallenge.features.graphs`)::

    h0_vw   = ReLU(W_i [x_v || e_vw])
    m_vw    = sum_{k in N(v) \\ w} h_kv  =  (sum of edges entering v) - h_wv
    h_vw    = ReLU(h0_vw + W_h m_vw)                       (depth - 1 times)
    h_v     = ReLU(W_o [x_v || sum_{k in N(v)} h_kv])      atom read-out
    g       = mean or sum over the atoms of a molecule  ->  MLP head
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch

from chemchallenge.features.graphs import ATOM_FDIM, BOND_FDIM, reverse_edges
from chemchallenge.models.nets.gnn import pool_nodes, with_extra
from chemchallenge.models.nets.mlp import MLP


class DMPNN(nn.Module):
    """D-MPNN encoder + feed-forward head; ``aggregation`` is ``mean``, ``sum`` or ``max``."""

    def __init__(
        self,
        out_dim: int,
        hidden: int = 128,
        depth: int = 3,
        dropout: float = 0.0,
        aggregation: str = "mean",
        n_extra: int = 0,
        head_hidden: int = 128,
        atom_dim: int = ATOM_FDIM,
        bond_dim: int = BOND_FDIM,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be >= 1")
        pool_nodes(torch.zeros(1, 1), torch.zeros(1, dtype=torch.long), 1, aggregation)
        self.depth, self.aggregation, self.n_extra = depth, aggregation, n_extra
        self.hidden = hidden
        self.W_i = nn.Linear(atom_dim + bond_dim, hidden, bias=False)
        self.W_h = nn.Linear(hidden, hidden, bias=False)
        self.W_o = nn.Linear(atom_dim + hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.head = MLP(hidden + n_extra, out_dim, (head_hidden,), dropout=dropout)

    def encode(self, data: Batch) -> torch.Tensor:
        """(num_graphs, hidden) molecule vectors."""
        x, edge_index = data.x, data.edge_index
        src, dst = edge_index[0], edge_index[1]
        n_atoms, n_edges = x.shape[0], edge_index.shape[1]
        rev = reverse_edges(n_edges, device=x.device)
        h0 = F.relu(self.W_i(torch.cat([x[src], data.edge_attr.to(x.dtype)], dim=1)))
        h = h0
        for _ in range(self.depth - 1):
            incoming = h.new_zeros(n_atoms, self.hidden).index_add_(0, dst, h)
            m = incoming[src] - h[rev]
            h = self.dropout(F.relu(h0 + self.W_h(m)))
        incoming = h.new_zeros(n_atoms, self.hidden).index_add_(0, dst, h)
        atoms = self.dropout(F.relu(self.W_o(torch.cat([x, incoming], dim=1))))
        return pool_nodes(atoms, data.batch, data.num_graphs, self.aggregation)

    def forward(self, data: Batch) -> torch.Tensor:
        return self.head(with_extra(self.encode(data), data, self.n_extra))
