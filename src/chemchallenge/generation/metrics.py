"""MOSES-style metrics of generated molecules (Polykovskiy et al., 2020).

Definitions (``valid`` = parsed by RDKit with at least one atom; molecules compared as
canonical SMILES):

- validity: valid / generated strings;
- uniqueness@k: distinct / the first ``k`` valid molecules;
- novelty: distinct valid molecules absent from the training set / distinct valid molecules;
- internal diversity: 1 − mean Tanimoto over distinct pairs (Morgan r=2, 1024 bits) of the valid
  molecules (MOSES also averages the diagonal; we do not: identical molecules give 0);
- SNN: mean over valid molecules of the largest Tanimoto to a reference molecule;
- scaffold / fragment similarity: cosine of Bemis–Murcko scaffold (acyclic molecules have none)
  and BRICS fragment count vectors of the generated and the reference set;
- FCD: see :mod:`chemchallenge.generation.fcd`;
- size in range: share of valid molecules with a heavy-atom count within the training set's
  1st–99th percentiles (degenerate tiny or run-away molecules fall outside);
- sensible: share of valid molecules with only the training set's elements/charges and ring
  sizes, no radicals, and a heavy-atom count in range (:mod:`.chemistry`);
- property distances: Wasserstein-1 distance of logP (Crippen), QED, MW and SA score
  (Ertl & Schuffenhauer, RDKit Contrib) between generated and training molecules.

Every function returns NaN where the quantity is undefined (e.g. no valid molecule).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import BRICS, QED, Crippen, Descriptors, rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold
from scipy.stats import wasserstein_distance

from chemchallenge.generation.chemistry import sensible_fraction
from chemchallenge.generation.fcd import embedding, frechet_from_embeddings

RDLogger.DisableLog("rdApp.*")
PROPERTIES = ("logP", "QED", "MW", "SA")
NAN = float("nan")


def to_mol(smiles: str | None) -> Chem.Mol | None:
    if not smiles or not isinstance(smiles, str):
        return None
    mol = Chem.MolFromSmiles(smiles)
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def canonical(smiles: Sequence[str | None]) -> list[str | None]:
    """Canonical SMILES, or None for invalid strings."""
    out: list[str | None] = []
    for s in smiles:
        mol = to_mol(s)
        out.append(Chem.MolToSmiles(mol) if mol is not None else None)
    return out


def _valid(smiles: Sequence[str | None]) -> list[str]:
    return [s for s in canonical(smiles) if s is not None]


def validity(smiles: Sequence[str | None]) -> float:
    return len(_valid(smiles)) / len(smiles) if len(smiles) else NAN


def uniqueness(smiles: Sequence[str | None], k: int | None = None) -> float:
    valid = _valid(smiles)[:k] if k else _valid(smiles)
    return len(set(valid)) / len(valid) if valid else NAN


def novelty(smiles: Sequence[str | None], train: Sequence[str | None]) -> float:
    gen = set(_valid(smiles))
    return len(gen - set(_valid(train))) / len(gen) if gen else NAN


@lru_cache(maxsize=1)
def _morgan() -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)


def fingerprints(smiles: Sequence[str | None]) -> list[Any]:
    """Morgan (r=2, 1024 bits) bit vectors of the valid SMILES."""
    gen = _morgan()
    return [gen.GetFingerprint(m) for m in map(to_mol, smiles) if m is not None]


def internal_diversity(smiles: Sequence[str | None]) -> float:
    fps = fingerprints(smiles)
    n = len(fps)
    if n < 2:
        return NAN
    total = sum(sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1 :])) for i in range(n - 1))
    return 1.0 - total / (n * (n - 1) / 2)


def max_similarity(query_fps: Sequence[Any], ref_fps: Sequence[Any]) -> np.ndarray:
    """For each query fingerprint, the largest Tanimoto similarity to any reference one."""
    if not ref_fps:
        return np.zeros(len(query_fps))
    return np.array([max(DataStructs.BulkTanimotoSimilarity(q, list(ref_fps))) for q in query_fps])


def snn(smiles: Sequence[str | None], reference: Sequence[str | None]) -> float:
    q, r = fingerprints(smiles), fingerprints(reference)
    return float(max_similarity(q, r).mean()) if q and r else NAN


def scaffold(mol: Chem.Mol) -> str | None:
    """Bemis–Murcko scaffold SMILES; None for acyclic molecules."""
    s = MurckoScaffold.MurckoScaffoldSmiles(mol=mol)
    return s or None


def fragments(mol: Chem.Mol) -> list[str]:
    """BRICS fragments (with their attachment-point dummies) as SMILES."""
    return Chem.MolToSmiles(BRICS.BreakBRICSBonds(mol)).split(".")


def cosine_counts(a: Counter, b: Counter) -> float:
    """Cosine similarity of two count vectors over the union of their keys."""
    if not a or not b:
        return NAN
    dot = sum(a[k] * b[k] for k in a.keys() & b.keys())
    norm = np.sqrt(sum(v * v for v in a.values())) * np.sqrt(sum(v * v for v in b.values()))
    return float(dot / norm)


def _scaffold_counts(smiles: Sequence[str | None]) -> Counter:
    mols = [m for m in map(to_mol, smiles) if m is not None]
    return Counter(s for s in map(scaffold, mols) if s is not None)


def _fragment_counts(smiles: Sequence[str | None]) -> Counter:
    return Counter(f for m in map(to_mol, smiles) if m is not None for f in fragments(m))


def scaffold_similarity(smiles: Sequence[str | None], reference: Sequence[str | None]) -> float:
    return cosine_counts(_scaffold_counts(smiles), _scaffold_counts(reference))


def fragment_similarity(smiles: Sequence[str | None], reference: Sequence[str | None]) -> float:
    return cosine_counts(_fragment_counts(smiles), _fragment_counts(reference))


@lru_cache(maxsize=1)
def _sascorer() -> Any:
    try:
        from rdkit.Contrib.SA_Score import sascorer
    except ImportError:  # older wheels: Contrib only on disk
        import os
        import sys

        from rdkit import RDConfig

        sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
        import sascorer  # type: ignore[no-redef]
    return sascorer


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility, 1 (easy) to 10 (hard)."""
    return float(_sascorer().calculateScore(mol))


