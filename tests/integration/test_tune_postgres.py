"""README "N machines sharing one PostgreSQL study", run for real against a PostgreSQL server.

The fixture starts a throwaway server (tests/pgserver.py). One project is set up through
DVC (git, ``dvc repro featurize-morgan``) and copied twice: three "machines". On it:

1. a worker is killed (SIGKILL) in the middle of its trial: the trial stays RUNNING;
2. three ``chemchallenge tune xgb`` workers, one per copy, run at once on the study: the
   killed worker's trial is failed by the heartbeat and retried with the same params, the
   study ends with ``tune.n_trials`` finished trials, each worker waits for the others and
   writes the same ``best_params.json``, the study's best;
3. ``dvc repro train-xgb`` on the first machine finds the study complete (no new trial) and
   trains with the best params.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import deep_update, make_tables, tiny_params, write_tables

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROJECT_FILES = (".dvcignore", ".gitignore", "data/.gitignore")
N_TRIALS = 12
WORKERS = 3

#: a worker killed in the middle of a trial: the real CLI with a cross-validation that hangs
#: (the trial's params are already suggested and stored; its heartbeat keeps beating)
VICTIM = """
import sys, time
import chemchallenge.tuning.objective as objective
objective.cross_validate = lambda *a, **k: time.sleep(3600)
from chemchallenge.cli import main
sys.exit(main(["tune", "xgb"]))
"""


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server for the session: skipped only where none exists and CI is unset."""
    import pgserver

    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if ci:
            pytest.fail("psycopg is not installed (pip install -e '.[postgres]')")
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    bindir = pgserver.find_bindir()
    if bindir is None:
        reason = (
            "no PostgreSQL server binaries (initdb, pg_ctl on PATH or in "
            "/usr/lib/postgresql/*/bin): apt-get install postgresql"
        )
        if ci:
            pytest.fail(reason)
        pytest.skip(reason)
    server = pgserver.start(bindir)
    try:
        yield server.url
    finally:
        server.stop()


