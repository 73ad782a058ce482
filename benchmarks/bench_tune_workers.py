"""Scale-out of tuning: wall time of N XGBoost trials with 1 worker vs 3 workers on one
PostgreSQL study (issue 14).

A throwaway PostgreSQL server (tests/pgserver.py) holds the study; the demo data is prepared
and featurized once (``chemchallenge prepare`` / ``featurize``), then ``chemchallenge tune xgb``
runs as 1 process, and (the study deleted) as 3 processes at once, each XGBoost fit on one
thread (``n_jobs: 1``). Wall: from starting the workers to the last one's exit (Python and
data start-up included); trials: from the first trial's start to the last one's end.
Speed-up = wall(1 worker) / wall(3 workers); per worker = speed-up / 3. On a 2-core machine
3 workers can at best reach 2x. CPU: user + system time of all workers (the work, whatever
the load); CPU / wall: the cores the workers actually got (on a machine shared with other
jobs, the speed-up is bounded by it).

Usage: ``python benchmarks/bench_tune_workers.py [--trials 20] [--workers 3]
[--storage postgresql://...]`` (without --storage a local server is started; needs the
PostgreSQL binaries and ``pip install -e '.[postgres]'``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent

SEARCH_SPACE = {
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "max_depth": {"type": "int", "low": 3, "high": 10},
    "min_child_weight": {"type": "float", "low": 0.5, "high": 10, "log": True},
    "subsample": {"type": "float", "low": 0.5, "high": 1.0},
    "colsample_bytree": {"type": "float", "low": 0.1, "high": 0.8},
    "reg_lambda": {"type": "float", "low": 0.01, "high": 10, "log": True},
}


def params(storage: str, trials: int) -> dict[str, Any]:
    """params.yaml with one tuned xgb on Morgan counts."""
    from support.params import params_with  # tests/ is on sys.path (see main)

    return params_with(
        {
            "seed": 42,
            "data": {"source": "demo"},
            "prepare": {"cv": {"n_folds": 5}},
            "featurize": {
                "n_jobs": 1,
                "featurizers": {"morgan_counts": {"radius": 2, "n_bits": 2048}},
            },
            "models": {
                "xgb": {
                    "kind": "xgboost",
                    "features": ["morgan_counts"],
                    "params": {
                        "n_estimators": 200,
                        "learning_rate": 0.05,
                        "max_depth": 6,
                        "subsample": 0.8,
                        "n_jobs": 1,
                    },
                    "tune": True,
                    "search_space": SEARCH_SPACE,
                }
            },
            "train": {"models": ["xgb"]},
            "submit": {"model": "xgb"},
            "tune": {"n_trials": trials, "storage": storage, "pruner": "none"},
        },
        replace=["featurize.featurizers", "models"],
    )


def env() -> dict[str, str]:
    extra = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), *([extra] if extra else [])]),
        "OMP_WAIT_POLICY": "PASSIVE",  # see bench_tuning.py: spinning threads on shared cores
        "OMP_NUM_THREADS": "1",
    }


def run(root: Path, *cmd: str) -> None:
    subprocess.run(cmd, cwd=root, env=env(), check=True, capture_output=True, text=True)


def delete_studies(storage: str) -> None:
    from chemchallenge.tuning.study import make_storage

    st = make_storage(storage)
    for s in optuna.get_all_study_summaries(st):
        optuna.delete_study(study_name=s.study_name, storage=st)


def workers(root: Path, storage: str, n: int) -> dict[str, float]:
    from chemchallenge.tuning.study import make_storage

    delete_studies(storage)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["chemchallenge", "tune", "xgb"],
            cwd=root,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(n)
    ]
    for p in procs:
        out = p.communicate()[0]
        if p.returncode:
            raise RuntimeError(out[-3000:])
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    st = make_storage(storage)
    (summary,) = optuna.get_all_study_summaries(st)
    study = optuna.load_study(study_name=summary.study_name, storage=st)
    done = [t for t in study.trials if t.datetime_complete is not None]
    span = max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)
    return {
        "wall": wall,
        "cpu": cpu,
        "trials_span": span.total_seconds(),
        "n": len([t for t in done if t.state.name in ("COMPLETE", "PRUNED")]),
        "best": study.best_value,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--storage", default=None, help="a PostgreSQL URL (default: a local server)")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "tests"))  # pgserver, support.params
    server = None
    if args.storage is None:
        import pgserver

        server = pgserver.start()
    storage = args.storage or server.url  # type: ignore[union-attr]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tune-workers-") as tmp:
            root = Path(tmp)
            (root / "params.yaml").write_text(yaml.safe_dump(params(storage, args.trials)))
            t0 = time.perf_counter()
            run(root, "chemchallenge", "prepare")
            run(root, "chemchallenge", "featurize", "morgan_counts")
            print(f"prepare + featurize: {time.perf_counter() - t0:.0f} s")
            one = workers(root, storage, 1)
            many = workers(root, storage, args.workers)
    finally:
        if server is not None:
            server.stop()
    speedup = one["wall"] / many["wall"]
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print("| workers | trials | wall | trials span | CPU (all workers) | CPU / wall | best rmse |")
    print("|---|---|---|---|---|---|---|")
    for k, r in ((1, one), (args.workers, many)):
        print(
            f"| {k} | {r['n']} | {r['wall']:.0f} s | {r['trials_span']:.0f} s | "
            f"{r['cpu']:.0f} s | {r['cpu'] / r['wall']:.2f} | {r['best']:.4f} |"
        )
    print(
        f"speed-up {speedup:.2f}x wall ({one['trials_span'] / many['trials_span']:.2f}x trials "
        f"span), {speedup / args.workers:.2f}x per worker"
    )


if __name__ == "__main__":
    main()
