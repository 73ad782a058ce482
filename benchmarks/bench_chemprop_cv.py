"""chemprop 2.3.1 (CLI defaults) as a peer on a challenge run's own cross-validation folds.

Issue 13 asks for the submitted model beside chemprop "with its defaults, same split, same
machine". On a challenge the split that decides is the project's K-fold CV, so this script
trains chemprop once per fold of a finished run of this project (``dvc repro ensemble`` on
the challenge files) and scores it the way the ensemble stage scores the submitted model:

- **chemprop**: ``chemprop train`` with all defaults (50 epochs, D-MPNN hidden 300, depth 3,
  best-validation checkpoint) on the other folds, a random 10 % of them as its validation
  set (its early checkpointing never sees the scored fold), then ``chemprop predict`` on
  the fold; one multitask model over every target, as chemprop does by default;
- **chemprop + xgb**: the plain average of chemprop's and the run's ``xgb`` out-of-fold
  predictions (the strong simple peer of the issue);
- **ours**: the run's own ``metrics/ensemble.json`` (the submitted ensemble, nested CV).

Classification scores: the metric at 0.5 and with thresholds tuned in nested CV (on the
other folds, :func:`chemchallenge.ensemble.nested.nested_cv`), per fold; regression: the
metric per fold. chemprop lives in ``benchmarks/.venv-chemprop`` (created by
``bench_chemprop.py`` when missing), never in the package.

Usage: ``python benchmarks/bench_chemprop_cv.py --project DIR [--threads 2] [--seed 0]
[--epochs N (smoke runs only; default: chemprop's)] [--folds 0,1] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench_chemprop import (
    CHEMPROP_VERSION,
    chemprop_predict_table,
    chemprop_train,
    ensure_venv,
    thread_env,
)
from bench_transfer import per_fold, spread


def chemprop_fold(
    work: Path,
    smiles: list[str],
    y: np.ndarray,
    targets: list[str],
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    classification: bool,
    args: argparse.Namespace,
) -> tuple[np.ndarray, float]:
    """chemprop trained on ``train_rows`` (10 % of them for validation), predicted on
    ``test_rows``: (len(test_rows), n_targets) probabilities or values, and the seconds."""
    env = thread_env(args.threads)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(train_rows)
    n_val = round(0.1 * len(perm))
    split = {
        "train": sorted(perm[n_val:].tolist()),
        "val": sorted(perm[:n_val].tolist()),
        "test": sorted(perm[:n_val].tolist()),  # chemprop wants one; only its report uses it
    }
    data = pd.DataFrame(y, columns=targets)
    data.insert(0, "SMILES", smiles)
    data.to_csv(work / "train.csv", index=False)
    (work / "splits.json").write_text(json.dumps([split]))
    pd.DataFrame({"SMILES": [smiles[i] for i in test_rows]}).to_csv(work / "test.csv", index=False)
    seed = ["--data-seed", str(args.seed), "--pytorch-seed", str(args.seed)]
    epochs = ["--epochs", str(args.epochs)] if args.epochs else []
    seconds, out = chemprop_train(
        work,
        "model",
        env,
        seed + epochs,
        "classification" if classification else "regression",
        tuple(targets),
    )
    predict_s, table = chemprop_predict_table(work, out, env)
    seconds += predict_s
    return table[targets].to_numpy(float), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--project", required=True, help="a challenge run of this project")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=0, help="0: chemprop's default (50)")
    ap.add_argument("--folds", default="", help="comma-separated folds (default: all)")
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--oof",
        default=None,
        help="CSV of chemprop's out-of-fold predictions: written, or read when it exists "
        "(compare against another run on the same folds without retraining)",
    )
    args = ap.parse_args()

    from chemchallenge.ensemble.nested import nested_cv
    from chemchallenge.ensemble.weights import make_fit
    from chemchallenge.inputs import load_task
    from chemchallenge.io import read_json, read_parquet
    from chemchallenge.metrics import score
    from chemchallenge.paths import Paths
    from chemchallenge.stages.ensemble import load_predictions

    ensure_venv()
    paths = Paths(Path(args.project).resolve())
    task = load_task(paths)
    train, test = read_parquet(paths.train), read_parquet(paths.test)
    folds = read_parquet(paths.folds).set_index("id").loc[train["id"], "fold"].to_numpy()
    y = train[task.targets].to_numpy(float)
    smiles = train["smiles"].tolist()
    chosen = (
        sorted({int(f) for f in folds})
        if not args.folds
        else [int(f) for f in args.folds.split(",")]
    )
    classification = task.is_classification
    if classification and task.output_columns != task.targets:
        raise SystemExit(f"{task.type}: only binary / multi-label tasks are supported here")

    P = np.full(y.shape, np.nan)
    seconds: list[float] = []
    t0 = time.perf_counter()
    saved = Path(args.oof) if args.oof else None
    reuse = saved is not None and saved.exists()
    if reuse:
        table = pd.read_csv(saved, dtype={"id": str}).set_index("id")
        P = table.loc[train["id"].astype(str), task.targets].to_numpy(float)
        chosen = sorted({int(f) for f in folds[~np.isnan(P).any(axis=1)]})
        print(f"chemprop out-of-fold predictions read from {saved} (folds {chosen})")
    for k in [] if reuse else chosen:
        train_rows, test_rows = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        with tempfile.TemporaryDirectory(prefix=f"cp-fold{k}-") as tmp:
            pred, s = chemprop_fold(
                Path(tmp), smiles, y, task.targets, train_rows, test_rows, classification, args
            )
        P[test_rows] = pred
        seconds.append(s)
        print(
            f"fold {k}: chemprop {task.metric} {score(task.metric, y[test_rows], pred, task):.4f}"
            f" ({s:.0f} s)",
            flush=True,
        )
    if saved is not None and not reuse:
        table = pd.DataFrame(P, columns=task.targets)
        table.insert(0, "id", train["id"].astype(str).to_numpy())
        table.to_csv(saved, index=False)
    rows = np.isin(folds, chosen)
    xgb, _ = load_predictions(paths, ["xgb"], task, train["id"], test["id"])
    ens = read_json(paths.metrics("ensemble")) if paths.metrics("ensemble").exists() else {}

    results: dict[str, Any] = {"folds": chosen, "seconds_per_fold": seconds}
    members = {
        "chemprop": P[rows][:, None, :],
        "chemprop + xgb (mean)": np.stack([P[rows], xgb[rows, 0]], axis=1),
    }
    epochs = f" ({args.epochs} epochs)" if args.epochs else ""
    print()
    print(
        f"chemprop {CHEMPROP_VERSION} CLI defaults{epochs}"
        f" on {len(chosen)} fold(s) of {paths.root}; {args.threads} thread(s); "
        f"{np.mean(seconds) if seconds else float('nan'):.0f} s per fold; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print()
    print(f"| model | {task.metric} at 0.5 | tuned thresholds (nested) | per fold (tuned) |")
    print("|---|---|---|---|")
    for name, Pm in members.items():
        if len(chosen) < 2:  # no other fold to tune thresholds on: the metric at 0.5 only
            mean = Pm.mean(axis=1)
            at_05 = [
                score(task.metric, y[folds == k], mean[folds[rows] == k], task) for k in chosen
            ]
            results[name] = {"at_05": at_05}
            print(f"| {name} | {spread(at_05)} | n/a (one fold) | {per_fold(at_05)} |")
            continue
        fit = make_fit("mean_topk", task, Pm.shape[1])  # a plain mean of the members
        r = nested_cv(Pm, y[rows], folds[rows], task, fit)
        tuned = r.tuned or r.at_05
        results[name] = {"at_05": r.at_05, "tuned": tuned}
        print(f"| {name} | {spread(r.at_05)} | {spread(tuned)} | {per_fold(tuned)} |")
    if ens:
        print(
            f"| ours: submitted ensemble (metrics/ensemble.json, all folds) | "
            f"| {ens.get('cv_mean')} ± {ens.get('cv_std')} | |"
        )
        results["ours"] = ens
    print(f"\nwall {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
