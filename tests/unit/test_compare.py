"""Repeated CV (``chemchallenge compare``): paired statistics, folds, the stage and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chemchallenge import cli
from chemchallenge.config import Config, config_from_dict
from chemchallenge.models.repeated import fold_sets, paired, summarize
from chemchallenge.paths import Paths
from chemchallenge.stages import compare, featurize, prepare, train
from chemchallenge.tasks import TaskSpec, TaskType
from conftest import make_tables, tiny_params, write_tables


def test_paired_by_hand_lower_is_better() -> None:
    a = np.array([[0.50, 0.60], [0.70, 0.40]])
    b = np.array([[0.55, 0.55], [0.70, 0.60]])
    p = paired(a, b, greater_is_better=False)
    # a - b = [-0.05, 0.05, 0, -0.2]: mean -0.05, std sqrt(mean of squared deviations)
    dev = np.array([0.0, 0.1, 0.05, -0.15])
    assert p["diff_mean"] == pytest.approx(-0.05)
    assert p["diff_std"] == pytest.approx(np.sqrt(np.mean(dev**2)))
    assert (p["a_better"], p["b_better"], p["ties"], p["n"]) == (2, 1, 1, 4)
    assert p["within_one_std"] is True  # |-0.05| <= 0.0935


def test_paired_greater_is_better_and_beyond_noise() -> None:
    a = np.array([0.80, 0.82, 0.81, 0.83])
    b = np.array([0.70, 0.71, 0.73, 0.72])
    p = paired(a, b, greater_is_better=True)
    assert p["diff_mean"] == pytest.approx(0.1)
    assert (p["a_better"], p["b_better"], p["ties"]) == (4, 0, 0)
    assert p["within_one_std"] is False
    q = paired(b, a, greater_is_better=True)
    assert (q["a_better"], q["b_better"]) == (0, 4)


def test_summarize_means_and_pairs() -> None:
    scores = {"x": np.array([[1.0, 2.0], [3.0, 4.0]]), "y": np.array([[1.5, 2.0], [2.0, 5.0]])}
    s = summarize(scores, "rmse", greater_is_better=False)
    assert s["repeats"] == 2 and s["n_folds"] == 2
    assert s["models"]["x"]["mean"] == pytest.approx(2.5)
    assert s["models"]["x"]["std"] == pytest.approx(np.std([1, 2, 3, 4]))
    assert s["models"]["y"]["repeat_means"] == [1.75, 3.5]
    (pair,) = s["pairs"]
    assert (pair["a"], pair["b"]) == ("x", "y")
    assert pair["diff_mean"] == pytest.approx(np.mean([-0.5, 0.0, 1.0, -1.0]))


def test_fold_sets_repeat_zero_is_prepare_and_others_differ() -> None:
    task = TaskSpec(TaskType.MULTILABEL, ["a", "b"], "micro_f1")
    rng = np.random.default_rng(0)
    y = (rng.random((60, 2)) < 0.4).astype(float)
    sets = fold_sets(y, ["C"] * 60, task, "auto", 5, 7, 3)
    from chemchallenge.data.splits import make_folds

    np.testing.assert_array_equal(sets[0], make_folds(y, ["C"] * 60, task.task_type, "auto", 5, 7))
    assert not np.array_equal(sets[0], sets[1]) and not np.array_equal(sets[1], sets[2])
    for f in sets:
        assert sorted(np.bincount(f)) == [12] * 5


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Paths]:
    """Prepared binary data, morgan features, xgb trained (its CV is repeat 0's)."""
    root = tmp_path_factory.mktemp("compare")
    write_tables(root / "challenge", make_tables("binary"))
    params = tiny_params(root / "challenge")
    params["featurize"]["featurizers"] = {"morgan": {"radius": 2, "n_bits": 256}}
    cfg = config_from_dict(params)
    paths = Paths(root)
    prepare.run(cfg, paths)
    featurize.run(cfg, paths, "morgan")
    train.run(cfg, paths, "xgb")
    return cfg, paths


def test_compare_stage(project: tuple[Config, Paths]) -> None:
    cfg, paths = project
    result = compare.run(cfg, paths, ["xgb", "knn"], repeats=2)
    written = json.loads(compare.output_path(paths, ["xgb", "knn"]).read_text())
    assert written["models"].keys() == {"xgb", "knn"} and written["repeats"] == 2
    xgb = np.array(result["models"]["xgb"]["scores"])
    knn = np.array(result["models"]["knn"]["scores"])
    assert xgb.shape == knn.shape == (2, 3)
    # repeat 0: the prepared folds and train's seeds, so train-xgb's very fold scores
    trained = json.loads((paths.model_dir("xgb") / "scores.json").read_text())["folds"]
    np.testing.assert_allclose(xgb[0], trained)
    (pair,) = written["pairs"]
    diff = (xgb - knn).ravel()  # roc_auc: higher is better
    assert pair["diff_mean"] == pytest.approx(diff.mean())
    assert pair["diff_std"] == pytest.approx(diff.std())
    assert pair["a_better"] == (diff > 0).sum() and pair["b_better"] == (diff < 0).sum()


def test_cli_refuses_one_model(
    project: tuple[Config, Paths], capsys: pytest.CaptureFixture[str]
) -> None:
    _, paths = project
    import yaml

    params = paths.root / "params.yaml"
    params.write_text(yaml.safe_dump(tiny_params(paths.root / "challenge")))
    rc = cli.main(["--params", str(params), "--root", str(paths.root), "compare", "xgb"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "at least two different models" in err and "\n" not in err
