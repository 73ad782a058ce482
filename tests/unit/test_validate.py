"""Bad inputs of the prepare stage: a clear error naming file, row/ID and problem, or a
listed warning -- never a traceback. Each error case runs through the stage and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from chemchallenge.cli import main
from chemchallenge.config import config_from_dict
from chemchallenge.errors import ChemChallengeError, InputError
from chemchallenge.paths import Paths
from chemchallenge.stages import prepare

FILES = {"x_train": "X_train.csv", "y_train": "y_train.csv", "x_test": "X_test.csv"}
CLI_PREFIX = "chemchallenge prepare: error: "


@pytest.fixture(params=["stage", "cli"])
def prepare_error(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    paths: Paths,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., str]:
    """``prepare_error(extra)`` runs prepare (stage or CLI), asserts it fails cleanly and
    returns the one message shown to the user."""

    def run(extra: dict[str, Any] | None = None) -> str:
        params = params_factory(extra)
        if request.param == "stage":
            cfg = config_from_dict(params)
            with pytest.raises(ChemChallengeError) as info:
                prepare.run(cfg, paths)
            assert isinstance(info.value, InputError)  # about a file, not a crash
            return str(info.value)
        params_file = tmp_path / "params.yaml"
        params_file.write_text(yaml.safe_dump(params))
        rc = main(["--params", str(params_file), "--root", str(tmp_path), "prepare"])
        err = capsys.readouterr().err
        assert rc == 2, err
        assert "Traceback" not in err
        assert err.startswith(CLI_PREFIX), err
        return err[len(CLI_PREFIX) :].strip()

    return run


def run_ok(cfg_factory: Callable[..., Any], paths: Paths, task: str = "auto") -> dict[str, Any]:
    prepare.run(cfg_factory(task), paths)
    return json.loads(paths.prepare_report.read_text())


def findings(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["check"] == check]


def assert_names(msg: str, challenge_dir: Path, role: str, *fragments: str) -> None:
    assert msg.startswith(f"{challenge_dir / FILES[role]}: "), msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


# --------------------------------------------------------------------------- IDs


@pytest.mark.parametrize("role", ["x_train", "y_train", "x_test"])
def test_missing_id_names_the_csv_line(
    role: str, tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("binary")
    getattr(tables, role).loc[3, "ID"] = ""  # data row 3 is CSV line 5 (header: line 1)
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, role, "empty value in ID column 'ID'", "line 5")


@pytest.mark.parametrize("role", ["x_train", "y_train", "x_test"])
def test_duplicate_ids(
    role: str, tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("binary")
    table = getattr(tables, role)
    table.loc[4, "ID"] = table.loc[2, "ID"]
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, role, "duplicate IDs", table.loc[2, "ID"])


def test_training_id_without_labels(
    tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("regression")
    tables.y_train = tables.y_train[tables.y_train["ID"] != "7"]
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, "y_train", "X_train.csv without a row here", "IDs: 7]")


def test_label_row_without_molecule(
    tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("regression")
    extra = pd.DataFrame({"ID": ["999"], "logS": ["-1.0"]})
    tables.y_train = pd.concat([tables.y_train, extra], ignore_index=True)
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, "y_train", "not in", "X_train.csv", "999")


def test_several_problems_are_listed_together(
    tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("binary")
    tables.x_train.loc[1, "ID"] = ""
    tables.x_test.loc[2, "ID"] = tables.x_test.loc[0, "ID"]
    write_challenge(tables)
    msg = prepare_error()
    assert "2 problems found" in msg
    assert f"{challenge_dir / 'X_train.csv'}: empty value in ID column" in msg
    assert f"{challenge_dir / 'X_test.csv'}: duplicate IDs" in msg


# --------------------------------------------------------------------------- labels


def test_empty_label_cells_are_a_warning_and_unlabelled_rows_dropped(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("multilabel")
    tables.y_train.loc[3, "Y1"] = ""
    tables.y_train.loc[4, ["Y1", "Y2", "Y3"]] = ""
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    missing = findings(report, "missing_label")
    assert missing and all(f["level"] == "warning" for f in missing)
    y1 = next(f for f in missing if "'Y1'" in f["message"])
    assert "missing labels" in y1["message"] and y1["rows"] == ["3", "4"]
    assert y1["file"].endswith("y_train.csv")
    (dropped,) = findings(report, "no_label")
    assert dropped["level"] == "warning" and "dropped" in dropped["message"]
    assert dropped["rows"] == ["4"]
    train = pd.read_parquet(paths.train)
    assert "4" not in set(train["id"])
    assert pd.isna(train.set_index("id").loc["3", "Y1"])
    assert len(train) == 44


@pytest.mark.parametrize("task", ["regression", "auto"])
def test_non_numeric_target_is_an_error(
    task: str, tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("regression")
    tables.y_train.loc[3, "logS"] = "abc"
    write_challenge(tables)
    msg = prepare_error({"data": {"task": task}})
    assert_names(msg, challenge_dir, "y_train", "non-numeric", "'abc'", "IDs: 3]")


def test_non_numeric_multilabel_target_is_an_error(
    tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("multilabel")
    tables.y_train.loc[5, "Y2"] = "yes"
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, "y_train", "'Y2'", "non-numeric", "'yes'", "IDs: 5]")


@pytest.mark.parametrize(("task", "column"), [("binary", "active"), ("multilabel", "Y3")])
def test_labels_outside_0_1_are_an_error(
    task: str,
    column: str,
    tables_factory: Callable,
    write_challenge: Callable,
    prepare_error,
    challenge_dir,
) -> None:
    tables = tables_factory(task)
    tables.y_train.loc[6, column] = "2"
    write_challenge(tables)
    msg = prepare_error({"data": {"task": task}})
    assert_names(msg, challenge_dir, "y_train", f"{column!r}", "outside {0, 1}", "IDs: 6]")


# --------------------------------------------------------------------------- molecules


def test_invalid_smiles_reasons(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("binary")
    tables.x_train.loc[3, "SMILES"] = "c1cccc1"  # five aromatic carbons
    tables.x_train.loc[4, "SMILES"] = "CC(C)(C)(C)(C)C"  # carbon with six neighbours
    tables.x_train.loc[5, "SMILES"] = "C1CC"  # unclosed ring
    tables.x_test.loc[2, "SMILES"] = "c1cccc1"
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    train_f, test_f = findings(report, "invalid_smiles")
    assert train_f["file"].endswith("X_train.csv") and test_f["file"].endswith("X_test.csv")
    assert train_f["level"] == test_f["level"] == "warning"
    assert "dropped" in train_f["message"]
    rows = dict(r.split(" ", 1) for r in train_f["rows"])
    assert set(rows) == {"3", "4", "5"}
    assert "kekulize" in rows["3"]
    assert "valence" in rows["4"]
    assert "C1CC" in rows["5"]
    train = pd.read_parquet(paths.train)
    assert not {"3", "4", "5"} & set(train["id"])
    assert len(train) == 42
    assert test_f["rows"][0].startswith("47 (") and "kekulize" in test_f["rows"][0]
    test = pd.read_parquet(paths.test)
    assert len(test) == 15  # kept, to get a fallback prediction
    row = test.set_index("id").loc["47"]
    assert not row["valid"] and pd.isna(row["smiles"]) and row["smiles_raw"] == "c1cccc1"
    assert test["valid"].sum() == 14
    assert report["counts"]["invalid_test"] == 1


def test_empty_smiles_cell_is_invalid(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("regression")
    tables.x_test.loc[0, "SMILES"] = ""
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    (f,) = findings(report, "invalid_smiles")
    assert f["rows"] == ["45 (empty SMILES)"]


def test_no_valid_training_molecule(
    tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("binary")
    tables.x_train["SMILES"] = "C1CC"
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, "x_train", "no valid labelled training molecule")


def _salt_copy(smiles: str) -> str:
    return f"{smiles}.Cl"


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_conflicting_duplicates_dropped_for_classes(
    task: str,
    tables_factory: Callable,
    write_challenge: Callable,
    cfg_factory: Callable,
    paths: Paths,
) -> None:
    tables = tables_factory(task)
    col = tables.y_train.columns[1]
    tables.x_train.loc[20, "SMILES"] = _salt_copy(tables.x_train.loc[1, "SMILES"])
    other = next(v for v in tables.y_train[col] if v != tables.y_train.loc[1, col])
    tables.y_train.loc[20, col] = other
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    (f,) = findings(report, "conflicting_labels")
    assert f["rows"] == ["1=20"] and "dropped" in f["message"]
    train = pd.read_parquet(paths.train)
    assert not {"1", "20"} & set(train["id"])
    assert len(train) == 43


def test_conflicting_duplicates_averaged_for_regression(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("regression")
    tables.x_train.loc[20, "SMILES"] = _salt_copy(tables.x_train.loc[1, "SMILES"])
    tables.y_train.loc[1, "logS"] = "-2.0"
    tables.y_train.loc[20, "logS"] = "-4.0"
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    (f,) = findings(report, "conflicting_labels")
    assert f["rows"] == ["1=20"] and "averaged" in f["message"]
    train = pd.read_parquet(paths.train).set_index("id")
    assert "20" not in train.index
    assert train.loc["1", "logS"] == pytest.approx(-3.0)
    assert len(train) == 44


def test_conflicts_mean_policy_gives_majority_class(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("binary")
    for i in (20, 21):
        tables.x_train.loc[i, "SMILES"] = _salt_copy(tables.x_train.loc[1, "SMILES"])
    tables.y_train.loc[[1, 20, 21], "active"] = ["0", "1", "1"]
    write_challenge(tables)
    prepare.run(cfg_factory(extra={"prepare": {"conflicts": "mean"}}), paths)
    train = pd.read_parquet(paths.train).set_index("id")
    assert train.loc["1", "active"] == 1.0
    assert not {"20", "21"} & set(train.index)


def test_identical_duplicates_merged(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("multilabel")
    # a sodium salt of row 4 (a carboxylic acid) with the same labels
    tables.x_train.loc[20, "SMILES"] = "[Na+].[O-]C(=O)c1cn(C2CC2)c2cc(N3CCNCC3)c(F)cc2c1=O"
    tables.y_train.loc[20, ["Y1", "Y2", "Y3"]] = list(tables.y_train.loc[4, ["Y1", "Y2", "Y3"]])
    tables.y_train.loc[4, "Y3"] = ""  # one copy lacks a label the other one gives
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    (f,) = findings(report, "duplicate_molecule")
    assert f["rows"] == ["4=20"] and "merged" in f["message"]
    assert not findings(report, "conflicting_labels")
    train = pd.read_parquet(paths.train).set_index("id")
    assert "20" not in train.index and len(train) == 44
    assert train.loc["4", "Y3"] == float(tables.y_train.loc[20, "Y3"])


def test_train_test_overlap_warning(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("regression")
    tables.x_test.loc[0, "SMILES"] = tables.x_train.loc[10, "SMILES"]
    tables.x_test.loc[3, "SMILES"] = _salt_copy(tables.x_train.loc[11, "SMILES"])
    write_challenge(tables)
    report = run_ok(cfg_factory, paths)
    (f,) = findings(report, "train_test_overlap")
    assert f["level"] == "warning" and f["file"].endswith("X_test.csv")
    assert f["rows"] == ["45", "48"]
    assert len(pd.read_parquet(paths.test)) == 15  # still predicted


# --------------------------------------------------------------------------- files, columns


@pytest.mark.parametrize("role", ["x_train", "y_train", "x_test"])
def test_missing_file(
    role: str, write_challenge: Callable, prepare_error, challenge_dir: Path
) -> None:
    write_challenge("binary")
    (challenge_dir / FILES[role]).unlink()
    msg = prepare_error()
    assert_names(msg, challenge_dir, role, "file not found")


def test_file_without_rows(
    tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("binary")
    tables.x_test = tables.x_test.iloc[:0]
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, "x_test", "no data rows")


@pytest.mark.parametrize(
    ("extra", "role", "fragment"),
    [
        ({"data": {"id_column": "Compound"}}, "x_train", "ID column 'Compound' not found"),
        ({"data": {"smiles_column": "smi"}}, "x_train", "SMILES column 'smi' not found"),
        ({"data": {"targets": ["Y9"]}}, "y_train", "target column(s) ['Y9'] not found"),
    ],
)
def test_missing_configured_column(
    extra: dict[str, Any],
    role: str,
    fragment: str,
    write_challenge: Callable,
    prepare_error,
    challenge_dir,
) -> None:
    write_challenge("binary")
    msg = prepare_error(extra)
    assert_names(msg, challenge_dir, role, fragment, "columns: ")


def test_configured_columns_are_used(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("multilabel")
    tables.x_train.columns = ["Compound", "structure"]
    tables.y_train.columns = ["Compound", "Y1", "Y2", "Y3"]
    tables.x_test.columns = ["Compound", "structure"]
    write_challenge(tables)
    extra = {"data": {"id_column": "Compound", "smiles_column": "structure", "targets": ["Y2"]}}
    prepare.run(cfg_factory(extra=extra), paths)
    task = json.loads(paths.task.read_text())
    assert task["targets"] == ["Y2"] and task["task_type"] == "binary"
    assert task["id_column"] == "Compound"


def test_smiles_column_detected_by_content(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("binary")
    for t in (tables.x_train, tables.x_test):
        t.insert(1, "name", [f"drug {i}" for i in range(len(t))])
        t.rename(columns={"SMILES": "structure"}, inplace=True)
    write_challenge(tables)
    prepare.run(cfg_factory(), paths)
    assert pd.read_parquet(paths.train)["valid"].all()


@pytest.mark.parametrize("role", ["x_train", "x_test"])
def test_no_smiles_column_detectable(
    role: str, tables_factory: Callable, write_challenge: Callable, prepare_error, challenge_dir
) -> None:
    tables = tables_factory("binary")
    table = getattr(tables, role)
    table["SMILES"] = [f"drug {i}" for i in range(len(table))]
    table.rename(columns={"SMILES": "name"}, inplace=True)
    write_challenge(tables)
    msg = prepare_error()
    assert_names(msg, challenge_dir, role, "no SMILES column found", "data.smiles_column")


def test_not_a_csv(write_challenge: Callable, prepare_error, challenge_dir: Path) -> None:
    write_challenge("binary")
    (challenge_dir / "y_train.csv").write_bytes(b"\xff\xfe\x00\x81garbage\x00\n\x93")
    msg = prepare_error()
    assert_names(msg, challenge_dir, "y_train", "not a readable CSV file")


def test_ids_keep_their_spelling(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("regression")
    for t in (tables.x_train, tables.y_train, tables.x_test):
        t["ID"] = [f"00{v}" for v in t["ID"]]
    write_challenge(tables)
    prepare.run(cfg_factory(), paths)
    assert list(pd.read_parquet(paths.test)["id"]) == list(tables.x_test["ID"])
    assert list(pd.read_parquet(paths.folds)["id"]) == list(tables.x_train["ID"])


def test_cli_lists_warnings_and_succeeds(
    tmp_path: Path,
    tables_factory: Callable,
    write_challenge: Callable,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    tables = tables_factory("regression")
    tables.x_train.loc[3, "SMILES"] = "c1cccc1"
    tables.y_train.loc[5, "logS"] = ""
    write_challenge(tables)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params_factory()))
    assert main(["--params", str(params_file), "--root", str(tmp_path), "prepare"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert "warning: " in out and "X_train.csv: 1 invalid SMILES, dropped from training" in out
    assert "[3 (Can't kekulize" in out
    assert "y_train.csv: rows with no label at all are dropped [5]" in out
    assert len(pd.read_parquet(tmp_path / "data" / "prepared" / "train.parquet")) == 43
