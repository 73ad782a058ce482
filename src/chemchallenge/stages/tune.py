"""Stage `tune-<model>`: an Optuna study over ``models.<model>.search_space``.

The objective is the challenge metric of K-fold CV on the fixed folds (``tune.n_folds``
of them per trial when set). Trial 0 evaluates the params.yaml defaults. The study lives
in ``tune.storage`` (not a DVC output), so an interrupted run resumes where it stopped
and several processes or machines can work on one study; only completed and pruned
trials count towards ``tune.n_trials`` (see :func:`optimize` for several workers). Writes
``models/<model>/best_params.json`` (the train stage merges its ``params`` over the
model's), ``models/<model>/tuning/trials.csv`` and the figures ``history.png``,
``importance.png``, ``parallel.png`` there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from chemchallenge.config import Config
from chemchallenge.errors import ChemChallengeError, ConfigError
from chemchallenge.inputs import load_task, model_inputs
from chemchallenge.io import read_parquet, write_json, write_text
from chemchallenge.metrics import get_metric
from chemchallenge.models.base import check_params
from chemchallenge.paths import Paths
from chemchallenge.tuning.figures import write_figures, write_trials
from chemchallenge.tuning.objective import DEFAULT_ATTR, TuneData, make_objective
from chemchallenge.tuning.space import default_point, parse_search_space
from chemchallenge.tuning.study import (
    FINISHED,
    GRACE_FACTOR,
    fail_stale,
    has_heartbeat,
    n_finished,
    open_study,
)


def tuning_dir(paths: Paths, name: str) -> Path:
    return paths.model_dir(name) / "tuning"


def load_data(cfg: Config, paths: Paths, name: str) -> TuneData:
    """The model's training inputs, labels and the folds a trial visits."""
    mc = cfg.model(name)
    task = load_task(paths)
    X, _, train, _ = model_inputs(cfg, paths, name)
    folds = read_parquet(paths.folds)["fold"].to_numpy()
    fold_ids = sorted({int(f) for f in folds})
    n = cfg.tune.n_folds
    if n is not None:
        if n < 1:
            raise ConfigError(f"tune.n_folds: expected at least 1 (or null for all), got {n}")
        fold_ids = fold_ids[:n]
    y = train[task.targets].to_numpy(dtype=float)
    return TuneData(mc.kind, task, X, y, folds, fold_ids, dict(mc.params), cfg.seed)


def study_identity(cfg: Config, name: str, data: TuneData, direction: str) -> dict[str, Any]:
    """Everything that makes two trials' scores comparable: data, features and folds (via
    ``data.fingerprint``), metric and direction, model kind, search space, fixed params and
    seed. ``n_jobs`` / ``thread_count`` aside: they change no score."""
    mc = cfg.model(name)
    return {
        "data": data.fingerprint(mc.features),
        "metric": data.task.metric,
        "direction": direction,
        "kind": mc.kind,
        "search_space": mc.search_space,
        "params": {k: v for k, v in mc.params.items() if k not in ("n_jobs", "thread_count")},
        "seed": cfg.seed,
    }


def study_name(name: str, identity: dict[str, Any]) -> str:
    """``<model>-<hash of the identity>``: a changed experiment opens a new study in the same
    storage (the old one stays there, untouched); the same experiment resumes its own."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _explain_overlap(name: str, params: dict[str, Any], space: dict[str, Any]) -> None:
    """``dvc exp run -S models.<m>.params.<p>=v`` where <p> is tuned: say what it does."""
    both = sorted(set(params) & set(space))
    if both:
        fixed = ", ".join(f"{p}={params[p]!r}" for p in both)
        print(
            f"tune-{name}: {fixed} also in models.{name}.search_space: trial 0 uses "
            "these values, later trials may choose others and train-{name} uses the best trial's; "
            f"to fix a value, remove it from the search space or set models.{name}.tune: false"
        )


#: user attribute of a trial whose objective raised (or was interrupted): the error
ERROR_ATTR = "error"


def _default_pending(study: optuna.Study) -> bool:
    """A trial of the params.yaml defaults is finished, queued, running, or failed by the
    heartbeat (its worker died: the storage's retry callback re-enqueues it)."""
    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING, TrialState.RUNNING)
    retried = has_heartbeat(study)
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(DEFAULT_ATTR) and (
            t.state in live
            or (retried and t.state == TrialState.FAIL and ERROR_ATTR not in t.user_attrs)
        ):
            return True
    return False


def _enqueue_default(study: optuna.Study, default: dict[str, Any]) -> None:
    if not _default_pending(study):
        study.enqueue_trial(default, user_attrs={DEFAULT_ATTR: True})


def _recording_errors(objective: Any) -> Any:
    """The objective, recording why a trial failed in its user attribute ``error`` (a trial
    failed without one was failed by the heartbeat: its worker died)."""

    def wrapped(trial: optuna.Trial) -> float:
        try:
            return objective(trial)
        except optuna.TrialPruned:
            raise
        except BaseException as err:
            trial.set_user_attr(ERROR_ATTR, f"{type(err).__name__}: {err}"[:500])
            raise

    return wrapped


def _progress(total: int, name: str, metric: str) -> tuple[tqdm, Any]:
    bar = tqdm(total=total, desc=f"tune-{name}", unit="trial")

    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        if trial.state in FINISHED:
            bar.update(1)
        with contextlib.suppress(ValueError):  # ValueError: no completed trial yet
            bar.set_postfix_str(f"best {metric} {study.best_value:.4g}")

    return bar, callback


