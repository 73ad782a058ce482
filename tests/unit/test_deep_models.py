"""The deep estimators behind the model contract (tiny data, 1-2 epochs each)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from chemchallenge.errors import ConfigError
from chemchallenge.models.base import ModelInput, build_model, needs_features
from chemchallenge.models.deep import NET_DEFAULTS
from chemchallenge.models.lightning import masked_loss
from chemchallenge.tasks import TaskSpec, TaskType
from chemchallenge.training.data import random_variants

KINDS = sorted(NET_DEFAULTS)
FAST = {"epochs": 2, "batch_size": 16, "tta": 1}
REG = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
MULTILABEL = TaskSpec(TaskType.MULTILABEL, ["a", "b", "c"], "micro_f1")
MULTICLASS = TaskSpec(TaskType.MULTICLASS, ["cls"], "accuracy", classes=["lo", "mid", "hi"])


def _params(kind: str, **extra: object) -> dict[str, object]:
    p = {k: v for k, v in FAST.items() if k != "tta" or kind.startswith("smiles_")}
    return {**p, **extra}


@pytest.fixture
def data(drug_smiles: list[str]) -> tuple[ModelInput, ModelInput]:
    rng = np.random.default_rng(0)
    smiles = drug_smiles[:36]
    feats = np.array([[len(s), s.count("c"), s.count("O"), s.count("N")] for s in smiles], float)
    x = ModelInput(smiles, feats + rng.normal(0, 0.1, feats.shape), ["len", "c", "O", "N"])
    return x.subset(np.arange(28)), x.subset(np.arange(28, 36))


def _fit_predict(kind: str, task: TaskSpec, y: np.ndarray, data, tmp: Path, **extra: object):
    train, val = data
    model = build_model(kind, task, _params(kind, **extra), seed=0)
    model.fit(train, y[:28], val, y[28:], log_dir=tmp / "dvclive" / kind)
    pred = model.predict(val)
    assert pred.shape == (len(val), task.n_outputs) and pred.dtype == np.float64
    assert np.isfinite(pred).all()
    path = tmp / f"{kind}.pt"
    torch.save(model, path)
    again = torch.load(path, weights_only=False)
    np.testing.assert_array_equal(again.predict(val), pred)
    return model, pred


@pytest.mark.parametrize("kind", KINDS)
def test_regression_in_original_units(kind: str, data, tmp_path: Path) -> None:
    y = 1000.0 + 50.0 * np.random.default_rng(1).normal(size=(36, 1))
    _, pred = _fit_predict(kind, REG, y, data, tmp_path)
    assert abs(pred.mean() - y.mean()) < 3 * y.std()  # not standardised units
    curves = tmp_path / "dvclive" / kind / "plots" / "metrics"
    for name in ("train_loss", "val_loss", "val_rmse"):
        rows = (curves / f"{name}.tsv").read_text().strip().splitlines()
        assert rows[0].startswith("step") and len(rows) == 3  # header + 2 epochs
    assert not (tmp_path / "dvclive" / kind / "dvc.yaml").exists()
    summary = json.loads((tmp_path / "dvclive" / kind / "metrics.json").read_text())
    assert summary["best_epoch"] in (0, 1)
    assert needs_features(kind) == (kind == "mlp")


@pytest.mark.parametrize("kind", KINDS)
def test_multilabel_with_missing_labels(kind: str, data, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    y = (rng.random((36, 3)) < 0.4).astype(float)
    y[rng.random((36, 3)) < 0.3] = np.nan
    _, pred = _fit_predict(kind, MULTILABEL, y, data, tmp_path)
    assert ((pred >= 0) & (pred <= 1)).all()


@pytest.mark.parametrize("kind", KINDS)
def test_multiclass(kind: str, data, tmp_path: Path) -> None:
    y = np.random.default_rng(3).integers(0, 3, size=(36, 1)).astype(float)
    y[5] = np.nan
    _, pred = _fit_predict(kind, MULTICLASS, y, data, tmp_path, class_weight="balanced")
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "attentivefp"])
def test_binary(kind: str, data, tmp_path: Path) -> None:
    y = np.zeros((36, 1))
    y[::4] = 1.0  # imbalanced: pos_weight 3
    task = TaskSpec(TaskType.BINARY, ["active"], "roc_auc")
    _, pred = _fit_predict(kind, task, y, data, tmp_path, optimizer="adagrad")
    assert ((pred > 0) & (pred < 1)).all()


@pytest.mark.parametrize("kind", ["dmpnn", "gin"])
def test_graph_with_descriptors_and_no_validation(kind: str, data) -> None:
    train, val = data
    y = np.random.default_rng(4).normal(size=(28, 1))
    params = _params(kind, use_descriptors=True, scheduler="cosine", optimizer="adamw", l1=1e-4)
    model = build_model(kind, REG, params, seed=0).fit(train, y)
    assert model.predict(val).shape == (8, 1)
    bare = ModelInput(train.smiles)
    with pytest.raises(ConfigError, match="use_descriptors"):
        build_model(kind, REG, params, seed=0).fit(bare, y)


def test_same_seed_same_predictions(data) -> None:
    train, val = data
    y = np.random.default_rng(5).normal(size=(28, 1))
    params = _params("smiles_cnn", optimizer="sgd_momentum", scheduler="plateau")
    preds = [build_model("smiles_cnn", REG, params, 7).fit(train, y).predict(val) for _ in "ab"]
    np.testing.assert_array_equal(preds[0], preds[1])
    assert torch.are_deterministic_algorithms_enabled() is False  # flag restored


def test_unknown_and_bad_params() -> None:
    with pytest.raises(ConfigError, match="hiden"):
        build_model("gcn", REG, {"hiden": 3}, 0)
    with pytest.raises(ConfigError, match="optimizer"):
        build_model("mlp", REG, {"optimizer": "lbfgs"}, 0)
    with pytest.raises(ConfigError, match="tta"):
        build_model("gcn", REG, {"tta": 3}, 0)


def test_bad_architecture_choice(data) -> None:
    train, _ = data
    model = build_model("smiles_rnn", REG, {"cell": "transformer", "epochs": 1}, 0)
    with pytest.raises(ConfigError, match="cell"):
        model.fit(train, np.zeros((28, 1)))


def test_masked_loss_ignores_missing_labels() -> None:
    raw = torch.tensor([[0.3, -1.0], [2.0, 0.5]], requires_grad=True)
    y = torch.tensor([[1.0, float("nan")], [0.0, 1.0]])
    for tt in (TaskType.REGRESSION, TaskType.MULTILABEL):
        loss = masked_loss(raw, y, tt, pos_weight=torch.tensor([2.0, 3.0]))
        (grad,) = torch.autograd.grad(loss, raw)
        assert grad[0, 1] == 0 and torch.isfinite(loss)
        moved = raw.detach().clone()
        moved[0, 1] = 100.0
        assert torch.isclose(masked_loss(moved, y, tt, torch.tensor([2.0, 3.0])), loss)
    reg = masked_loss(raw, y, TaskType.REGRESSION)
    expected = ((0.3 - 1) ** 2 + 2.0**2 + 0.5**2) / 3
    assert torch.isclose(reg, torch.tensor(expected))
    logits = torch.randn(3, 4, requires_grad=True)
    cls = torch.tensor([[1.0], [float("nan")], [3.0]])
    (grad,) = torch.autograd.grad(masked_loss(logits, cls, TaskType.MULTICLASS), logits)
    assert (grad[1] == 0).all()
    empty = torch.full((2, 1), float("nan"))
    assert masked_loss(raw[:, :1], empty, TaskType.REGRESSION) == 0


def test_random_variants_are_the_same_molecule() -> None:
    from rdkit import Chem

    smiles = ["CC(=O)Nc1ccc(O)cc1", "C[C@@H](N)C(=O)[O-]", "[Na+]"]
    variants = random_variants(smiles, 4, seed=0)
    assert variants == random_variants(smiles, 4, seed=0)
    for s, vs in zip(smiles, variants):
        canonical = Chem.MolToSmiles(Chem.MolFromSmiles(s))
        assert len(vs) == 4
        assert {Chem.MolToSmiles(Chem.MolFromSmiles(v)) for v in vs} == {canonical}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("kind", KINDS)
def test_fits_on_cuda(kind: str, data) -> None:
    train, val = data
    y = np.random.default_rng(6).normal(size=(28, 1))
    model = build_model(kind, REG, _params(kind, accelerator="gpu"), seed=0).fit(train, y)
    assert next(model.net.parameters()).device.type == "cpu"  # stored on the CPU
    assert np.isfinite(model.predict(val)).all()
