"""The featurize stage on tiny prepared files, and the feature store that reads it back."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors
from rdkit.Chem import rdFingerprintGenerator as rfg

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError, InputError, MissingInputError
from chemchallenge.features.store import load_features
from chemchallenge.io import write_parquet
from chemchallenge.paths import Paths
from chemchallenge.stages import featurize
from support.params import config_with

TRAIN = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC"]
TEST = ["CCCl", None, "OC(=O)c1ccccc1"]


def prepared(root: Path) -> Paths:
    paths = Paths(root=root)
    train = pd.DataFrame(
        {
            "id": [f"tr{i}" for i in range(len(TRAIN))],
            "smiles_raw": TRAIN,
            "smiles": TRAIN,
            "y": np.arange(len(TRAIN), dtype=float),
            "valid": True,
        }
    )
    test = pd.DataFrame(
        {
            "id": [f"te{i}" for i in range(len(TEST))],
            "smiles_raw": ["CCCl", "C1CC(", "OC(=O)c1ccccc1"],
            "smiles": TEST,
            "valid": [s is not None for s in TEST],
        }
    )
    write_parquet(paths.train, train)
    write_parquet(paths.test, test)
    return paths


def config(**featurizers: dict) -> Config:
    extra = {"featurize": {"n_jobs": 1, "featurizers": featurizers}, "train": {"models": []}}
    return config_with(extra, replace=["featurize.featurizers"])


def test_stage_writes_features_in_order_with_nan_row(tmp_path, capsys):
    paths = prepared(tmp_path)
    cfg = config(morgan={"n_bits": 64}, desc={"type": "rdkit2d", "names": ["MolWt", "TPSA"]})
    featurize.run(cfg, paths, "morgan")
    featurize.run(cfg, paths, "desc")
    assert "featurize morgan: 7 molecules x 64 features" in capsys.readouterr().out

    df = pd.read_parquet(paths.features("morgan"))
    assert list(df.columns[:2]) == ["split", "id"] and len(df.columns) == 66
    assert df["split"].tolist() == ["train"] * 4 + ["test"] * 3
    assert df["id"].tolist() == ["tr0", "tr1", "tr2", "tr3", "te0", "te1", "te2"]
    assert (df.dtypes.iloc[2:] == np.float32).all()
    gen = rfg.GetMorganGenerator(radius=2, fpSize=64)
    x = df.iloc[:, 2:].to_numpy()
    np.testing.assert_array_equal(x[2], gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(TRAIN[2])))
    assert np.isnan(x[5]).all() and not np.isnan(np.delete(x, 5, axis=0)).any()

    desc = pd.read_parquet(paths.features("desc"))
    assert list(desc.columns) == ["split", "id", "MolWt", "TPSA"]
    expected = Descriptors.MolWt(Chem.MolFromSmiles(TEST[2]))
    assert desc["MolWt"].iloc[6] == pytest.approx(expected, rel=1e-6)


def test_stage_errors(tmp_path):
    paths = Paths(root=tmp_path)
    cfg = config(morgan={})
    with pytest.raises(ConfigError, match="no featurizer named 'maccs'"):
        featurize.run(cfg, paths, "maccs")
    with pytest.raises(MissingInputError, match=r"train\.parquet"):
        featurize.run(cfg, paths, "morgan")
    with pytest.raises(ConfigError, match="unknown featurizer type"):
        featurize.run(config(x={"type": "nope"}), prepared(tmp_path), "x")


def write_features(paths: Paths, name: str, rows: dict[str, list[float]], ids: list[str]) -> None:
    splits = ["train" if i.startswith("tr") else "test" for i in ids]
    df = pd.DataFrame({"split": splits, "id": ids})
    for col, values in rows.items():
        df[col] = np.asarray(values, dtype=np.float32)
    write_parquet(paths.features(name), df)


def test_load_features_imputes_drops_and_aligns(tmp_path):
    paths = prepared(tmp_path)
    nan = np.nan
    # rows deliberately shuffled: the store must follow the prepared files' order
    ids = ["te2", "tr3", "tr0", "te0", "tr2", "te1", "tr1"]
    write_features(
        paths,
        "a",
        {
            "x": [30, 4, 1, nan, nan, nan, 2],  # train: tr0=1 tr1=2 tr2=NaN tr3=4
            "allnan": [1, nan, nan, 5, nan, 6, nan],  # all NaN on train -> dropped
            "const": [9, 7, 7, 7, 7, nan, nan],  # constant on train after imputation
        },
        ids,
    )
    fs = load_features(paths, ["a"])
    assert fs.train_ids == ["tr0", "tr1", "tr2", "tr3"]
    assert fs.test_ids == ["te0", "te1", "te2"]
    assert fs.names == ["x"] and set(fs.dropped) == {"allnan", "const"}
    assert fs.train.dtype == np.float32
    np.testing.assert_array_equal(fs.train[:, 0], [1, 2, 2, 4])  # median of 1, 2, 4
    np.testing.assert_array_equal(fs.test[:, 0], [2, 2, 30])
    assert not np.isnan(fs.test).any()


def test_load_features_prefixes_only_colliding_files(tmp_path):
    paths = prepared(tmp_path)
    ids = ["tr0", "tr1", "tr2", "tr3", "te0", "te1", "te2"]
    write_features(paths, "morgan", {"b0": [0, 1, 0, 1, 1, 0, 0], "b1": [1, 1, 0, 0, 1, 1, 1]}, ids)
    write_features(paths, "ecfp6", {"b0": [1, 1, 0, 0, 0, 0, 0]}, ids)
    write_features(paths, "desc", {"MolWt": [46, 94, 151, 101, 64, 0, 122]}, ids)
    fs = load_features(paths, ["morgan", "ecfp6", "desc"])
    assert fs.names == ["morgan:b0", "morgan:b1", "ecfp6:b0", "MolWt"]
    assert fs.train.shape == (4, 4) and fs.test.shape == (3, 4)
    np.testing.assert_array_equal(fs.train[:, 2], [1, 1, 0, 0])


def test_load_features_after_stage(tmp_path):
    paths = prepared(tmp_path)
    featurize.run(config(maccs={}), paths, "maccs")
    fs = load_features(paths, ["maccs"])
    assert fs.train.shape[0] == 4 and fs.test.shape[0] == 3
    assert 0 < fs.train.shape[1] < 167 and not np.isnan(fs.test).any()


def test_load_features_missing_file_and_stale_rows(tmp_path):
    paths = prepared(tmp_path)
    message = (
        "data/features/morgan.parquet not found: add 'morgan' under "
        "featurize.featurizers and run dvc repro"
    )
    with pytest.raises(MissingInputError, match=re.escape(message)):
        load_features(paths, ["morgan"])
    write_features(paths, "old", {"x": [1, 2, 3, 4, 5]}, ["tr0", "tr1", "tr2", "tr3", "te0"])
    with pytest.raises(InputError, match="stale"):
        load_features(paths, ["old"])
