"""Typed sections of params.yaml, validated before any work starts.

Only the CLI reads params.yaml (:func:`load_config`); stages receive these objects.
The values live in params.yaml only: a typed section has no defaults in code, and a key
missing from params.yaml is refused (one line naming it) rather than given an invented value.
Free-form sections (a featurizer's or a model's hyper-parameters) stay plain dicts and
are validated by the component that owns them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chemchallenge.errors import ConfigError


@dataclass
class DataConfig:
    source: str
    challenge_dir: str
    x_train: str
    y_train: str
    x_test: str
    id_column: str
    smiles_column: str
    targets: list[str] | str
    task: str
    metric: str


@dataclass
class StandardizeConfig:
    cleanup: bool
    largest_fragment: bool
    neutralize: bool
    remove_stereo: bool
    canonical: bool


@dataclass
class CVConfig:
    n_folds: int
    split: str


@dataclass
class PrepareConfig:
    standardize: StandardizeConfig
    conflicts: str  # auto: drop for classes, mean for regression
    cv: CVConfig


@dataclass
class FeaturizeConfig:
    n_jobs: int
    max_error_rate: float  # share of molecules a featurizer may fail on (NaN rows)
    featurizers: dict[str, dict[str, Any]]


@dataclass
class ModelConfig:
    kind: str
    features: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    tune: bool = False
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)
    concept: str = ""
    n_trials: int | None = None  # this model's tuning budget; None: tune.n_trials


@dataclass
class TrainConfig:
    models: list[str]


@dataclass
class TuneConfig:
    n_trials: int
    timeout: float | None  # seconds; None: the trial budget alone ends a study
    storage: str
    sampler: str
    pruner: str
    n_folds: int | None  # folds used per trial (None: all)
    # database storages: a worker sends a heartbeat this often (s); a RUNNING trial silent for
    # 3 heartbeats (its worker killed) is failed and retried by the next worker
    heartbeat_s: int


@dataclass
class EnsembleConfig:
    method: str
    top_k: int
    models: list[str] | str
    tune_thresholds: bool


@dataclass
class SubmitConfig:
    model: str
    thresholds: float | dict[str, float] | str  # auto: tuned by ensemble, else 0.5


@dataclass
class Config:
    seed: int
    data: DataConfig
    prepare: PrepareConfig
    featurize: FeaturizeConfig
    models: dict[str, ModelConfig]
    train: TrainConfig
    tune: TuneConfig
    ensemble: EnsembleConfig
    submit: SubmitConfig
    generate: dict[str, Any]
    report: dict[str, Any]

    def model(self, name: str) -> ModelConfig:
        if name not in self.models:
            raise ConfigError(f"model {name!r} is not defined under 'models:' in params.yaml")
        return self.models[name]


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _convert(value, option, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{where}: {value!r} matches none of {tp}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return build_section(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        _, val_tp = typing.get_args(tp)
        return {
            # `name:` with no value means "no parameters" for mapping-valued entries
            str(k): _convert({} if v is None and val_tp is not Any else v, val_tp, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected int, got {value!r}")
    if isinstance(value, tp):
        return value
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


#: keys that existed once, with what to do instead
_REMOVED = {
    "submit.dir": "submissions are always written to submissions/ (submission.csv, history/ "
    "and registry.csv); remove the key",
}


def build_section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'top level'}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    for key in unknown:
        hint = _REMOVED.get(f"{where}.{key}" if where else key)
        if hint:
            raise ConfigError(f"{where}.{key}: no longer a setting: {hint}")
    if unknown:
        raise ConfigError(
            f"{where or 'top level'}: unknown key(s) {unknown}; allowed: {sorted(fields)}"
        )
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _convert(value, hints[name], f"{where}.{name}" if where else name)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        keys = ", ".join(f"{where}.{n}" if where else n for n in missing)
        raise ConfigError(
            f"{keys}: missing from params.yaml (no default in code: copy it from the "
            "repository's params.yaml)"
        )
    return cls(**kwargs)


#: where ``data.source`` reads the data from (the prepare stage's two readers)
SOURCES = ("demo", "challenge")


def choices() -> dict[str, tuple[str, ...]]:
    """The allowed values of the choice settings checked whenever the config loads. The
    choices whose registry lives with its implementation (splits, conflict policies,
    samplers, pruners, ensemble methods) are checked by ``chemchallenge check``
    (:func:`chemchallenge.checks.check_implemented_choices`) and by the code that uses
    them: importing them here would make every stage's DVC dependencies include that code."""
    from chemchallenge.tasks import TaskType

    return {"data.source": SOURCES, "data.task": ("auto", *(t.value for t in TaskType))}


def setting(cfg: Config, key: str) -> Any:
    """The value of a dotted key (``prepare.cv.split``) of the typed config."""
    obj: Any = cfg
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def check_choices(cfg: Config, table: dict[str, tuple[str, ...]]) -> None:
    """Every ``key: allowed values`` of ``table``; ConfigError naming the first one off."""
    for key, allowed in table.items():
        value = setting(cfg, key)
        if value not in allowed:
            raise ConfigError(f"{key}: {value!r} is not one of {list(allowed)}")


