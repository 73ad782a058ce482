"""Latent WGAN-GP on a toy latent distribution; the n-gram baseline and the floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from chemchallenge.generation.baseline import NGramGenerator, floor_sample
from chemchallenge.generation.gan import (
    GANParams,
    LatentGAN,
    gradient_penalty,
    sample_latents,
    train_latent_gan,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_gradient_penalty_is_zero_for_a_unit_slope_critic() -> None:
    critic = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]]))  # gradient norm exactly 1
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic.weight.mul_(3.0)  # norm 3 -> (3 - 1)^2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_latent_gan_learns_a_shifted_gaussian(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    target_mean, target_std = np.array([3.0, -2.0, 0.5]), np.array([0.5, 2.0, 1.0])
    x = rng.normal(target_mean, target_std, (512, 3)).astype(np.float32)
    untrained = LatentGAN(3, 8, 64)
    params = GANParams(epochs=40, batch_size=64, noise_dim=8, hidden=64, lr=1e-3)
    gan = train_latent_gan(x, params, log_dir=tmp_path / "gan", seed=0, progress=False)
    z = sample_latents(gan, 4000, seed=1)
    assert z.shape == (4000, 3)
    np.testing.assert_allclose(z.mean(0), target_mean, atol=0.5 * target_std.max())
    np.testing.assert_allclose(z.std(0), target_std, rtol=0.5)
    # losses logged per epoch to DVCLive; the critic's Wasserstein estimate shrinks
    w = pd.read_csv(tmp_path / "gan" / "plots" / "metrics" / "train" / "wasserstein.tsv", sep="\t")[
        "wasserstein"
    ].to_numpy()
    assert len(w) == params.epochs
    assert np.abs(w[-5:]).mean() < np.abs(w).max()
    for name in ("critic_loss", "gen_loss", "gp"):
        assert (tmp_path / "gan" / "plots" / "metrics" / "train" / f"{name}.tsv").exists()
    assert untrained.generate(2).shape == (2, 3)


def test_ngram_reproduces_a_deterministic_corpus() -> None:
    ngram = NGramGenerator(order=3).fit(["CCO"])
    assert ngram.sample(5, seed=0) == ["CCO"] * 5
    ngram = NGramGenerator(order=2).fit(["CCO", "CCN", "c1ccccc1"])
    out = ngram.sample(200, max_len=30, seed=0)
    assert len(out) == 200 and all(len(s) <= 30 * 2 for s in out)
    assert out == ngram.sample(200, max_len=30, seed=0)
    assert {"CCO", "CCN"} <= set(out)
    with pytest.raises(RuntimeError, match="fit"):
        NGramGenerator(2).sample(1)


def test_floor_sample_without_replacement() -> None:
    held = [f"C{'C' * i}O" for i in range(10)]
    s = floor_sample(held, 4, seed=0)
    assert len(set(s)) == 4 and set(s) <= set(held)
    assert floor_sample(held, 50) == held
