"""Every number the ensemble stage reports is nested: the best single model is chosen per
outer fold without it, and per-target / full-OOF scores use each fold's own thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.ensemble.nested import nested_best_single
from chemchallenge.ensemble.thresholds import tune_thresholds
from chemchallenge.ensemble.weights import best_member
from chemchallenge.io import write_json, write_parquet
from chemchallenge.metrics import per_target, score
from chemchallenge.paths import Paths
from chemchallenge.stages import ensemble
from chemchallenge.tasks import TaskSpec, TaskType
from support.params import config_with

REG = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
ML = TaskSpec(TaskType.MULTILABEL, ["a", "b"], "micro_f1")


def _project(root: Path, task: TaskSpec, y: np.ndarray, members: dict[str, np.ndarray]) -> Paths:
    """Labels, 4 fixed folds (row i in fold i % 4) and the given members' OOF predictions."""
    paths = Paths(root)
    n = len(y)
    ids, test_ids = [f"r{i}" for i in range(n)], ["t0", "t1"]
    train = pd.DataFrame({"id": ids, "smiles": ["C"] * n, "valid": True})
    train[task.targets] = y
    write_parquet(paths.train, train)
    write_parquet(paths.test, pd.DataFrame({"id": test_ids, "smiles": ["C"] * 2, "valid": True}))
    folds = np.arange(n) % 4
    write_parquet(paths.folds, pd.DataFrame({"id": ids, "fold": folds}))
    write_json(paths.task, task.to_dict())
    for name, pred in members.items():
        oof = pd.DataFrame(pred, columns=task.output_columns)
        oof.insert(0, "fold", folds)
        oof.insert(0, "id", ids)
        write_parquet(paths.oof(name), oof)
        test = pd.DataFrame(pred[:2], columns=task.output_columns)
        test.insert(0, "id", test_ids)
        write_parquet(paths.test_pred(name), test)
    return paths


def _cfg(models: list[str], method: str = "weights"):
    return config_with(
        {
            "models": {m: {"kind": "linear"} for m in models},
            "train": {"models": models},
            "submit": {"model": "ensemble"},
            "ensemble": {"method": method, "models": models},
        },
        replace=["models"],
    )


def _lucky_and_steady(n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Member A: perfect on fold 0, RMSE 1 on folds 1-3 (CV mean 0.75, the best on all
    rows, thanks to fold 0 alone); member B: RMSE 0.9 on every fold."""
    rng = np.random.default_rng(0)
    folds = np.arange(n) % 4
    y = rng.normal(size=(n, 1))
    sign = np.where(np.arange(n) % 8 < 4, 1.0, -1.0)[:, None]
    a = np.where(folds[:, None] == 0, y, y + sign)
    b = y - 0.9 * sign
    return y, np.stack([a, b], axis=1), folds


def test_best_single_is_chosen_without_the_scored_fold() -> None:
    y, P, folds = _lucky_and_steady()
    assert best_member(P, y, folds, REG) == 0  # A on all rows
    res, picks = nested_best_single(P, y, folds, REG, tune=False)
    # fold 0: on folds 1-3, A scores 1.0 and B 0.9 -> B; elsewhere A's fold 0 makes it best
    assert picks == [1, 0, 0, 0]
    assert res.at_05 == pytest.approx([0.9, 1.0, 1.0, 1.0])


def test_stage_reports_the_nested_best_single(tmp_path: Path) -> None:
    y, P, _ = _lucky_and_steady()
    paths = _project(tmp_path, REG, y, {"a": P[:, 0], "b": P[:, 1]})
    ensemble.run(_cfg(["a", "b"]), paths)
    m = json.loads(paths.scores("ensemble").read_text())
    # a selection that saw fold 0 (A everywhere) reports (0 + 1 + 1 + 1) / 4 = 0.75
    assert m["best_single_cv"] == pytest.approx(0.975)
    assert m["best_single_nested_at_0.5"]["folds"] == pytest.approx([0.9, 1.0, 1.0, 1.0])
    assert m["best_single_per_fold"] == {"0": "b", "1": "a", "2": "a", "3": "a"}
    assert m["best_single_model"] == "a"  # descriptive: the argmax on all rows
    summary = json.loads(paths.metrics("ensemble").read_text())
    assert summary["best_single_cv"] == pytest.approx(0.975)


def _shifted_fold_scores(n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Under-confident probabilities (best threshold ~0.35), fold 0 shifted up by 0.35."""
    rng = np.random.default_rng(0)
    folds = np.arange(n) % 4
    y = (rng.random((n, 2)) < 0.35).astype(float)
    shift = np.where(folds == 0, 0.35, 0.0)[:, None]
    s = np.clip(0.15 + 0.2 * y + 0.2 * rng.random((n, 2)) + shift, 0, 1)
    return y, s, folds


def test_per_target_and_oof_use_each_folds_nested_thresholds(tmp_path: Path) -> None:
    y, s, folds = _shifted_fold_scores()
    paths = _project(tmp_path, ML, y, {"a": s})
    ensemble.run(_cfg(["a"]), paths)  # one member: the nested predictions are s itself
    m = json.loads(paths.scores("ensemble").read_text())

    ks = range(4)
    thr_k = [tune_thresholds(y[folds != k], s[folds != k], ML) for k in ks]
    thr_all = tune_thresholds(y, s, ML)
    per_nested = [per_target("micro_f1", y[folds == k], s[folds == k], ML, thr_k[k]) for k in ks]
    per_all = [per_target("micro_f1", y[folds == k], s[folds == k], ML, thr_all) for k in ks]
    labels = np.vstack([(s[folds == k] >= thr_k[k]).astype(float) for k in ks])
    order = np.concatenate([np.flatnonzero(folds == k) for k in ks])
    oof_nested = score("micro_f1", y[order], labels, ML)
    oof_all = score("micro_f1", y, s, ML, thr_all)
    # the case discriminates: all-rows thresholds give other numbers
    assert any(not np.array_equal(t, thr_all) for t in thr_k)
    assert abs(oof_nested - oof_all) > 1e-3
    assert np.mean([p["a"] for p in per_all]) - np.mean([p["a"] for p in per_nested]) > 0.05

    for t in ("a", "b"):
        assert m["per_target"][t]["mean"] == pytest.approx(np.mean([p[t] for p in per_nested]))
        assert m["per_target"][t]["std"] == pytest.approx(np.std([p[t] for p in per_nested]))
    assert m["oof"] == pytest.approx(oof_nested)
    assert {k: list(v.values()) for k, v in m["nested_thresholds"].items()} == {
        str(k): pytest.approx(list(thr_k[k])) for k in ks
    }
    # thresholds.json (test time) still holds the all-rows thresholds
    saved = json.loads((paths.model_dir("ensemble") / "thresholds.json").read_text())
    assert list(saved.values()) == pytest.approx(list(thr_all))


def test_ensemble_has_an_inner_score_not_a_train_score(tmp_path: Path) -> None:
    y, P, _ = _lucky_and_steady()
    paths = _project(tmp_path, REG, y, {"a": P[:, 0], "b": P[:, 1]})
    ensemble.run(_cfg(["a", "b"]), paths)
    m = json.loads(paths.scores("ensemble").read_text())
    assert "train_mean" not in m and "train_std" not in m
    assert np.isfinite([m["inner_mean"], m["inner_std"]]).all()
    assert "train_mean" not in json.loads(paths.metrics("ensemble").read_text())
