"""Issue 11: bad input never silently corrupts a submission and never shows a traceback.

One test per row of the issue's table and per item of its list, through the command line:
the exit status, the one-line message (file, row/ID or key, the problem) and that nothing
half-done is left behind. A small sample of the fuzz cases of
``benchmarks/bench_bad_input.py`` runs here too.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from chemchallenge.cli import main
from chemchallenge.io import write_csv
from chemchallenge.paths import Paths

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- helpers
class Runner:
    """``run(*argv)`` -> (exit status, stdout, stderr) of the CLI on ``tmp_path``."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str], params: dict) -> None:
        self.root, self.capsys, self.params = root, capsys, params
        self.params_file = root / "params.yaml"

    def write_params(self, params: dict[str, Any] | None = None) -> None:
        self.params_file.write_text(yaml.safe_dump(params or self.params, sort_keys=False))

    def run(self, *argv: str, debug: bool = False) -> tuple[int, str, str]:
        if not self.params_file.exists():
            self.write_params()
        extra = ["--debug"] if debug else []
        rc = main(["--params", str(self.params_file), "--root", str(self.root), *extra, *argv])
        cap = self.capsys.readouterr()
        return rc, cap.out, cap.err

    def error(self, *argv: str, stage: str | None = None) -> str:
        """Run; assert a clean refusal (status 2, one line, no traceback); the message."""
        rc, _, err = self.run(*argv)
        assert rc == 2, err
        assert "Traceback" not in err
        lines = [line for line in err.splitlines() if line.strip()]
        name = stage or "-".join(
            argv[:2] if argv[0] in ("train", "featurize", "tune") else argv[:1]
        )
        errors = [line for line in lines if line.startswith(f"chemchallenge {name}: error: ")]
        assert len(errors) == 1, err
        return errors[0]

    def pipeline(self) -> None:
        for argv in (["prepare"], ["featurize", "morgan"], ["train", "baseline"], ["submit"]):
            rc, _, err = self.run(*argv)
            assert rc == 0, err


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], params_factory: Callable[..., dict]
) -> Runner:
    params = params_factory(
        {
            "featurize": {"featurizers": {"morgan": {"radius": 2, "n_bits": 256}}},
            "models": {"baseline": {"kind": "decision_tree", "features": ["morgan"]}},
            "train": {"models": ["baseline"]},
        }
    )
    params["models"] = {"baseline": params["models"]["baseline"]}
    params["featurize"]["featurizers"] = {"morgan": {"radius": 2, "n_bits": 256}}
    return Runner(tmp_path, capsys, params)


def nothing_prepared(root: Path) -> bool:
    return not (root / "data" / "prepared").exists()


def no_submission(root: Path) -> bool:
    return not list((root / "submissions").glob("**/*.csv"))


# ----------------------------------------------------------------------------- the table
def test_x_test_without_header(cli: Runner, write_challenge: Callable) -> None:
    files = write_challenge("multilabel")
    lines = files.x_test.read_text().splitlines(keepends=True)
    files.x_test.write_text("".join(lines[1:]))
    msg = cli.error("prepare")
    assert "X_test.csv: the first line looks like data, not a header" in msg
    assert "add the header line" in msg
    assert nothing_prepared(cli.root)


def test_no_header_anywhere(cli: Runner, write_challenge: Callable) -> None:
    files = write_challenge("multilabel")
    for f in (files.x_train, files.y_train, files.x_test):
        f.write_text("".join(f.read_text().splitlines(keepends=True)[1:]))
    msg = cli.error("prepare")
    assert "the first line looks like data, not a header" in msg
    assert nothing_prepared(cli.root)


@pytest.mark.parametrize("index_name", ["", "Unnamed: 0"])
def test_index_column_in_y_train(
    cli: Runner, write_challenge: Callable, tables_factory: Callable, index_name: str
) -> None:
    files = write_challenge("multilabel")
    y = tables_factory("multilabel").y_train
    y.to_csv(files.y_train, index=True, index_label=index_name or None)
    msg = cli.error("prepare")
    assert "y_train.csv: column 1" in msg and "a saved pandas index?" in msg
    assert "index=False" in msg
    assert nothing_prepared(cli.root)


