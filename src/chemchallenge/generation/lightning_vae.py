"""Training the SMILES VAE with PyTorch Lightning (KL annealing, SMILES augmentation, DVCLive).

The KL weight ``beta`` follows a schedule over (fractional) epochs:

- ``linear``: 0 → ``beta_max`` over ``anneal_epochs`` epochs, then constant;
- ``cyclical`` (Fu et al., 2019): repeated cycles of ``anneal_epochs`` epochs, ramping
  0 → ``beta_max`` over the first half of each cycle and holding it over the second half;
- ``none``: ``beta_max`` throughout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from chemchallenge.device import deterministic_mode, loader_options
from chemchallenge.features.tokenizer import SmilesVocab, randomize_smiles
from chemchallenge.generation.params import VAEParams
from chemchallenge.generation.vae import (
    SmilesVAE,
    build_vae,
    decode_latents,
    encode_smiles,
    vae_loss,
)

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


class SmilesDataset(Dataset):
    """Token id tensors of SMILES; with ``augment`` > 0 a random SMILES of the molecule."""

    def __init__(
        self,
        smiles: list[str],
        vocab: SmilesVocab,
        max_len: int,
        augment: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.smiles, self.vocab, self.max_len, self.augment = smiles, vocab, max_len, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.smiles)

    def __getitem__(self, i: int) -> torch.Tensor:
        s = self.smiles[i]
        if self.augment > 0 and self.rng.random() < self.augment:
            r = randomize_smiles(s, self.rng)
            if len(self.vocab.encode(r)) <= self.max_len:
                s = r
        return torch.tensor(self.vocab.encode(s, max_len=self.max_len))


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar lengths (less padding → faster GRUs), in a random order each epoch."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 0) -> None:
        self.lengths = np.asarray(lengths, dtype=float)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        jitter = self.rng.uniform(0, 4, len(self.lengths))  # mixes molecules of close lengths
        order = np.argsort(self.lengths + jitter, kind="stable")
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for j in self.rng.permutation(len(batches)):
            yield batches[j].tolist()


def collate(pad_idx: int):
    def _collate(batch: list[torch.Tensor]) -> torch.Tensor:
        return torch.nn.utils.rnn.pad_sequence(batch, batch_first=True, padding_value=pad_idx)

    return _collate


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

    def _step(self, tokens: torch.Tensor, stage: str) -> torch.Tensor:
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

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.params.lr)


def make_logger(log_dir: Path | None) -> Any:
    """A DVCLive logger writing under ``log_dir`` (no DVC experiment, no dvc.yaml), or False."""
    if log_dir is None:
        return False
    from dvclive.lightning import DVCLiveLogger

    return DVCLiveLogger(dir=str(log_dir), save_dvc_exp=False, dvcyaml=False, report=None)


def make_trainer(
    params: VAEParams,
    log_dir: Path | None,
    progress: bool = True,
    callbacks: list[pl.Callback] | None = None,
) -> pl.Trainer:
    return pl.Trainer(
        max_epochs=params.epochs,
        callbacks=callbacks,
        accelerator=params.accelerator,
        devices=1,
        precision=params.precision,
        logger=make_logger(log_dir),
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        gradient_clip_val=params.grad_clip or None,
        deterministic=deterministic_mode(params.accelerator),
        num_sanity_val_steps=0,
        log_every_n_steps=1,
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
    pad = collate(vocab.pad_idx)
    lengths = [len(vocab.encode(s)) for s in kept]
    loader = loader_options(params.num_workers, params.accelerator, seed)
    train_dl = DataLoader(
        SmilesDataset(kept, vocab, params.max_len, params.augment, seed),
        batch_sampler=BucketBatchSampler(lengths, params.batch_size, seed),
        collate_fn=pad,
        **loader,
    )
    val_dl = None
    if val_smiles:
        val = [s for s in val_smiles if len(vocab.encode(s)) <= params.max_len]
        val_dl = DataLoader(
            SmilesDataset(val, vocab, params.max_len),
            batch_sampler=BucketBatchSampler([len(vocab.encode(s)) for s in val], 256, seed),
            collate_fn=pad,
            **{k: v for k, v in loader.items() if k != "generator"},
        )
    trainer = make_trainer(params, log_dir, progress, callbacks)
    trainer.fit(LitVAE(model, params, vocab), train_dl, val_dl)
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
