"""RDKit molecule -> PyG graph with atom and bond features (shared by the graph nets).

Every bond gives two directed edges stored next to each other (``2i``: u->v,
``2i + 1``: v->u), so the reverse of edge ``e`` is always ``e ^ 1``; the D-MPNN relies
on this, and it survives PyG batching because every graph has an even edge count.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from rdkit import Chem
from torch_geometric.data import Data

ELEMENTS = ["B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I"]
DEGREES = [0, 1, 2, 3, 4, 5]
FORMAL_CHARGES = [-2, -1, 0, 1, 2]
CHIRAL_TAGS = [
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
]
NUM_HS = [0, 1, 2, 3, 4]
HYBRIDIZATIONS = [
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
]
BOND_TYPES = [
    Chem.BondType.SINGLE,
    Chem.BondType.DOUBLE,
    Chem.BondType.TRIPLE,
    Chem.BondType.AROMATIC,
]
BOND_STEREO = [
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOANY,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
]

#: one-hot blocks of the atom features; each block has one extra "other" slot
_ATOM_BLOCKS: list[Sequence[object]] = [
    ELEMENTS,
    DEGREES,
    FORMAL_CHARGES,
    CHIRAL_TAGS,
    NUM_HS,
    HYBRIDIZATIONS,
]
#: aromatic, in ring, mass / 100
N_ATOM_SCALARS = 3
ATOM_FDIM = sum(len(b) + 1 for b in _ATOM_BLOCKS) + N_ATOM_SCALARS
#: bond type one-hot, conjugated, in ring, stereo one-hot (no "other" slots)
BOND_FDIM = len(BOND_TYPES) + 2 + len(BOND_STEREO)

_ATOM_LOOKUPS = [{v: i for i, v in enumerate(block)} for block in _ATOM_BLOCKS]
_BOND_TYPE_IDX = {v: i for i, v in enumerate(BOND_TYPES)}
_STEREO_IDX = {v: i for i, v in enumerate(BOND_STEREO)}


def atom_features(atom: Chem.Atom) -> list[float]:
    """The ``ATOM_FDIM`` features of one atom."""
    values = [
        atom.GetSymbol(),
        atom.GetDegree(),
        atom.GetFormalCharge(),
        atom.GetChiralTag(),
        atom.GetTotalNumHs(),
        atom.GetHybridization(),
    ]
    feats: list[float] = []
    for value, lookup in zip(values, _ATOM_LOOKUPS):
        block = [0.0] * (len(lookup) + 1)
        block[lookup.get(value, len(lookup))] = 1.0
        feats.extend(block)
    feats.append(float(atom.GetIsAromatic()))
    feats.append(float(atom.IsInRing()))
    feats.append(atom.GetMass() / 100.0)
    return feats


def bond_features(bond: Chem.Bond) -> list[float]:
    """The ``BOND_FDIM`` features of one bond (unknown types/stereo: all-zero block)."""
    feats = [0.0] * BOND_FDIM
    bt = _BOND_TYPE_IDX.get(bond.GetBondType())
    if bt is not None:
        feats[bt] = 1.0
    feats[len(BOND_TYPES)] = float(bond.GetIsConjugated())
    feats[len(BOND_TYPES) + 1] = float(bond.IsInRing())
    st = _STEREO_IDX.get(bond.GetStereo())
    if st is not None:
        feats[len(BOND_TYPES) + 2 + st] = 1.0
    return feats


def mol_to_graph(mol: Chem.Mol) -> Data:
    """A :class:`~torch_geometric.data.Data` with ``x`` (n_atoms, ATOM_FDIM),
    ``edge_index`` (2, 2 * n_bonds) and ``edge_attr`` (2 * n_bonds, BOND_FDIM)."""
    x = torch.tensor([atom_features(a) for a in mol.GetAtoms()], dtype=torch.float32)
    x = x.reshape(-1, ATOM_FDIM)
    src: list[int] = []
    attrs: list[list[float]] = []
    for bond in mol.GetBonds():
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        f = bond_features(bond)
        src.extend((u, v))
        attrs.extend((f, f))
    dst = [src[i + 1] if i % 2 == 0 else src[i - 1] for i in range(len(src))]
    edge_index = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.float32).reshape(-1, BOND_FDIM)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, num_nodes=x.shape[0])


def smiles_to_graph(smiles: str) -> Data:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"cannot parse SMILES {smiles!r} into a molecule graph")
    return mol_to_graph(mol)


@lru_cache(maxsize=200_000)
def _cached_graph(smiles: str) -> Data:
    return smiles_to_graph(smiles)


def smiles_to_graphs(smiles: Sequence[str], cache: bool = False) -> list[Data]:
    """One graph per SMILES (raises ``ValueError`` naming the first unparsable one).

    ``cache=True`` reuses graphs built earlier in this process (CV folds share molecules);
    the returned graphs are then shared and must not be modified in place.
    """
    make = _cached_graph if cache else smiles_to_graph
    return [make(s) for s in smiles]


def reverse_edges(num_edges: int, device: torch.device | None = None) -> torch.Tensor:
    """Index of the reverse of every edge (the ``e ^ 1`` pairing of :func:`mol_to_graph`)."""
    return torch.arange(num_edges, device=device) ^ 1


__all__ = [
    "ATOM_FDIM",
    "BOND_FDIM",
    "atom_features",
    "bond_features",
    "mol_to_graph",
    "reverse_edges",
    "smiles_to_graph",
    "smiles_to_graphs",
]
