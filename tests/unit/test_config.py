"""params.yaml validation: unknown keys, wrong types, impossible combinations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from chemchallenge.config import (
    Config,
    ModelConfig,
    config_from_dict,
    load_config,
)
from chemchallenge.errors import ConfigError
from support.params import config_with, repo_params

REPO = Path(__file__).resolve().parents[2]


def test_repo_params_yaml_is_valid() -> None:
    cfg = load_config(REPO / "params.yaml")
    assert cfg.submit.model == "ensemble" or cfg.submit.model in cfg.train.models
    for name in cfg.train.models:
        assert set(cfg.model(name).features) <= set(cfg.featurize.featurizers)


def test_repo_params_give_the_values() -> None:
    cfg = config_with()
    assert isinstance(cfg, Config)
    assert cfg.seed == 42 and cfg.data.source == "demo" and cfg.prepare.cv.n_folds == 5
    assert cfg.submit.thresholds == "auto" and cfg.prepare.standardize.canonical


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (["tune", "n_trials"], "tune.n_trials"),
        (["tune", "heartbeat_s"], "tune.heartbeat_s"),
        (["prepare", "cv", "split"], "prepare.cv.split"),
        (["data", "metric"], "data.metric"),
        (["ensemble"], "ensemble"),
        (["seed"], "seed"),
    ],
)
def test_a_missing_key_is_refused_not_invented(path: list[str], key: str) -> None:
    """No setting has a default in code: params.yaml without it fails, naming it."""
    raw = repo_params()
    parent = raw
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    msg = str(info.value)
    assert msg.startswith(f"{key}: missing from params.yaml") and "\n" not in msg


def test_tiny_params(cfg_factory: Callable[..., Config], challenge_dir: Path) -> None:
    cfg = cfg_factory("binary")
    assert cfg.data.task == "binary" and cfg.data.challenge_dir == str(challenge_dir)
    assert isinstance(cfg.models["xgb"], ModelConfig) and cfg.models["xgb"].params["n_jobs"] == 1


def test_types_are_converted() -> None:
    cfg = config_with(
        {
            "featurize": {"featurizers": {"maccs": None, "morgan": {"radius": 3}}},
            "submit": {"thresholds": 0.5, "model": "ensemble"},
            "tune": {"timeout": 60},
        }
    )
    assert cfg.featurize.featurizers["maccs"] == {} and cfg.featurize.featurizers["morgan"] == {
        "radius": 3,
        "n_bits": 2048,
    }
    assert cfg.submit.thresholds == 0.5 and isinstance(cfg.submit.thresholds, float)
    assert cfg.tune.timeout == 60.0
    cfg = config_with({"submit": {"thresholds": {"Y1": 0.3, "Y2": 0.5}}})
    assert cfg.submit.thresholds == {"Y1": 0.3, "Y2": 0.5}


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        ({"sed": 1}, ["top level", "unknown key(s) ['sed']"]),
        ({"prepare": {"cv": {"nfolds": 3}}}, ["prepare.cv", "['nfolds']"]),
        ({"data": {"smile_column": "S"}}, ["data", "['smile_column']", "smiles_column"]),
        (
            {"models": {"rf": {"kind": "random_forest", "param": {}}}, "submit": {}},
            ["models.rf", "['param']"],
        ),
    ],
)
def test_unknown_key(raw: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(raw)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"seed": "abc"}, "seed: expected int, got 'abc'"),
        ({"seed": True}, "seed: expected int, got True"),
        ({"prepare": {"cv": {"n_folds": 2.5}}}, "prepare.cv.n_folds: expected int"),
        ({"prepare": {"standardize": {"cleanup": "yes"}}}, "cleanup: expected bool"),
        ({"data": "demo"}, "data: expected a mapping"),
        ({"data": {"targets": 3}}, "data.targets: 3 matches none of"),
        ({"train": {"models": "rf"}}, "train.models: expected a list"),
        ({"models": ["rf"]}, "models: expected a mapping"),
        ({"models": {"rf2": {"features": ["morgan"]}}}, "models.rf2.kind: missing"),
        ({"submit": {"thresholds": [0.5]}}, "submit.thresholds"),
    ],
)
def test_wrong_type(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(raw)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"data": {"task": "regresion"}}, "data.task: 'regresion' is not one of"),
        ({"data": {"source": "kaggle"}}, "data.source"),
        ({"data": {"metric": "f2"}}, "unknown metric 'f2'"),
        ({"submit": {"thresholds": "autp"}}, "submit.thresholds: 'autp'"),
        ({"submit": {"thresholds": "0.4"}}, "submit.thresholds: '0.4'"),
    ],
)
def test_bad_choice(raw: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(raw)
    assert fragment in str(info.value)


def test_submit_model_not_trained(params_factory: Callable[..., dict[str, Any]]) -> None:
    raw = params_factory({"submit": {"model": "rf"}})
    with pytest.raises(
        ConfigError, match=r"submit\.model: 'rf' is neither 'ensemble' nor a trained"
    ):
        config_from_dict(raw)
    raw = params_factory({"train": {"models": ["xgb"]}})  # submit.model baseline not trained
    with pytest.raises(ConfigError, match="'baseline'"):
        config_from_dict(raw)


def test_model_with_undefined_featurizer(params_factory: Callable[..., dict[str, Any]]) -> None:
    raw = params_factory({"models": {"knn": {"features": ["morgan", "ecfp6"]}}})
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert "models.knn.features: ['ecfp6'] not defined under featurize.featurizers" in str(
        info.value
    )


def test_trained_model_not_defined(params_factory: Callable[..., dict[str, Any]]) -> None:
    raw = params_factory({"train": {"models": ["baseline", "gnn"]}})
    with pytest.raises(ConfigError, match="model 'gnn' is not defined under 'models:'"):
        config_from_dict(raw)


@pytest.mark.parametrize("n_folds", [1, 0, -3])
def test_fewer_than_two_folds(n_folds: int) -> None:
    with pytest.raises(ConfigError, match=r"prepare\.cv\.n_folds: need at least 2 folds"):
        config_with({"prepare": {"cv": {"n_folds": n_folds}}})


def test_load_config_names_file_and_key(tmp_path: Path) -> None:
    text = (REPO / "params.yaml").read_text().replace("n_folds:", "n_fold:", 1)
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: prepare.cv: unknown key(s) ['n_fold']")
    assert "\n" not in msg


def test_load_config_wrong_type_in_file(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"seed": "forty-two"}))
    with pytest.raises(ConfigError, match=r"params.yaml: seed: expected int, got 'forty-two'"):
        load_config(path)


def test_load_config_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_empty_params_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("")
    with pytest.raises(ConfigError, match=r"params.yaml: seed, data, .*: missing from params"):
        load_config(path)


def test_unknown_model_lookup() -> None:
    with pytest.raises(ConfigError, match="'nope' is not defined"):
        config_with().model("nope")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"prepare": {"cv": {"split": "kmeans"}}}, "prepare.cv.split: 'kmeans' is not one of"),
        ({"prepare": {"conflicts": "max"}}, "prepare.conflicts: 'max' is not one of"),
        ({"tune": {"sampler": "cmaes"}}, "tune.sampler: 'cmaes' is not one of ['tpe'"),
        ({"tune": {"pruner": "sha"}}, "tune.pruner: 'sha' is not one of"),
        ({"ensemble": {"method": "blend"}}, "ensemble.method: 'blend' is not one of"),
    ],
)
def test_check_refuses_a_choice_its_registry_lacks(raw: dict[str, Any], fragment: str) -> None:
    """Checked by ``chemchallenge check`` (the registries live with their code, which the
    config does not import: every stage's DVC dependencies would include it)."""
    from chemchallenge.checks import check_implemented_choices

    with pytest.raises(ConfigError) as info:
        check_implemented_choices(config_with(raw))
    assert fragment in str(info.value)


def test_choices_come_from_the_registries() -> None:
    """A method, sampler, pruner, split or conflict policy added to its registry is accepted
    without a second list to update."""
    from chemchallenge.checks import implemented_choices
    from chemchallenge.config import choices
    from chemchallenge.data.molecules import CONFLICT_POLICIES
    from chemchallenge.data.splits import SPLITS
    from chemchallenge.ensemble.weights import METHODS
    from chemchallenge.tasks import TaskType
    from chemchallenge.tuning.study import PRUNERS, SAMPLERS

    got = {**choices(), **implemented_choices()}
    assert got["ensemble.method"] == tuple(METHODS)
    assert got["tune.sampler"] == tuple(SAMPLERS) and got["tune.pruner"] == tuple(PRUNERS)
    assert got["prepare.cv.split"] == ("auto", *SPLITS)
    assert got["prepare.conflicts"] == ("auto", *CONFLICT_POLICIES)
    assert set(got["data.task"]) == {"auto", *(t.value for t in TaskType)}


def test_every_registered_choice_is_implemented() -> None:
    """Each registry entry builds (no name listed without its implementation)."""
    import numpy as np

    from chemchallenge.data.splits import SPLITS, make_folds
    from chemchallenge.ensemble.weights import METHODS, make_fit
    from chemchallenge.tasks import TaskSpec, TaskType
    from chemchallenge.tuning.study import PRUNERS, SAMPLERS, make_pruner, make_sampler

    for name in SAMPLERS:
        assert make_sampler(name, 0) is not None
    for name in PRUNERS:
        assert make_pruner(name, 5) is not None
    task = TaskSpec(TaskType.BINARY, ["y"], "roc_auc")
    y = np.array([[0.0, 1.0], [1.0, 0.0]] * 10)
    smiles = [f"C1{'C' * (i + 1)}C1" for i in range(20)]  # 20 ring sizes: 20 scaffolds
    for name in SPLITS:
        kind = TaskType.MULTILABEL if name == "multilabel" else TaskType.BINARY
        folds = make_folds(y, smiles, kind, name, 2, 0)
        assert sorted(set(folds)) == [0, 1]
    y = y[:, :1]
    P = np.stack([y[:, 0] * 0.8 + 0.1, np.full(20, 0.5)], axis=1)[:, :, None]
    for name in METHODS:
        assert make_fit(name, task, 1)(P, y) is not None
