"""The generate stage on tiny data with tiny epochs: every output, config and input errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError, MissingInputError
from chemchallenge.generation.codec import MoleculeVAE
from chemchallenge.paths import Paths
from chemchallenge.stages import generate

SMILES = [
    "CCO",
    "CCN",
    "CCC",
    "CCCl",
    "CCBr",
    "c1ccccc1",
    "c1ccccc1O",
    "c1ccccc1N",
    "c1ccncc1",
    "CC(=O)O",
    "CC(=O)N",
    "CC(C)O",
    "OCCO",
    "NCCN",
    "CCOC",
    "CCCO",
    "CCCN",
    "c1ccc(Cl)cc1",
    "CC(=O)Nc1ccc(O)cc1",
    "O=C(O)c1ccccc1",
    "Cc1ccccc1",
    "COc1ccccc1",
    "CC#N",
    "C1CCCCC1",
    "C1CCNCC1",
    "C1CCOC1",
    "CCS",
    "CSC",
    "CC=O",
    "C=CC",
    "CNC(=O)C",
    "OC(=O)CCC(=O)O",
]
TINY = {
    "n_samples": 20,
    "holdout_fraction": 0.25,
    "tsne": True,
    "n_interpolation": 4,
    "progress": False,
    "vae": {"epochs": 2, "batch_size": 16, "embed": 8, "hidden": 16, "latent": 4},
    "gan": {"epochs": 2, "batch_size": 8, "noise_dim": 4, "hidden": 16},
    "baseline": {"order": 3},
    "guided": {"latent_steps": 2, "latent_starts": 4},
}


def make_project(root: Path) -> Paths:
    paths = Paths(root)
    paths.prepared.mkdir(parents=True)
    y = np.arange(len(SMILES)) % 2
    train = pd.DataFrame({"id": range(len(SMILES)), "smiles": SMILES, "valid": True, "y": y})
    test = pd.DataFrame(
        {"id": [100, 101, 102], "smiles": ["CCCCO", None, "c1ccoc1"], "valid": [True, False, True]}
    )
    train.to_parquet(paths.train, index=False)
    test.to_parquet(paths.test, index=False)
    return paths


def test_stage_writes_every_output(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    generate.run(Config(seed=1, generate=TINY), paths)
    mol = pd.read_csv(paths.generated / "molecules.csv")
    assert {"smiles", "source", "valid", "novel", "logP", "QED", "MW", "SA"} <= set(mol.columns)
    assert set(mol["source"]) == {"vae", "gan", "baseline", "heldout"}
    assert (mol["source"] == "vae").sum() == 20
    assert mol.loc[~mol["valid"], "QED"].isna().all()
    metrics = json.loads((tmp_path / "metrics" / "generation.json").read_text())
    for model in ("vae", "gan", "baseline", "floor"):
        assert {
            "validity",
            "unique@20",
            "novelty",
            "internal_diversity",
            "fcd_n",
            "wasserstein_logP",
            "scaffold_similarity",
        } <= set(metrics[model])
    assert metrics["floor"]["validity"] == 1.0
    info = metrics["info"]
    assert info["corpus"]["n_reference"] + info["corpus"]["n_floor"] == 8
    assert info["corpus"]["n_train"] == len(SMILES) - 8 + 2  # + 2 valid test molecules
    assert info["guided"]["status"].startswith("skipped")
    vae = MoleculeVAE.load(paths.generated / "vae.pt")
    assert vae.latent_dim == 4 and len(vae.vocab) > 4 and len(vae.sample(3)) == 3
    for name in ("latent_pca.csv", "latent_tsne.csv", "interpolation.csv"):
        assert (paths.generated / name).exists()
    pca = pd.read_csv(paths.generated / "latent_pca.csv")
    assert {"smiles", "subset", "dim_1", "dim_2", "y"} <= set(pca.columns) and len(pca) == 26
    figs = {p.name for p in (paths.generated / "figures").glob("*.png")}
    assert {"latent_pca_y.png", "latent_tsne_y.png", "interpolation.png", "properties.png"} <= figs
    for sub in ("vae", "gan"):
        assert (tmp_path / "dvclive" / "generate" / sub / "metrics.json").exists()
    assert (
        tmp_path / "dvclive" / "generate" / "vae" / "plots" / "metrics" / "train" / "loss.tsv"
    ).exists()


def test_stage_guided_candidates_with_a_predictor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Predictor:  # the shape of chemchallenge.predictor.Predictor.predict's output
        def predict(self, smiles: list[str]) -> pd.DataFrame:
            y = [0.9 if "O" in s else 0.2 for s in smiles]
            return pd.DataFrame(
                {
                    "smiles": smiles,
                    "standardized": smiles,
                    "valid": True,
                    "y": y,
                    "y_std": 0.1,
                    "max_tanimoto": 0.5,
                    "in_domain": True,
                }
            )

    module = types.ModuleType("chemchallenge.predictor")
    module.load_predictor = lambda paths, cfg: Predictor()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chemchallenge.predictor", module)
    paths = make_project(tmp_path)
    cfg = dict(TINY, tsne=False, n_samples=30)
    generate.run(Config(seed=2, generate=cfg), paths)
    info = json.loads((tmp_path / "metrics" / "generation.json").read_text())["info"]
    assert info["guided"]["status"] == "ok"
    assert info["guided"]["objectives"] == {"y": "probability"}
    cand = pd.read_csv(paths.generated / "candidates.csv")
    assert {"smiles", "source", "y", "desirability", "in_domain"} <= set(cand.columns)
    assert (cand["y"] >= 0.5).all()


def test_missing_extra_corpus_is_a_clear_error(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    cfg = Config(generate={"extra_corpus": "data/more_molecules.csv"})
    with pytest.raises(MissingInputError, match=r"generate.extra_corpus: .*more_molecules.csv"):
        generate.run(cfg, paths)


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    with pytest.raises(ConfigError, match="unknown key"):
        generate.run(Config(generate={"vae": {"epoch": 3}}), paths)
    with pytest.raises(ConfigError, match=r"generate\.vae\.kl_anneal"):
        generate.run(Config(generate={"vae": {"kl_anneal": "sigmoid"}}), paths)
    with pytest.raises(ConfigError, match=r"generate\.guided\.directions\.y"):
        generate.run(Config(generate={"guided": {"directions": {"y": "up"}}}), paths)


def test_disabled_stage_writes_placeholders(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    generate.run(Config(generate={"enabled": False}), paths)
    assert json.loads((tmp_path / "metrics" / "generation.json").read_text()) == {"enabled": False}
    assert (paths.generated / "molecules.csv").exists()
