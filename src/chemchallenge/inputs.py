"""What a model stage reads: the task, the model's params (tuned or not) and its inputs.

Shared by ``tune``, ``train``, ``ensemble``, ``submit`` and the predictor, so that no stage
imports another stage (and dvc.yaml makes each depend on the code it really uses).
"""

from __future__ import annotations

import pandas as pd

from chemchallenge.config import Config
from chemchallenge.errors import ConfigError
from chemchallenge.io import read_json, read_parquet
from chemchallenge.models.base import ModelInput, needs_features
from chemchallenge.paths import Paths
from chemchallenge.tasks import TaskSpec


def load_task(paths: Paths) -> TaskSpec:
    return TaskSpec.from_dict(read_json(paths.task))


def model_params(cfg: Config, paths: Paths, name: str) -> tuple[dict, bool]:
    """The model's params.yaml params, overridden by tuned ones when tuning is on."""
    mc = cfg.model(name)
    params = dict(mc.params)
    tuned = False
    if mc.tune and paths.best_params(name).exists():
        best = read_json(paths.best_params(name))
        if best.get("tuned"):
            tuned_params = best.get("params", {})
            changed = {k: v for k, v in tuned_params.items() if k in params and params[k] != v}
            if changed:
                print(
                    f"train-{name}: the tuned values override params.yaml's: "
                    + ", ".join(f"{k} {params[k]!r} -> {v!r}" for k, v in changed.items())
                )
            params.update(tuned_params)
            tuned = True
    return params, tuned


def model_inputs(
    cfg: Config, paths: Paths, name: str
) -> tuple[ModelInput, ModelInput, pd.DataFrame, pd.DataFrame]:
    """Train and (valid) test inputs of model ``name``, with the prepared tables."""
    mc = cfg.model(name)
    train = read_parquet(paths.train)
    test = read_parquet(paths.test)
    feats_train = feats_test = None
    names = None
    if mc.features:
        from chemchallenge.features.store import load_features

        fs = load_features(paths, mc.features)
        feats_train, feats_test, names = fs.train, fs.test, fs.names
    elif needs_features(mc.kind):
        raise ConfigError(f"models.{name}: kind {mc.kind!r} needs 'features' (e.g. [morgan])")
    valid = test["valid"].to_numpy(dtype=bool)
    X = ModelInput(list(train["smiles"]), feats_train, names)
    X_test = ModelInput(
        [s for s, ok in zip(test["smiles"], valid, strict=True) if ok],
        None if feats_test is None else feats_test[valid],
        names,
    )
    return X, X_test, train, test
