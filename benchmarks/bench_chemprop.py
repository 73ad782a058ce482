"""Our graph models vs chemprop 2.3.1 on the demo solubility set (issue #3).

One run, same data, same validation split for both tools:

1. Accuracy: our ``dmpnn``, ``attentivefp`` and ``gin`` (params.yaml ``models:`` params on
   top of the estimator defaults) and chemprop trained with its CLI defaults
   (``chemprop train``; 50 epochs, message hidden 300, depth 3, batch 64), both on the
   demo training set with the same random 10% held out for validation / early stopping,
   then scored on the demo's fixed test split. Wall time = fit + predict (chemprop: the
   ``train`` and ``predict`` CLI calls, process start-up included).
2. Epoch time: our D-MPNN with ``hidden: 300, depth: 3, head_hidden: 300`` vs chemprop's
   defaults, batch 64, both validating every epoch. Each side is timed at two fixed epoch
   counts without early stopping; epoch time = (T_long - T_short) / (E_long - E_short),
   which cancels start-up and featurisation. Ratio = ours / chemprop (target <= 1.0).

Both tools use the same number of torch CPU threads (``--threads``, default 2: ours via
``threads``, chemprop via ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``).

chemprop lives in its own git-ignored venv, ``benchmarks/.venv-chemprop``, which this script
creates when missing (torch 2.13.0 is installed first so that pip does not pull a CUDA
build, then ``chemprop==2.3.1``). chemprop is never a dependency of the package.

Usage: ``.venv/bin/python benchmarks/bench_chemprop.py [--threads 2] [--seed 0]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from chemchallenge.data.demo import load_demo
from chemchallenge.models.base import ModelInput, build_model
from chemchallenge.tasks import TaskSpec, TaskType

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "benchmarks" / ".venv-chemprop"
CHEMPROP = VENV / "bin" / "chemprop"
TORCH_VERSION = "2.13.0"
CHEMPROP_VERSION = "2.3.1"
MODELS = ("dmpnn", "attentivefp", "gin")


def ensure_venv() -> None:
    """Create ``benchmarks/.venv-chemprop`` with torch (CPU wheel) then chemprop."""
    if CHEMPROP.exists():
        return
    print(f"creating {VENV} (torch=={TORCH_VERSION}, chemprop=={CHEMPROP_VERSION})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "pip"), "install", "-q"]
    subprocess.run([*pip, f"torch=={TORCH_VERSION}"], check=True)
    subprocess.run([*pip, f"chemprop=={CHEMPROP_VERSION}"], check=True)


def thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    return env


def run_timed(cmd: list[str], env: dict[str, str], log: Path) -> float:
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{log.read_text()[-3000:]}")
    return elapsed


def chemprop_train(
    work: Path,
    out: str,
    env: dict[str, str],
    extra: list[str] | None = None,
    task_type: str = "regression",
    targets: tuple[str, ...] = ("logS",),
) -> tuple[float, Path]:
    """``chemprop train`` on ``work/train.csv`` with the split ``work/splits.json``."""
    out_dir = work / out
    cmd = [
        str(CHEMPROP),
        "train",
        "--data-path",
        str(work / "train.csv"),
        "--task-type",
        task_type,
        "-s",
        "SMILES",
        "--target-columns",
        *targets,
        "--splits-file",
        str(work / "splits.json"),
        "--output-dir",
        str(out_dir),
        *(extra or []),
    ]
    return run_timed(cmd, env, work / f"{out}.log"), out_dir


def chemprop_predict_table(
    work: Path, model_dir: Path, env: dict[str, str]
) -> tuple[float, pd.DataFrame]:
    """``chemprop predict`` of ``work/test.csv`` with the best model under ``model_dir``."""
    models = sorted(model_dir.rglob("best*.pt")) or sorted(model_dir.rglob("*.pt"))
    if not models:
        sys.exit(f"no chemprop model file under {model_dir}")
    preds_path = work / "preds.csv"
    cmd = [
        str(CHEMPROP),
        "predict",
        "--test-path",
        str(work / "test.csv"),
        "-s",
        "SMILES",
        "--model-paths",
        str(models[0]),
        "--preds-path",
        str(preds_path),
    ]
    elapsed = run_timed(cmd, env, work / "predict.log")
    return elapsed, pd.read_csv(preds_path)


def chemprop_predict(work: Path, model_dir: Path, env: dict[str, str]) -> tuple[float, np.ndarray]:
    elapsed, preds = chemprop_predict_table(work, model_dir, env)
    col = "logS" if "logS" in preds.columns else preds.columns[-1]
    return elapsed, preds[col].to_numpy(dtype=float)


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(p).ravel()) ** 2)))


def params_yaml_models() -> dict[str, dict[str, Any]]:
    cfg = yaml.safe_load((ROOT / "params.yaml").read_text())
    return {
        name: dict(entry.get("params") or {})
        for name, entry in (cfg.get("models") or {}).items()
        if name in MODELS
    }


def fit_ours(
    kind: str,
    params: dict[str, Any],
    data: dict[str, Any],
    seed: int,
) -> tuple[float, np.ndarray, Any]:
    task = TaskSpec(TaskType.REGRESSION, ["logS"], "rmse")
    est = build_model(kind, task, params, seed)
    t0 = time.perf_counter()
    est.fit(data["X_tr"], data["y_tr"], data["X_val"], data["y_val"])
    pred = est.predict(data["X_test"])[:, 0]
    return time.perf_counter() - t0, pred, est


def run_accuracy(
    args: argparse.Namespace,
    work: Path,
    env: dict[str, str],
    data: dict[str, Any],
    y_test: np.ndarray,
    rows: list[dict[str, Any]],
) -> float:
    """Part 1: chemprop with CLI defaults, then our graph models; returns chemprop's RMSE."""
    print("chemprop train (defaults) ...", flush=True)
    t_train, model_dir = chemprop_train(work, "cp_default", env)
    t_pred, cp_pred = chemprop_predict(work, model_dir, env)
    cp_rmse = rmse(y_test, cp_pred)
    rows.append(
        {
            "model": f"chemprop {CHEMPROP_VERSION} (CLI defaults)",
            "rmse": cp_rmse,
            "wall": t_train + t_pred,
            "note": f"train {t_train:.1f} s + predict {t_pred:.1f} s",
        }
    )
    print(f"  chemprop test RMSE {cp_rmse:.4f}, {t_train:.1f}+{t_pred:.1f} s", flush=True)

    # ours, params.yaml params
    yaml_params = params_yaml_models()
    for kind in MODELS:
        params = {**yaml_params.get(kind, {}), "threads": args.threads}
        print(f"ours {kind} {params} ...", flush=True)
        wall, pred, est = fit_ours(kind, params, data, args.seed)
        score = rmse(y_test, pred)
        rows.append(
            {
                "model": f"ours {kind}",
                "rmse": score,
                "wall": wall,
                "note": f"{est.epochs_trained_} epochs, best {est.best_epoch_}; "
                + ", ".join(f"{k}={v}" for k, v in params.items()),
            }
        )
        print(f"  {kind} test RMSE {score:.4f}, {wall:.1f} s", flush=True)

    return cp_rmse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    # chemprop needs more epochs than its 2 warm-up epochs
    ap.add_argument("--short-epochs", type=int, default=3)
    ap.add_argument("--long-epochs", type=int, default=8)
    ap.add_argument(
        "--epoch-time-only", action="store_true", help="skip part 1 (the accuracy runs)"
    )
    args = ap.parse_args()
    ensure_venv()
    env = thread_env(args.threads)

    raw, holdout = load_demo()
    train = pd.DataFrame(
        {"SMILES": raw.x_train["SMILES"], "logS": raw.y_train["logS"].astype(float)}
    )
    test_smiles = raw.x_test["SMILES"].tolist()
    y_test = holdout["logS"].to_numpy(dtype=float)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(train))
    n_val = round(0.1 * len(train))
    val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    smiles = train["SMILES"].tolist()
    y = train["logS"].to_numpy()[:, None]
    data = {
        "X_tr": ModelInput([smiles[i] for i in tr_idx]),
        "y_tr": y[tr_idx],
        "X_val": ModelInput([smiles[i] for i in val_idx]),
        "y_val": y[val_idx],
        "X_test": ModelInput(test_smiles),
    }
    rows: list[dict[str, Any]] = []

    with tempfile.TemporaryDirectory(prefix="bench-chemprop-") as tmp:
        work = Path(tmp)
        train.to_csv(work / "train.csv", index=False)
        pd.DataFrame({"SMILES": test_smiles}).to_csv(work / "test.csv", index=False)
        # same validation split; chemprop wants a non-empty test fold, so it gets the
        # validation molecules again (only its end-of-training report uses them)
        split = {"train": tr_idx.tolist(), "val": val_idx.tolist(), "test": val_idx.tolist()}
        (work / "splits.json").write_text(json.dumps([split]))

        # 1. accuracy, chemprop defaults vs ours
        cp_rmse = float("nan")
        if not args.epoch_time_only:
            cp_rmse = run_accuracy(args, work, env, data, y_test, rows)

        # 2. epoch time at equal size: chemprop defaults vs our D-MPNN 300/3
        es, el = args.short_epochs, args.long_epochs
        cp_t = {}
        for e in (es, el):
            print(f"chemprop train --epochs {e} ...", flush=True)
            cp_t[e], _ = chemprop_train(work, f"cp_e{e}", env, ["--epochs", str(e)])
        our_t = {}
        timing_params = {
            "hidden": 300,
            "depth": 3,
            "head_hidden": 300,
            "batch_size": 64,
            "patience": 10**6,
            "threads": args.threads,
        }
        for e in (es, el):
            print(f"ours dmpnn 300/3 epochs={e} ...", flush=True)
            t0 = time.perf_counter()
            est = build_model(
                "dmpnn",
                TaskSpec(TaskType.REGRESSION, ["logS"], "rmse"),
                {**timing_params, "epochs": e},
                args.seed,
            )
            est.fit(data["X_tr"], data["y_tr"], data["X_val"], data["y_val"])
            our_t[e] = time.perf_counter() - t0
    cp_epoch = (cp_t[el] - cp_t[es]) / (el - es)
    our_epoch = (our_t[el] - our_t[es]) / (el - es)
    ratio = our_epoch / cp_epoch

    load = os.getloadavg()
    print()
    print(
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores "
        f"({platform.machine()}), Python {platform.python_version()}, load average "
        f"{load[0]:.2f} at the end; {args.threads} torch thread(s) for both tools; "
        f"seed {args.seed}; validation = random 10% of the training set "
        f"({len(val_idx)} of {len(train)}), same split for both; test = the demo's fixed "
        f"split ({len(test_smiles)} molecules)."
    )
    print()
    if rows:
        report_accuracy(rows, cp_rmse)
    print("| epoch time (hidden 300, depth 3, batch 64) | ours D-MPNN | chemprop | ratio |")
    print("|---|---:|---:|---:|")
    print(
        f"| ({el} - {es} epochs) | {our_epoch:.2f} s | {cp_epoch:.2f} s | **{ratio:.2f}** "
        f"(target <= 1.0: {'met' if ratio <= 1.0 else 'missed'}) |"
    )
    print()
    print(
        f"raw: chemprop {es} ep {cp_t[es]:.1f} s, {el} ep {cp_t[el]:.1f} s; "
        f"ours {es} ep {our_t[es]:.1f} s, {el} ep {our_t[el]:.1f} s"
    )


def report_accuracy(rows: list[dict[str, Any]], cp_rmse: float) -> None:
    print("| model | test RMSE | wall time (fit + predict) | notes |")
    print("|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['model']} | {r['rmse']:.4f} | {r['wall']:.1f} s | {r['note']} |")
    print()
    best = min((r for r in rows if r["model"].startswith("ours")), key=lambda r: r["rmse"])
    verdict = "met" if best["rmse"] <= cp_rmse else "missed"
    print(
        f"Best graph model: {best['model']} {best['rmse']:.4f} vs chemprop {cp_rmse:.4f} "
        f"(target best <= chemprop: **{verdict}**)."
    )
    print()


if __name__ == "__main__":
    main()
