"""The tune stage on tiny data: a run, resuming, two workers on one study, tune: false."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError
from chemchallenge.io import write_json, write_parquet
from chemchallenge.models.base import ModelInput
from chemchallenge.paths import Paths
from chemchallenge.stages import tune
from chemchallenge.tasks import TaskSpec, TaskType
from chemchallenge.tuning.study import make_storage
from support.params import config_with

N, D = 60, 6
SQLITE = "sqlite:///optuna/studies.db"


def make_project(root: Path) -> None:
    """Prepared data (regression, 3 folds) and a tiny feature matrix in ``features.npy``."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=N)
    ids = [str(i) for i in range(N)]
    train = pd.DataFrame({"id": ids, "smiles": ["C" * (i % 7 + 1) for i in range(N)], "y": y})
    train["valid"] = True
    paths = Paths(root)
    write_parquet(paths.train, train)
    write_parquet(paths.test, train.head(5).assign(id=[f"t{i}" for i in range(5)]))
    write_parquet(paths.folds, pd.DataFrame({"id": ids, "fold": np.arange(N) % 3}))
    write_json(paths.task, TaskSpec(TaskType.REGRESSION, ["y"], "rmse").to_dict())
    (root / "features.npy").parent.mkdir(parents=True, exist_ok=True)
    np.save(root / "features.npy", X)


def fake_inputs(cfg: Config, paths: Paths, name: str) -> tuple[Any, Any, Any, Any]:
    """Stands in for train.model_inputs (featurizers are not part of these tests)."""
    train = pd.read_parquet(paths.train)
    X = ModelInput(list(train["smiles"]), np.load(paths.root / "features.npy"), None)
    return X, None, train, None


