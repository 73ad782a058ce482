"""Typed ``generate:`` section of params.yaml (see :mod:`chemchallenge.stages.generate`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chemchallenge.config import build_section
from chemchallenge.errors import ConfigError
from chemchallenge.generation.params import REPRESENTATIONS, GANParams, VAEParams

#: the objective directions of :mod:`chemchallenge.generation.guided` (its ``DIRECTIONS``; kept
#: here so that the generate stage checks the section without importing the guided search)
DIRECTIONS = ("maximize", "minimize", "probability")


@dataclass
class BaselineParams:
    order: int = 5  # n-gram order (tokens of context + 1)


@dataclass
class GuidedParams:
    enabled: bool
    # target -> maximize | minimize | probability; unlisted targets: "probability" when the
    # training labels are 0/1, else "maximize"
    directions: dict[str, str]
    thresholds: dict[str, float]
    ad_threshold: float
    top_k: int
    latent_steps: int  # hill-climb steps in latent space (0: off)
    latent_starts: int  # training molecules the climb starts from
    step_size: float


@dataclass(kw_only=True)
class GenerateConfig:
    enabled: bool
    n_samples: int
    decoding: str  # VAE/GAN decoder: sample (at temperature) | greedy | beam
    temperature: float  # softmax temperature when sampling (0: greedy)
    beam_width: int
    holdout_fraction: float  # of the training molecules; half FCD reference, half floor
    extra_corpus: str | None  # null | chembl_drugs | path/to/file.csv (SMILES column)
    seed: int | None  # None: the top-level seed
    tsne: bool
    tsne_max_points: int
    n_interpolation: int
    max_draws: int  # n_samples batches a generator may draw to fill its FCD sample
    progress: bool
    # torch CPU threads while the stage runs (small GRUs: 1 is about as fast as 2 and does not
    # collapse when other processes share the cores); null: torch's default
    threads: int | None
    vae: VAEParams = field(default_factory=VAEParams)
    gan: GANParams = field(default_factory=GANParams)
    baseline: BaselineParams = field(default_factory=BaselineParams)
    guided: GuidedParams

    def seed_or(self, default: int) -> int:
        """The seed of the generators and of the corpus split: ``seed``, else ``default`` (the
        top-level seed)."""
        return default if self.seed is None else self.seed


def parse_generate(raw: dict[str, Any] | None) -> GenerateConfig:
    """Build and check the ``generate`` section; raises ConfigError with the offending key."""
    gc: GenerateConfig = build_section(GenerateConfig, raw or {}, "generate")
    checks = [
        (gc.n_samples >= 10, "generate.n_samples: need at least 10"),
        (0.0 < gc.holdout_fraction < 0.9, "generate.holdout_fraction: must be in (0, 0.9)"),
        (gc.temperature >= 0, "generate.temperature: must be >= 0 (0: greedy decoding)"),
        (
            gc.decoding in ("sample", "greedy", "beam"),
            f"generate.decoding: {gc.decoding!r} is not one of sample, greedy, beam",
        ),
        (gc.beam_width >= 1, "generate.beam_width: must be >= 1"),
        (
            gc.vae.kl_anneal in ("linear", "cyclical", "none"),
            f"generate.vae.kl_anneal: {gc.vae.kl_anneal!r} is not one of linear, cyclical, none",
        ),
        (
            gc.vae.representation in REPRESENTATIONS,
            f"generate.vae.representation: {gc.vae.representation!r} is not one of "
            + ", ".join(REPRESENTATIONS),
        ),
        (
            gc.vae.encoder in ("gru", "cnn"),
            f"generate.vae.encoder: {gc.vae.encoder!r} is not one of gru, cnn",
        ),
        (gc.vae.epochs >= 1 and gc.gan.epochs >= 1, "generate: epochs must be >= 1"),
        (gc.vae.max_len >= 8, "generate.vae.max_len: need at least 8 tokens"),
        (gc.baseline.order >= 1, "generate.baseline.order: must be >= 1"),
        (0.0 <= gc.guided.ad_threshold <= 1.0, "generate.guided.ad_threshold: must be in [0, 1]"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(msg)
    for target, d in gc.guided.directions.items():
        if d not in DIRECTIONS:
            raise ConfigError(
                f"generate.guided.directions.{target}: {d!r} is not one of {list(DIRECTIONS)}"
            )
    return gc
