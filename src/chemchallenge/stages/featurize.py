"""Stage `featurize-<name>`: one featurizer over the prepared train and test molecules.

Reads ``data/prepared/{train,test}.parquet`` and writes ``data/features/<name>.parquet``
with columns ``split`` ("train"/"test"), ``id`` and the float32 feature columns; train
rows first, then test rows, each in file order. A test molecule without a valid SMILES
gets a row of NaN (the feature store imputes it).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError, InputError
from chemchallenge.features.compute import featurize_smiles
from chemchallenge.features.store import META_COLUMNS
from chemchallenge.io import read_parquet, write_parquet
from chemchallenge.paths import Paths


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
    train_ids, train_smiles = _smiles(read_parquet(paths.train), str(paths.train))
    test_ids, test_smiles = _smiles(read_parquet(paths.test), str(paths.test))
    smiles = train_smiles + test_smiles

    t0 = time.perf_counter()
    x, names = featurize_smiles(name, featurizers[name], smiles, n_jobs=cfg.featurize.n_jobs)
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