def make_cfg(n_trials: int = 3, storage: str = SQLITE, **tune_: Any) -> Config:
    return config_with(
        {
            "featurize": {"featurizers": {"tiny": {}}},
            "models": {
                "xgb": {
                    "kind": "xgboost",
                    "features": ["tiny"],
                    "params": {"n_estimators": 15, "max_depth": 2, "n_jobs": 1},
                    "tune": True,
                    "search_space": {
                        "max_depth": {"type": "int", "low": 1, "high": 4},
                        "learning_rate": {"type": "float", "low": 0.02, "high": 0.5, "log": True},
                    },
                },
                "ridge": {
                    "kind": "linear",
                    "features": ["tiny"],
                    "params": {"alpha": 1.0},
                    "tune": True,
                    "search_space": {
                        "alpha": {"type": "float", "low": 1e-3, "high": 1e3, "log": True}
                    },
                },
                "lin": {"kind": "linear", "features": ["tiny"], "tune": False},
            },
            "train": {"models": ["xgb", "ridge", "lin"]},
            "submit": {"model": "xgb"},
            "tune": {"n_trials": n_trials, "storage": storage, **tune_},
        },
        replace=["featurize.featurizers", "models"],
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    make_project(tmp_path)
    monkeypatch.setattr(tune, "model_inputs", fake_inputs)
    return Paths(tmp_path)


def _studies(paths: Paths, storage: str = SQLITE, name: str = "xgb") -> list[str]:
    """Names of the studies of model ``name`` in ``storage``."""
    summaries = optuna.get_all_study_summaries(make_storage(storage, paths.root))
    return sorted(s.study_name for s in summaries if s.study_name.startswith(f"{name}-"))


def _trials(paths: Paths, storage: str = SQLITE, name: str = "xgb") -> list:
    """Finished trials of the model's current study (the one best_params.json names)."""
    study_name = json.loads(paths.best_params(name).read_text())["study"]
    study = optuna.load_study(study_name=study_name, storage=make_storage(storage, paths.root))
    return study.get_trials(deepcopy=False, states=tune.FINISHED)


def test_tune_run_writes_best_params_and_figures(project: Paths) -> None:
    tune.run(make_cfg(n_trials=3, pruner="none"), project, "xgb")
    best = json.loads(project.best_params("xgb").read_text())
    assert best["tuned"] is True and best["n_trials"] == 3 and best["metric"] == "rmse"
    assert set(best["params"]) <= {"max_depth", "learning_rate"}
    assert best["best_value"] <= best["default_value"]
    assert best["study"].startswith("xgb-") and best["storage"] == "sqlite:///optuna/studies.db"
    assert _studies(project) == [best["study"]]
    trials = _trials(project)
    default = trials[0]
    assert default.user_attrs["default"] and default.params == {"max_depth": 2}
    out = project.model_dir("xgb") / "tuning"
    assert len(pd.read_csv(out / "trials.csv")) == 3
    for fig in ("history", "importance", "parallel"):
        assert (out / f"{fig}.png").stat().st_size > 1000
    assert (project.root / "optuna" / "studies.db").exists()


def test_resume_counts_finished_trials_only(project: Paths) -> None:
    storage = "journal:optuna/journal.log"
    tune.run(make_cfg(n_trials=2, storage=storage, n_folds=2), project, "ridge")
    assert len(_trials(project, storage, "ridge")) == 2
    tune.run(make_cfg(n_trials=4, storage=storage, n_folds=2), project, "ridge")
    trials = _trials(project, storage, "ridge")
    assert len(trials) == 4
    assert sum(bool(t.user_attrs.get("default")) for t in trials) == 1
    assert all(len(t.user_attrs["fold_scores"]) == 2 for t in trials)
    assert json.loads(project.best_params("ridge").read_text())["n_trials"] == 4


def test_per_model_trial_budget(project: Paths) -> None:
    """``models.<name>.n_trials`` overrides ``tune.n_trials`` for that model only; the
    study is the same one (the budget is not part of its identity), so raising it resumes."""
    storage = "journal:optuna/journal.log"
    cfg = make_cfg(n_trials=2, storage=storage, n_folds=2)
    cfg.models["ridge"].n_trials = 4
    tune.run(cfg, project, "ridge")
    assert len(_trials(project, storage, "ridge")) == 4
    assert tune.trial_budget(cfg, "xgb") == 2 and tune.trial_budget(cfg, "ridge") == 4
    cfg.models["ridge"].n_trials = 5
    tune.run(cfg, project, "ridge")
    assert len(_trials(project, storage, "ridge")) == 5  # one more, same study


@pytest.mark.parametrize("bad", [0, -3, "many", True])
def test_per_model_trial_budget_checked(bad: object) -> None:
    raw = {
        "models": {"m": {"kind": "linear", "n_trials": bad}},
        "train": {"models": ["m"]},
        "submit": {"model": "m"},
    }
    with pytest.raises(ConfigError, match=r"models\.m\.n_trials"):
        config_with(raw, replace=["models"])


@pytest.mark.parametrize("pruner", ["hyperband", "median"])
def test_pruners_and_sampler_choices(project: Paths, pruner: str) -> None:
    cfg = make_cfg(n_trials=3, storage=f"journal:optuna/{pruner}.log", pruner=pruner)
    cfg.tune.sampler = "random"
    tune.run(cfg, project, "ridge")
    assert json.loads(project.best_params("ridge").read_text())["n_trials"] == 3
    cfg.tune.sampler = "grid"
    with pytest.raises(ConfigError, match=r"tune\.sampler"):
        tune.run(cfg, project, "ridge")


def test_other_data_opens_a_new_study_and_keeps_the_old(project: Paths) -> None:
    tune.run(make_cfg(n_trials=1), project, "ridge")
    first = _studies(project, name="ridge")
    folds = pd.read_parquet(project.folds)
    write_parquet(project.folds, folds.assign(fold=(np.arange(N) + 1) % 3))
    tune.run(make_cfg(n_trials=2), project, "ridge")
    second = _studies(project, name="ridge")
    assert len(first) == 1 and len(second) == 2 and first[0] in second
    assert len(_trials(project, name="ridge")) == 2  # a fresh study: 2 trials, not 1 + 1


def test_other_direction_opens_a_new_study(project: Paths) -> None:
    """Demo (rmse, minimise) then a classification challenge (maximise) in one storage."""
    tune.run(make_cfg(n_trials=1), project, "ridge")
    cfg = make_cfg(n_trials=1)
    cfg.data.metric = "r2"
    write_json(project.task, TaskSpec(TaskType.REGRESSION, ["y"], "r2").to_dict())
    tune.run(cfg, project, "ridge")
    assert json.loads(project.best_params("ridge").read_text())["direction"] == "maximize"
    assert len(_studies(project, name="ridge")) == 2


def test_changed_search_space_or_params_open_new_studies(
    project: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    tune.run(make_cfg(n_trials=1, n_folds=1), project, "xgb")
    cfg = make_cfg(n_trials=2, n_folds=1)
    cfg.model("xgb").params["n_jobs"] = 2  # no effect on scores: the same study resumes
    tune.run(cfg, project, "xgb")
    assert len(_studies(project)) == 1 and len(_trials(project)) == 2
    cfg.model("xgb").search_space["max_depth"]["high"] = 6
    tune.run(cfg, project, "xgb")
    assert len(_studies(project)) == 2
    capsys.readouterr()
    cfg.model("xgb").params["max_depth"] = 4  # what `dvc exp run -S ...max_depth=4` does
    tune.run(cfg, project, "xgb")
    assert len(_studies(project)) == 3
    out = capsys.readouterr().out
    assert "max_depth=4 also in models.xgb.search_space" in out
    assert _trials(project)[0].params["max_depth"] == 4  # trial 0 = the params.yaml value


def test_same_experiment_resumes_its_study(project: Paths) -> None:
    tune.run(make_cfg(n_trials=2, pruner="none"), project, "ridge")
    again = make_cfg(n_trials=2, pruner="none")
    tune.run(again, project, "ridge")  # nothing left to run
    assert len(_studies(project, name="ridge")) == 1 and len(_trials(project, name="ridge")) == 2


def test_tune_false_writes_untuned_file_fast(project: Paths) -> None:
    tune.run(make_cfg(), project, "lin")
    assert json.loads(project.best_params("lin").read_text()) == {"tuned": False, "params": {}}
    assert not (project.root / "optuna").exists()


def _worker(root: str, storage: str) -> None:
    tune.run(make_cfg(n_trials=8, storage=storage, pruner="none"), Paths(Path(root)), "ridge")


def test_two_workers_share_one_study(project: Paths) -> None:
    """Two processes (forked: they inherit the stand-in for the featurized inputs)."""
    storage = "journal:optuna/shared.log"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(project.root), storage)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    trials = _trials(project, storage, "ridge")
    assert 8 <= len(trials) <= 9  # the other worker may finish the trial in flight at the stop
    assert sum(bool(t.user_attrs.get("default")) for t in trials) >= 1
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2, workers


def test_sampler_seeded_by_trial_number() -> None:
    """Trial k draws from seed + k: two workers (two samplers) on one study never draw the
    same params, and each trial draws what it would in a serial study."""
    from chemchallenge.tuning.study import make_sampler

    def draws(study: optuna.Study, samplers: list, n: int) -> list[float]:
        out = []
        for i in range(n):
            study.sampler = samplers[i % len(samplers)]
            trial = study.ask()
            out.append(trial.suggest_float("x", 0, 1))
            study.tell(trial, out[-1])
        return out

    for kind in ("tpe", "random"):
        serial = draws(optuna.create_study(), [make_sampler(kind, 7)], 4)
        assert serial == draws(optuna.create_study(), [make_sampler(kind, 7)], 4)
        two = draws(optuna.create_study(), [make_sampler(kind, 7), make_sampler(kind, 7)], 4)
        assert two == serial and len(set(two)) == 4  # start-up trials: random, seed + k


def test_heartbeat_setting(project: Paths) -> None:
    storage = make_storage(SQLITE, project.root, heartbeat_s=2)
    assert storage.get_heartbeat_interval() == 2 and storage.grace_period == 6
    with pytest.raises(ConfigError, match=r"tune\.heartbeat_s"):
        make_cfg(heartbeat_s=0)


def test_failed_trial_records_its_error_and_default_reruns(
    project: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chemchallenge.tuning.objective as objective

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    real = objective.cross_validate
    monkeypatch.setattr(objective, "cross_validate", boom)
    with pytest.raises(RuntimeError, match="boom"):
        tune.run(make_cfg(n_trials=2, pruner="none"), project, "ridge")
    storage = make_storage(SQLITE, project.root)
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    (failed,) = study.trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert failed.user_attrs["error"] == "RuntimeError: boom" and failed.user_attrs["default"]
    monkeypatch.setattr(objective, "cross_validate", real)
    tune.run(make_cfg(n_trials=2, pruner="none"), project, "ridge")  # the default runs again
    assert sum(bool(t.user_attrs.get("default")) for t in _trials(project, name="ridge")) == 1
