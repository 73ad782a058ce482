"""RDKit 2-D physico-chemical descriptors (``rdkit2d``).

All of ``rdkit.Chem.Descriptors._descList`` (about 217 descriptors: MolWt, LogP, TPSA,
counts, topological indices, fragment counts, ...), or a chosen subset. A descriptor that
raises, returns a non-finite value or an absurd magnitude (``|x| > 1e10``, e.g. ``Ipc`` on
large molecules) gives NaN; the feature store imputes those later. On molecules of more
than :data:`HUGE_MOLECULE` heavy atoms, ``Ipc`` and ``AvgIpc`` are not computed (NaN): their
cost explodes with size (prepare warns about such molecules).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors

from chemchallenge.data.molecules import HUGE_MOLECULE, SLOW_ON_HUGE
from chemchallenge.errors import ConfigError
from chemchallenge.features.base import register

#: Values beyond this magnitude are treated as numerical garbage and become NaN.
MAX_ABS = 1e10


class RDKit2D:
    """RDKit's 2-D descriptors as one float32 vector.

    Parameters
    ----------
    names
        Descriptor names to compute, in this order; ``None`` computes all of
        ``Descriptors._descList`` in RDKit's order.
    """

    def __init__(self, names: Sequence[str] | None = None) -> None:
        available: dict[str, Callable[[Chem.Mol], float]] = dict(Descriptors._descList)
        if names is None:
            chosen = list(available)
        else:
            if isinstance(names, str) or not all(isinstance(n, str) for n in names):
                raise ConfigError(
                    f"rdkit2d: names must be a list of descriptor names, got {names!r}"
                )
            unknown = [n for n in names if n not in available]
            if unknown:
                raise ConfigError(
                    f"rdkit2d: unknown RDKit descriptor(s) {unknown}; "
                    "see rdkit.Chem.Descriptors._descList"
                )
            if len(set(names)) != len(names):
                raise ConfigError(f"rdkit2d: names contains duplicates: {list(names)}")
            if not names:
                raise ConfigError(
                    "rdkit2d: names is empty: list at least one descriptor (or omit it)"
                )
            chosen = list(names)
        self._names = chosen
        self._fns = [available[n] for n in chosen]

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        out = np.empty(len(self._fns), dtype=np.float64)
        huge = mol.GetNumHeavyAtoms() > HUGE_MOLECULE
        for i, fn in enumerate(self._fns):
            if huge and self._names[i] in SLOW_ON_HUGE:
                out[i] = np.nan
                continue
            try:
                out[i] = fn(mol)
            except Exception:  # any descriptor failure -> missing value
                out[i] = np.nan
        with np.errstate(invalid="ignore"):
            out[~(np.abs(out) <= MAX_ABS)] = np.nan  # catches inf, NaN and huge values
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"RDKit2D({len(self._names)} descriptors)"


@register("rdkit2d")
def rdkit2d(names: list[str] | None = None) -> RDKit2D:
    """All RDKit 2-D descriptors, or only ``names``."""
    return RDKit2D(names)
