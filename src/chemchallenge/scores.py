"""A model's scores in two files: the full record and the DVC metrics summary.

``models/<model>/scores.json`` (``ensemble/scores.json``) holds everything a stage measured
(per fold, per target, params, members, timings); the report, ``submit`` and the ensemble
read it. ``metrics/<model>.json`` holds a few numbers only, so that ``dvc metrics show``,
``dvc metrics diff`` and ``dvc exp show`` stay compact tables.
"""

from __future__ import annotations

import math
from typing import Any

from chemchallenge.io import read_json, write_json
from chemchallenge.paths import Paths

#: the numbers of ``metrics/<model>.json``, in this order, when present
SUMMARY_KEYS = ("cv_mean", "cv_std", "train_mean", "best_single_cv", "holdout")


def summary(scores: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of ``scores`` under :data:`SUMMARY_KEYS` (rounded to 5 digits)."""
    out: dict[str, float] = {}
    for key in SUMMARY_KEYS:
        value = scores.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = round(float(value), 5)
    return out


def write_scores(paths: Paths, name: str, scores: dict[str, Any]) -> None:
    """Write the full record and its metrics summary."""
    write_json(paths.scores(name), scores)
    write_json(paths.metrics(name), summary(scores))


def read_scores(paths: Paths, name: str) -> dict[str, Any] | None:
    """The full record of ``name``, or ``None`` when its stage has not run."""
    path = paths.scores(name)
    return read_json(path) if path.exists() else None
