"""Is a valid molecule chemically sensible, judged against the training molecules?

A molecule passes when it has no radical electrons, only (element, formal charge) pairs and
ring sizes that occur in the training set, and a heavy-atom count within the training set's
1st–99th percentiles (not degenerate: neither a tiny fragment nor a run-away chain). Cheap and
data-driven (no hand-written alert list); score the held-out real molecules the same way for
the baseline rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rdkit import Chem


def _atoms(mol: Chem.Mol) -> set[tuple[str, int]]:
    return {(a.GetSymbol(), a.GetFormalCharge()) for a in mol.GetAtoms()}


def _rings(mol: Chem.Mol) -> set[int]:
    return {len(r) for r in mol.GetRingInfo().AtomRings()}


@dataclass(frozen=True)
class ChemistryProfile:
    atoms: frozenset[tuple[str, int]]
    ring_sizes: frozenset[int]
    min_atoms: float
    max_atoms: float

    @classmethod
    def from_mols(cls, mols: Sequence[Chem.Mol]) -> ChemistryProfile:
        atoms: set[tuple[str, int]] = set()
        rings: set[int] = set()
        for m in mols:
            atoms |= _atoms(m)
            rings |= _rings(m)
        sizes = [m.GetNumHeavyAtoms() for m in mols] or [0]
        lo, hi = np.percentile(sizes, [1, 99])
        return cls(frozenset(atoms), frozenset(rings), float(lo), float(hi))

    def sensible(self, mol: Chem.Mol) -> bool:
        if any(a.GetNumRadicalElectrons() for a in mol.GetAtoms()):
            return False
        if not _atoms(mol) <= self.atoms or not _rings(mol) <= self.ring_sizes:
            return False
        return self.min_atoms <= mol.GetNumHeavyAtoms() <= self.max_atoms


@lru_cache(maxsize=4)
def profile_of(train: tuple[str, ...]) -> ChemistryProfile:
    """The profile of the valid training SMILES (cached: computed once per training set)."""
    mols = [m for m in map(Chem.MolFromSmiles, train) if m is not None and m.GetNumAtoms()]
    return ChemistryProfile.from_mols(mols)


def sensible_fraction(valid: Sequence[str], train: Sequence[str]) -> float:
    """Share of valid SMILES that are chemically sensible and not degenerate (see above)."""
    if not valid:
        return float("nan")
    profile = profile_of(tuple(s for s in train if s))
    mols = [Chem.MolFromSmiles(s) for s in valid]
    return float(np.mean([m is not None and profile.sensible(m) for m in mols]))
