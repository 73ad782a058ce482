"""The command line: help, one-line errors with exit status 2, a tiny prepare run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from chemchallenge.cli import STAGES, main

PREFIX = "chemchallenge {command}: error: "


def write_params(path: Path, params: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_cli(tmp_path: Path, params: Path, *args: str) -> int:
    return main(["--params", str(params), "--root", str(tmp_path), *args])


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in [*STAGES, "predict", "record-score"]:
        assert command in out
    assert "--params" in out and "--root" in out


def test_stage_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    assert "model name" in capsys.readouterr().out


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chemchallenge", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "prepare" in done.stdout


@pytest.mark.parametrize("argv", [[], ["featurize"], ["nonsense"]])
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: chemchallenge" in capsys.readouterr().err


def test_config_error_is_one_line(
    tmp_path: Path,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    params = params_factory({"prepare": {"cv": {"nfolds": 3}}})
    path = write_params(tmp_path / "params.yaml", params)
    assert run_cli(tmp_path, path, "prepare") == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err == err.strip() + "\n"  # exactly one line
    assert err.startswith(PREFIX.format(command="prepare") + f"{path}: prepare.cv: unknown key")
    assert "'nfolds'" in err and "Traceback" not in err
    assert captured.out == ""
    assert not (tmp_path / "data").exists()  # nothing was done


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"seed": "x"}, "seed: expected int"),
        ({"prepare": {"cv": {"n_folds": 1}}}, "need at least 2 folds"),
        ({"submit": {"model": "rf"}}, "submit.model: 'rf'"),
    ],
)
def test_config_errors(
    extra: dict[str, Any],
    fragment: str,
    tmp_path: Path,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_params(tmp_path / "params.yaml", params_factory(extra))
    assert run_cli(tmp_path, path, "submit") == 2
    err = capsys.readouterr().err
    assert err.startswith(PREFIX.format(command="submit")) and fragment in err
    assert err.count("\n") == 1


def test_missing_params_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(tmp_path, tmp_path / "params.yaml", "prepare") == 2
    assert "params.yaml: not found" in capsys.readouterr().err


def test_prepare_on_tiny_data(
    tmp_path: Path,
    write_challenge: Callable,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_challenge("multilabel")
    path = write_params(tmp_path / "params.yaml", params_factory())
    assert run_cli(tmp_path, path, "prepare") == 0
    out = capsys.readouterr().out
    assert "prepare: multilabel task, targets ['Y1', 'Y2', 'Y3'], metric micro_f1" in out
    assert "45 train / 15 test molecules; folds [15, 15, 15] (multilabel)" in out
    prepared = tmp_path / "data" / "prepared"
    for name in ("train.parquet", "test.parquet", "folds.parquet", "task.json"):
        assert (prepared / name).exists()
    assert len(pd.read_parquet(prepared / "folds.parquet")) == 45


def test_stage_input_missing(
    tmp_path: Path,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_params(tmp_path / "params.yaml", params_factory())
    assert run_cli(tmp_path, path, "submit") == 2
    err = capsys.readouterr().err
    assert err.startswith(PREFIX.format(command="submit"))
    assert "task.json: not found" in err and "Traceback" not in err


def test_train_unknown_model(
    tmp_path: Path,
    params_factory: Callable[..., dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_params(tmp_path / "params.yaml", params_factory())
    assert run_cli(tmp_path, path, "train", "gnn") == 2
    assert "model 'gnn' is not defined" in capsys.readouterr().err
