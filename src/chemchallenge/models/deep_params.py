"""The networks' parameters: defaults per kind, allowed choices and typed checks.

Torch-free, so that ``chemchallenge check`` validates every network's ``params`` in
params.yaml in a fraction of a second; :mod:`chemchallenge.models.deep` trains with them.
"""

from __future__ import annotations

import math
from typing import Any

from chemchallenge.device import ACCELERATORS, check_devices, check_strategy
from chemchallenge.errors import ConfigError

#: optimiser name -> (``torch.optim`` class, its extra arguments); weight decay = L2, decoupled
#: for adamw (:func:`chemchallenge.models.lightning.make_optimizer` builds them)
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "sgd_momentum": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
}
SCHEDULERS = ("none", "cosine", "plateau")

#: training parameters every deep model accepts
COMMON_DEFAULTS: dict[str, Any] = {
    "epochs": 30,
    "batch_size": 64,
    "lr": 1e-3,
    "optimizer": "adam",
    "weight_decay": 0.0,
    "l1": 0.0,
    "dropout": 0.1,
    "patience": 8,
    "grad_clip": 5.0,
    "scheduler": "none",
    "class_weight": "auto",  # auto: balanced pos_weight for binary/multi-label, none for classes
    "precision": "32-true",  # bf16-mixed / 16-mixed on a GPU
    "accelerator": "auto",  # auto: the GPU when CUDA is present (device.py)
    "devices": 1,  # > 1: DDP over that many devices (ddp_spawn), -1: all
    "strategy": "auto",
    "num_workers": 0,  # DataLoader worker processes (seeded per worker), pin_memory on a GPU
    "threads": 1,  # torch CPU threads while fitting/predicting (0: leave torch's setting)
    "val_fraction": 0.1,  # share of the training folds cross-validation holds out to validate
}
#: architecture (and input) parameters per kind; the first group goes to the net
NET_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden": [256, 128], "norm": "batch"},
    "smiles_cnn": {
        "embed_dim": 32,
        "channels": [64, 128],
        "kernel_size": 5,
        "head_hidden": 64,
        "norm": "none",
    },
    "smiles_rnn": {
        "embed_dim": 32,
        "hidden": 48,
        "layers": 1,
        "cell": "gru",
        "bidirectional": True,
        "pool": "meanmax",
        "head_hidden": 64,
    },
    "gcn": {"hidden": 64, "layers": 3, "pool": "mean", "head_hidden": 64},
    "gin": {"hidden": 64, "layers": 3, "pool": "mean", "head_hidden": 64},
    "dmpnn": {"hidden": 128, "depth": 3, "aggregation": "mean", "head_hidden": 128},
    "attentivefp": {"hidden": 64, "layers": 2, "timesteps": 2, "head_hidden": 64},
}
_SMILES_DATA = {"max_len": 150, "augment": 20, "tta": 4}
_GRAPH_DATA = {"use_descriptors": False}
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {},
    "smiles_cnn": _SMILES_DATA,
    "smiles_rnn": _SMILES_DATA,
    "gcn": _GRAPH_DATA,
    "gin": {**_GRAPH_DATA, "edge_features": True},
    "dmpnn": _GRAPH_DATA,
    "attentivefp": _GRAPH_DATA,
}
#: per-kind changes to the common defaults
KIND_OVERRIDES: dict[str, dict[str, Any]] = {
    "mlp": {"dropout": 0.2, "epochs": 40},
    "smiles_cnn": {"epochs": 40},
    "smiles_rnn": {"lr": 2e-3},
    "gcn": {"epochs": 40},
    "gin": {"epochs": 40},
    "dmpnn": {"dropout": 0.0, "lr": 2e-3},
    "attentivefp": {"lr": 2e-3},
}
_CHOICES = {
    "optimizer": tuple(OPTIMIZERS),
    "scheduler": SCHEDULERS,
    "class_weight": ("auto", "balanced", "none"),
    "accelerator": ACCELERATORS,
}


def resolve_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults of ``kind`` updated with ``params``; unknown keys -> ConfigError."""
    defaults = {**COMMON_DEFAULTS, **KIND_OVERRIDES.get(kind, {})}
    defaults.update(NET_DEFAULTS[kind])
    defaults.update(DATA_DEFAULTS[kind])
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(
            f"model kind {kind!r}: unknown parameter(s) {unknown}; allowed: {sorted(defaults)}"
        )
    out = {**defaults, **params}
    for key, value in params.items():
        if key != "devices":  # an integer, -1 or "auto": check_devices below
            _check_type(kind, key, value, defaults[key])
    for key, allowed in _CHOICES.items():
        if out[key] not in allowed:
            raise ConfigError(f"model kind {kind!r}: {key}={out[key]!r} is not one of {allowed}")
    frac = out["val_fraction"]
    if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 < frac <= 0.5:
        raise ConfigError(f"model kind {kind!r}: val_fraction={frac!r} must be in (0, 0.5]")
    check_devices(out["devices"], f"model kind {kind!r}")
    check_strategy(out["devices"], out["strategy"])  # refuses plain ddp with a reason
    return out


#: parameters that must be at least 1 (the other numbers must be at least 0)
_POSITIVE = ("epochs", "batch_size", "hidden", "layers", "depth", "timesteps", "max_len")
#: parameters that are fractions below 1
_FRACTIONS = ("dropout",)


def _check_type(kind: str, key: str, value: Any, default: Any) -> None:
    """A value must have the type of its default (int, float, bool, list, text) and a
    number its range: a typo fails here, not as a traceback in the middle of CV."""
    where = f"model kind {kind!r}: {key}={value!r}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return
    if isinstance(default, int | float):
        if isinstance(value, str):
            hint = " (YAML reads 1e-3 as text: write 1.0e-3)" if _is_number(value) else ""
            raise ConfigError(f"{where} must be a number, not text{hint}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number")
        if isinstance(default, int) and not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer")
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where} must be a finite number >= 0")
        if key in _POSITIVE and value < 1:
            raise ConfigError(f"{where} must be at least 1")
        if key in _FRACTIONS and not value < 1:
            raise ConfigError(f"{where} must be below 1")
    elif isinstance(default, list):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
        ):
            raise ConfigError(f"{where} must be a list of positive integers")
    elif isinstance(default, str) and not isinstance(value, str) and key != "precision":
        raise ConfigError(f"{where} must be text")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
