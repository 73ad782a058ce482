"""Fingerprint featurizers built on :mod:`rdkit.Chem.rdFingerprintGenerator`.

Each featurizer builds its RDKit generator once and maps a molecule to a float32 vector.
Registered names (params.yaml ``featurize.featurizers``):

- ``morgan``: ECFP-like bits (``radius=2, n_bits=2048, use_chirality=False``)
- ``morgan_counts``: the same with folded occurrence counts
- ``fcfp``: Morgan with pharmacophoric feature invariants (FCFP)
- ``maccs``: the 167 MACCS keys
- ``atompair``: atom pairs (``n_bits=2048, counts=False``)
- ``torsion``: topological torsions (``n_bits=2048, counts=False``)
- ``avalon``: Avalon substructure-key fingerprint (``n_bits=1024, counts=True``)
- ``erg``: extended reduced graphs, the 315 fuzzy pharmacophore-pair counts (ErG)

``avalon`` and ``erg`` are the two fingerprints MapLight (a top TDC ADMET entry) adds to
Morgan counts and RDKit descriptors: Avalon keys describe ring systems and functional groups
the folded ECFP mixes up, ErG the pharmacophore pairs (donor, acceptor, charge, aromatic and
hydrophobic nodes) with their topological distance, i.e. how a molecule can bind rather than
what its atoms are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Avalon import pyAvalonTools
from rdkit.Chem import rdFingerprintGenerator as rfg
from rdkit.Chem import rdMolDescriptors, rdReducedGraphs

from chemchallenge.errors import ConfigError
from chemchallenge.features.base import register

#: bounds of the fingerprint sizes (beyond them the feature matrix would not fit in memory)
MAX_BITS = 2**16
MAX_RADIUS = 10


def _check_size(kind: str, n_bits: int, radius: int | None = None) -> None:
    if not isinstance(n_bits, int) or isinstance(n_bits, bool) or not 1 <= n_bits <= MAX_BITS:
        raise ConfigError(
            f"{kind}: n_bits must be a positive integer up to {MAX_BITS}, got {n_bits!r}"
        )
    if radius is not None and (
        not isinstance(radius, int) or isinstance(radius, bool) or not 0 <= radius <= MAX_RADIUS
    ):
        raise ConfigError(
            f"{kind}: radius must be an integer from 0 to {MAX_RADIUS}, got {radius!r}"
        )


class GeneratorFingerprint:
    """A folded fingerprint from one RDKit fingerprint generator.

    Parameters
    ----------
    prefix
        Column-name prefix: columns are ``<prefix>_0 .. <prefix>_<n_bits-1>``.
    generator
        An ``rdFingerprintGenerator`` generator, built once.
    n_bits
        Length of the folded fingerprint (the generator's ``fpSize``).
    counts
        Occurrence counts instead of bits.
    """

    def __init__(self, prefix: str, generator: Any, n_bits: int, counts: bool = False) -> None:
        self.prefix = prefix
        self.n_bits = n_bits
        self.counts = bool(counts)
        self._gen = generator
        if self.counts:
            self._fp = generator.GetCountFingerprintAsNumPy
        else:
            self._fp = generator.GetFingerprintAsNumPy

    @property
    def names(self) -> list[str]:
        return [f"{self.prefix}_{i}" for i in range(self.n_bits)]

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        return self._fp(mol).astype(np.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r}, n_bits={self.n_bits}, counts={self.counts})"


def _morgan(
    prefix: str,
    radius: int,
    n_bits: int,
    use_chirality: bool,
    counts: bool,
    features: bool = False,
) -> GeneratorFingerprint:
    _check_size(prefix, n_bits, radius)
    kwargs: dict[str, Any] = {
        "radius": radius,
        "fpSize": n_bits,
        "includeChirality": bool(use_chirality),
    }
    if features:
        kwargs["atomInvariantsGenerator"] = rfg.GetMorganFeatureAtomInvGen()
    return GeneratorFingerprint(prefix, rfg.GetMorganGenerator(**kwargs), n_bits, counts)


@register("morgan")
def morgan(
    radius: int = 2, n_bits: int = 2048, use_chirality: bool = False
) -> GeneratorFingerprint:
    """Morgan (ECFP-like) bit vector; ``radius=2`` is ECFP4."""
    return _morgan("morgan", radius, n_bits, use_chirality, counts=False)


@register("morgan_counts")
def morgan_counts(
    radius: int = 2, n_bits: int = 2048, use_chirality: bool = False
) -> GeneratorFingerprint:
    """Morgan fingerprint with real (folded) occurrence counts of each environment."""
    return _morgan("morgan_counts", radius, n_bits, use_chirality, counts=True)


@register("fcfp")
def fcfp(
    radius: int = 2, n_bits: int = 2048, use_chirality: bool = False, counts: bool = False
) -> GeneratorFingerprint:
    """Morgan fingerprint on pharmacophoric feature invariants (FCFP4 by default)."""
    return _morgan("fcfp", radius, n_bits, use_chirality, counts=counts, features=True)


@register("atompair")
def atompair(
    n_bits: int = 2048, counts: bool = False, use_chirality: bool = False
) -> GeneratorFingerprint:
    """Atom-pair fingerprint (pairs of atom types with their topological distance)."""
    _check_size("atompair", n_bits)
    gen = rfg.GetAtomPairGenerator(fpSize=n_bits, includeChirality=bool(use_chirality))
    return GeneratorFingerprint("atompair", gen, n_bits, counts)


@register("torsion")
def torsion(
    n_bits: int = 2048, counts: bool = False, use_chirality: bool = False
) -> GeneratorFingerprint:
    """Topological-torsion fingerprint (paths of four bonded atoms)."""
    _check_size("torsion", n_bits)
    gen = rfg.GetTopologicalTorsionGenerator(fpSize=n_bits, includeChirality=bool(use_chirality))
    return GeneratorFingerprint("torsion", gen, n_bits, counts)


class MACCS:
    """The 167 MACCS structural keys (bit 0 is always 0 in RDKit's implementation)."""

    n_bits = 167

    @property
    def names(self) -> list[str]:
        return [f"maccs_{i}" for i in range(self.n_bits)]

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        out = np.zeros(self.n_bits, dtype=np.float32)
        out[list(rdMolDescriptors.GetMACCSKeysFingerprint(mol).GetOnBits())] = 1.0
        return out

    def __repr__(self) -> str:
        return "MACCS()"


@register("maccs")
def maccs() -> MACCS:
    """MACCS keys (167 bits)."""
    return MACCS()


class Avalon:
    """The Avalon fingerprint (``pyAvalonTools``), folded to ``n_bits``, bits or counts."""

    def __init__(self, n_bits: int, counts: bool) -> None:
        _check_size("avalon", n_bits)
        self.n_bits = n_bits
        self.counts = bool(counts)
        self._fp = pyAvalonTools.GetAvalonCountFP if self.counts else pyAvalonTools.GetAvalonFP

    @property
    def names(self) -> list[str]:
        return [f"avalon_{i}" for i in range(self.n_bits)]

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        out = np.zeros(self.n_bits, dtype=np.float64)
        DataStructs.ConvertToNumpyArray(self._fp(mol, nBits=self.n_bits), out)
        return out.astype(np.float32)

    def __repr__(self) -> str:
        return f"Avalon(n_bits={self.n_bits}, counts={self.counts})"


@register("avalon")
def avalon(n_bits: int = 1024, counts: bool = True) -> Avalon:
    """Avalon substructure keys hashed to ``n_bits`` (counts by default, as in MapLight)."""
    return Avalon(n_bits, counts)


class ErG:
    """Extended reduced graph (Stiefl et al. 2006): the molecule reduced to pharmacophore
    nodes, then fuzzy counts of each node-type pair at each path length 1-15 (315 values)."""

    n_values = 315

    @property
    def names(self) -> list[str]:
        return [f"erg_{i}" for i in range(self.n_values)]

    def __call__(self, mol: Chem.Mol) -> np.ndarray:
        return np.asarray(rdReducedGraphs.GetErGFingerprint(mol), dtype=np.float32)

    def __repr__(self) -> str:
        return "ErG()"


@register("erg")
def erg() -> ErG:
    """ErG pharmacophore-pair fingerprint (315 fuzzy counts)."""
    return ErG()
