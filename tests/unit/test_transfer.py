"""Transfer features (``admet_ai``), the batched featurizer path and the leak detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.errors import ConfigError
from chemchallenge.features import base
from chemchallenge.features.compute import featurize_smiles
from chemchallenge.features.transfer import PHYSCHEM, leak_report
from chemchallenge.io import read_json, write_json, write_parquet
from chemchallenge.paths import Paths
from chemchallenge.pipeline import dvcyaml
from chemchallenge.stages import featurize
from support.params import config_with

SMILES = ["CCO", "CC(=O)Nc1ccc(O)cc1", "c1ccccc1C(=O)O", "CN1CCC[C@H]1c1cccnc1"]


# --------------------------------------------------------------------------- leak detector


def test_leak_report_flags_a_leaky_regression_feature():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(300, 1))
    x = np.column_stack(
        [
            y[:, 0] + 0.1 * rng.normal(size=300),  # the label, barely disguised
            0.5 * y[:, 0] + rng.normal(size=300),  # related but far from a leak
            rng.normal(size=300),  # noise
        ]
    )
    r = leak_report(x, ["leak", "related", "noise"], y, ["y"], classification=False)
    assert [s["endpoint"] for s in r["suspected"]] == ["leak"]
    assert r["endpoints"]["leak"]["y"]["cv_r2"] > 0.95
    assert r["endpoints"]["related"]["y"]["cv_r2"] < 0.5
    assert abs(r["endpoints"]["noise"]["y"]["spearman"]) < 0.2
    # the cross-validated single-feature RMSE is on the label's scale
    assert r["endpoints"]["leak"]["y"]["cv_rmse"] == pytest.approx(0.1, abs=0.02)
    assert r["baseline"]["y"]["n"] == 300


def test_leak_report_classification_uses_oriented_auc_and_skips_missing_labels():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(200, 2)).astype(float)
    y[:20, 1] = np.nan
    leak = -(y[:, 0] + 0.05 * rng.normal(size=200))  # negatively oriented leak of label a
    x = np.column_stack([leak, rng.normal(size=200)])
    r = leak_report(x, ["leak", "noise"], y, ["a", "b"], classification=True, threshold=0.9)
    assert r["criterion"] == "oriented ROC AUC"
    assert r["endpoints"]["leak"]["a"]["auc"] > 0.99
    assert r["endpoints"]["noise"]["b"]["auc"] < 0.7
    assert [(s["endpoint"], s["target"]) for s in r["suspected"]] == [("leak", "a")]


def test_leak_report_threshold_is_respected():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(200, 1))
    x = (y[:, 0] + 0.5 * rng.normal(size=200))[:, None]  # R2 about 0.8
    assert leak_report(x, ["e"], y, ["y"], False, threshold=0.9)["suspected"] == []
    assert len(leak_report(x, ["e"], y, ["y"], False, threshold=0.5)["suspected"]) == 1


# --------------------------------------------------------------------- registry and dvc.yaml


def test_transfer_types_known_without_the_package():
    assert base.is_transfer("admet_ai", {})
    assert base.is_transfer("mine", {"type": "admet_ai", "exclude": ["AMES"]})
    assert not base.is_transfer("rdkit2d", {})


def test_dvc_yaml_declares_the_leak_report_of_transfer_featurizers():
    cfg = config_with(
        {"featurize": {"featurizers": {"rdkit2d": {}, "admet_ai": {"exclude": ["AMES"]}}}}
    )
    stages = dvcyaml.build(cfg)["stages"]
    ours = stages["featurize-admet_ai"]
    assert "data/features/admet_ai.leak.json" in ours["outs"]
    assert {"data/prepared/task.json", "data/prepared/folds.parquet"} <= set(ours["deps"])
    assert stages["featurize-rdkit2d"]["outs"] == ["data/features/rdkit2d.parquet"]


# ------------------------------------------------------------------ batched featurizer path


class _Batched:
    """A fake network featurizer: sums atoms per molecule, in batches; fails on iodine."""

    names = ("atoms", "heavy")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, mol):
        return self.featurize_many([mol])[0]

    def featurize_many(self, mols):
        self.calls.append(len(mols))
        if any(a.GetSymbol() == "I" for m in mols for a in m.GetAtoms()):
            raise ValueError("no iodine")
        return np.array([[m.GetNumAtoms(), m.GetNumHeavyAtoms()] for m in mols], np.float32)


def test_batched_featurizer_path_keeps_order_and_isolates_failures(monkeypatch):
    made: list[_Batched] = []

    def factory() -> _Batched:
        made.append(_Batched())
        return made[-1]

    monkeypatch.setitem(base.FEATURIZERS, "fake_batched", factory)
    smiles = ["CCO", None, "C1CC(", "CCI", "c1ccccc1"]
    with pytest.warns(RuntimeWarning, match="failed on 1 of 3"):  # of the 3 parsable ones
        x, names = featurize_smiles(
            "fake_batched", {}, smiles, n_jobs=-1, progress=False, max_error_rate=0.5
        )
    assert names == ["atoms", "heavy"]
    np.testing.assert_array_equal(x[0], [3, 3])
    np.testing.assert_array_equal(x[4], [6, 6])
    assert np.isnan(x[1:4]).all()  # missing, unparsable, failing
    assert made[-1].calls[0] == 3  # one batch of the three parsable molecules first


# ------------------------------------------------------------------- with admet-ai installed


@pytest.fixture(scope="module")
def admet_ai_pkg():
    return pytest.importorskip("admet_ai")


def test_admet_ai_matches_the_package_predictions(admet_ai_pkg):
    from admet_ai import ADMETModel

    ref = ADMETModel(include_physchem=True, drugbank_path=None, num_workers=0).predict(SMILES)
    x, names = featurize_smiles("admet_ai", {"physchem": True}, SMILES, n_jobs=1, progress=False)
    assert names == list(ref.columns)  # physico-chemical columns first, then the endpoints
    np.testing.assert_allclose(x, ref.to_numpy(np.float64), rtol=1e-4, atol=1e-4)
    # the default drops the physico-chemical columns and keeps the endpoints' values
    x2, names2 = featurize_smiles("admet_ai", {}, SMILES, n_jobs=1, progress=False)
    assert names2 == [c for c in ref.columns if c not in PHYSCHEM]
    assert "Solubility_AqSolDB" in names2 and "AMES" in names2 and len(names2) == 41
    np.testing.assert_allclose(x2, ref[names2].to_numpy(np.float64), rtol=1e-4, atol=1e-4)


def test_admet_ai_exclude_patterns(admet_ai_pkg):
    ex = ["Solubility_*", "lipophilicity_*", "AMES", "CYP*_Veith"]
    f = base.build_featurizer("admet_ai", {"exclude": ex})
    assert "Solubility_AqSolDB" not in f.names
    assert "Lipophilicity_AstraZeneca" not in f.names  # patterns ignore case
    assert "AMES" not in f.names and "CYP3A4_Veith" not in f.names
    assert "CYP3A4_Substrate_CarbonMangels" in f.names and "hERG" in f.names
    assert len(f.names) == 41 - 1 - 1 - 1 - 5
    with pytest.raises(ConfigError, match="matches no admet-ai column"):
        base.build_featurizer("admet_ai", {"exclude": ["Solubilty_*"]})  # a typo must not leak
    with pytest.raises(ConfigError, match="list"):
        base.build_featurizer("admet_ai", {"exclude": "AMES"})
    with pytest.raises(ConfigError, match="drops every column"):
        base.build_featurizer("admet_ai", {"exclude": ["*"]})


def test_featurize_stage_writes_the_leak_report(admet_ai_pkg, tmp_path: Path, capsys):
    paths = Paths(root=tmp_path)
    smiles = SMILES * 3
    n = len(smiles)
    train = pd.DataFrame(
        {"id": [f"m{i}" for i in range(n)], "smiles_raw": smiles, "smiles": smiles, "valid": True}
    )
    write_parquet(paths.test, train.iloc[:2].assign(id=["t0", "t1"]))
    cfg = config_with(
        {
            "featurize": {"n_jobs": 1, "featurizers": {"admet_ai": {"exclude": ["AMES"]}}},
            "train": {"models": []},
        },
        replace=["featurize.featurizers"],
    )
    # the label is one endpoint's own prediction: the detector must name it
    x, names = featurize_smiles("admet_ai", {}, smiles, n_jobs=1, progress=False)
    train["logS"] = x[:, names.index("Solubility_AqSolDB")] + 0.001 * np.arange(n)
    write_parquet(paths.train, train)
    write_parquet(paths.folds, pd.DataFrame({"id": train["id"], "fold": np.arange(n) % 3}))
    write_json(
        paths.task,
        {"task_type": "regression", "targets": ["logS"], "metric": "rmse", "classes": []},
    )
    featurize.run(cfg, paths, "admet_ai")
    out = capsys.readouterr().out
    report = read_json(paths.leak("admet_ai"))
    assert "AMES" not in report["endpoints"]
    assert report["suspected"][0]["endpoint"] == "Solubility_AqSolDB"
    assert "suspected leak: Solubility_AqSolDB" in out
    table = pd.read_parquet(paths.features("admet_ai"))
    assert len(table) == n + 2 and "AMES" not in table.columns


def test_exclude_auto_drops_the_demo_overlap_only_on_the_demo():
    auto = {"featurize": {"featurizers": {"admet_ai": {"exclude": "auto"}}}}
    demo = config_with({**auto, "data": {"source": "demo"}}).featurize.featurizers["admet_ai"]
    assert demo["exclude"] == ["Solubility_*", "Lipophilicity_*", "HydrationFreeEnergy_*"]
    challenge = config_with({**auto, "data": {"source": "challenge"}})
    assert challenge.featurize.featurizers["admet_ai"]["exclude"] == []
    # an explicit list is the user's choice, on any source
    mine = {"featurize": {"featurizers": {"admet_ai": {"exclude": ["AMES"]}}}}
    cfg = config_with({**mine, "data": {"source": "challenge"}})
    assert cfg.featurize.featurizers["admet_ai"]["exclude"] == ["AMES"]


def test_repository_params_use_exclude_auto_and_declare_the_source():
    cfg = config_with()
    assert cfg.featurize.featurizers["admet_ai"]["exclude"] == [
        "Solubility_*",
        "Lipophilicity_*",
        "HydrationFreeEnergy_*",
    ]
    assert "data.source" in dvcyaml.build(cfg)["stages"]["featurize-admet_ai"]["params"]
