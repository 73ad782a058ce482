"""The Optuna study behind ``tune-<model>``: storage, seeded sampler, pruner.

Storage URLs (``tune.storage`` in params.yaml):

- ``sqlite:///optuna/studies.db`` (default; the folder is created, relative paths are
  taken from the project root);
- any other SQLAlchemy URL Optuna supports, e.g. ``postgresql://user:pw@host/db``, to
  share one study between machines;
- ``journal:<path>``: an append-only journal file (``JournalFileBackend``), the safest
  choice for several worker processes on one machine or on a shared file system.

Studies are opened with ``load_if_exists=True``: an interrupted run resumes, and several
processes started on the same study name cooperate.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from chemchallenge.config import TuneConfig
from chemchallenge.errors import ConfigError

#: Trials that count towards ``tune.n_trials`` (failed or crashed ones are retried).
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: RDB storages: a trial whose process stopped sending heartbeats for this long is failed.
HEARTBEAT_S = 60
GRACE_S = 180


def _under(root: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def make_storage(url: str, root: Path = Path(".")) -> BaseStorage:
    """Open the storage named by ``tune.storage`` (relative paths under ``root``)."""
    if url.startswith("journal:"):
        path = _under(root, url.removeprefix("journal:"))
        if not str(path).strip() or path.is_dir():
            raise ConfigError(f"tune.storage: {url!r} must name a journal file (journal:<path>)")
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise ConfigError(
            f"tune.storage: {url!r} is neither a database URL (sqlite:///optuna/studies.db, "
            "postgresql://...) nor journal:<path>"
        )
    engine_kwargs = None
    if url.startswith("sqlite:///"):
        db = url.removeprefix("sqlite:///")
        if db and db != ":memory:":
            path = _under(root, db)
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path.resolve()}"
        engine_kwargs = {"connect_args": {"timeout": 60}}  # wait for other writers
    try:
        with warnings.catch_warnings():  # heartbeat_interval is "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_S,
                grace_period=GRACE_S,
            )
    except (ImportError, ModuleNotFoundError) as err:
        raise ConfigError(f"tune.storage: {url!r} needs a database driver: {err}") from err


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        # few startup trials: studies here are short (tens of trials)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"tune.sampler: {name!r} is not one of ['tpe', 'random']")


def make_pruner(name: str, n_steps: int) -> optuna.pruners.BasePruner:
    """Pruner over CV folds: a trial reports its running mean after each fold."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(n_steps, 1), reduction_factor=3
        )
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"tune.pruner: {name!r} is not one of ['median', 'hyperband', 'none']")


def open_study(
    cfg: TuneConfig, name: str, direction: str, seed: int, n_steps: int, root: Path = Path(".")
) -> optuna.Study:
    """Create the study ``name`` or load it when it exists (resume / several workers)."""
    storage = make_storage(cfg.storage, root)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,  # type: ignore[arg-type]
        sampler=make_sampler(cfg.sampler, seed),
        pruner=make_pruner(cfg.pruner, n_steps),
        load_if_exists=True,
    )
    # a resumed run or a second worker must not replay the first one's random draws:
    # seed + number of trials already in the study (deterministic for a serial run)
    study.sampler = make_sampler(cfg.sampler, seed + len(study.get_trials(deepcopy=False)))
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"study {name!r} in {cfg.storage} optimises in direction {study.direction.name}, "
            f"but the metric needs {direction}: delete the study or use another storage"
        )
    return study


def n_finished(study: optuna.Study) -> int:
    """Trials that count towards ``tune.n_trials``: completed or pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))
