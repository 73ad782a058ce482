"""The built-in demo: the solubility set in the raw challenge layout."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest
from rdkit import Chem, rdBase

from chemchallenge.data.challenge import RawChallenge
from chemchallenge.data.demo import DEMO_TARGET, load_demo
from chemchallenge.paths import Paths
from chemchallenge.stages import prepare


@pytest.fixture(scope="module")
def demo() -> tuple[RawChallenge, pd.DataFrame]:
    return load_demo()


def test_sizes_and_layout(demo: tuple[RawChallenge, pd.DataFrame]) -> None:
    raw, holdout = demo
    assert raw.x_train.shape == (1025, 2) and list(raw.x_train.columns) == ["ID", "SMILES"]
    assert raw.y_train.shape == (1025, 2) and list(raw.y_train.columns) == ["ID", DEMO_TARGET]
    assert raw.x_test.shape == (257, 2) and list(raw.x_test.columns) == ["ID", "SMILES"]
    assert set(raw.names) == {"x_train", "y_train", "x_test"}
    assert len(holdout) == 257


def test_cells_are_text_like_a_csv(demo: tuple[RawChallenge, pd.DataFrame]) -> None:
    raw, _ = demo
    for table in (raw.x_train, raw.y_train, raw.x_test):
        assert all(isinstance(v, str) for v in table.to_numpy().ravel())
    values = pd.to_numeric(raw.y_train[DEMO_TARGET])
    assert values.notna().all() and -13 < values.min() < values.max() < 3


def test_ids_unique_and_aligned(demo: tuple[RawChallenge, pd.DataFrame]) -> None:
    raw, holdout = demo
    ids = list(raw.x_train["ID"]) + list(raw.x_test["ID"])
    assert len(set(ids)) == 1282
    assert list(raw.x_train["ID"]) == list(raw.y_train["ID"])
    assert list(holdout["id"]) == list(raw.x_test["ID"])


def test_all_smiles_parse(demo: tuple[RawChallenge, pd.DataFrame]) -> None:
    raw, _ = demo
    with rdBase.BlockLogs():
        for s in list(raw.x_train["SMILES"]) + list(raw.x_test["SMILES"]):
            assert Chem.MolFromSmiles(s) is not None, s


def test_prepare_on_demo(cfg_factory: Callable, paths: Paths) -> None:
    cfg = cfg_factory(extra={"data": {"source": "demo"}})
    prepare.run(cfg, paths)
    task = json.loads(paths.task.read_text())
    assert task["task_type"] == "regression" and task["targets"] == [DEMO_TARGET]
    assert len(pd.read_parquet(paths.test)) == 257
    assert pd.read_parquet(paths.test)["valid"].all()
    train = pd.read_parquet(paths.train)
    assert 1000 <= len(train) <= 1025  # a few duplicates merge
    holdout = pd.read_parquet(paths.holdout_labels)
    assert list(holdout["id"]) == list(pd.read_parquet(paths.test)["id"])
    report = json.loads(paths.prepare_report.read_text())
    assert report["source"] == "demo" and report["counts"]["x_train_rows"] == 1025
    assert not [f for f in report["findings"] if f["level"] == "error"]
