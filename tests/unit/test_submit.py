"""The submit stage: exact challenge format, validation, thresholds, archive."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chemchallenge.errors import ChemChallengeError, ConfigError, MissingInputError
from chemchallenge.io import write_json, write_parquet
from chemchallenge.paths import Paths
from chemchallenge.stages import prepare, submit
from chemchallenge.stages.train import load_task
from chemchallenge.tasks import TaskSpec, TaskType

MODEL = "baseline"


@pytest.fixture
def prepared(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> Callable[..., tuple[Any, pd.DataFrame]]:
    """``prepared(task, rename_id=None, extra=None)``: run prepare on tiny tables whose test
    IDs are in a non-sorted order; return (cfg, X_test as written)."""

    def make(task: str, rename_id: str | None = None, extra: dict | None = None):
        tables = tables_factory(task)
        tables.x_test = tables.x_test.iloc[::-1].reset_index(drop=True)  # IDs 59, 58, ...
        tables.x_test["ID"] = [f"T-{i}" for i in tables.x_test["ID"]]
        if rename_id:
            for t in (tables.x_train, tables.y_train, tables.x_test):
                t.rename(columns={"ID": rename_id}, inplace=True)
        write_challenge(tables)
        cfg = cfg_factory(extra=extra)
        prepare.run(cfg, paths)
        return cfg, tables.x_test

    return make


def write_pred(paths: Paths, scores: np.ndarray, model: str = MODEL) -> None:
    task = load_task(paths)
    test = pd.read_parquet(paths.test)
    pred = pd.DataFrame(scores, columns=task.output_columns)
    pred.insert(0, "id", test["id"].to_numpy())
    write_parquet(paths.test_pred(model), pred)


def rng_scores(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, k))


def submission_text(paths: Paths) -> list[str]:
    return (paths.submissions / "submission.csv").read_text().splitlines()


def test_regression_format(prepared: Callable, paths: Paths) -> None:
    cfg, x_test = prepared("regression")
    scores = rng_scores(15, 1) * -5
    write_pred(paths, scores)
    submit.run(cfg, paths)
    lines = submission_text(paths)
    assert lines[0] == "ID,logS"
    ids = [line.split(",")[0] for line in lines[1:]]
    assert ids == list(x_test["ID"])  # the order of X_test, not sorted
    values = [float(line.split(",")[1]) for line in lines[1:]]
    np.testing.assert_allclose(values, scores[:, 0])


def test_binary_format_and_default_threshold(prepared: Callable, paths: Paths) -> None:
    cfg, x_test = prepared("binary")
    scores = np.linspace(0.0, 1.0, 15)[:, None]
    write_pred(paths, scores)
    submit.run(cfg, paths)
    lines = submission_text(paths)
    assert lines[0] == "ID,active"
    assert [line.split(",")[0] for line in lines[1:]] == list(x_test["ID"])
    cells = [line.split(",")[1] for line in lines[1:]]
    assert cells == [str(int(s >= 0.5)) for s in scores[:, 0]]  # "0"/"1", never "1.0"


def test_multilabel_format(prepared: Callable, paths: Paths) -> None:
    cfg, x_test = prepared("multilabel")
    scores = rng_scores(15, 3)
    write_pred(paths, scores)
    submit.run(cfg, paths)
    sub = pd.read_csv(paths.submissions / "submission.csv", dtype=str)
    assert list(sub.columns) == ["ID", "Y1", "Y2", "Y3"]
    assert list(sub["ID"]) == list(x_test["ID"])
    expected = (scores >= 0.5).astype(int).astype(str)
    np.testing.assert_array_equal(sub[["Y1", "Y2", "Y3"]].to_numpy(), expected)


def test_multiclass_format(prepared: Callable, paths: Paths) -> None:
    cfg, x_test = prepared("multiclass")
    task = load_task(paths)
    assert task.classes == ["high", "low", "mid"]
    scores = rng_scores(15, 3)
    write_pred(paths, scores)
    submit.run(cfg, paths)
    sub = pd.read_csv(paths.submissions / "submission.csv", dtype=str)
    assert list(sub.columns) == ["ID", "potency"]
    assert list(sub["ID"]) == list(x_test["ID"])
    assert list(sub["potency"]) == [task.classes[i] for i in scores.argmax(axis=1)]


def test_multiclass_integer_labels_keep_their_spelling(
    tables_factory: Callable,
    write_challenge: Callable,
    cfg_factory: Callable,
    paths: Paths,
) -> None:
    tables = tables_factory("multiclass")
    tables.y_train["potency"] = tables.y_train["potency"].map(
        {"low": "1", "mid": "2", "high": "10"}
    )
    write_challenge(tables)
    cfg = cfg_factory()
    prepare.run(cfg, paths)
    assert load_task(paths).classes == ["1", "2", "10"]  # numeric order
    scores = np.tile([0.1, 0.2, 0.7], (15, 1))
    write_pred(paths, scores)
    submit.run(cfg, paths)
    assert set(submission_text(paths)[1:]) == {f"{i},10" for i in range(45, 60)}


def test_id_column_name_from_x_test(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("binary", rename_id="mol_id")
    write_pred(paths, rng_scores(15, 1))
    submit.run(cfg, paths)
    assert submission_text(paths)[0] == "mol_id,active"


# --------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        (0.3, [0.3, 0.3, 0.3]),
        ({"Y1": 0.2, "Y3": 0.8}, [0.2, 0.5, 0.8]),
    ],
)
def test_thresholds_from_params(
    thresholds: Any, expected: list[float], prepared: Callable, paths: Paths
) -> None:
    cfg, _ = prepared("multilabel", extra={"submit": {"thresholds": thresholds}})
    task = load_task(paths)
    np.testing.assert_allclose(submit.thresholds_for(cfg, paths, MODEL, task), expected)
    scores = rng_scores(15, 3)
    write_pred(paths, scores)
    submit.run(cfg, paths)
    sub = pd.read_csv(paths.submissions / "submission.csv")
    np.testing.assert_array_equal(sub[task.targets], (scores >= np.array(expected)).astype(int))


def test_thresholds_auto_with_and_without_tuned_file(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("multilabel")
    task = load_task(paths)
    np.testing.assert_allclose(submit.thresholds_for(cfg, paths, MODEL, task), [0.5] * 3)
    write_json(paths.model_dir(MODEL) / "thresholds.json", {"Y1": 0.1, "Y2": 0.9})
    np.testing.assert_allclose(submit.thresholds_for(cfg, paths, MODEL, task), [0.1, 0.9, 0.5])
    scores = rng_scores(15, 3)
    write_pred(paths, scores)
    submit.run(cfg, paths)
    sub = pd.read_csv(paths.submissions / "submission.csv")
    np.testing.assert_array_equal(
        sub[task.targets], (scores >= np.array([0.1, 0.9, 0.5])).astype(int)
    )


def test_thresholds_naming_unknown_target(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("multilabel", extra={"submit": {"thresholds": {"y1": 0.3}}})
    write_pred(paths, rng_scores(15, 3))
    with pytest.raises(ConfigError, match=r"submit.thresholds: \['y1'\] are not targets"):
        submit.run(cfg, paths)


# --------------------------------------------------------------------------- validation


def test_validate_submission_errors() -> None:
    task = TaskSpec(TaskType.MULTILABEL, ["Y1", "Y2"], "micro_f1", id_column="ID")
    test = pd.DataFrame({"id": ["a", "b", "c"]})
    good = pd.DataFrame({"ID": ["a", "b", "c"], "Y1": [0, 1, 0], "Y2": [1, 1, 0]})
    submit.validate_submission(good, test, task)
    with pytest.raises(ChemChallengeError, match="columns"):
        submit.validate_submission(good[["ID", "Y2", "Y1"]], test, task)
    with pytest.raises(ChemChallengeError, match="IDs differ"):
        submit.validate_submission(good.iloc[[1, 0, 2]], test, task)
    with pytest.raises(ChemChallengeError, match="IDs differ"):
        submit.validate_submission(good.iloc[:2], test, task)
    with pytest.raises(ChemChallengeError, match=r"missing predictions for IDs \['b'\]"):
        submit.validate_submission(good.assign(Y2=[1, None, 0]), test, task)
    with pytest.raises(ChemChallengeError, match="outside"):
        submit.validate_submission(good.assign(Y1=[0, 2, 1]), test, task)


def test_prediction_ids_must_match_test(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("binary")
    write_pred(paths, rng_scores(15, 1))
    pred = pd.read_parquet(paths.test_pred(MODEL))
    write_parquet(paths.test_pred(MODEL), pred.iloc[::-1])
    with pytest.raises(ChemChallengeError, match="IDs differ from the prepared test set"):
        submit.run(cfg, paths)
    assert not (paths.submissions / "submission.csv").exists()


def test_nan_prediction_is_refused(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("regression")
    scores = rng_scores(15, 1)
    scores[3] = np.nan
    write_pred(paths, scores)
    with pytest.raises(ChemChallengeError, match="missing predictions"):
        submit.run(cfg, paths)
    assert not (paths.submissions / "history").exists() or not any(
        (paths.submissions / "history").iterdir()
    )


def test_missing_predictions(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("binary")
    with pytest.raises(MissingInputError, match="run train-baseline"):
        submit.run(cfg, paths)


# --------------------------------------------------------------------------- archive


def history_files(paths: Paths) -> list[str]:
    return sorted(p.name for p in (paths.submissions / "history").iterdir())


def test_archive_never_overwrites(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("regression")
    write_json(paths.scores(MODEL), {"metric": "rmse", "cv_mean": 1.25, "cv_std": 0.5})
    write_pred(paths, rng_scores(15, 1, seed=1))
    submit.run(cfg, paths)
    first = (paths.submissions / "submission.csv").read_text()
    write_pred(paths, rng_scores(15, 1, seed=2))
    submit.run(cfg, paths)
    second = (paths.submissions / "submission.csv").read_text()
    assert first != second
    files = history_files(paths)
    assert len(files) == 2 and all(MODEL in f for f in files)
    contents = {(paths.submissions / "history" / f).read_text() for f in files}
    assert contents == {first, second}
    registry = pd.read_csv(paths.submissions / "registry.csv", dtype=str, keep_default_na=False)
    assert list(registry.columns) == submit.REGISTRY_COLUMNS
    assert len(registry) == 2
    assert set(registry["file"]) == {f"submissions/history/{f}" for f in files}
    assert list(registry["model"]) == [MODEL, MODEL]
    assert list(registry["metric"]) == ["rmse", "rmse"]
    assert float(registry["cv_mean"][0]) == 1.25
    assert registry["sha256"].nunique() == 2
    # the newest submission is the copy
    newest = registry.iloc[-1]["file"]
    assert (paths.root / newest).read_text() == second


def test_identical_predictions_not_archived_twice(
    prepared: Callable, paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _ = prepared("binary")
    write_pred(paths, rng_scores(15, 1, seed=1))
    submit.run(cfg, paths)
    submit.run(cfg, paths)
    assert "not archived again" in capsys.readouterr().out
    assert len(history_files(paths)) == 1
    registry = pd.read_csv(paths.submissions / "registry.csv")
    assert len(registry) == 1
    # different scores giving the same 0/1 labels are the same submission
    write_pred(paths, np.where(rng_scores(15, 1, seed=1) >= 0.5, 0.9, 0.1))
    submit.run(cfg, paths)
    assert len(history_files(paths)) == 1
    assert len(pd.read_csv(paths.submissions / "registry.csv")) == 1


def test_previous_submission_back_after_identical_rerun(prepared: Callable, paths: Paths) -> None:
    cfg, _ = prepared("regression")
    write_pred(paths, rng_scores(15, 1, seed=1))
    submit.run(cfg, paths)
    first = (paths.submissions / "submission.csv").read_text()
    write_pred(paths, rng_scores(15, 1, seed=2))
    submit.run(cfg, paths)
    write_pred(paths, rng_scores(15, 1, seed=1))
    submit.run(cfg, paths)  # identical to the first: reused, not archived again
    assert (paths.submissions / "submission.csv").read_text() == first
    assert len(history_files(paths)) == 2
    registry_rows = (paths.submissions / "registry.csv").read_text().splitlines()
    assert len(registry_rows) == 3  # header + 2
    assert json.loads(paths.task.read_text())["task_type"] == "regression"
