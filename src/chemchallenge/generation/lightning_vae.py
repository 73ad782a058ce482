"""Training the SMILES VAE with PyTorch Lightning (KL annealing, SMILES augmentation, DVCLive).

The data (SMILES dataset, length buckets, padding) and the Trainer are the predictive
nets' own (:mod:`chemchallenge.training`).

The KL weight ``beta`` follows a schedule over (fractional) epochs:

- ``linear``: 0 → ``beta_max`` over ``anneal_epochs`` epochs, then constant;
- ``cyclical`` (Fu et al., 2019): repeated cycles of ``anneal_epochs`` epochs, ramping
  0 → ``beta_max`` over the first half of each cycle and holding it over the second half;
- ``none``: ``beta_max`` throughout.
"""

from __future__ import annotations

import logging
import math
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset

from chemchallenge.device import loader_options
from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.generation.params import VAEParams
from chemchallenge.generation.vae import (
    SmilesVAE,
    build_vae,
    decode_latents,
    encode_smiles,
    vae_loss,
)
from chemchallenge.training.data import (
    DeepDataModule,
    SmilesDataset,
    collate_tokens,
    random_variants,
)
from chemchallenge.training.trainer import build_trainer, dvclive_logger, training_context

log = logging.getLogger(__name__)


def kl_weight(epoch: float, schedule: str, anneal_epochs: int, beta_max: float) -> float:
    """KL weight at a fractional epoch (see the module docstring)."""
    if schedule == "none" or anneal_epochs <= 0:
        return beta_max
    if schedule == "linear":
        return beta_max * min(1.0, epoch / anneal_epochs)
    if schedule == "cyclical":
        tau = (epoch % anneal_epochs) / anneal_epochs
        return beta_max * min(1.0, tau / 0.5)
    raise ValueError(f"unknown KL schedule {schedule!r}; use linear, cyclical or none")


class LitVAE(pl.LightningModule):
    def __init__(
        self, model: SmilesVAE, params: VAEParams, vocab: SmilesVocab | None = None
    ) -> None:
        super().__init__()
        self.model, self.params, self.vocab = model, params, vocab

    def _beta(self) -> float:
        n_batches = max(1, int(self.trainer.num_training_batches))
        epoch = self.global_step / n_batches
        p = self.params
        return kl_weight(epoch, p.kl_anneal, p.kl_anneal_epochs, p.beta_max)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        tokens = batch[0]  # (token ids, empty targets): the shared SMILES dataset's items
        wd = self.params.word_dropout if stage == "train" else 0.0
        logits, mu, logvar = self.model(tokens, word_dropout=wd)
        recon, kl, acc = vae_loss(logits, tokens[:, 1:], mu, logvar, self.model.pad_idx)
        beta = self._beta() if stage == "train" else self.params.beta_max
        loss = recon + beta * kl
        b = tokens.size(0)
        kw: dict[str, Any] = {"on_step": False, "on_epoch": True, "batch_size": b}
        self.log(f"{stage}/loss", loss, prog_bar=stage == "train", **kw)
        self.log(f"{stage}/recon", recon, **kw)
        self.log(f"{stage}/kl", kl, prog_bar=True, **kw)
        self.log(f"{stage}/token_acc", acc, prog_bar=True, **kw)
        if stage == "train":
            self.log("train/beta", beta, **kw)
        return loss

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.params.lr)


def make_trainer(
    params: VAEParams,
    log_dir: Path | None,
    progress: bool = True,
    callbacks: list[pl.Callback] | None = None,
) -> pl.Trainer:
    """The shared Trainer (:func:`chemchallenge.training.trainer.build_trainer`), one device."""
    return build_trainer(
        epochs=params.epochs,
        accelerator=params.accelerator,
        precision=params.precision,
        grad_clip=params.grad_clip,
        logger=dvclive_logger(log_dir),
        callbacks=callbacks,
        progress=progress,
    )


def model_hparams(params: VAEParams) -> dict[str, Any]:
    """The :class:`SmilesVAE` constructor arguments among the hyper-parameters."""
    keys = ("embed", "hidden", "latent", "layers", "dropout", "encoder")
    return {k: getattr(params, k) for k in keys}


def fit_vocab(smiles: list[str], max_len: int) -> tuple[SmilesVocab, list[str]]:
    """Vocabulary of the corpus and the SMILES that fit in ``max_len`` tokens (BOS/EOS included)."""
    vocab = SmilesVocab.build(smiles)
    kept = [s for s in smiles if len(vocab.encode(s)) <= max_len]
    if len(kept) < len(smiles):
        log.info("VAE: %d SMILES longer than %d tokens left out", len(smiles) - len(kept), max_len)
    return vocab, kept


def _dataset(strings: list[str], vocab: SmilesVocab, params: VAEParams, seed: int) -> Dataset:
    """The training strings; with ``augment`` > 0 each access is, with that probability, one
    of ``ceil(augment * epochs)`` random SMILES of the molecule drawn up front (about as many
    as training uses; a variant longer than ``max_len`` is replaced by the string itself)."""
    if params.augment <= 0:
        return SmilesDataset(strings, vocab, params.max_len, seed=seed)
    n = max(1, math.ceil(params.augment * params.epochs))
    pools = [
        [v if len(vocab.encode(v)) <= params.max_len else s for v in vs]
        for s, vs in zip(strings, random_variants(strings, n, seed), strict=True)
    ]
    return SmilesDataset(
        strings, vocab, params.max_len, variants=pools, seed=seed, p_variant=params.augment
    )


def train_vae(
    smiles: list[str],
    params: VAEParams,
    val_smiles: list[str] | None = None,
    log_dir: Path | None = None,
    seed: int = 0,
    progress: bool = True,
    callbacks: list[pl.Callback] | None = None,
) -> tuple[SmilesVAE, SmilesVocab]:
    """Fit a VAE on ``smiles``; returns the model (eval mode, on CPU) and its vocabulary.

    ``callbacks``: extra Lightning callbacks (e.g. the learning-curve benchmark's sampler); the
    LightningModule's ``vocab`` attribute gives them the vocabulary."""
    pl.seed_everything(seed, workers=True, verbose=False)
    vocab, kept = fit_vocab(smiles, params.max_len)
    if not kept:
        raise ValueError("VAE: no training SMILES fit in max_len tokens")
    model = build_vae(vocab, **model_hparams(params))
    val = [s for s in val_smiles or [] if len(vocab.encode(s)) <= params.max_len]
    data = DeepDataModule(
        _dataset(kept, vocab, params, seed),
        SmilesDataset(val, vocab, params.max_len) if val else None,
        partial(collate_tokens, pad_idx=vocab.pad_idx),
        params.batch_size,
        seed,
        loader_options(params.num_workers, params.accelerator, seed),
    )
    with training_context(threads=0):  # the caller's thread count (the generate stage's)
        trainer = make_trainer(params, log_dir, progress, callbacks)
        trainer.fit(LitVAE(model, params, vocab), datamodule=data)
    return model.cpu().eval(), vocab


@torch.no_grad()
def reconstruction_accuracy(
    model: SmilesVAE, vocab: SmilesVocab, smiles: list[str], max_len: int
) -> float:
    """Share of SMILES decoded back exactly (greedy, from the latent mean)."""
    if not smiles:
        return float("nan")
    mu = encode_smiles(model, vocab, smiles, max_len)
    out = decode_latents(model, vocab, mu, max_len, greedy=True)
    return float(np.mean([a == b for a, b in zip(out, smiles)]))
