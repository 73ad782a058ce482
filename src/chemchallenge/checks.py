"""``chemchallenge check``: every section of params.yaml checked in seconds, before any stage.

:func:`chemchallenge.config.load_config` checks the typed sections (data, prepare, tune, ...)
whenever any command starts. The sections read by one stage only, and checked when it runs,
are checked here too, so that a typo in ``report:`` or in a model's ``params`` stops the run
before 40 minutes of training:

- every featurizer of ``featurize.featurizers`` is built with its params;
- every model of ``train.models`` is built and validated by its library
  (:func:`chemchallenge.models.base.check_params`: scikit-learn's ``_validate_params``, a
  tiny XGBoost fit, the networks' typed settings), for the prepared task when ``prepare``
  has run, else for ``data.task`` (regression when ``auto``);
- ``generate:`` and ``report:`` are parsed into their typed settings;
- the choices whose registry lives with its implementation (``prepare.cv.split``,
  ``ensemble.method``, ...: :func:`implemented_choices`) are checked against it.

dvc.yaml's first stage ``check`` runs it whenever params.yaml changes; every other stage
depends on its (constant) output, so DVC runs it first and a bad value never reaches a
training stage.
"""

from __future__ import annotations

import time

from chemchallenge.config import Config, build_section, check_choices
from chemchallenge.paths import Paths
from chemchallenge.tasks import TaskSpec, TaskType


def _task(cfg: Config, paths: Paths) -> TaskSpec:
    if paths.task.is_file():
        from chemchallenge.inputs import load_task

        return load_task(paths)
    kind = cfg.data.task
    targets = list(cfg.data.targets) if isinstance(cfg.data.targets, list) else ["y"]
    if kind in ("binary", "multilabel"):
        task_type = TaskType.MULTILABEL if len(targets) > 1 else TaskType.BINARY
        return TaskSpec(task_type, targets, "roc_auc" if len(targets) == 1 else "micro_f1")
    if kind == "multiclass":
        return TaskSpec(TaskType.MULTICLASS, targets[:1], "accuracy", classes=["a", "b", "c"])
    return TaskSpec(TaskType.REGRESSION, targets, "rmse")


def check_featurizers(cfg: Config) -> None:
    """Build every featurizer; a transfer featurizer (a pretrained network: seconds to load)
    only has its settings checked here, its ``exclude`` list when ``featurize`` builds it."""
    from chemchallenge.errors import ConfigError
    from chemchallenge.features.base import (
        FEATURIZERS,
        build_featurizer,
        featurizer_type,
        is_transfer,
    )

    for name, params in cfg.featurize.featurizers.items():
        if is_transfer(name, params):
            import chemchallenge.features.transfer  # noqa: F401  (fills the registry)

            settings = {k: v for k, v in (params or {}).items() if k != "type"}
            try:
                FEATURIZERS[featurizer_type(name, params)].check_settings(**settings)
            except (ConfigError, TypeError) as err:
                raise ConfigError(f"featurize.featurizers.{name}: {err}") from err
            continue
        build_featurizer(name, params)  # its errors name featurize.featurizers.<name>


def check_models(cfg: Config, paths: Paths) -> None:
    """Networks by their typed settings (torch-free), the others by their library."""
    from chemchallenge.errors import ConfigError
    from chemchallenge.models.kinds import DEEP, KIND_MODULES

    task = _task(cfg, paths)
    for name in cfg.train.models:
        mc = cfg.model(name)
        where = f"models.{name}.params"
        if KIND_MODULES[mc.kind] == DEEP:
            from chemchallenge.models.deep_params import resolve_params

            try:
                resolved = resolve_params(mc.kind, dict(mc.params))
            except ConfigError as err:
                raise ConfigError(f"{where}: {err}") from err
            check_net_features(name, mc.kind, list(mc.features or []), resolved)
        else:
            from chemchallenge.models.base import check_params

            check_params(mc.kind, task, dict(mc.params), cfg.seed, where)


def check_net_features(name: str, kind: str, features: list[str], params: dict) -> None:
    """A network's ``features`` are used by the MLP, and by a graph network only with
    ``use_descriptors: true``: a list that would be ignored, or a missing one, is an error."""
    from chemchallenge.errors import ConfigError

    if kind == "mlp":
        if not features:
            raise ConfigError(f"models.{name}: kind 'mlp' needs 'features' (e.g. [rdkit2d])")
        return
    uses = bool(params.get("use_descriptors", False))
    if uses and not features:
        raise ConfigError(
            f"models.{name}: use_descriptors: true needs a 'features' list (e.g. [rdkit2d])"
        )
    if features and not uses:
        what = "set params.use_descriptors: true" if "use_descriptors" in params else "remove it"
        raise ConfigError(f"models.{name}: kind {kind!r} would ignore features {features}: {what}")


def implemented_choices() -> dict[str, tuple[str, ...]]:
    """The choice settings whose allowed values are the keys of the registries that
    implement them."""
    from chemchallenge.data.molecules import CONFLICT_POLICIES
    from chemchallenge.data.splits import SPLITS
    from chemchallenge.ensemble.weights import METHODS
    from chemchallenge.tuning.study import PRUNERS, SAMPLERS

    return {
        "prepare.conflicts": ("auto", *CONFLICT_POLICIES),
        "prepare.cv.split": ("auto", *SPLITS),
        "tune.pruner": tuple(PRUNERS),
        "tune.sampler": tuple(SAMPLERS),
        "ensemble.method": tuple(METHODS),
    }


def check_implemented_choices(cfg: Config) -> None:
    """Every choice of :func:`implemented_choices` against its registry."""
    check_choices(cfg, implemented_choices())


def check_sections(cfg: Config) -> None:
    from chemchallenge.generation.settings import parse_generate
    from chemchallenge.report.context import ReportConfig

    parse_generate(cfg.generate)
    build_section(ReportConfig, cfg.report, "report")


def check_all(cfg: Config, paths: Paths) -> float:
    """Check every section; returns the seconds it took. Raises ConfigError naming the key."""
    t0 = time.perf_counter()
    check_implemented_choices(cfg)
    check_featurizers(cfg)
    check_sections(cfg)
    check_models(cfg, paths)
    return time.perf_counter() - t0
