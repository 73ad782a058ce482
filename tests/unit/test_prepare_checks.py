"""Later prepare checks: a target with no label, almost-binary labels, --root layout,
and re-archiving a submission whose history file was deleted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

from chemchallenge.errors import InputError
from chemchallenge.paths import Paths
from chemchallenge.stages import prepare
from chemchallenge.stages.submit import archive


def test_target_without_any_label_is_an_error(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    tables = tables_factory("multilabel")
    tables.y_train["Y2"] = ""
    write_challenge(tables)
    with pytest.raises(InputError) as info:
        prepare.run(cfg_factory(), paths)
    msg = str(info.value)
    assert "y_train.csv" in msg and "'Y2'" in msg and "no label at all" in msg


def test_almost_binary_labels_are_flagged(
    tables_factory: Callable, write_challenge: Callable, cfg_factory: Callable, paths: Paths
) -> None:
    """A stray 2 among 0/1 labels would silently turn the task into regression (issue 11):
    an error naming the cell, unless data.task says what the labels are."""
    tables = tables_factory("multilabel")
    tables.y_train.loc[5, "Y1"] = "2"
    write_challenge(tables)
    with pytest.raises(InputError, match="labels are 0/1 except in 1 cell") as info:
        prepare.run(cfg_factory(), paths)
    assert info.value.rows == [f"ID {tables.y_train.loc[5, 'ID']} column 'Y1': '2'"]
    assert "data.task" in str(info.value)
    assert not paths.prepared.exists()
    prepare.run(cfg_factory("regression"), paths)
    report = json.loads(paths.prepare_report.read_text())
    assert report["task"]["task_type"] == "regression"


def test_deleted_history_file_is_archived_again(paths: Paths) -> None:
    sub = pd.DataFrame({"ID": ["1", "2"], "y": [0.5, 1.5]})
    first = archive(paths, sub, "xgb")
    first.unlink()
    second = archive(paths, sub, "xgb")
    assert second.exists()
    registry = pd.read_csv(paths.submissions / "registry.csv", dtype=str)
    assert len(registry) == 2