def test_trailing_commas(cli: Runner, write_challenge: Callable) -> None:
    files = write_challenge("binary")
    files.x_test.write_text(
        "".join(f"{line}," + "\n" for line in files.x_test.read_text().splitlines())
    )
    msg = cli.error("prepare")
    assert "X_test.csv: column 3 has no name and no values" in msg
    assert nothing_prepared(cli.root)


def test_duplicate_target_header(cli: Runner, write_challenge: Callable) -> None:
    files = write_challenge("multilabel")
    text = files.y_train.read_text()
    files.y_train.write_text(text.replace("ID,Y1,Y2,Y3", "ID,Y1,Y1,Y3", 1))
    msg = cli.error("prepare")
    assert "y_train.csv: duplicate column name(s) ['Y1']" in msg
    assert nothing_prepared(cli.root)


@pytest.mark.parametrize("task", ["multilabel", "binary"])
def test_stray_label_is_an_error_naming_the_cell(
    cli: Runner, write_challenge: Callable, tables_factory: Callable, task: str
) -> None:
    tables = tables_factory(task)
    target = tables.y_train.columns[-1]
    tables.y_train.loc[5, target] = "2"
    write_challenge(tables)
    msg = cli.error("prepare")
    assert "labels are 0/1 except in 1 cell(s)" in msg
    assert f"ID 5 column {target!r}: '2'" in msg
    assert "set data.task" in msg
    assert nothing_prepared(cli.root)


def test_stray_label_accepted_when_data_task_says_regression(
    cli: Runner, write_challenge: Callable, tables_factory: Callable
) -> None:
    tables = tables_factory("binary")
    tables.y_train.loc[5, "active"] = "2"
    write_challenge(tables)
    cli.params["data"]["task"] = "regression"
    rc, out, err = cli.run("prepare")
    assert rc == 0, err
    assert "regression task" in out


@pytest.mark.parametrize("task", ["binary", "multilabel"])
def test_single_class_target(
    cli: Runner, write_challenge: Callable, tables_factory: Callable, task: str
) -> None:
    tables = tables_factory(task)
    target = tables.y_train.columns[-1]
    tables.y_train[target] = "0"
    write_challenge(tables)
    msg = cli.error("prepare")
    assert f"column {target!r}: every label is 0 (a single class)" in msg
    assert nothing_prepared(cli.root)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e400"])
def test_non_finite_labels(
    cli: Runner, write_challenge: Callable, tables_factory: Callable, value: str
) -> None:
    tables = tables_factory("regression")
    tables.y_train.loc[7, "logS"] = value
    write_challenge(tables)
    msg = cli.error("prepare")
    assert "y_train.csv: column 'logS': non-finite values" in msg
    assert "[rows/IDs: 7]" in msg
    assert nothing_prepared(cli.root)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"max_depth": "deep"}, "The 'max_depth' parameter of DecisionTree"),
        ({"max_depth": -1}, "The 'max_depth' parameter"),
        ({"criterion": "bogus"}, "The 'criterion' parameter"),
        ({"depth": 3}, "unexpected keyword argument 'depth'"),
    ],
)
def test_bad_hyper_parameter_stops_before_training(
    cli: Runner, write_challenge: Callable, params: dict, fragment: str
) -> None:
    write_challenge("binary")
    cli.params["models"]["baseline"]["params"] = params
    for argv in (["prepare"], ["featurize", "morgan"]):
        assert cli.run(*argv)[0] == 0
    msg = cli.error("train", "baseline")
    assert "models.baseline.params: " in msg and fragment in msg
    assert not (cli.root / "models" / "baseline").exists()  # nothing was trained