def properties(smiles: Sequence[str | None]) -> pd.DataFrame:
    """logP, QED, MW, SA and heavy-atom count per input string (NaN rows for invalid ones)."""
    cols = [*PROPERTIES, "heavy_atoms"]
    rows = []
    for m in map(to_mol, smiles):
        if m is None:
            rows.append(dict.fromkeys(cols, NAN))
            continue
        rows.append(
            {
                "logP": Crippen.MolLogP(m),
                "QED": QED.qed(m),
                "MW": Descriptors.MolWt(m),
                "SA": sa_score(m),
                "heavy_atoms": m.GetNumHeavyAtoms(),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def size_in_range(generated: pd.DataFrame, reference: pd.DataFrame) -> float:
    """Share of molecules whose heavy-atom count lies within the reference's 1st-99th
    percentiles: a guard against degenerate (tiny or run-away) molecules."""
    g, r = generated["heavy_atoms"].dropna(), reference["heavy_atoms"].dropna()
    if not len(g) or not len(r):
        return NAN
    lo, hi = np.percentile(r, [1, 99])
    return float(g.between(lo, hi).mean())


def property_distances(generated: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """Wasserstein-1 distance per property column (NaN rows ignored)."""
    out = {}
    for p in PROPERTIES:
        a, b = generated[p].dropna().to_numpy(), reference[p].dropna().to_numpy()
        out[f"wasserstein_{p}"] = float(wasserstein_distance(a, b)) if len(a) and len(b) else NAN
    return out


def evaluate(
    generated: Sequence[str | None],
    train: Sequence[str | None],
    reference: Sequence[str | None],
    train_properties: pd.DataFrame | None = None,
    k: int = 1000,
    fcd_size: int | None = None,
    seed: int = 0,
    fcd_pool: Sequence[str | None] | None = None,
    fcd_repeats: int = 5,
    reference_embedding: tuple[str, np.ndarray] | None = None,
) -> dict[str, float | int | str]:
    """All metrics of one generated set.

    ``train``: the generator's training molecules (novelty, property distances);
    ``reference``: held-out real molecules (SNN, scaffold/fragment similarity, FCD).
    ``fcd_size``: valid molecules per Fréchet distance (equal sizes make models comparable;
    FCD is biased upwards for small samples), drawn ``fcd_repeats`` times from ``fcd_pool``
    (more molecules of the same generator) when given, else from the valid generated ones;
    ``fcd`` is the mean and ``fcd_sd`` the spread over the draws. ``reference_embedding``
    (from :func:`~chemchallenge.generation.fcd.embedding`) saves recomputing the reference's.
    """
    valid = _valid(generated)
    if train_properties is None:
        train_properties = properties(train)
    fcd_set = _valid(fcd_pool) if fcd_pool is not None else valid
    fd_name, ref_emb = reference_embedding or embedding(reference)
    _, gen_emb = embedding(fcd_set)
    fd, fd_sd = frechet_from_embeddings(fd_name, gen_emb, ref_emb, fcd_repeats, fcd_size, seed)
    out: dict[str, float | int | str] = {
        "n_generated": len(generated),
        "n_valid": len(valid),
        "validity": validity(generated),
        f"unique@{k}": uniqueness(valid, k),
        "uniqueness": uniqueness(valid),
        "novelty": novelty(valid, train),
        "internal_diversity": internal_diversity(valid),
        "snn": snn(valid, reference),
        "scaffold_similarity": scaffold_similarity(valid, reference),
        "fragment_similarity": fragment_similarity(valid, reference),
        fd_name: fd,
        f"{fd_name}_sd": fd_sd,
        "fcd_n": min(len(gen_emb), fcd_size or len(gen_emb)),
    }
    gen_props = properties(valid)
    out["size_in_range"] = size_in_range(gen_props, train_properties)
    out["sensible"] = sensible_fraction(valid, [s for s in train if s])
    out.update(property_distances(gen_props, train_properties))
    return out


def molecules_table(generated: dict[str, list[str]], train: set[str]) -> pd.DataFrame:
    """One row per generated string: smiles (canonical when valid), source, valid, novel and
    the properties."""
    frames = []
    for source, smiles in generated.items():
        can = canonical(smiles)
        df = pd.DataFrame(
            {
                "smiles": [c if c else s for s, c in zip(smiles, can)],
                "source": source,
                "valid": [c is not None for c in can],
                "novel": [c is not None and c not in train for c in can],
            }
        )
        frames.append(pd.concat([df, properties(can)], axis=1))
    return pd.concat(frames, ignore_index=True)
