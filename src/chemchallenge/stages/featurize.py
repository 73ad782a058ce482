"""Stage `featurize-<name>`: one featurizer over the prepared train and test molecules.

Reads ``data/prepared/{train,test}.parquet`` and writes ``data/features/<name>.parquet``
with columns ``split`` ("train"/"test"), ``id`` and the float32 feature columns; train
rows first, then test rows, each in file order. A test molecule without a valid SMILES
gets a row of NaN (the feature store imputes it).

A transfer featurizer (predictions of pretrained models, e.g. ``admet_ai``) also writes
``data/features/<name>.leak.json``: how well each of its columns alone predicts each target
on the training molecules (:func:`chemchallenge.features.transfer.leak_report`), and prints
the suspected leaks.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError, InputError
from chemchallenge.features.base import is_transfer
from chemchallenge.features.compute import featurize_smiles
from chemchallenge.features.store import META_COLUMNS
from chemchallenge.features.transfer import LEAK_THRESHOLD, leak_report
from chemchallenge.io import read_json, read_parquet, write_json, write_parquet
from chemchallenge.paths import Paths
from chemchallenge.tasks import TaskSpec


def _smiles(df: pd.DataFrame, path: str) -> tuple[list[str], list[str | None]]:
    missing = [c for c in ("id", "smiles") if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; rerun the prepare stage")
    ids = df["id"].astype(str).tolist()
    smiles = [s if isinstance(s, str) and s else None for s in df["smiles"].tolist()]
    return ids, smiles


def run(cfg: Config, paths: Paths, name: str) -> None:
    """Featurize the prepared molecules with ``featurize.featurizers[name]``."""
    featurizers = cfg.featurize.featurizers
    if name not in featurizers:
        raise ConfigError(
            f"featurize.featurizers: no featurizer named {name!r} "
            f"(defined: {sorted(featurizers) or 'none'})"
        )
    train_df = read_parquet(paths.train)
    train_ids, train_smiles = _smiles(train_df, str(paths.train))
    test_ids, test_smiles = _smiles(read_parquet(paths.test), str(paths.test))
    smiles = train_smiles + test_smiles

    t0 = time.perf_counter()
    x, names = featurize_smiles(
        name,
        featurizers[name],
        smiles,
        n_jobs=cfg.featurize.n_jobs,
        max_error_rate=cfg.featurize.max_error_rate,
    )
    seconds = time.perf_counter() - t0
    clash = sorted(set(names) & set(META_COLUMNS))
    if clash:
        raise ConfigError(f"featurize.featurizers.{name}: column name(s) {clash} are reserved")

    meta = pd.DataFrame(
        {
            "split": ["train"] * len(train_ids) + ["test"] * len(test_ids),
            "id": train_ids + test_ids,
        }
    )
    table = pd.concat([meta, pd.DataFrame(x, columns=names, copy=False)], axis=1)
    write_parquet(paths.features(name), table)

    n, d = x.shape
    empty = int(np.isnan(x).all(axis=1).sum()) if d else 0
    note = f"; {empty} without a valid molecule (NaN rows)" if empty else ""
    rate = n / seconds if seconds > 0 else float("inf")
    print(
        f"featurize {name}: {n} molecules x {d} features in {seconds:.1f} s "
        f"({rate:,.0f} molecules/s){note}"
    )

    if is_transfer(name, featurizers[name]):
        threshold = float(featurizers[name].get("leak_threshold", LEAK_THRESHOLD))
        write_leak_report(paths, name, train_df, x[: len(train_ids)], names, threshold)


def write_leak_report(
    paths: Paths,
    name: str,
    train: pd.DataFrame,
    x: np.ndarray,
    names: list[str],
    threshold: float,
) -> dict:
    """Write ``data/features/<name>.leak.json`` and print the suspected leaks."""
    task = TaskSpec.from_dict(read_json(paths.task))
    missing = [t for t in task.targets if t not in train.columns]
    if missing:
        raise InputError(str(paths.train), f"missing target column(s) {missing}")
    if task.is_classification:
        y = np.column_stack(
            [
                pd.Categorical(train[t]).codes.astype(float)
                if not pd.api.types.is_numeric_dtype(train[t])
                else pd.to_numeric(train[t], errors="coerce").to_numpy(float)
                for t in task.targets
            ]
        )
        y[y < 0] = np.nan  # missing categories
    else:
        y = train[task.targets].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    folds = None
    if paths.folds.exists():
        f = read_parquet(paths.folds)
        by_id = dict(zip(f["id"].astype(str), f["fold"]))
        ids = train["id"].astype(str)
        if all(i in by_id for i in ids):
            folds = np.array([by_id[i] for i in ids])
    report = leak_report(x, names, y, task.targets, task.is_classification, folds, threshold)
    report["featurizer"] = name
    write_json(paths.leak(name), report)
    for s in report["suspected"]:
        print(
            f"featurize {name}: WARNING suspected leak: {s['endpoint']} alone predicts "
            f"{s['target']} ({report['criterion']} {s['score']:.3f} >= {threshold}); "
            f"was the pretrained model trained on these molecules? Consider "
            f"featurize.featurizers.{name}.exclude"
        )
    if not report["suspected"]:
        print(
            f"featurize {name}: no suspected leak (criterion {report['criterion']} >= {threshold})"
        )
    return report
