"""The generate and candidates stages on tiny data with tiny epochs: every output, the DVC
metrics summary, the modules generate loads, config and input errors."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.errors import ConfigError, MissingInputError
from chemchallenge.generation.codec import MoleculeVAE
from chemchallenge.paths import Paths
from chemchallenge.stages import candidates, generate
from conftest import TINY_GENERATE, deep_update
from support.params import config_with, params_with

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
TINY = deep_update(TINY_GENERATE, {"tsne": True, "vae": {"epochs": 2}, "gan": {"epochs": 2}})


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


#: runs the generate stage in a fresh interpreter (the test session imports every module) and
#: lists the chemchallenge modules it loaded
RUN_GENERATE = """
import json, sys
from pathlib import Path
from chemchallenge.config import Config, build_section
from chemchallenge.paths import Paths
from chemchallenge.stages import generate
root = Path(sys.argv[1])
# typed sections without config_from_dict's cross-checks: only what the stage itself loads
generate.run(build_section(Config, json.loads(sys.argv[2]), ""), Paths(root))
loaded = sorted(m for m in sys.modules if m.startswith("chemchallenge"))
Path(sys.argv[3]).write_text(json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, list[str]]:
    """A project after ``generate`` (seed 1, TINY) and the modules that stage loaded."""
    root = tmp_path_factory.mktemp("generated")
    paths = make_project(root / "project")
    loaded = root / "modules.json"
    raw = json.dumps(params_with({"seed": 1, "generate": TINY}))
    cmd = [sys.executable, "-c", RUN_GENERATE, str(paths.root), raw, str(loaded)]
    subprocess.run(cmd, check=True, timeout=600)
    return paths, json.loads(loaded.read_text())


@pytest.fixture
def generated_copy(generated: tuple[Paths, list[str]], tmp_path: Path) -> Paths:
    """A private copy of the generated project (for the candidates stage to write into)."""
    shutil.copytree(generated[0].root, tmp_path / "project")
    return Paths(tmp_path / "project")


def test_stage_writes_every_output(generated: tuple[Paths, list[str]]) -> None:
    paths, _ = generated
    tmp_path = paths.root
    mol = pd.read_csv(paths.generated / "molecules.csv")
    assert {"smiles", "source", "valid", "novel", "logP", "QED", "MW", "SA"} <= set(mol.columns)
    assert set(mol["source"]) == {"vae", "gan", "baseline", "heldout"}
    assert (mol["source"] == "vae").sum() == 20
    assert mol.loc[~mol["valid"], "QED"].isna().all()
    record = json.loads(paths.generation_scores.read_text())
    for model in ("vae", "gan", "baseline", "floor"):
        assert {
            "validity",
            "unique@20",
            "novelty",
            "internal_diversity",
            "fcd_n",
            "wasserstein_logP",
            "scaffold_similarity",
        } <= set(record[model])
    assert record["floor"]["validity"] == 1.0
    info = record["info"]
    assert info["corpus"]["n_reference"] + info["corpus"]["n_floor"] == 8
    assert info["corpus"]["n_train"] == len(SMILES) - 8 + 2  # + 2 valid test molecules
    assert "guided" not in info  # the candidates stage's
    assert not (paths.generated / "candidates.csv").exists() and not paths.candidates.exists()
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


def _leaves(obj: object) -> list[object]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _leaves(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _leaves(v)]
    return [obj]


def test_metrics_file_is_a_few_numbers(generated: tuple[Paths, list[str]]) -> None:
    paths, _ = generated
    summary = json.loads((paths.root / "metrics" / "generation.json").read_text())
    leaves = _leaves(summary)
    assert 4 <= len(leaves) <= 10
    assert all(type(v) in (int, float) and math.isfinite(v) for v in leaves), summary
    assert set(summary) == {"vae", "gan"} and {"valid", "novel"} <= set(summary["vae"])
    record = json.loads(paths.generation_scores.read_text())
    assert summary["vae"]["valid"] == round(record["vae"]["validity"], 4)
    assert generate.summary(record) == summary


def test_summary_drops_non_finite_and_non_numeric_values() -> None:
    record = {
        "vae": {"validity": 0.123456, "novelty": None, "uniqueness": float("nan"), "fcd": True},
        "gan": {"frechet_descriptor_distance": 3, "snn": 0.5},
        "floor": {"validity": 1.0},
        "info": {"seed": 0},
    }
    assert generate.summary(record) == {
        "vae": {"valid": 0.1235},
        "gan": {"fdd": 3.0},
    }
    assert generate.summary({"enabled": False}) == {}


def test_generate_loads_no_predictor_module(generated: tuple[Paths, list[str]]) -> None:
    _, loaded = generated
    assert "chemchallenge.stages.generate" in loaded
    forbidden = (
        "chemchallenge.predictor",
        "chemchallenge.models",
        "chemchallenge.ensemble",
        "chemchallenge.stages.train",
        "chemchallenge.stages.candidates",
        "chemchallenge.generation.guided",
    )
    assert [m for m in loaded if m.startswith(forbidden)] == []


