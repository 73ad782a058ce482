"""Search spaces declared in params.yaml under ``models.<name>.search_space``.

Each entry maps a hyper-parameter to a distribution::

    search_space:
      max_depth: {type: int, low: 3, high: 10}
      learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
      subsample: {type: float, low: 0.5, high: 1.0, step: 0.1}
      booster: {type: categorical, choices: [gbtree, dart]}

The entries are validated before any work starts; errors name the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna

from chemchallenge.errors import ConfigError

TYPES = ("int", "float", "categorical")
_NUMERIC_KEYS = {"type", "low", "high", "log", "step"}
_CATEGORICAL_KEYS = {"type", "choices"}


@dataclass(frozen=True)
class Param:
    """One tunable hyper-parameter."""

    name: str
    type: str
    low: float = 0.0  # int for type int
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = field(default_factory=tuple)

    def suggest(self, trial: optuna.Trial) -> Any:
        """Ask ``trial`` for a value of this parameter."""
        if self.type == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=step, log=self.log
            )
        if self.type == "float":
            return trial.suggest_float(
                self.name, float(self.low), float(self.high), step=self.step, log=self.log
            )
        return trial.suggest_categorical(self.name, list(self.choices))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` (e.g. the params.yaml default) lies in this distribution."""
        if self.type == "categorical":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.type == "int" and not float(value).is_integer():
            return False
        return bool(self.low <= value <= self.high)


SearchSpace = dict[str, Param]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _noun(kind: str, article: str = "") -> str:
    if kind == "int":
        return f"{article}integer"
    return f"{article.replace('an', 'a')}number"


def _parse_one(where: str, pname: str, raw: Any) -> Param:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping like {{type: float, low: 0, high: 1}}")
    kind = raw.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{where}.type: {kind!r} is not one of {list(TYPES)}")
    allowed = _CATEGORICAL_KEYS if kind == "categorical" else _NUMERIC_KEYS
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown} for type {kind}; allowed {sorted(allowed)}"
        )
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        bad = [c for c in choices if c is not None and not isinstance(c, bool | int | float | str)]
        if bad:
            raise ConfigError(
                f"{where}.choices: only null, bool, numbers and strings allowed, got {bad}"
            )
        return Param(pname, "categorical", choices=tuple(choices))
    for key in ("low", "high"):
        if key not in raw:
            raise ConfigError(f"{where}.{key}: required for type {kind}")
        v = raw[key]
        if not _is_number(v) or (kind == "int" and not float(v).is_integer()):
            raise ConfigError(f"{where}.{key}: expected {_noun(kind, 'an ')}, got {v!r}")
    low, high = raw["low"], raw["high"]
    if kind == "int":
        low, high = int(low), int(high)
    if not low < high:
        raise ConfigError(f"{where}: low ({low}) must be smaller than high ({high})")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: log: true needs low > 0, got low={low}")
    step = raw.get("step")
    if step is not None:
        if not _is_number(step) or step <= 0 or (kind == "int" and not float(step).is_integer()):
            raise ConfigError(f"{where}.step: expected a positive {_noun(kind)}, got {step!r}")
        if log:
            raise ConfigError(f"{where}: step and log: true cannot be combined")
        if step > high - low:
            raise ConfigError(f"{where}.step: {step} is larger than high - low ({high - low})")
        step = int(step) if kind == "int" else float(step)
    return Param(pname, kind, low=low, high=high, log=log, step=step)


def parse_search_space(model: str, raw: Any) -> SearchSpace:
    """Validate ``models.<model>.search_space`` and return its parameters.

    Raises
    ------
    ConfigError
        Naming ``models.<model>.search_space.<param>`` and what is wrong with it.
    """
    base = f"models.{model}.search_space"
    if not isinstance(raw, dict):
        raise ConfigError(f"{base}: expected a mapping of parameter -> distribution")
    if not raw:
        raise ConfigError(
            f"{base}: empty; list at least one parameter to tune (or set tune: false)"
        )
    return {str(p): _parse_one(f"{base}.{p}", str(p), spec) for p, spec in raw.items()}


def suggest_params(trial: optuna.Trial, space: SearchSpace, only: set[str] | None = None) -> dict:
    """Ask the trial for a value of every parameter (or only those in ``only``)."""
    return {n: p.suggest(trial) for n, p in space.items() if only is None or n in only}


def default_point(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    """The params.yaml values of the tuned parameters that lie inside the search space."""
    return {n: params[n] for n, p in space.items() if n in params and p.contains(params[n])}
