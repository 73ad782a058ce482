"""Turning raw SMILES columns into standardised molecules, and merging duplicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from chemchallenge.data.standardize import Standardizer, parse_smiles
from chemchallenge.data.validate import Findings
from chemchallenge.errors import ConfigError
from chemchallenge.tasks import TaskType

#: Above this many heavy atoms, descriptors whose cost explodes with size are skipped (NaN,
#: imputed later): ``Ipc``/``AvgIpc`` take ~20 s each on a 600-atom molecule, and their
#: values are beyond the descriptors' ``MAX_ABS`` there anyway.
HUGE_MOLECULE = 150
SLOW_ON_HUGE = frozenset({"Ipc", "AvgIpc"})


def standardize_column(
    ids: pd.Series,
    smiles: pd.Series,
    standardizer: Standardizer,
    file: str,
    found: Findings,
    dropped: bool,
) -> pd.DataFrame:
    """Parse and standardise each SMILES; invalid ones get ``smiles=None, valid=False`` and a
    warning naming each ID with RDKit's reason."""
    rows = []
    bad: list[str] = []
    reasons: dict[str, str] = {}
    for i, s in tqdm(
        zip(ids, smiles, strict=True),
        total=len(ids),
        desc=f"standardise {file}",
        disable=len(ids) < 2000,
        leave=False,
    ):
        res = parse_smiles(s)
        if res.mol is None:
            bad.append(i)
            reasons[i] = res.reason or "invalid"
            rows.append((i, s, None, False))
            continue
        try:
            std = standardizer.smiles(res.mol)
        except Exception as err:  # RDKit raises assorted errors on exotic inputs
            bad.append(i)
            reasons[i] = f"standardisation failed: {err}"
            rows.append((i, s, None, False))
            continue
        rows.append((i, s, std, True))
    if bad:
        action = "dropped from training" if dropped else "kept with a fallback prediction"
        details = [f"{i} ({reasons[i]})" for i in bad]
        found.warn(file, "invalid_smiles", f"{len(bad)} invalid SMILES, {action}", details)
    return pd.DataFrame(rows, columns=["id", "smiles_raw", "smiles", "valid"])


#: ``prepare.conflicts`` policies of :func:`merge_duplicates` (besides ``auto``)
CONFLICT_POLICIES = ("drop", "mean")


def merge_duplicates(
    train: pd.DataFrame, targets: list[str], task: TaskType, policy: str, file: str, found: Findings
) -> pd.DataFrame:
    """Molecules that standardise to the same parent: identical labels are merged into one
    row; conflicting labels are dropped (classification default) or averaged (regression
    default). Returns the de-duplicated table in first-occurrence order."""
    if policy == "auto":
        policy = "mean" if task == TaskType.REGRESSION else "drop"
    if policy not in CONFLICT_POLICIES:
        raise ConfigError(
            f"prepare.conflicts: {policy!r} is not auto or one of {CONFLICT_POLICIES}"
        )
    groups = train.groupby("smiles", sort=False)
    keep_rows = []
    merged, conflicts = [], []
    for _, g in groups:
        if len(g) == 1:
            keep_rows.append(g.iloc[0])
            continue
        vals = g[targets]
        same = all(_agree(vals[t]) for t in targets)
        ids = "=".join(g["id"])
        row = g.iloc[0].copy()
        if same:
            merged.append(ids)
            for t in targets:  # a label given by any of the copies is kept
                known = vals[t].dropna()
                row[t] = known.iloc[0] if len(known) else np.nan
            keep_rows.append(row)
        elif policy == "mean" and task == TaskType.REGRESSION:
            conflicts.append(ids)
            for t in targets:
                row[t] = (
                    float(np.nanmean(vals[t].astype(float))) if vals[t].notna().any() else np.nan
                )
            keep_rows.append(row)
        else:
            conflicts.append(ids)
            if task != TaskType.REGRESSION and policy == "mean":
                for t in targets:
                    row[t] = _majority(vals[t])
                keep_rows.append(row)
    if merged:
        found.warn(
            file,
            "duplicate_molecule",
            f"{len(merged)} molecules appear several times with the same labels; "
            "merged into one row each",
            merged,
        )
    if conflicts:
        what = (
            "dropped"
            if policy == "drop"
            else ("averaged" if task == TaskType.REGRESSION else "given the majority label")
        )
        found.warn(
            file,
            "conflicting_labels",
            f"{len(conflicts)} molecules standardise to the same parent with conflicting "
            f"labels; {what}",
            conflicts,
        )
    return pd.DataFrame(keep_rows).reset_index(drop=True)


def _agree(values: pd.Series) -> bool:
    v = values.dropna()
    if v.empty:
        return True
    if v.dtype == object or isinstance(v.iloc[0], str):
        return v.nunique() == 1
    return bool(np.allclose(v.astype(float), float(v.iloc[0])))


def _majority(values: pd.Series) -> object:
    v = values.dropna()
    return v.mode().iloc[0] if len(v) else np.nan


def overlap(train: pd.DataFrame, test: pd.DataFrame, file: str, found: Findings) -> list[str]:
    """Test molecules whose standardised parent is also in training (a warning)."""
    seen = set(train["smiles"])
    ids = [
        i
        for i, s, ok in zip(test["id"], test["smiles"], test["valid"], strict=True)
        if ok and s in seen
    ]
    if ids:
        found.warn(
            file,
            "train_test_overlap",
            f"{len(ids)} test molecules also appear in training (same standardised parent)",
            ids,
        )
    return ids