def test_xgboost_parameters_checked_by_xgboost() -> None:
    from chemchallenge.errors import ConfigError
    from chemchallenge.models.base import check_params
    from chemchallenge.tasks import TaskSpec, TaskType

    task = TaskSpec(TaskType.BINARY, ["y"], "roc_auc")
    check_params("xgboost", task, {"max_depth": 3, "eta": 0.1}, 0, "models.xgb.params")
    for params, fragment in (
        ({"max_depth": "deep"}, "max_depth"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"max_dept": 3}, "does not know the parameter(s) ['max_dept']"),
    ):
        with pytest.raises(ConfigError, match=r"models\.xgb\.params: ") as info:
            check_params("xgboost", task, params, 0, "models.xgb.params")
        assert fragment in str(info.value)


def test_deep_parameters_typed() -> None:
    from chemchallenge.errors import ConfigError
    from chemchallenge.models.deep import resolve_params

    with pytest.raises(ConfigError, match=r"lr='1e-3' must be a number, not text"):
        resolve_params("mlp", {"lr": "1e-3"})
    with pytest.raises(ConfigError, match="epochs=0 must be at least 1"):
        resolve_params("mlp", {"epochs": 0})
    with pytest.raises(ConfigError, match=r"dropout=1\.5 must be below 1"):
        resolve_params("mlp", {"dropout": 1.5})
    assert resolve_params("mlp", {"lr": 1.0e-3, "epochs": 3})["epochs"] == 3


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"seed": -1}, "seed: -1 is out of range"),
        ({"seed": 2**40}, "seed: 1099511627776 is out of range"),
        ({"submit": {"thresholds": 7}}, "submit.thresholds: 7.0 is not a probability threshold"),
        ({"submit": {"thresholds": {"Y1": 0.0}}}, "submit.thresholds.Y1: 0.0 is not"),
        ({"submit": {"dir": "out"}}, "submit.dir: no longer a setting"),
        ({"featurize": {"n_jobs": 0}}, "featurize.n_jobs: 0 is not allowed"),
        ({"tune": {"timeout": -5}}, "tune.timeout: -5.0 must be a positive number"),
        ({"prepare": {"cv": {"n_folds": 1000}}}, "prepare.cv.n_folds: 1000 is out of range"),
    ],
)
def test_param_ranges(cli: Runner, extra: dict, fragment: str) -> None:
    from conftest import deep_update

    cli.write_params(deep_update(cli.params, extra))
    msg = cli.error("prepare")
    assert f"params.yaml: {fragment}" in msg
    assert nothing_prepared(cli.root)


def test_input_path_is_a_directory(cli: Runner, write_challenge: Callable) -> None:
    files = write_challenge("binary")
    files.x_test.unlink()
    files.x_test.mkdir()
    msg = cli.error("prepare")
    assert "X_test.csv: is a directory, not a CSV file" in msg
    assert nothing_prepared(cli.root)


def test_predict_input_or_output_is_a_directory(cli: Runner, write_challenge: Callable) -> None:
    write_challenge("binary")
    cli.pipeline()
    folder = cli.root / "molecules"
    folder.mkdir()
    msg = cli.error("predict", "--input", str(folder), "--model", "baseline")
    assert "molecules: is a directory, not a CSV file" in msg
    good = cli.root / "new.csv"
    good.write_text("SMILES\nCCO\n")
    msg = cli.error("predict", "--input", str(good), "--model", "baseline", "--output", str(folder))
    assert "is a directory" in msg


def test_binary_task_with_three_targets(cli: Runner, write_challenge: Callable) -> None:
    write_challenge("multilabel")
    cli.params["data"]["task"] = "binary"
    msg = cli.error("prepare")
    assert "data.task is binary but there are 3 target columns ['Y1', 'Y2', 'Y3']" in msg
    assert "multilabel" in msg
    assert nothing_prepared(cli.root)


def test_record_score_empty_name(cli: Runner, write_challenge: Callable) -> None:
    write_challenge("binary")
    cli.pipeline()
    for name in ("", " ", "/"):
        msg = cli.error("record-score", name, "0.5")
        assert "names no file" in msg
    registry = pd.read_csv(cli.root / "submissions" / "registry.csv", dtype=str)
    assert registry["leaderboard_score"].isna().all()