def test_generate_section_directions_are_the_guided_ones() -> None:
    from chemchallenge.generation import guided, settings

    assert settings.DIRECTIONS == guided.DIRECTIONS


def test_candidates_without_a_trained_predictor(generated_copy: Paths) -> None:
    paths = generated_copy
    candidates.run(config_with({"seed": 1, "generate": TINY}), paths)
    status = json.loads((paths.candidates / "guided.json").read_text())
    assert status["status"].startswith("skipped") and "task.json" in status["status"]
    cand = pd.read_csv(paths.candidates / "candidates.csv")
    assert cand.empty and {"smiles", "source", "desirability", "in_domain"} <= set(cand.columns)


def test_candidates_disabled_still_writes_both_files(generated_copy: Paths) -> None:
    paths = generated_copy
    candidates.run(
        config_with({"seed": 1, "generate": {**TINY, "guided": {"enabled": False}}}), paths
    )
    assert json.loads((paths.candidates / "guided.json").read_text()) == {"status": "disabled"}
    assert pd.read_csv(paths.candidates / "candidates.csv").empty


def test_candidates_with_a_predictor(
    generated_copy: Paths, monkeypatch: pytest.MonkeyPatch
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
    paths = generated_copy
    candidates.run(config_with({"seed": 1, "generate": TINY}), paths)
    status = json.loads((paths.candidates / "guided.json").read_text())
    assert status["status"] == "ok"
    assert status["objectives"] == {"y": "probability"}
    cand = pd.read_csv(paths.candidates / "candidates.csv")
    assert status["n_candidates"] == len(cand) > 0
    assert {"smiles", "source", "y", "desirability", "in_domain"} <= set(cand.columns)
    assert (cand["y"] >= 0.5).all()
    assert not set(cand["smiles"]) & set(SMILES)  # novel: none is a training molecule


def test_candidates_with_a_trained_model(tmp_path: Path) -> None:
    """prepare -> featurize -> train (a decision tree) and generate -> candidates."""
    from chemchallenge.config import config_from_dict
    from chemchallenge.stages import featurize, prepare, train
    from conftest import make_tables, tiny_params, write_tables

    write_tables(tmp_path / "challenge", make_tables("regression"))
    params = tiny_params(tmp_path / "challenge")
    params["train"]["models"] = ["baseline"]
    params["generate"] = deep_update(
        TINY, {"tsne": False, "guided": {"latent_steps": 1, "latent_starts": 2}}
    )
    cfg = config_from_dict(params)
    paths = Paths(tmp_path)
    prepare.run(cfg, paths)
    featurize.run(cfg, paths, "morgan")
    train.run(cfg, paths, "baseline")
    generate.run(cfg, paths)
    candidates.run(cfg, paths)
    status = json.loads((paths.candidates / "guided.json").read_text())
    assert status["status"] == "ok" and status["model"] == "baseline"
    assert status["objectives"] == {"logS": "maximize"}
    cand = pd.read_csv(paths.candidates / "candidates.csv")
    assert list(cand.columns) == [
        "smiles",
        "source",
        "logS",
        "desirability",
        "max_sim_train",
        "in_domain",
        "sensible",
    ]
    assert status["n_candidates"] == len(cand)


def test_candidates_need_the_generated_vae(generated_copy: Paths, monkeypatch) -> None:
    paths = generated_copy
    (paths.generated / "vae.pt").unlink()
    module = types.ModuleType("chemchallenge.predictor")
    module.load_predictor = lambda paths, cfg: object()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chemchallenge.predictor", module)
    with pytest.raises(MissingInputError, match=r"vae.pt not found: run the generate stage"):
        candidates.run(config_with({"seed": 1, "generate": TINY}), paths)


def test_missing_extra_corpus_is_a_clear_error(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    cfg = config_with({"generate": {"extra_corpus": "data/more_molecules.csv"}})
    with pytest.raises(MissingInputError, match=r"generate.extra_corpus: .*more_molecules.csv"):
        generate.run(cfg, paths)


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    with pytest.raises(ConfigError, match="unknown key"):
        generate.run(config_with({"generate": {"vae": {"epoch": 3}}}), paths)
    with pytest.raises(ConfigError, match=r"generate\.vae\.kl_anneal"):
        generate.run(config_with({"generate": {"vae": {"kl_anneal": "sigmoid"}}}), paths)
    with pytest.raises(ConfigError, match=r"generate\.guided\.directions\.y"):
        generate.run(config_with({"generate": {"guided": {"directions": {"y": "up"}}}}), paths)


def test_disabled_stage_writes_placeholders(tmp_path: Path) -> None:
    paths = make_project(tmp_path)
    cfg = config_with({"generate": {"enabled": False}})
    generate.run(cfg, paths)
    assert json.loads((tmp_path / "metrics" / "generation.json").read_text()) == {}
    assert json.loads(paths.generation_scores.read_text()) == {"enabled": False}
    assert (paths.generated / "molecules.csv").exists()
    candidates.run(cfg, paths)  # no VAE needed
    assert json.loads((paths.candidates / "guided.json").read_text()) == {"status": "disabled"}
    assert pd.read_csv(paths.candidates / "candidates.csv").empty
