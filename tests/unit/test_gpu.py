"""On a CUDA GPU: the VAE, the GAN, ChemNet and XGBoost run there, deterministically where
the kernels allow it (run with ``pytest -m gpu``; skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chemchallenge import device
from chemchallenge.generation.gan import GANParams, sample_latents, train_latent_gan
from chemchallenge.generation.lightning_vae import VAEParams, train_vae
from chemchallenge.generation.vae import decode_latents
from chemchallenge.models.base import ModelInput, build_model
from chemchallenge.tasks import TaskSpec, TaskType

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

SMILES = ["CCO", "CC(=O)Nc1ccc(O)cc1", "O=C(O)c1ccccc1Cl", "CC(C)Cc1ccc(C(C)C(=O)O)cc1"] * 8


def test_vae_trains_on_the_gpu_with_cuda_determinism() -> None:
    params = VAEParams(epochs=2, batch_size=8, embed=8, hidden=32, latent=8, augment=0.5)
    model, vocab = train_vae(SMILES, params, seed=0, progress=False)
    again, _ = train_vae(SMILES, params, seed=0, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)  # same seed, same weights (cuBLAS workspace set)
    z = torch.zeros(4, 8, device="cuda")
    out = decode_latents(model.cuda(), vocab, z, 40, greedy=True)
    assert len(out) == 4


def test_gan_trains_on_the_gpu() -> None:
    latents = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    gan = train_latent_gan(latents, GANParams(epochs=2, batch_size=16, hidden=32), progress=False)
    assert gan.mean.device.type == "cpu"  # returned on the CPU
    assert np.isfinite(sample_latents(gan, 10)).all()


def test_chemnet_runs_on_the_gpu() -> None:
    fcd = pytest.importorskip("chemchallenge.generation.fcd")
    if not fcd.chemnet_available():
        pytest.skip("fcd_torch not installed")
    act = fcd.chemnet_activations(SMILES[:4])
    assert next(fcd.load_chemnet().parameters()).device.type == "cuda"
    assert act.shape == (4, 512)


def test_xgboost_uses_cuda() -> None:
    assert device.xgboost_device("auto") == "cuda"
    x = ModelInput(SMILES, np.random.default_rng(0).normal(size=(32, 5)), list("abcde"))
    y = np.random.default_rng(1).normal(size=(32, 1))
    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    model = build_model("xgboost", task, {"n_estimators": 5}, seed=0).fit(x, y)
    assert np.isfinite(model.predict(x)).all()


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_graph_net_with_workers_and_precision(precision: str) -> None:
    x = ModelInput(SMILES, None, [])
    y = np.array([[len(s) / 10.0] for s in SMILES])
    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    params = {"epochs": 2, "batch_size": 8, "hidden": 16, "num_workers": 2, "precision": precision}
    model = build_model("dmpnn", task, params, seed=0).fit(x, y)
    assert np.isfinite(model.predict(x)).all()
