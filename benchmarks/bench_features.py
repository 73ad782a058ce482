"""Added input features, before vs after, on both datasets in one run.

Two sets of changes (``--set``):

- ``maplight``: MapLight's fingerprints (Avalon counts + ErG) for the tree models: ``xgb``
  and ``catboost`` on ``rdkit2d + admet_ai`` before, ``+ avalon + erg`` after; ``rf`` on
  ``morgan_counts + rdkit2d + admet_ai`` before, ``rdkit2d + admet_ai + avalon + erg`` after;
  blended with ``linear``;
- ``minimol`` (default): MiniMol's pretrained embedding: ``xgb`` on
  ``rdkit2d + admet_ai + avalon + erg`` before, ``rdkit2d + admet_ai + erg + minimol`` after;
  the ``mlp`` on ``rdkit2d + maccs + admet_ai`` before, ``+ minimol`` after; blended with
  ``catboost`` and ``linear`` as params.yaml has them (unchanged);
- ``lean``: ``xgb`` without ErG once MiniMol is in (``rdkit2d + admet_ai + erg + minimol``
  before, ``rdkit2d + admet_ai + minimol`` after: 315 fewer columns, a cheaper fit);
  blended with ``linear``.

The project's own stages in scratch projects (``prepare``, ``featurize``, ``train``), the
same folds for every model of a dataset, params.yaml's params without tuning:

- demo (Huuskonen, ``exclude: auto``, i.e. without the solubility endpoints): CV RMSE per
  fold and holdout RMSE; challenge-admet (``--admet-dir``, skipped when missing): micro-F1
  per fold at 0.5 and with thresholds tuned in nested CV;
- each model's gain, paired per fold, and its CV seconds; each featurizer's seconds;
- the ensemble stage's weights over the changed models and the unchanged ones, all before
  vs all after (nested CV).

Usage: ``python benchmarks/bench_features.py [--set minimol|maplight|lean] [--admet-dir
../shared/data/challenge-admet] [--work DIR] [--skip-demo] [--json out.json]``. With
``--work``, prepared data and features already there are reused.
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
MAPLIGHT_AFTER = ["rdkit2d", "admet_ai", "avalon", "erg"]
#: per set: changed model -> (features before, features after); then the unchanged members
SETS: dict[str, tuple[dict[str, tuple[list[str], list[str]]], list[str]]] = {
    "maplight": (
        {
            "xgb": (["rdkit2d", "admet_ai"], MAPLIGHT_AFTER),
            "catboost": (["rdkit2d", "admet_ai"], MAPLIGHT_AFTER),
            "rf": (["morgan_counts", "rdkit2d", "admet_ai"], MAPLIGHT_AFTER),
        },
        ["linear"],
    ),
    "minimol": (
        {
            "xgb": (MAPLIGHT_AFTER, ["rdkit2d", "admet_ai", "erg", "minimol"]),
            "mlp": (["rdkit2d", "maccs", "admet_ai"], ["rdkit2d", "maccs", "admet_ai", "minimol"]),
        },
        ["catboost", "linear"],
    ),
    "lean": (
        {"xgb": (["rdkit2d", "admet_ai", "erg", "minimol"], ["rdkit2d", "admet_ai", "minimol"])},
        ["linear"],
    ),
}


def featurizers(which: str) -> list[str]:
    """Every featurizer the set's models read, once."""
    changed, others = SETS[which]
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    used = [f for pair in changed.values() for side in pair for f in side]
    used += [f for m in others for f in params["models"][m]["features"]]
    return list(dict.fromkeys(used))


def project(work: Path, data: dict[str, Any], which: str) -> dict[str, list[str]]:
    """A scratch project: params.yaml with ``<model>_before`` / ``<model>_after`` pairs and
    the unchanged members as they are; returns each model's features."""
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data)
    feats = params["featurize"]["featurizers"]
    params["featurize"]["featurizers"] = {f: feats[f] for f in featurizers(which)}
    models = params["models"]
    changed, others = SETS[which]
    chosen: dict[str, Any] = {}
    for base, (before, after) in changed.items():
        for when, f in (("before", before), ("after", after)):
            chosen[f"{base}_{when}"] = {
                "kind": models[base]["kind"],
                "features": list(f),
                "params": dict(models[base].get("params") or {}),
            }
    chosen |= {m: models[m] for m in others}
    params["models"] = chosen
    params["train"]["models"] = list(chosen)
    params["submit"]["model"] = "linear"
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return {m: c["features"] for m, c in chosen.items()}


def holdout(work: Path, model: str) -> float | None:
    return json.loads((work / f"metrics/{model}.json").read_text()).get("holdout")


def blend(
    work: Path, task: Any, y: np.ndarray, folds: np.ndarray, when: str, which: str
) -> list[float]:
    """The ensemble stage's weights over the set's changed models (``when``) and its
    unchanged ones, nested CV."""
    from chemchallenge.ensemble.nested import nested_cv
    from chemchallenge.ensemble.weights import fit_weights

    train = pd.read_parquet(work / "data/prepared/train.parquet")
    changed, others = SETS[which]
    members = [f"{b}_{when}" for b in changed] + others
    P = np.stack([oof(work, m, task, train["id"]) for m in members], axis=1)
    res = nested_cv(P, y, folds, task, lambda P_, y_: fit_weights(P_, y_, task))
    return list(res.tuned or res.at_05)


def dataset(name: str, work: Path, data: dict[str, Any], which: str) -> dict[str, Any]:
    feats = project(work, data, which)
    seconds = build(work, tuple(featurizers(which)), list(feats))
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
    for step, s in seconds.items():
        if step.startswith("featurize"):
            print(f"{step}: {s:.1f} s")
    ens = {w: blend(work, task, y, folds, w, which) for w in ("before", "after")}
    d = np.subtract(ens["after"], ens["before"])
    members = " + ".join([*SETS[which][0], *SETS[which][1]])
    print(
        f"ensemble weights over {members}: before {spread(ens['before'])}, "
        f"after {spread(ens['after'])}, gain {spread(d)} (per fold {per_fold(d)})"
    )
    return {"models": rows, "ensemble": ens, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admet-dir", default=str(ROOT.parent / "shared/data/challenge-admet"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--set", default="minimol", choices=sorted(SETS), dest="which")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--json", default=None, help="write every figure to this JSON file")
    args = ap.parse_args()
    base = Path(args.work or tempfile.mkdtemp(prefix="bench_features_"))
    print(f"set {args.which}; scratch projects in {base}; load average {os.getloadavg()[0]:.1f}")
    out: dict[str, Any] = {"set": args.which, "load_average_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if not args.skip_demo:
        out["demo"] = dataset("demo (Huuskonen)", base / "demo", {"source": "demo"}, args.which)
    challenge = Path(args.admet_dir)
    if (challenge / "X_train.csv").exists():
        data = {"source": "challenge", "challenge_dir": str(challenge)}
        out["admet"] = dataset("challenge-admet", base / "admet", data, args.which)
    else:
        print(f"\n(challenge-admet skipped: {challenge} not found)", file=sys.stderr)
    finish(out, t0, args.json)


if __name__ == "__main__":
    main()
