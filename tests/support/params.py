"""The repository's params.yaml as the base of every config a test builds.

The typed sections have no defaults in code (a missing key is refused), so a test starts from
the real params.yaml and changes only what it is about.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from chemchallenge.config import Config, build_section, config_from_dict

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"


@functools.cache
def _repo_params() -> dict[str, Any]:
    return yaml.safe_load(PARAMS_YAML.read_text(encoding="utf-8"))


def repo_params() -> dict[str, Any]:
    """A fresh copy of the repository's params.yaml mapping."""
    return copy.deepcopy(_repo_params())


def deep_update(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, mappings key by key (neither is changed)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def params_with(extra: dict[str, Any] | None = None, replace: Sequence[str] = ()) -> dict[str, Any]:
    """The repository's params with ``extra`` merged in; the sections named in ``replace``
    (dotted, e.g. ``models`` or ``featurize.featurizers``) are emptied first, so that the
    test's own entries are the only ones."""
    base = repo_params()
    for dotted in replace:
        *parents, last = dotted.split(".")
        node = base
        for part in parents:
            node = node[part]
        node[last] = {}
    return deep_update(base, extra or {})


def config_with(extra: dict[str, Any] | None = None, replace: Sequence[str] = ()) -> Config:
    """A validated Config: :func:`params_with` ``(extra, replace)``."""
    return config_from_dict(params_with(extra, replace))


def generate_with(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The repository's ``generate:`` section with ``extra`` merged in."""
    return deep_update(repo_params()["generate"], extra or {})


def report_config(**changes: Any) -> Any:
    """The repository's ``report:`` section as a ReportConfig, with ``changes``."""
    from chemchallenge.report.context import ReportConfig

    return build_section(ReportConfig, {**repo_params()["report"], **changes}, "report")