def _check(cfg: Config) -> None:
    check_choices(cfg, choices())
    if cfg.prepare.cv.n_folds < 2:
        raise ConfigError("prepare.cv.n_folds: need at least 2 folds for cross-validation")
    if cfg.data.metric != "auto":
        from chemchallenge.metrics import get_metric

        get_metric(cfg.data.metric)
    if "ensemble" in cfg.models:
        raise ConfigError("models.ensemble: 'ensemble' is reserved for the ensemble stage")
    for name in cfg.train.models:
        model = cfg.model(name)
        unknown = [f for f in model.features if f not in cfg.featurize.featurizers]
        if unknown:
            raise ConfigError(
                f"models.{name}.features: {unknown} not defined under featurize.featurizers"
            )
    thr = cfg.submit.thresholds
    if isinstance(thr, str) and thr != "auto":
        raise ConfigError(
            f"submit.thresholds: {thr!r} is not 'auto', a number or a mapping target: number"
        )
    for key, value in thr.items() if isinstance(thr, dict) else [("", thr)]:
        if isinstance(value, float) and not 0 < value < 1:
            where = f"submit.thresholds.{key}" if key else "submit.thresholds"
            raise ConfigError(
                f"{where}: {value!r} is not a probability threshold strictly between 0 and 1"
            )
    _check_ranges(cfg)
    _check_tune_and_ensemble(cfg)
    sub = cfg.submit.model
    if sub != "ensemble" and sub not in cfg.train.models:
        raise ConfigError(f"submit.model: {sub!r} is neither 'ensemble' nor a trained model")


#: numeric params with their allowed range (low, high, inclusive?); None: unbounded
_RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "seed": (0, 2**32 - 1, "an integer from 0 to 2**32-1"),
    "prepare.cv.n_folds": (2, 100, "between 2 and 100"),
    "tune.n_trials": (1, None, "at least 1"),
    "ensemble.top_k": (1, None, "at least 1"),
}


def _check_ranges(cfg: Config) -> None:
    for key, (low, high, what) in _RANGES.items():
        obj = setting(cfg, key)
        if (low is not None and obj < low) or (high is not None and obj > high):
            raise ConfigError(f"{key}: {obj!r} is out of range: must be {what}")
    rate = cfg.featurize.max_error_rate
    if not 0 <= rate <= 1:
        raise ConfigError(f"featurize.max_error_rate: {rate!r} must be between 0 and 1")
    if cfg.featurize.n_jobs == 0:
        raise ConfigError("featurize.n_jobs: 0 is not allowed: -1 (all cores) or at least 1")
    timeout = cfg.tune.timeout
    if timeout is not None and not timeout > 0:
        raise ConfigError(f"tune.timeout: {timeout!r} must be a positive number of seconds or null")
    from chemchallenge.models.kinds import KIND_MODULES

    for name, model in cfg.models.items():
        if model.kind not in KIND_MODULES:
            raise ConfigError(
                f"models.{name}.kind: unknown model kind {model.kind!r}; choose one of "
                f"{sorted(KIND_MODULES)}"
            )


def _check_tune_and_ensemble(cfg: Config) -> None:
    for name, model in cfg.models.items():
        if model.tune:
            from chemchallenge.tuning.space import parse_search_space

            parse_search_space(name, model.search_space)
        if model.n_trials is not None and model.n_trials < 1:
            raise ConfigError(
                f"models.{name}.n_trials: need at least 1 trial (or null for tune.n_trials), "
                f"got {model.n_trials}"
            )
    if cfg.tune.n_trials < 1:
        raise ConfigError(f"tune.n_trials: need at least 1 trial, got {cfg.tune.n_trials}")
    if not isinstance(cfg.tune.heartbeat_s, int) or cfg.tune.heartbeat_s < 1:
        raise ConfigError(
            f"tune.heartbeat_s: a whole number of seconds >= 1, got {cfg.tune.heartbeat_s!r}"
        )
    n, k = cfg.tune.n_folds, cfg.prepare.cv.n_folds
    if n is not None and not 1 <= n <= k:
        raise ConfigError(f"tune.n_folds: {n} is not between 1 and prepare.cv.n_folds ({k})")
    if cfg.ensemble.top_k < 1:
        raise ConfigError(f"ensemble.top_k: need at least 1, got {cfg.ensemble.top_k}")
    members = cfg.ensemble.models
    if isinstance(members, str) and members != "all":
        raise ConfigError(f"ensemble.models: {members!r} is neither 'all' nor a list of models")
    if isinstance(members, list):
        unknown = [m for m in members if m not in cfg.train.models]
        if unknown or not members:
            raise ConfigError(f"ensemble.models: {unknown or members} not in train.models")


def config_from_dict(raw: dict[str, Any]) -> Config:
    """Build and validate a :class:`Config` from a parsed params.yaml mapping."""
    cfg = build_section(Config, raw, "")
    _resolve_auto_exclude(cfg)
    _check(cfg)
    return cfg


def _resolve_auto_exclude(cfg: Config) -> None:
    """A featurizer's ``exclude: auto`` (transfer featurizers) becomes the endpoints known to
    overlap ``data.source`` (the demo: solubility, lipophilicity, solvation; a challenge:
    none), so every stage and ``predict`` build it with the same columns."""
    from chemchallenge.features.overlap import resolve_exclude

    for name, params in cfg.featurize.featurizers.items():
        if isinstance(params, dict) and "exclude" in params:
            cfg.featurize.featurizers[name] = {
                **params,
                "exclude": resolve_exclude(params["exclude"], cfg.data.source),
            }


def load_config(path: str | Path = "params.yaml") -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run chemchallenge from the project root)")
    if not path.is_file():
        raise ConfigError(f"{path}: is a directory, not the params.yaml file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        first = " ".join(str(err).split())
        raise ConfigError(f"{path}: not valid YAML: {first}") from err
    except (UnicodeDecodeError, OSError) as err:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text: {err}") from err
    try:
        return config_from_dict(raw)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err
