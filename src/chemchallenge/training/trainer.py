"""The Lightning Trainer of every net (predictive nets and the generation VAE), its callbacks
(best weights in memory), its DVCLive logger (one point per epoch) and the quiet,
thread-limited context training runs in."""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from dvclive.lightning import DVCLiveLogger
from pytorch_lightning.callbacks import EarlyStopping

from chemchallenge.device import deterministic_mode, strategy


class BestWeights(pl.Callback):
    """Keeps the net's weights of the epoch with the lowest ``monitor`` in memory and
    puts them back when training ends (no checkpoint files)."""

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor = monitor
        self.best = math.inf
        self.best_epoch = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if value < self.best:
            self.best, self.best_epoch = value, trainer.current_epoch
            self.state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)
            if isinstance(trainer.logger, EpochDVCLiveLogger):  # into DVCLive's metrics.json
                trainer.logger.experiment.summary.update(best_epoch=self.best_epoch)


class EpochDVCLiveLogger(DVCLiveLogger):
    """DVCLive logger whose step is the epoch: one point per epoch on every curve."""

    def log_metrics(
        self, metrics: dict[str, Any], step: int | None = None, sync: bool | None = True
    ) -> None:
        metrics = dict(metrics)
        epoch = metrics.pop("epoch", None)
        live = self.experiment
        live.step = int(epoch) if epoch is not None else live.step + 1
        for name, value in metrics.items():
            val = value.item() if torch.is_tensor(value) else value
            live.log_metric(name, float(val))
        live.sync()


_QUIET = [
    ".*does not have many workers.*",
    ".*treespec, LeafSpec.*",
    ".*Total length of .* across ranks is zero.*",
    ".*have no `val_dataloader`.*",
]


@contextmanager
def training_context(threads: int = 1) -> Iterator[None]:
    """Silence Lightning's chatter, use ``threads`` torch CPU threads (small nets run fastest
    on one and do not collapse on shared cores; 0: leave as is), and restore torch's
    thread count and deterministic flag afterwards."""
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    n_threads = torch.get_num_threads()
    log = logging.getLogger("pytorch_lightning")
    level = log.level
    log.setLevel(logging.WARNING)
    if threads > 0:
        torch.set_num_threads(threads)
    with warnings.catch_warnings():
        for pattern in _QUIET:
            warnings.filterwarnings("ignore", message=pattern)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(det, warn_only=warn_only)
            torch.set_num_threads(n_threads)
            log.setLevel(level)


def dvclive_logger(log_dir: Path | None, hparams: dict[str, Any] | None = None) -> Any:
    """An :class:`EpochDVCLiveLogger` under ``log_dir`` (no DVC experiment, no dvc.yaml),
    with ``hparams`` logged; ``False`` (no logger) when ``log_dir`` is None."""
    if log_dir is None:
        return False
    logger = EpochDVCLiveLogger(dir=str(log_dir), save_dvc_exp=False, dvcyaml=None)
    if hparams is not None:
        logger.log_hyperparams(hparams)
    return logger


def build_trainer(
    *,
    epochs: int,
    accelerator: str,
    precision: str,
    grad_clip: float | None,
    logger: Any = False,
    callbacks: list[pl.Callback] | None = None,
    devices: int | str = 1,
    strategy_name: str = "auto",
    progress: bool = False,
    root: str | None = None,
) -> pl.Trainer:
    """One quiet Trainer: no checkpoint files, no sanity validation, a metric point per
    step logged, deterministic where the accelerator allows it (:mod:`chemchallenge.device`).
    Under DDP the data module shards its own (bucketed) batches."""
    return pl.Trainer(
        max_epochs=int(epochs),
        accelerator=accelerator,
        devices=devices,
        strategy=strategy(devices, strategy_name),
        use_distributed_sampler=False,
        precision=precision,
        gradient_clip_val=grad_clip or None,
        deterministic=deterministic_mode(accelerator),
        enable_progress_bar=progress,
        enable_model_summary=False,
        enable_checkpointing=False,
        logger=logger,
        callbacks=callbacks,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        default_root_dir=root,
    )


def make_trainer(
    p: dict[str, Any], has_val: bool, log_dir: Path | None, hparams: dict[str, Any], root: str
) -> pl.Trainer:
    """The Trainer of a predictive net: early stopping and best weights when validating,
    DVCLive curves when ``log_dir`` is given (``root`` is a temporary folder)."""
    callbacks: list[pl.Callback] = []
    if has_val:
        callbacks.append(BestWeights("val_loss"))
        if p["patience"] and p["patience"] > 0:
            callbacks.append(EarlyStopping("val_loss", patience=int(p["patience"])))
    return build_trainer(
        epochs=p["epochs"],
        accelerator=p["accelerator"],
        precision=p["precision"],
        grad_clip=p["grad_clip"],
        logger=dvclive_logger(log_dir, hparams),
        callbacks=callbacks,
        devices=p["devices"],
        strategy_name=p["strategy"],
        root=root,
    )
