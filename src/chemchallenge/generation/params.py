"""Hyper-parameters of the generators (``generate.vae``, ``generate.gan`` in params.yaml).

Torch-free, so that ``chemchallenge check`` parses the ``generate:`` section in a fraction of
a second; :mod:`~chemchallenge.generation.lightning_vae` and
:mod:`~chemchallenge.generation.gan` train with them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: molecule string representations the VAE can learn (see :mod:`.codec`)
REPRESENTATIONS = ("selfies", "smiles", "kekule")


@dataclass
class VAEParams:
    """Hyper-parameters of the VAE (``generate.vae`` in params.yaml)."""

    epochs: int = 30
    representation: str = "kekule"  # kekule | smiles | selfies (see generation/codec.py)
    constrained: bool = True  # syntax+valence-constrained SMILES sampling (valence.py)
    batch_size: int = 64
    encoder: str = "cnn"  # cnn | gru
    embed: int = 64
    hidden: int = 256
    latent: int = 64
    layers: int = 1
    dropout: float = 0.1
    word_dropout: float = 0.0
    lr: float = 2e-3
    max_len: int = 100
    kl_anneal: str = "linear"  # linear | cyclical | none
    kl_anneal_epochs: int = 10
    beta_max: float = 0.1
    augment: float = 0.0  # per-epoch probability of a randomised SMILES per molecule
    grad_clip: float = 5.0
    accelerator: str = "auto"  # auto: the GPU when CUDA is present (device.py)
    precision: str = "32-true"  # bf16-mixed on a recent GPU
    num_workers: int = 0  # DataLoader workers (each re-seeds the augmentation's generator)


@dataclass
class GANParams:
    """Hyper-parameters of the latent GAN (``generate.gan`` in params.yaml)."""

    epochs: int = 150
    batch_size: int = 64
    noise_dim: int = 32
    hidden: int = 256
    lr: float = 2e-4
    n_critic: int = 5
    gp_weight: float = 10.0
    accelerator: str = "auto"  # auto: the GPU when CUDA is present (device.py)
