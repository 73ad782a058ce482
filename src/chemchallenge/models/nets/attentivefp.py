"""AttentiveFP (Xiong et al. 2019) from PyG, with an MLP head and optional descriptors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn.models import AttentiveFP

from chemchallenge.features.graphs import ATOM_FDIM, BOND_FDIM
from chemchallenge.models.nets.gnn import with_extra
from chemchallenge.models.nets.mlp import MLP


class AttentiveFPNet(nn.Module):
    """``AttentiveFP`` graph embedding (size ``hidden``) -> [|| extra] -> MLP head."""

    def __init__(
        self,
        out_dim: int,
        hidden: int = 64,
        layers: int = 2,
        timesteps: int = 2,
        dropout: float = 0.1,
        n_extra: int = 0,
        head_hidden: int = 64,
        atom_dim: int = ATOM_FDIM,
        bond_dim: int = BOND_FDIM,
    ) -> None:
        super().__init__()
        self.n_extra = n_extra
        self.encoder = AttentiveFP(
            in_channels=atom_dim,
            hidden_channels=hidden,
            out_channels=hidden,
            edge_dim=bond_dim,
            num_layers=layers,
            num_timesteps=timesteps,
            dropout=dropout,
        )
        self.head = MLP(hidden + n_extra, out_dim, (head_hidden,), dropout=dropout)

    def forward(self, data: Batch) -> torch.Tensor:
        g = self.encoder(data.x, data.edge_index, data.edge_attr, data.batch)
        return self.head(with_extra(F.relu(g), data, self.n_extra))