def _env(root: Path) -> dict[str, str]:
    """The venv on PATH, the project's own src/ (the code DVC tracks) on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    extra = os.environ.get("PYTHONPATH")
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join([str(root / "src"), *([extra] if extra else [])]),
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    return env


def run(cwd: Path, *cmd: str, timeout: int = 600) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=_env(cwd), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"`{' '.join(cmd)}` failed ({proc.returncode})\n"
        f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    )
    return proc.stdout + proc.stderr


def params(challenge: Path, url: str) -> dict[str, Any]:
    base = tiny_params(challenge)
    base["featurize"]["featurizers"] = {"morgan": {"radius": 2, "n_bits": 256}}
    return deep_update(
        base,
        {
            "models": {
                "xgb": {
                    "tune": True,
                    "search_space": {
                        "max_depth": {"type": "int", "low": 2, "high": 6},
                        "min_child_weight": {"type": "float", "low": 0.5, "high": 10, "log": True},
                    },
                },
            },
            "train": {"models": ["xgb"]},
            "submit": {"model": "xgb"},
            "tune": {"n_trials": N_TRIALS, "storage": url, "pruner": "none", "heartbeat_s": 1},
        },
    )


def make_project(root: Path, url: str) -> None:
    """A git + DVC project on tiny binary data, prepared and featurized by ``dvc repro``."""
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in PROJECT_FILES:
        if (REPO / name).exists():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, root / name)
    write_tables(root / "data" / "challenge", make_tables("binary"))
    p = params(Path("data/challenge"), url)
    (root / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    run(root, "git", "init", "-q")
    run(root, "dvc", "init", "-q")
    run(root, "chemchallenge", "dvc-yaml")
    run(root, "dvc", "repro", "featurize-morgan")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "tiny project")


def load_study(url: str, root: Path) -> Any:
    import optuna

    from chemchallenge.tuning.study import make_storage

    storage = make_storage(url, root)
    (summary,) = [s for s in optuna.get_all_study_summaries(storage) if s.study_name[:4] == "xgb-"]
    return optuna.load_study(study_name=summary.study_name, storage=storage)


def kill_mid_trial(root: Path, url: str) -> int:
    """Start the victim, wait until its trial has its params and is RUNNING, SIGKILL it."""
    from optuna.trial import TrialState

    proc = subprocess.Popen(
        [sys.executable, "-c", VICTIM],
        cwd=root,
        env=_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, (
                f"the victim exited: {proc.stdout.read() if proc.stdout else ''}"
            )
            try:
                study = load_study(url, root)
            except ValueError:  # no study yet
                time.sleep(0.5)
                continue
            running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            mine = [t for t in running if t.user_attrs.get("worker", "").endswith(f":{proc.pid}")]
            if mine and mine[0].params:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return mine[0].number
            time.sleep(0.3)
        raise AssertionError("the victim never started a trial")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_workers_share_one_postgres_study(tmp_path: Path, pg_url: str) -> None:
    from optuna.trial import TrialState

    t0 = time.perf_counter()
    machines = [tmp_path / f"machine{i}" for i in range(WORKERS)]
    make_project(machines[0], pg_url)
    for m in machines[1:]:  # the other machines: the same commit, data and features
        shutil.copytree(machines[0], m, symlinks=True)
    setup_s = time.perf_counter() - t0

    killed = kill_mid_trial(machines[0], pg_url)
    study = load_study(pg_url, machines[0])
    assert study.trials[killed].state == TrialState.RUNNING  # nobody has failed it yet

    t1 = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["chemchallenge", "tune", "xgb"],
            cwd=m,
            env=_env(m),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for m in machines
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    tune_s = time.perf_counter() - t1

    study = load_study(pg_url, machines[0])
    trials = study.get_trials(deepcopy=False)
    table = "\n".join(
        f"{t.number} {t.state.name} {t.params} default={t.user_attrs.get('default')} "
        f"{t.user_attrs.get('worker')} retry_of={t.system_attrs.get('failed_trial')}"
        for t in trials
    )
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)), table
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    # exact unless two workers start a trial within the same few milliseconds
    assert N_TRIALS <= len(finished) <= N_TRIALS + WORKERS - 1, table
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]

    # the killed trial: failed by the heartbeat, retried with its params, retry finished
    victim = study.trials[killed]
    assert victim.state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == victim.params
    assert [t.state for t in trials].count(TrialState.FAIL) == 1, table
    assert sum(bool(t.user_attrs.get("default")) for t in finished) == 1, table

    # the workers shared the work, never drew the same params (trial-number seeds)
    workers = {t.user_attrs["worker"] for t in finished}
    assert len(workers) >= 2, workers
    draws = [tuple(sorted(t.params.items())) for t in finished]
    assert len(draws) == len(set(draws)), table

    # best: the study's = the best of its trials = every worker's best_params.json
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert study.best_value == max(t.value for t in complete)  # roc_auc: maximise
    for m in machines:
        best = json.loads((m / "models" / "xgb" / "best_params.json").read_text())
        assert best["best_value"] == study.best_value
        assert best["params"] == study.best_params
        assert best["n_trials"] == len(finished)

    # afterwards: dvc repro finds the study complete and trains without a new trial
    t2 = time.perf_counter()
    out = run(machines[0], "dvc", "repro", "train-xgb")
    repro_s = time.perf_counter() - t2
    assert f"study already has {len(finished)} finished trials" in out, out[-3000:]
    assert len(load_study(pg_url, machines[0]).trials) == len(trials)
    assert (machines[0] / "metrics" / "xgb.json").exists()
    print(
        f"\nsetup {setup_s:.0f} s, {WORKERS} workers {tune_s:.0f} s "
        f"({len(finished)} trials), dvc repro {repro_s:.0f} s"
    )
