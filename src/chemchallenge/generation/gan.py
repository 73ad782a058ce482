"""A latent GAN (Prykhodko et al., 2019): WGAN-GP on the VAE's latent means.

The generator maps Gaussian noise to latent vectors, the critic scores latent vectors; both are
MLPs. Training follows Gulrajani et al. (2017): ``n_critic`` critic steps per generator step,
critic loss ``D(fake) − D(real) + λ·(‖∇D(x̂)‖ − 1)²`` on random interpolates ``x̂``, generator loss
``−D(fake)``, Adam(β = 0.5, 0.9). Generated latents are decoded by the VAE decoder.
Losses are logged per epoch (means over the epoch's steps: ``train/critic_loss``,
``train/gen_loss``, ``train/wasserstein`` = mean D(real) − mean D(fake), ``train/gp``) to
DVCLive when a directory is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from chemchallenge.device import torch_device
from chemchallenge.generation.params import GANParams


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden, n_out),
    )


class LatentGAN(nn.Module):
    def __init__(self, latent_dim: int, noise_dim: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.latent_dim, self.noise_dim = latent_dim, noise_dim
        self.generator = mlp(noise_dim, hidden, latent_dim)
        self.critic = mlp(latent_dim, hidden, 1)
        # generated latents are produced in standardised units, mapped back with these buffers
        self.register_buffer("mean", torch.zeros(latent_dim))
        self.register_buffer("std", torch.ones(latent_dim))

    def generate(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(n, self.noise_dim, generator=generator)
        return self.generator(noise.to(self.mean.device))


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Mean of (‖∇ critic(x̂)‖₂ − 1)² on random interpolates x̂ of real and fake samples."""
    alpha = torch.rand(real.size(0), 1, device=real.device)
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def train_latent_gan(
    latents: np.ndarray,
    params: GANParams,
    log_dir: Path | None = None,
    seed: int = 0,
    progress: bool = True,
) -> LatentGAN:
    """Fit a WGAN-GP on (n, d) latent vectors (standardised internally); returns it on CPU.

    A plain PyTorch loop (thousands of tiny MLP steps: Lightning's per-step overhead would
    dominate); per-epoch means of the losses go to DVCLive under ``log_dir``.
    """
    torch.manual_seed(seed)
    device = torch_device(params.accelerator)
    x = torch.as_tensor(np.asarray(latents, dtype=np.float32))
    gan = LatentGAN(x.size(1), params.noise_dim, params.hidden)
    gan.mean.copy_(x.mean(0))
    gan.std.copy_(x.std(0).clamp(min=1e-6))
    data = ((x - gan.mean) / gan.std).to(device)
    gan.to(device)
    p, betas = params, (0.5, 0.9)
    opt_g = torch.optim.Adam(gan.generator.parameters(), lr=p.lr, betas=betas)
    opt_c = torch.optim.Adam(gan.critic.parameters(), lr=p.lr, betas=betas)
    live = _live(log_dir)
    g = torch.Generator().manual_seed(seed)
    bs = min(p.batch_size, len(data))
    step = 0
    for _epoch in tqdm(range(p.epochs), desc="latent GAN", disable=not progress, leave=False):
        sums: dict[str, list[float]] = {k: [] for k in _KEYS}
        perm = torch.randperm(len(data), generator=g)
        for i in range(0, len(data) - bs + 1, bs):
            real = data[perm[i : i + bs].to(device)]
            fake = gan.generate(bs, g).detach()
            d_real, d_fake = gan.critic(real).mean(), gan.critic(fake).mean()
            gp = gradient_penalty(gan.critic, real, fake)
            c_loss = d_fake - d_real + p.gp_weight * gp
            opt_c.zero_grad()
            c_loss.backward()
            opt_c.step()
            sums["critic_loss"].append(c_loss.item())
            sums["wasserstein"].append((d_real - d_fake).item())
            sums["gp"].append(gp.item())
            step += 1
            if step % p.n_critic == 0:
                g_loss = -gan.critic(gan.generate(bs, g)).mean()
                opt_g.zero_grad()
                g_loss.backward()
                opt_g.step()
                sums["gen_loss"].append(g_loss.item())
        if live is not None:
            for k, v in sums.items():
                if v:
                    live.log_metric(f"train/{k}", float(np.mean(v)))
            live.next_step()
    if live is not None:
        live.end()
    return gan.cpu().eval()


_KEYS = ("critic_loss", "gen_loss", "wasserstein", "gp")


def _live(log_dir: Path | None) -> Any:
    if log_dir is None:
        return None
    from dvclive import Live

    return Live(str(log_dir), save_dvc_exp=False, dvcyaml=False, report=None)


@torch.no_grad()
def sample_latents(gan: LatentGAN, n: int, seed: int = 0) -> np.ndarray:
    """(n, latent) generated latent vectors in the VAE's units."""
    gan.eval()
    z = gan.generate(n, torch.Generator().manual_seed(seed))
    return (z * gan.std + gan.mean).cpu().numpy()
