"""Deep-learning estimators: ``mlp``, ``smiles_cnn``, ``smiles_rnn``, ``gcn``, ``gin``,
``dmpnn`` and ``attentivefp`` (see :mod:`chemchallenge.models.base` for the contract).

One Lightning ``Trainer`` per ``fit``; early stopping on the validation loss when a
validation set is given, and the weights of the best epoch are kept (in cross-validation
that set is ``val_fraction`` of the training folds, never the scored fold). The fitted
estimator holds the trained net on the CPU (no Trainer), so ``torch.save``/``torch.load``
work.

The defaults are sized for 2 CPU cores (the demo: ~1000 molecules, 5 folds). On a GPU,
bigger settings pay off, e.g. in params.yaml::

    dmpnn:       {kind: dmpnn, params: {hidden: 300, depth: 4, epochs: 100, patience: 15,
                                        batch_size: 50, dropout: 0.1}}
    attentivefp: {kind: attentivefp, params: {hidden: 200, layers: 3, timesteps: 3,
                                              epochs: 150, patience: 20, lr: 3.0e-4}}
    gin:         {kind: gin, params: {hidden: 256, layers: 5, epochs: 150, patience: 20}}
    smiles_cnn:  {kind: smiles_cnn, params: {channels: [128, 256, 256], epochs: 150, tta: 10}}
    smiles_rnn:  {kind: smiles_rnn, params: {hidden: 256, layers: 2, epochs: 150, tta: 10}}
    mlp:         {kind: mlp, params: {hidden: [1024, 512], dropout: 0.3, epochs: 200}}

(``precision: bf16-mixed`` speeds up the GPU further.)
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from chemchallenge.device import loader_options, torch_device
from chemchallenge.errors import ConfigError
from chemchallenge.models import nets
from chemchallenge.models.base import ModelInput, register_model
from chemchallenge.models.datamodules import (
    GraphAdapter,
    SmilesAdapter,
    TabularAdapter,
    predict_loader,
)
from chemchallenge.models.deep_params import (
    NET_DEFAULTS,
    resolve_params,
)
from chemchallenge.models.lightning import (
    DeepModule,
    OptimSettings,
    balanced_class_weight,
    balanced_pos_weight,
    to_outputs,
)
from chemchallenge.tasks import TaskSpec, TaskType
from chemchallenge.training.data import DeepDataModule
from chemchallenge.training.trainer import BestWeights, make_trainer, training_context


class DeepEstimator:
    """A net from :mod:`chemchallenge.models.nets` trained with :class:`DeepModule`.

    The validation set of ``fit`` drives early stopping, the best-epoch weights and the
    plateau schedule, so cross-validation gives it an inner split of the training folds
    (``val_fraction`` of them), never the fold it is scored on.
    """

    uses_validation: ClassVar[bool] = True

    def __init__(self, kind: str, task: TaskSpec, params: dict[str, Any], seed: int) -> None:
        self.kind, self.task, self.seed = kind, task, int(seed)
        self.params = resolve_params(kind, params)
        self.val_fraction = float(self.params["val_fraction"])
        self.net: nn.Module | None = None
        self.best_epoch_: int | None = None
        self.epochs_trained_: int = 0

    # -- data ---------------------------------------------------------------------------
    def _make_adapter(self) -> TabularAdapter | SmilesAdapter | GraphAdapter:
        p = self.params
        if self.kind == "mlp":
            return TabularAdapter()
        if self.kind.startswith("smiles_"):
            return SmilesAdapter(p["max_len"], p["augment"], p["tta"], self.seed)
        return GraphAdapter(p["use_descriptors"])

    def _scale_targets(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if self.task.task_type == TaskType.REGRESSION:
            y = (y - self.y_mean) / self.y_std
        return y.astype(np.float32)

    # -- model --------------------------------------------------------------------------
    def _build_net(self) -> nn.Module:
        p, k, a = self.params, self.task.n_outputs, self.adapter
        kw = {name: p[name] for name in NET_DEFAULTS[self.kind]}
        kw["dropout"] = p["dropout"]
        if isinstance(a, TabularAdapter):
            return nets.MLP(a.in_dim, k, **kw)
        if isinstance(a, SmilesAdapter):
            cls = nets.SmilesCNN if self.kind == "smiles_cnn" else nets.SmilesRNN
            return cls(len(a.vocab), k, pad_idx=a.vocab.pad_idx, **kw)
        kw["n_extra"] = a.n_extra
        if self.kind == "dmpnn":
            return nets.DMPNN(k, **kw)
        if self.kind == "attentivefp":
            return nets.AttentiveFPNet(k, **kw)
        conv = "gcn" if self.kind == "gcn" else ("gine" if p["edge_features"] else "gin")
        return nets.GNN(k, conv=conv, **kw)

    def _module(self, net: nn.Module, y: np.ndarray, has_val: bool) -> DeepModule:
        p, tt = self.params, self.task.task_type
        optim = OptimSettings(
            optimizer=p["optimizer"],
            lr=float(p["lr"]),
            weight_decay=float(p["weight_decay"]),
            l1=float(p["l1"]),
            scheduler=p["scheduler"],
            max_epochs=int(p["epochs"]),
            monitor="val_loss" if has_val else "train_loss",
        )
        pos_w = class_w = None
        cw = p["class_weight"]
        if tt in (TaskType.BINARY, TaskType.MULTILABEL) and cw in ("auto", "balanced"):
            pos_w = balanced_pos_weight(y)
        if tt == TaskType.MULTICLASS and cw == "balanced":
            class_w = balanced_class_weight(y, self.task.n_outputs)
        return DeepModule(net, self.task, optim, self.y_mean, self.y_std, pos_w, class_w)

    def fit(
        self,
        X: ModelInput,
        y: np.ndarray,
        X_val: ModelInput | None = None,
        y_val: np.ndarray | None = None,
        log_dir: Path | None = None,
    ) -> DeepEstimator:
        y = np.asarray(y, dtype=np.float64).reshape(len(X), -1)
        self.y_mean = np.zeros(self.task.n_outputs)
        self.y_std = np.ones(self.task.n_outputs)
        if self.task.task_type == TaskType.REGRESSION:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                self.y_mean = np.nan_to_num(np.nanmean(y, axis=0))
                std = np.nan_to_num(np.nanstd(y, axis=0))
            self.y_std = np.where(std > 1e-12, std, 1.0)
        with training_context(int(self.params["threads"])):
            pl.seed_everything(self.seed, workers=True, verbose=False)
            self.adapter = self._make_adapter().fit(X)
            has_val = X_val is not None and y_val is not None and len(X_val) > 0
            train_ds = self.adapter.dataset(X, self._scale_targets(y), train=True)
            val_ds = None
            if has_val:
                assert X_val is not None and y_val is not None
                val_ds = self.adapter.dataset(X_val, self._scale_targets(y_val))
            dm = DeepDataModule(
                train_ds,
                val_ds,
                self.adapter.collate,
                int(self.params["batch_size"]),
                self.seed,
                loader_options(
                    int(self.params["num_workers"]), self.params["accelerator"], self.seed
                ),
            )
            try:
                net = self._build_net()
            except (TypeError, ValueError) as err:  # a bad architecture choice in params
                raise ConfigError(f"model kind {self.kind!r}: {err}") from err
            module = self._module(net, y, has_val)
            hparams = {"kind": self.kind, "seed": self.seed, **self.params}
            with tempfile.TemporaryDirectory(prefix="chemchallenge-") as root:
                trainer = make_trainer(self.params, has_val, log_dir, hparams, root)
                trainer.fit(module, datamodule=dm)
            best = [c for c in trainer.callbacks if isinstance(c, BestWeights)]  # type: ignore[attr-defined]
            self.best_epoch_ = best[0].best_epoch if best else None
            self.epochs_trained_ = int(trainer.current_epoch)
        self.net = module.net.cpu().eval()
        return self

    # -- saving ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the ``nn.Module``: its ``state_dict`` (tensors only) and the
        settings that rebuild it, so ``torch.load(weights_only=True)`` can read a saved
        estimator (see :mod:`chemchallenge.models.persist`)."""
        state = dict(self.__dict__)
        net = state.pop("net", None)
        state["net_state"] = None if net is None else net.state_dict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        net_state = state.pop("net_state", None)
        self.__dict__.update(state)
        self.net = None
        if net_state is not None:
            net = self._build_net()
            net.load_state_dict(net_state)
            self.net = net.cpu().eval()

    @torch.inference_mode()
    def predict(self, X: ModelInput) -> np.ndarray:
        if self.net is None:
            raise RuntimeError(f"{self.kind}: predict() called before fit()")
        if len(X) == 0:
            return np.zeros((0, self.task.n_outputs))
        device = torch_device(self.params["accelerator"])
        net = self.net.to(device).eval()
        mean = torch.tensor(self.y_mean, dtype=torch.float32, device=device)
        std = torch.tensor(self.y_std, dtype=torch.float32, device=device)
        views = []
        try:
            with training_context(int(self.params["threads"])):
                for ds in self.adapter.tta_datasets(X):
                    outs = [
                        to_outputs(net(inputs.to(device)), self.task.task_type, mean, std).cpu()
                        for inputs, _ in predict_loader(ds, self.adapter.collate)
                    ]
                    views.append(torch.cat(outs).numpy().astype(np.float64))
        finally:
            self.net = net.cpu()
        return np.mean(views, axis=0)


def _factory(kind: str) -> Any:
    def make(task: TaskSpec, params: dict[str, Any], seed: int) -> DeepEstimator:
        return DeepEstimator(kind, task, params, seed)

    make.__name__ = f"make_{kind}"
    return make


for _kind in NET_DEFAULTS:
    register_model(_kind, needs_features=_kind == "mlp")(_factory(_kind))