def trial_budget(cfg: Config, name: str) -> int:
    """``models.<name>.n_trials`` when set (a stronger model may get more trials), else
    ``tune.n_trials``."""
    own = cfg.model(name).n_trials
    return cfg.tune.n_trials if own is None else own


def _running(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


#: seconds between two looks at a study whose budget is held by other workers' trials
POLL_S = 2.0


def optimize(cfg: Config, paths: Paths, name: str, data: TuneData) -> optuna.Study:
    """Open (or resume) the study and run the trials still missing, one at a time.

    Before each trial the worker fails the trials of dead workers (heartbeat; they are
    re-enqueued with their params) and starts one only while finished + running trials are
    fewer than ``tune.n_trials``: several workers on one study stop at ``n_trials`` finished
    trials (one more per worker at most, when workers start trials within the same few
    milliseconds). A worker that finds the budget held or exceeded by trials running elsewhere
    waits for them (on database storages, whose heartbeat fails a dead worker's trial, which a
    waiting worker then re-runs), so that every worker ends on the complete study.
    """
    mc = cfg.model(name)
    space = parse_search_space(name, mc.search_space)
    metric = get_metric(data.task.metric, data.task.task_type)
    direction = "maximize" if metric.greater_is_better else "minimize"
    identity = study_identity(cfg, name, data, direction)
    sname = study_name(name, identity)
    study = open_study(cfg.tune, sname, direction, cfg.seed, len(data.fold_ids), paths.root)
    if "identity" not in study.user_attrs:  # for optuna-dashboard and later inspection
        study.set_user_attr("identity", json.dumps(identity, sort_keys=True, default=str))
        study.set_user_attr("model", name)
    _explain_overlap(name, mc.params, mc.search_space)
    default = default_point(space, mc.params)
    fail_stale(study)
    _enqueue_default(study, default)
    budget = trial_budget(cfg, name)
    # without a heartbeat (journal files) a RUNNING trial may be a dead process's: never wait
    wait = has_heartbeat(study)
    if n_finished(study) >= budget and not (wait and _running(study)):
        print(f"tune-{name}: study already has {n_finished(study)} finished trials")
        return study
    objective = _recording_errors(make_objective(data, space, default))
    bar, progress = _progress(max(budget - n_finished(study), 0), name, data.task.metric)
    deadline = None if cfg.tune.timeout is None else time.monotonic() + cfg.tune.timeout
    said = False
    try:
        while True:
            fail_stale(study)
            done = n_finished(study)
            running = _running(study) if wait else 0
            if (done >= budget and not running) or (
                deadline is not None and time.monotonic() >= deadline
            ):
                break
            if done + running >= budget:
                if not said:
                    print(
                        f"tune-{name}: {done} trials finished, {running} running on other "
                        "workers: waiting for them (the trial of a worker that died is re-run "
                        f"after {GRACE_FACTOR * cfg.tune.heartbeat_s} s without a heartbeat)"
                    )
                    said = True
                time.sleep(POLL_S)
                continue
            left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
            study.optimize(
                objective, n_trials=1, timeout=left, callbacks=[progress], gc_after_trial=False
            )
    finally:
        bar.close()
    return study


def summary(
    study: optuna.Study, metric: str, storage: str, name: str, n_folds: int | None = None
) -> dict[str, Any]:
    """The content of ``best_params.json``."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ChemChallengeError(
            f"tune-{name}: no trial completed (all pruned, failed or timed out); "
            "raise tune.n_trials / tune.timeout or set tune.pruner: none"
        )
    best = study.best_trial
    defaults = [t for t in complete if t.user_attrs.get(DEFAULT_ATTR)]
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    return {
        "tuned": True,
        "params": dict(best.params),
        "best_value": best.value,
        "best_trial": best.number,
        "metric": metric,
        "direction": study.direction.name.lower(),
        "n_trials": len(complete) + len(pruned),
        "n_pruned": len(pruned),
        "storage": storage,
        "study": study.study_name,
        "default_value": defaults[0].value if defaults else None,
        "folds_per_trial": n_folds,
    }


def run(cfg: Config, paths: Paths, name: str) -> None:
    mc = cfg.model(name)
    out_dir = tuning_dir(paths, name)
    if not mc.tune:
        write_json(paths.best_params(name), {"tuned": False, "params": {}})
        write_text(out_dir / "notes.txt", f"not tuned: models.{name}.tune is false\n")
        print(f"tune-{name}: models.{name}.tune is false; nothing to tune")
        return
    parse_search_space(name, mc.search_space)  # fail fast, before loading any data
    check_params(mc.kind, load_task(paths), dict(mc.params), cfg.seed, f"models.{name}.params")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_data(cfg, paths, name)
    study = optimize(cfg, paths, name, data)
    result = summary(study, data.task.metric, cfg.tune.storage, name, len(data.fold_ids))
    write_trials(study, out_dir / "trials.csv")
    notes = write_figures(study, out_dir, cfg.seed)
    write_text(out_dir / "notes.txt", "".join(f"{n}\n" for n in notes) or "all figures written\n")
    write_json(paths.best_params(name), result)
    for note in notes:
        print(f"tune-{name}: note: {note}")
    dv = result["default_value"]
    print(
        f"tune-{name}: best {result['metric']} {result['best_value']:.4f}"
        + (f" (params.yaml defaults {dv:.4f})" if dv is not None else "")
        + f" after {result['n_trials']} trials ({result['n_pruned']} pruned): {result['params']}"
    )
