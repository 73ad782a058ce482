"""Named sets of params.yaml values (``profiles/<name>.yaml``), e.g. ``gpu`` for one GPU.

A profile maps dotted params.yaml keys to values. ``chemchallenge profile gpu`` prints them
as DVC's ``-S key=value`` arguments, so that ``dvc exp run $(chemchallenge profile gpu)``
runs one experiment with them and params.yaml itself stays the CPU default.
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from chemchallenge.checks import check_models
from chemchallenge.config import config_from_dict
from chemchallenge.errors import ConfigError
from chemchallenge.paths import Paths


def profile_path(root: Path, name: str) -> Path:
    return root / "profiles" / f"{name}.yaml"


def load_profile(root: Path, name: str) -> dict[str, Any]:
    """The dotted keys and values of ``profiles/<name>.yaml``."""
    path = profile_path(root, name)
    if not path.is_file():
        known = sorted(p.stem for p in (root / "profiles").glob("*.yaml"))
        raise ConfigError(f"{path}: no such profile (known: {', '.join(known) or 'none'})")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError(f"{path}: expected a mapping of dotted params.yaml keys to values")
    return data


def flatten(overrides: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One dotted key per leaf: a mapping in a profile sets its keys, it does not replace the
    whole section (``models.mlp.params: {epochs: 200}`` keeps the other params)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{full}."))
        else:
            out[full] = value
    return out


def apply(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``raw`` (params.yaml as parsed) with each dotted key set, as ``dvc exp run -S`` does."""
    out = copy.deepcopy(raw)
    for key, value in flatten(overrides).items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"profile key {key!r}: {part!r} is not a mapping in params.yaml")
        node[last] = copy.deepcopy(value)
    return out


def set_args(overrides: dict[str, Any]) -> list[str]:
    """``-S ++key=value`` arguments, one per leaf, values as DVC's (Hydra's) override grammar
    reads them: plain numbers, booleans, strings and ``[a,b]`` lists."""
    args: list[str] = []
    for key, value in flatten(overrides).items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        args += ["-S", f"++{key}={text}"]  # ++: set, or add a key params.yaml lacks
    return args


def check(root: Path, name: str, params: Path) -> dict[str, Any]:
    """The profile, after checking that params.yaml with it applied is a valid config."""
    overrides = load_profile(root, name)
    raw = yaml.safe_load(params.read_text()) or {}
    try:
        cfg = config_from_dict(apply(raw, overrides))
        check_models(cfg, Paths(root))  # as `chemchallenge check` does, with the profile on
    except ConfigError as err:
        raise ConfigError(f"{profile_path(root, name)}: {err}") from err
    return overrides


def command_line(overrides: dict[str, Any]) -> str:
    return " ".join(shlex.quote(a) for a in set_args(overrides))
