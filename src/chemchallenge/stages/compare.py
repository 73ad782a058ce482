"""``chemchallenge compare <model> <model> ... --repeats N``: repeated CV of a few models.

Not a DVC stage (nothing downstream reads it): a tool for choosing between two close models
(see :mod:`chemchallenge.models.repeated`). Each model runs with the params ``train`` would
use (tuned ones when its study has run) on its own features, over ``N`` fold seeds with the
same folds for every model. Prints each model's mean ± std over the repeat-folds and every
pair's paired difference; writes ``reports/compare/<models>.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError
from chemchallenge.inputs import load_task, model_inputs, model_params
from chemchallenge.io import read_parquet, write_json
from chemchallenge.metrics import get_metric
from chemchallenge.models.base import check_params
from chemchallenge.models.repeated import (
    Candidate,
    describe,
    fold_sets,
    repeated_cv,
    summarize,
)
from chemchallenge.paths import Paths


def output_path(paths: Paths, names: list[str]) -> Path:
    return paths.root / "reports" / "compare" / f"{'-'.join(names)}.json"


def _check_request(cfg: Config, names: list[str], repeats: int) -> None:
    if len(names) < 2 or len(set(names)) != len(names):
        raise ConfigError(f"compare: name at least two different models, got {names}")
    for name in names:
        cfg.model(name)  # its error names the model missing under models:
    if repeats < 1:
        raise ConfigError(f"compare: --repeats must be at least 1, got {repeats}")


def run(cfg: Config, paths: Paths, names: list[str], repeats: int = 5) -> dict[str, Any]:
    _check_request(cfg, names, repeats)
    task = load_task(paths)
    candidates: dict[str, Candidate] = {}
    for name in names:
        mc = cfg.model(name)
        params, tuned = model_params(cfg, paths, name)
        check_params(mc.kind, task, params, cfg.seed, f"models.{name}.params")
        X, _, _, _ = model_inputs(cfg, paths, name)
        candidates[name] = Candidate(mc.kind, params, X)
        tag = " (tuned params)" if tuned else ""
        print(f"compare: {name}: {mc.kind} on {mc.features or 'SMILES'}{tag}")
    train = read_parquet(paths.train)
    y = train[task.targets].to_numpy(dtype=float)
    cv = cfg.prepare.cv
    folds = fold_sets(y, list(train["smiles"]), task, cv.split, cv.n_folds, cfg.seed, repeats)
    scores, seconds = repeated_cv(candidates, task, y, folds, cfg.seed)
    metric = get_metric(task.metric, task.task_type)
    result = summarize(scores, task.metric, metric.greater_is_better)
    result["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    result["split"] = cv.split
    out = output_path(paths, names)
    write_json(out, result)
    for line in describe(result, seconds):
        print(f"compare: {line}")
    print(f"compare: written to {out}")
    return result
