"""Molecule graphs: feature sizes, paired directed edges, edge cases."""

from __future__ import annotations

import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from chemchallenge.features.graphs import (
    ATOM_FDIM,
    BOND_FDIM,
    atom_features,
    bond_features,
    reverse_edges,
    smiles_to_graph,
    smiles_to_graphs,
)


@pytest.mark.parametrize("smiles", ["CCO", "c1ccccc1O", "C/C=C/[C@H](N)C(=O)[O-]", "C1CC1.[Na+]"])
def test_dims_and_edges(smiles: str) -> None:
    mol = Chem.MolFromSmiles(smiles)
    g = smiles_to_graph(smiles)
    assert g.x.shape == (mol.GetNumAtoms(), ATOM_FDIM)
    assert g.edge_index.shape == (2, 2 * mol.GetNumBonds())
    assert g.edge_attr.shape == (2 * mol.GetNumBonds(), BOND_FDIM)
    assert g.x.dtype == torch.float32 and g.edge_index.dtype == torch.long
    src, dst = g.edge_index
    rev = reverse_edges(g.num_edges)
    assert torch.equal(src[rev], dst) and torch.equal(dst[rev], src)
    assert torch.equal(g.edge_attr[rev], g.edge_attr)


def test_single_atom() -> None:
    g = smiles_to_graph("[Na+]")
    assert g.x.shape == (1, ATOM_FDIM)
    assert g.edge_index.shape == (2, 0) and g.edge_attr.shape == (0, BOND_FDIM)


def test_feature_values() -> None:
    mol = Chem.MolFromSmiles("c1ccccc1[N+](=O)[O-]")
    f = atom_features(mol.GetAtomWithIdx(0))
    assert len(f) == ATOM_FDIM and sum(f[:13]) == 1.0  # one element slot (12 + other)
    assert f[-3] == 1.0 and f[-2] == 1.0  # aromatic, in ring
    assert abs(f[-1] - 0.12011) < 1e-4  # mass / 100
    b = bond_features(mol.GetBondWithIdx(0))
    assert len(b) == BOND_FDIM and b[3] == 1.0  # aromatic bond
    exotic = atom_features(Chem.MolFromSmiles("[U]").GetAtomWithIdx(0))
    assert exotic[12] == 1.0  # "other" element slot


def test_batch_keeps_pairing_and_cache() -> None:
    graphs = smiles_to_graphs(["CCO", "C", "c1ccccc1"], cache=True)
    assert smiles_to_graphs(["CCO"], cache=True)[0] is graphs[0]
    batch = Batch.from_data_list(graphs)
    rev = reverse_edges(batch.num_edges)
    assert torch.equal(batch.edge_index[0][rev], batch.edge_index[1])


def test_unparsable() -> None:
    with pytest.raises(ValueError, match="C1CC"):
        smiles_to_graphs(["CCO", "C1CC"])
