"""The Optuna study behind ``tune-<model>``: storage, seeded sampler, pruner.

Storage URLs (``tune.storage`` in params.yaml):

- ``sqlite:///optuna/studies.db`` (default; the folder is created, relative paths are
  taken from the project root);
- any other SQLAlchemy URL Optuna supports, e.g. ``postgresql://user@host:5432/optuna``
  (``pip install 'chemchallenge[postgres]'``; the password in ``~/.pgpass`` or
  ``PGPASSWORD``), to share one study between machines;
- ``journal:<path>``: an append-only journal file (``JournalFileBackend``), the safest
  choice for several worker processes on one machine or on a shared file system.

Studies are opened with ``load_if_exists=True``: an interrupted run resumes, and several
processes started on the same study name cooperate.

Database storages run Optuna's heartbeat (``tune.heartbeat_s``): a RUNNING trial whose worker
stopped beating for ``GRACE_FACTOR`` heartbeats (killed, machine lost) is failed by the next
worker that starts a trial, and re-enqueued with the same parameters
(Optuna's ``RetryHeartbeatStaleTrialCallback``, at most ``MAX_RETRY`` times).

Samplers are seeded per trial (``seed + trial number``): a serial study is reproducible, and
workers that start trials at the same moment never draw the same parameters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages._heartbeat import is_heartbeat_enabled  # not re-exported by Optuna
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from chemchallenge.config import TuneConfig
from chemchallenge.errors import ConfigError

#: Trials that count towards ``tune.n_trials`` (failed or crashed ones are retried).
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
#: RDB storages: default heartbeat (``tune.heartbeat_s``); a trial whose process stopped
#: sending heartbeats for ``GRACE_FACTOR`` of them is failed, then retried with its params.
HEARTBEAT_S = 60
GRACE_FACTOR = 3
MAX_RETRY = 2


def _under(root: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def make_storage(url: str, root: Path = Path("."), heartbeat_s: int = HEARTBEAT_S) -> BaseStorage:
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
    # a worker's connections idle for a whole trial: check them before use (server restarts,
    # firewalls closing idle connections)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
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
                heartbeat_interval=heartbeat_s,
                grace_period=GRACE_FACTOR * heartbeat_s,
                **_retry_stale(),
            )
    except (ImportError, ModuleNotFoundError) as err:
        hint = " (pip install 'chemchallenge[postgres]')" if url.startswith("postgres") else ""
        raise ConfigError(f"tune.storage: {url!r} needs a database driver{hint}: {err}") from err


def _retry_stale() -> dict[str, Any]:
    """RDBStorage's argument that re-enqueues a heartbeat-stale trial (renamed in Optuna 4.9)."""
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if retry is not None:
        return {"heartbeat_stale_trial_callback": retry(max_retry=MAX_RETRY)}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=MAX_RETRY)}


def _reseed(sampler: optuna.samplers.BaseSampler, seed: int) -> None:
    """Reseed TPE / random samplers' generators (and TPE's start-up random sampler)."""
    for obj in (sampler, getattr(sampler, "_random_sampler", None)):
        rng = getattr(obj, "_rng", None)
        if rng is not None and hasattr(rng, "rng"):
            rng.rng.seed(seed % 2**32)
        elif obj is not None:
            obj.reseed_rng()  # an Optuna without the attribute: unique draws, not reproducible


class TrialSeededTPE(optuna.samplers.TPESampler):
    """TPE whose random draws for trial ``k`` come from ``seed + k``."""

    def __init__(self, seed: int, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        _reseed(self, self._base_seed + trial.number)
        super().before_trial(study, trial)


class TrialSeededRandom(optuna.samplers.RandomSampler):
    """Random search whose draws for trial ``k`` come from ``seed + k``."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self._base_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        _reseed(self, self._base_seed + trial.number)
        super().before_trial(study, trial)


#: ``tune.sampler`` name -> seed -> sampler (few TPE startup trials: studies here are short)
SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "tpe": lambda seed: TrialSeededTPE(seed=seed, n_startup_trials=5, multivariate=True),
    "random": lambda seed: TrialSeededRandom(seed=seed),
}

#: ``tune.pruner`` name -> number of steps (CV folds) -> pruner
PRUNERS: dict[str, Callable[[int], optuna.pruners.BasePruner]] = {
    "median": lambda n_steps: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    "hyperband": lambda n_steps: optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=max(n_steps, 1), reduction_factor=3
    ),
    "none": lambda n_steps: optuna.pruners.NopPruner(),
}


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name not in SAMPLERS:
        raise ConfigError(f"tune.sampler: {name!r} is not one of {list(SAMPLERS)}")
    return SAMPLERS[name](seed)


def make_pruner(name: str, n_steps: int) -> optuna.pruners.BasePruner:
    """Pruner over CV folds: a trial reports its running mean after each fold."""
    if name not in PRUNERS:
        raise ConfigError(f"tune.pruner: {name!r} is not one of {list(PRUNERS)}")
    return PRUNERS[name](n_steps)


def open_study(
    cfg: TuneConfig, name: str, direction: str, seed: int, n_steps: int, root: Path = Path(".")
) -> optuna.Study:
    """Create the study ``name`` or load it when it exists (resume / several workers)."""
    storage = make_storage(cfg.storage, root, cfg.heartbeat_s)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,  # type: ignore[arg-type]
        sampler=make_sampler(cfg.sampler, seed),
        pruner=make_pruner(cfg.pruner, n_steps),
        load_if_exists=True,
    )
    if study.direction.name.lower() != direction:
        raise ConfigError(
            f"study {name!r} in {cfg.storage} optimises in direction {study.direction.name}, "
            f"but the metric needs {direction}: delete the study or use another storage"
        )
    return study


def n_finished(study: optuna.Study) -> int:
    """Trials that count towards ``tune.n_trials``: completed or pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def has_heartbeat(study: optuna.Study) -> bool:
    return is_heartbeat_enabled(study._storage)


def fail_stale(study: optuna.Study) -> None:
    """Fail (and re-enqueue) the RUNNING trials of workers that stopped beating."""
    if has_heartbeat(study):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