def test_ctrl_c_during_tuning(
    cli: Runner, write_challenge: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chemchallenge.stages import tune

    write_challenge("binary")
    cli.params["models"]["baseline"].update(
        tune=True, search_space={"max_depth": {"type": "int", "low": 2, "high": 4}}
    )
    for argv in (["prepare"], ["featurize", "morgan"]):
        assert cli.run(*argv)[0] == 0

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tune, "optimize", interrupted)
    rc, _, err = cli.run("tune", "baseline")
    assert rc == 130
    assert err == "chemchallenge tune-baseline: interrupted; finished trials are kept in the " + (
        "study: rerun to resume\n"
    )
    assert not (cli.root / "models" / "baseline" / "best_params.json").exists()


def test_huge_molecule_warns_and_skips_ipc(
    cli: Runner, write_challenge: Callable, tables_factory: Callable
) -> None:
    import time

    from rdkit import Chem

    from chemchallenge.features.descriptors import RDKit2D

    huge = "C" * 300 + "(O)" + "C" * 299
    tables = tables_factory("binary")
    tables.x_test.loc[0, "SMILES"] = huge
    write_challenge(tables)
    rc, out, err = cli.run("prepare")
    assert rc == 0, err
    assert "more than 150 heavy atoms" in out and "['AvgIpc', 'Ipc'] are skipped" in out
    desc = RDKit2D(["Ipc", "AvgIpc", "MolWt"])
    t0 = time.perf_counter()
    values = desc(Chem.MolFromSmiles(huge))
    assert time.perf_counter() - t0 < 5
    assert np.isnan(values[:2]).all() and np.isfinite(values[2])


def test_giant_molecule_is_invalid_not_a_crash(
    cli: Runner, write_challenge: Callable, tables_factory: Callable
) -> None:
    """RDKit's canonicaliser overflows the C stack on a 20,000-atom chain (a segmentation
    fault): such input is an invalid SMILES, with its reason, before RDKit works on it."""
    from chemchallenge.data.standardize import parse_smiles

    assert "too large" in (parse_smiles("C" * 20000).reason or "")
    assert "too large" in (parse_smiles("C" * 1500).reason or "")
    tables = tables_factory("regression")
    tables.x_test.loc[2, "SMILES"] = "C" * 20000
    write_challenge(tables)
    cli.pipeline()
    sub = pd.read_csv(cli.root / "submissions" / "submission.csv", dtype={"ID": str})
    assert list(sub["ID"]) == list(tables.x_test["ID"])


def test_no_valid_test_smiles(
    cli: Runner, write_challenge: Callable, tables_factory: Callable
) -> None:
    tables = tables_factory("binary")
    tables.x_test["SMILES"] = "not a molecule"
    write_challenge(tables)
    msg = cli.error("prepare")
    assert "X_test.csv: no valid SMILES at all in column 'SMILES'" in msg
    assert nothing_prepared(cli.root)


