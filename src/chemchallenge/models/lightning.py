"""Training logic of the predictive nets: masked losses, optimisers, schedules, metric logging
(the Trainer, its callbacks and logger: :mod:`chemchallenge.training.trainer`).

:class:`DeepModule` wraps any net of :mod:`chemchallenge.models.nets` that outputs one raw
score per output column (standardised values, logits or class logits). Missing labels
(NaN) add nothing to the loss."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from chemchallenge.metrics import score
from chemchallenge.models.deep_params import OPTIMIZERS, SCHEDULERS
from chemchallenge.tasks import TaskSpec, TaskType


def make_optimizer(name: str, params: Any, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """The optimiser ``name`` of :data:`~chemchallenge.models.deep_params.OPTIMIZERS`."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    cls, extra = OPTIMIZERS[name]
    return getattr(torch.optim, cls)(params, lr=lr, weight_decay=weight_decay, **extra)


@dataclass
class OptimSettings:
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    l1: float = 0.0
    scheduler: str = "none"
    max_epochs: int = 30
    monitor: str = "val_loss"


def balanced_pos_weight(y: np.ndarray, max_weight: float = 100.0) -> torch.Tensor:
    """n_negative / n_positive per target (1 where a target has no positive)."""
    pos = np.nansum(y == 1, axis=0).astype(float)
    neg = np.nansum(y == 0, axis=0).astype(float)
    w = np.where(pos > 0, neg / np.maximum(pos, 1), 1.0)
    return torch.tensor(np.clip(w, 1.0 / max_weight, max_weight), dtype=torch.float32)


def balanced_class_weight(y: np.ndarray, n_classes: int) -> torch.Tensor:
    """n / (k * n_c) per class (sklearn's "balanced"), for the cross-entropy."""
    labels = y[~np.isnan(y)].astype(int)
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    w = len(labels) / (n_classes * np.maximum(counts, 1.0))
    return torch.tensor(w, dtype=torch.float32)


def masked_loss(
    raw: torch.Tensor,
    y: torch.Tensor,
    task_type: TaskType,
    pos_weight: torch.Tensor | None = None,
    class_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean loss over the labelled entries of ``y`` (NaN = missing)."""
    raw = raw.float()
    if task_type == TaskType.MULTICLASS:
        target = y[:, 0]
        keep = ~torch.isnan(target)
        if not keep.any():
            return raw.sum() * 0.0
        return F.cross_entropy(raw[keep], target[keep].long(), weight=class_weight)
    mask = ~torch.isnan(y)
    target = torch.where(mask, y, torch.zeros_like(y))
    if task_type == TaskType.REGRESSION:
        per = (raw - target) ** 2
    else:
        per = F.binary_cross_entropy_with_logits(
            raw, target, pos_weight=pos_weight, reduction="none"
        )
    return (per * mask).sum() / mask.sum().clamp(min=1)


def to_outputs(
    raw: torch.Tensor, task_type: TaskType, y_mean: torch.Tensor, y_std: torch.Tensor
) -> torch.Tensor:
    """Raw net scores -> the estimator contract (original units / probabilities)."""
    raw = raw.float()
    if task_type == TaskType.REGRESSION:
        return raw * y_std + y_mean
    if task_type == TaskType.MULTICLASS:
        return torch.softmax(raw, dim=1)
    return torch.sigmoid(raw)


class DeepModule(pl.LightningModule):
    """Loss, optimiser, schedule and per-epoch logging around one net."""

    def __init__(
        self,
        net: nn.Module,
        task: TaskSpec,
        optim: OptimSettings,
        y_mean: np.ndarray | None = None,
        y_std: np.ndarray | None = None,
        pos_weight: torch.Tensor | None = None,
        class_weight: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.net, self.task, self.optim = net, task, optim
        k = task.n_outputs
        mean = np.zeros(k) if y_mean is None else y_mean
        std = np.ones(k) if y_std is None else y_std
        self.register_buffer("y_mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("y_std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("pos_weight", pos_weight)
        self.register_buffer("class_weight", class_weight)
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, inputs: Any) -> torch.Tensor:
        return self.net(inputs)

    def _loss(self, raw: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        tt = self.task.task_type
        return masked_loss(raw, y, tt, self.pos_weight, self.class_weight)

    def l1_penalty(self) -> torch.Tensor:
        weights = [p.abs().sum() for p in self.net.parameters() if p.dim() > 1]
        return torch.stack(weights).sum()

    def training_step(self, batch: tuple[Any, torch.Tensor], batch_idx: int) -> torch.Tensor:
        inputs, y = batch
        loss = self._loss(self.net(inputs), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        if self.optim.l1 > 0:
            loss = loss + self.optim.l1 * self.l1_penalty()
        return loss

    def validation_step(self, batch: tuple[Any, torch.Tensor], batch_idx: int) -> None:
        inputs, y = batch
        raw = self.net(inputs)
        self.log("val_loss", self._loss(raw, y), on_epoch=True, batch_size=len(y))
        self._val.append((raw.detach().float().cpu(), y.detach().cpu()))

    def on_validation_epoch_end(self) -> None:
        if not self._val or self.trainer.sanity_checking:
            self._val.clear()
            return
        raw = torch.cat([r for r, _ in self._val])
        y = torch.cat([t for _, t in self._val]).numpy()
        self._val.clear()
        mean, std = self.y_mean.cpu(), self.y_std.cpu()
        out = to_outputs(raw, self.task.task_type, mean, std).numpy()
        if self.task.task_type == TaskType.REGRESSION:
            y = y * std.numpy() + mean.numpy()
        try:
            value = score(self.task.metric, y, out, self.task)
        except ValueError:  # e.g. ROC-AUC on a fold with one class
            value = math.nan
        self.log(f"val_{self.task.metric}", float(value))

    def configure_optimizers(self) -> Any:
        o = self.optim
        opt = make_optimizer(o.optimizer, self.parameters(), o.lr, o.weight_decay)
        if o.scheduler == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(o.max_epochs, 1))
            return {"optimizer": opt, "lr_scheduler": sched}
        if o.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3)
            return {
                "optimizer": opt,
                "lr_scheduler": {"scheduler": sched, "monitor": o.monitor, "interval": "epoch"},
            }
        if o.scheduler != "none":
            raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {o.scheduler!r}")
        return opt
