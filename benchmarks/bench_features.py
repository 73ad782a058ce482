"""MapLight's fingerprints (Avalon counts + ErG) for the tree models, on both datasets in one run.

The project's own stages in scratch projects (``prepare``, ``featurize``, ``train``), the
same folds for every model of a dataset, params.yaml's params without tuning:

- ``xgb``, ``catboost`` and ``rf``, each on its previous input and on params.yaml's
  current one (``rdkit2d + admet_ai + avalon + erg``); before: ``rdkit2d + admet_ai`` for the
  boosters, ``morgan_counts + rdkit2d + admet_ai`` for the forest;
- demo (Huuskonen, ``exclude: auto``, i.e. without the solubility endpoints): CV RMSE per
  fold and holdout RMSE; challenge-admet (``--admet-dir``, skipped when missing): micro-F1
  per fold at 0.5 and with thresholds tuned in nested CV;
- each model's gain, paired per fold, and its CV seconds;
- the ensemble stage's weights over ``xgb + catboost + rf + linear``, all before vs all
  after (nested CV; demo holdout too).

Usage: ``python benchmarks/bench_features.py [--admet-dir ../shared/data/challenge-admet]
[--work DIR] [--skip-demo] [--json out.json]``. With ``--work``, prepared data and features
already there are reused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bench_boosters import build, fit_seconds
from bench_transfer import finish, fold_scores, load, nested, oof, per_fold, spread

ROOT = Path(__file__).resolve().parents[1]
BEFORE = {
    "xgb": ["rdkit2d", "admet_ai"],
    "catboost": ["rdkit2d", "admet_ai"],
    "rf": ["morgan_counts", "rdkit2d", "admet_ai"],
}
FEATURIZERS = ("rdkit2d", "morgan_counts", "admet_ai", "avalon", "erg")


def project(work: Path, data: dict[str, Any]) -> dict[str, list[str]]:
    """A scratch project: params.yaml with ``<model>_before`` / ``<model>_after`` pairs and
    ``linear`` as it is; returns each model's features."""
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data)
    feats = params["featurize"]["featurizers"]
    params["featurize"]["featurizers"] = {f: feats[f] for f in FEATURIZERS}
    models = params["models"]
    chosen: dict[str, Any] = {}
    for base, before in BEFORE.items():
        for when, f in (("before", before), ("after", models[base]["features"])):
            chosen[f"{base}_{when}"] = {
                "kind": models[base]["kind"],
                "features": list(f),
                "params": dict(models[base].get("params") or {}),
            }
    chosen["linear"] = models["linear"]
    params["models"] = chosen
    params["train"]["models"] = list(chosen)
    params["submit"]["model"] = "linear"
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return {m: c["features"] for m, c in chosen.items()}


def holdout(work: Path, model: str) -> float | None:
    return json.loads((work / f"metrics/{model}.json").read_text()).get("holdout")


def blend(work: Path, task: Any, y: np.ndarray, folds: np.ndarray, when: str) -> list[float]:
    """The ensemble stage's weights over xgb, catboost, rf (``when``) and linear, nested CV."""
    from chemchallenge.ensemble.nested import nested_cv
    from chemchallenge.ensemble.weights import fit_weights

    train = pd.read_parquet(work / "data/prepared/train.parquet")
    members = [f"{b}_{when}" for b in BEFORE] + ["linear"]
    P = np.stack([oof(work, m, task, train["id"]) for m in members], axis=1)
    res = nested_cv(P, y, folds, task, lambda P_, y_: fit_weights(P_, y_, task))
    return list(res.tuned or res.at_05)


def dataset(name: str, work: Path, data: dict[str, Any]) -> dict[str, Any]:
    feats = project(work, data)
    seconds = build(work, FEATURIZERS, list(feats))
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    classification = task.is_classification
    rows: dict[str, Any] = {}
    for m in feats:
        p = oof(work, m, task, train["id"])
        if classification:
            r = nested(task, y, p, folds, False)
            row = {"at_0.5": r.at_05, "folds": r.tuned}
        else:
            row = {"folds": fold_scores(task, y, p, folds), "holdout": holdout(work, m)}
        row.update(features=feats[m], fit_s=fit_seconds(work, m))
        row["train_cpu_s"] = seconds[f"cpu train {m}"]
        rows[m] = row
    unit = "micro-F1, thresholds tuned in nested CV" if classification else "RMSE"
    print(f"\n== {name}: params.yaml params untuned, {unit} ==")
    print(f"{'model':18s} {'CV mean ± std':>16s}  {'per fold':34s} {'after - before':>18s}  CV s")
    for m, r in rows.items():
        gain = ""
        if m.endswith("_after"):
            before = rows[m.replace("_after", "_before")]["folds"]
            d = np.subtract(r["folds"], before)
            r["gain"] = list(d)
            better = int(np.sum(d > 0) if classification else np.sum(d < 0))
            gain = f"{spread(d)} ({better}/{len(d)})"
        hold = f" holdout {r['holdout']:.4f}" if r.get("holdout") is not None else ""
        print(
            f"{m:18s} {spread(r['folds']):>16s}  {per_fold(r['folds']):34s} {gain:>18s} "
            f"{r['fit_s']:5.1f}{hold}"
        )
    ens = {w: blend(work, task, y, folds, w) for w in ("before", "after")}
    d = np.subtract(ens["after"], ens["before"])
    print(
        f"ensemble weights over xgb + catboost + rf + linear: before {spread(ens['before'])}, "
        f"after {spread(ens['after'])}, gain {spread(d)} (per fold {per_fold(d)})"
    )
    return {"models": rows, "ensemble": ens, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admet-dir", default=str(ROOT.parent / "shared/data/challenge-admet"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--json", default=None, help="write every figure to this JSON file")
    args = ap.parse_args()
    base = Path(args.work or tempfile.mkdtemp(prefix="bench_features_"))
    print(f"scratch projects in {base}; load average {os.getloadavg()[0]:.1f}")
    out: dict[str, Any] = {"load_average_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if not args.skip_demo:
        out["demo"] = dataset("demo (Huuskonen)", base / "demo", {"source": "demo"})
    challenge = Path(args.admet_dir)
    if (challenge / "X_train.csv").exists():
        data = {"source": "challenge", "challenge_dir": str(challenge)}
        out["admet"] = dataset("challenge-admet", base / "admet", data)
    else:
        print(f"\n(challenge-admet skipped: {challenge} not found)", file=sys.stderr)
    finish(out, t0, args.json)


if __name__ == "__main__":
    main()