# ----------------------------------------------------------------------------- the list
def test_unexpected_error_is_one_line(
    cli: Runner, write_challenge: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chemchallenge.stages import prepare

    write_challenge("binary")

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(prepare, "run", boom)
    rc, _, err = cli.run("prepare")
    assert rc == 1
    assert err == (
        "chemchallenge prepare: unexpected error: RuntimeError: boom second line "
        "(rerun with --debug for the traceback)\n"
    )
    with pytest.raises(RuntimeError, match="boom"):
        cli.run("prepare", debug=True)


def _evil_estimators(path: Path, marker: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save([Evil()], path)


def test_foreign_model_file_is_refused(cli: Runner, write_challenge: Callable) -> None:
    write_challenge("binary")
    cli.pipeline()
    molecules = cli.root / "new.csv"
    molecules.write_text("SMILES\nCCO\n")
    rc, _, err = cli.run("predict", "--input", str(molecules), "--model", "baseline")
    assert rc == 0, err  # the project's own file loads
    marker = cli.root / "pwned"
    _evil_estimators(Paths(cli.root).estimators("baseline"), marker)
    msg = cli.error("predict", "--input", str(molecules), "--model", "baseline")
    assert "estimators.pt: refused to load" in msg and "retrain it with" in msg
    assert not marker.exists()


def test_report_loader_refuses_foreign_file(tmp_path: Path) -> None:
    from chemchallenge.errors import InputError
    from chemchallenge.report.interpret import load_estimators

    marker = tmp_path / "pwned"
    _evil_estimators(tmp_path / "estimators.pt", marker)
    with pytest.raises(InputError, match="refused to load"):
        load_estimators(tmp_path / "estimators.pt")
    assert not marker.exists()


def test_networks_saved_as_state_dicts(tmp_path: Path) -> None:
    from chemchallenge.models.base import ModelInput, build_model
    from chemchallenge.models.persist import load_estimators, save_estimators
    from chemchallenge.tasks import TaskSpec, TaskType

    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    rng = np.random.default_rng(0)
    X = ModelInput(["C"] * 32, rng.random((32, 6)).astype(np.float32))
    est = build_model("mlp", task, {"epochs": 1, "batch_size": 16}, 0).fit(X, rng.random(32))
    state = est.__getstate__()
    assert "net" not in state and isinstance(state["net_state"], dict)
    save_estimators(tmp_path / "e.pt", [est])
    (loaded,) = load_estimators(tmp_path / "e.pt")
    np.testing.assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-6)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_respect_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        write_csv(tmp_path / "out.csv", pd.DataFrame({"a": [1]}))
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "out.csv").stat().st_mode)
    assert mode == 0o666 & ~umask


def test_ids_echoed_exactly(
    cli: Runner, write_challenge: Callable, tables_factory: Callable
) -> None:
    tables = tables_factory("binary")
    tables.x_test.loc[0, "ID"] = " 45"
    tables.x_test.loc[1, "ID"] = "46 "
    write_challenge(tables)
    old = os.umask(0o022)
    try:
        cli.pipeline()
    finally:
        os.umask(old)
    sub = cli.root / "submissions" / "submission.csv"
    lines = sub.read_text().splitlines()
    assert lines[0] == "ID,active"
    assert lines[1].startswith(" 45,") and lines[2].startswith("46 ,")
    assert len(lines) == 1 + len(tables.x_test)
    history = next((cli.root / "submissions" / "history").glob("*.csv"))
    assert stat.S_IMODE(history.stat().st_mode) & 0o040  # group-readable


def test_submission_rechecked_before_writing(cli: Runner, write_challenge: Callable) -> None:
    write_challenge("regression")
    for argv in (["prepare"], ["featurize", "morgan"], ["train", "baseline"]):
        assert cli.run(*argv)[0] == 0
    pred_file = Paths(cli.root).test_pred("baseline")
    pred = pd.read_parquet(pred_file)
    pred.loc[3, "logS"] = np.inf
    pred.to_parquet(pred_file, index=False)
    msg = cli.error("submit")
    assert "missing predictions (non-finite) for IDs ['48']" in msg
    assert no_submission(cli.root)


def test_validate_submission_domain() -> None:
    from chemchallenge.errors import ChemChallengeError
    from chemchallenge.stages.submit import validate_submission
    from chemchallenge.tasks import TaskSpec, TaskType

    test = pd.DataFrame({"id": [" a", "b"]})
    reg = TaskSpec(TaskType.REGRESSION, ["y"], "rmse", id_column="ID")
    validate_submission(pd.DataFrame({"ID": [" a", "b"], "y": [0.5, 1.0]}), test, reg)
    bad = [
        (pd.DataFrame({"ID": ["a", "b"], "y": [0.5, 1.0]}), reg, "IDs differ"),
        (pd.DataFrame({"ID": [" a", "b"], "y": [0.5, np.inf]}), reg, "finite numbers"),
        (pd.DataFrame({"ID": [" a", "b"], "z": [0.5, 1.0]}), reg, "columns"),
    ]
    binary = TaskSpec(TaskType.BINARY, ["y"], "roc_auc", id_column="ID")
    bad.append((pd.DataFrame({"ID": [" a", "b"], "y": [0.2, 1.0]}), binary, "0/1"))
    multi = TaskSpec(TaskType.MULTICLASS, ["y"], "accuracy", id_column="ID", classes=["p", "q"])
    bad.append((pd.DataFrame({"ID": [" a", "b"], "y": ["p", "r"]}), multi, "classes"))
    for sub, task, fragment in bad:
        with pytest.raises(ChemChallengeError, match="submission check failed") as info:
            validate_submission(sub, test, task)
        assert fragment in str(info.value)


