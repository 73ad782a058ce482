"""Read the featurize stage's outputs back as model-ready matrices.

:func:`load_features` joins one or more ``data/features/<featurizer>.parquet`` files
column-wise, in the row order of the prepared train/test files, and makes them safe for
any estimator: missing values (unparsable test SMILES, failed descriptors) are imputed
with the *train* median, and columns that carry no information on train (all missing or
constant) are dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from chemchallenge.errors import ConfigError, InputError, MissingInputError
from chemchallenge.io import read_parquet
from chemchallenge.paths import Paths

META_COLUMNS = ("split", "id")


@dataclass
class FeatureSet:
    """Feature matrices aligned with ``data/prepared/{train,test}.parquet``.

    Attributes
    ----------
    train, test
        float32 matrices, ``(n_train, d)`` and ``(n_test, d)``, without missing values.
    names
        The ``d`` column names (``"<featurizer>:<column>"`` where columns would collide).
    train_ids, test_ids
        Row IDs, in the prepared files' order.
    dropped
        Columns removed because they are all-missing or constant on train.
    """

    train: np.ndarray
    test: np.ndarray
    names: list[str]
    train_ids: list[str]
    test_ids: list[str]
    dropped: list[str] = field(default_factory=list)


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read(paths: Paths, name: str) -> tuple[pd.DataFrame, list[str]]:
    path = paths.features(name)
    if not path.exists():
        raise MissingInputError(
            f"{_shown(path, paths.root)} not found: add {name!r} under "
            f"featurize.featurizers and run dvc repro"
        )
    df = pd.read_parquet(path)
    missing = [c for c in META_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            _shown(path, paths.root),
            f"missing column(s) {missing}; rerun the featurize stage (dvc repro)",
        )
    df["id"] = df["id"].astype(str)
    return df, [str(c) for c in df.columns if c not in META_COLUMNS]


def _aligned(
    df: pd.DataFrame, cols: list[str], split: str, ids: list[str], file: str
) -> np.ndarray:
    part = df[df["split"] == split]
    index = pd.Index(part["id"])
    if len(index) != len(ids) or not index.is_unique or set(index) != set(ids):
        raise InputError(
            file,
            f"{split} rows do not match data/prepared/{split}.parquet "
            "(features are stale: run dvc repro)",
        )
    return part[cols].to_numpy(dtype=np.float32)[index.get_indexer(ids)]


def _fill_nan(x: np.ndarray, values: np.ndarray) -> None:
    rows, cols = np.nonzero(np.isnan(x))
    x[rows, cols] = values[cols]


def load_features(paths: Paths, names: list[str]) -> FeatureSet:
    """Load, align, join and clean the features written by the featurize stage.

    Parameters
    ----------
    paths
        Project paths (the prepared files and ``paths.features(name)`` are read).
    names
        Featurizer names as under ``featurize.featurizers`` (e.g. a model's ``features``).

    Raises
    ------
    MissingInputError
        A prepared file or a feature file does not exist yet.
    InputError
        A feature file does not match the prepared rows (stale outputs).
    """
    names = list(dict.fromkeys(names))
    if not names:
        raise ConfigError("load_features: no featurizer named (list at least one)")
    train_ids = read_parquet(paths.train)["id"].astype(str).tolist()
    test_ids = read_parquet(paths.test)["id"].astype(str).tolist()
    if not train_ids:
        raise InputError(_shown(paths.train, paths.root), "no training rows")

    frames = [_read(paths, name) for name in names]
    counts = Counter(c for _, cols in frames for c in cols)
    train_blocks, test_blocks, columns = [], [], []
    for name, (df, cols) in zip(names, frames):
        file = _shown(paths.features(name), paths.root)
        train_blocks.append(_aligned(df, cols, "train", train_ids, file))
        test_blocks.append(_aligned(df, cols, "test", test_ids, file))
        clash = any(counts[c] > 1 for c in cols)
        columns += [f"{name}:{c}" if clash else c for c in cols]

    train = np.concatenate(train_blocks, axis=1)
    test = np.concatenate(test_blocks, axis=1)
    keep = ~np.isnan(train).all(axis=0)
    median = np.zeros(train.shape[1], dtype=np.float32)
    if keep.any():
        median[keep] = np.nanmedian(train[:, keep].astype(np.float64), axis=0)
    _fill_nan(train, median)
    _fill_nan(test, median)
    keep &= train.max(axis=0, initial=-np.inf) > train.min(axis=0, initial=np.inf)
    return FeatureSet(
        train=np.ascontiguousarray(train[:, keep]),
        test=np.ascontiguousarray(test[:, keep]),
        names=[c for c, k in zip(columns, keep) if k],
        train_ids=train_ids,
        test_ids=test_ids,
        dropped=[c for c, k in zip(columns, keep) if not k],
    )