def test_single_class_scores_do_not_crash_submit(cli: Runner, write_challenge: Callable) -> None:
    import json

    write_challenge("binary")
    cli.pipeline()
    scores = Paths(cli.root).scores("baseline")
    record = json.loads(scores.read_text())
    record.update(cv_mean=None, cv_std=None)
    scores.write_text(json.dumps(record))
    (cli.root / "submissions").rename(cli.root / "old_submissions")
    rc, _, err = cli.run("submit")
    assert rc == 0, err


# ----------------------------------------------------------------------------- fuzz sample
def _bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_bad_input", ROOT / "benchmarks" / "bench_bad_input.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bad_input"] = module
    spec.loader.exec_module(module)
    return module


def test_fuzz_sample(tmp_path: Path) -> None:
    """10 random corruptions of the three files and params.yaml (the benchmark runs all):
    each either refuses cleanly or writes a submission shaped exactly like X_test."""
    bench = _bench()
    cases = bench.pick_cases(10, seed=11)
    outcomes = [bench.run_case(c, tmp_path, 11 + i) for i, c in enumerate(cases)]
    wrong = [o for o in outcomes if o.result not in ("refused", "handled")]
    assert not wrong, [(o.case, o.result, o.detail) for o in wrong]
    assert {o.result for o in outcomes} == {"refused", "handled"}


def test_fuzz_checker_catches_a_malformed_submission(tmp_path: Path) -> None:
    """The fuzz oracle itself: a submission missing a row, or with a float in a 0/1
    column, is reported as malformed (so the sample above can fail)."""
    bench = _bench()
    from conftest import make_tables, write_tables

    tables = make_tables("binary")
    write_tables(tmp_path, tables)
    sub = tmp_path / "sub.csv"
    good = pd.DataFrame({"ID": tables.x_test["ID"], "active": 0})
    good.to_csv(sub, index=False)
    assert bench._check_submission(sub, tmp_path, "binary", ["active"]) == ""
    good.iloc[1:].to_csv(sub, index=False)
    assert "IDs differ" in bench._check_submission(sub, tmp_path, "binary", ["active"])
    good.assign(active=0.5).to_csv(sub, index=False)
    assert "0/1" in bench._check_submission(sub, tmp_path, "binary", ["active"])


def test_targets_subset_warns(cli: Runner, write_challenge: Callable) -> None:
    write_challenge("multilabel")
    cli.params["data"]["targets"] = ["Y1"]
    rc, out, err = cli.run("prepare")
    assert rc == 0, err
    assert "columns ['Y2', 'Y3'] are not in data.targets: the submission will not have them" in out


def test_params_file_or_root_not_usable(cli: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "params_dir"
    folder.mkdir()
    rc = main(["--params", str(folder), "--root", str(tmp_path), "prepare"])
    err = cli.capsys.readouterr().err
    assert rc == 2 and "params_dir: is a directory, not the params.yaml file" in err
    cli.write_params()
    rc = main(["--params", str(cli.params_file), "--root", str(tmp_path / "nope"), "prepare"])
    err = cli.capsys.readouterr().err
    assert rc == 2 and "--root" in err and "not a directory" in err


def test_several_problems_on_one_line(
    cli: Runner, write_challenge: Callable, tables_factory: Callable
) -> None:
    tables = tables_factory("binary")
    tables.x_train.loc[1, "ID"] = ""
    tables.x_test.loc[2, "ID"] = tables.x_test.loc[0, "ID"]
    write_challenge(tables)
    msg = cli.error("prepare")
    assert "input files: 2 problems found: (1) " in msg and "; (2) " in msg
