"""CatBoost vs XGBoost, and repeated CV (issue 13, item 4), on both datasets in one run.

The project's own stages in scratch projects (``prepare``, ``featurize``, ``train``,
``compare``), the same folds for every model of a dataset, params.yaml's ``xgb`` and
``catboost`` params without tuning (one fixed configuration each):

- ``xgb`` and ``catboost`` on the same features (``rdkit2d + admet_ai``), and with
  ``--maplight`` ``catboost_maplight`` on MapLight's kind of input
  (``morgan_counts + rdkit2d + admet_ai``);
- demo (Huuskonen, solubility endpoints excluded as in params.yaml): CV RMSE per fold,
  holdout RMSE, fit time (the train stage's CV seconds, 5 folds + the test predictions);
- challenge-admet (``--admet-dir``, skipped when missing; all admet-ai endpoints): micro-F1
  per fold at 0.5 (the train stage's CV) and with thresholds tuned in nested CV;
- gains paired per fold against ``xgb``;
- the ensemble stage's weights over the tabular members (``xgb``, ``rf``, ``linear`` as in
  params.yaml) with and without a CatBoost model, by nested CV (and demo holdout): whether
  CatBoost earns its place in the default ensemble;
- ``chemchallenge compare xgb catboost --repeats 3`` on the demo (and on challenge-admet
  with ``--compare-admet``).

Usage: ``python benchmarks/bench_boosters.py [--admet-dir ../shared/data/challenge-admet]
[--work DIR] [--repeats 3] [--json out.json]``. With ``--work``, prepared data and features
already there are reused.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bench_transfer import (
    SOLUBILITY_ENDPOINTS,
    fold_scores,
    load,
    nested,
    oof,
    per_fold,
    run,
    spread,
)

ROOT = Path(__file__).resolve().parents[1]
FEATURES = {"xgb": ["rdkit2d", "admet_ai"], "catboost": ["rdkit2d", "admet_ai"]}
#: ``--maplight``: CatBoost on MapLight's kind of input too (2048 more columns: ~10x slower)
MAPLIGHT = {"catboost_maplight": ["morgan_counts", "rdkit2d", "admet_ai"]}
#: the other tabular members of the default ensemble (params.yaml's entries as they are)
OTHERS = ["rf", "linear"]


def project(work: Path, data: dict[str, Any], admet_ai: dict[str, Any]) -> None:
    """A scratch project: the repository's params.yaml with three boosted models."""
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data)
    feats = params["featurize"]["featurizers"]
    params["featurize"]["featurizers"] = {
        "rdkit2d": feats["rdkit2d"],
        "morgan_counts": feats["morgan_counts"],
        "admet_ai": admet_ai,
    }
    models = params["models"]
    params["models"] = {
        name: {
            "kind": models[base]["kind"],
            "features": f,
            "params": dict(models[base].get("params") or {}),
        }
        for name, f in FEATURES.items()
        for base in ["catboost" if name.startswith("catboost") else "xgb"]
    } | {name: models[name] for name in OTHERS}
    params["train"]["models"] = [*FEATURES, *OTHERS]
    params["submit"]["model"] = "xgb"
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def cpu_run(cmd: list[str], work: Path) -> tuple[float, float, str]:
    """``run`` plus the CPU seconds (user + sys) of the command: on a shared machine the
    wall time depends on the other jobs, the CPU time much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, out = run(cmd, work)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def build(
    work: Path,
    featurizers: tuple[str, ...] = ("rdkit2d", "morgan_counts", "admet_ai"),
    models: list[str] | None = None,
) -> dict[str, float]:
    """prepare and featurize (unless already there), train every model (default: this
    bench's): wall seconds (and ``cpu <step>``: CPU seconds of each train command)."""
    seconds: dict[str, float] = {}
    if not (work / "data/prepared/folds.parquet").exists():
        seconds["prepare"], _ = run(["prepare"], work)
    for f in featurizers:
        if not (work / f"data/features/{f}.parquet").exists():
            seconds[f"featurize {f}"], _ = run(["featurize", f], work)
    for m in models or [*FEATURES, *OTHERS]:
        seconds[f"train {m}"], seconds[f"cpu train {m}"], out = cpu_run(["train", m], work)
        print(f"    {out.splitlines()[-1]}")
    return seconds


def fit_seconds(work: Path, model: str) -> float:
    return float(json.loads((work / f"models/{model}/scores.json").read_text())["seconds"])


def blends(work: Path, task: Any, y: np.ndarray, folds: np.ndarray) -> dict[str, Any]:
    """The ensemble stage's weights (non-negative, sum 1, fitted on OOF) over the tabular
    members, with and without a CatBoost model, scored by nested CV (thresholds tuned for
    F1) and, on the demo, on the holdout (weights fitted on all OOF rows)."""
    from chemchallenge.ensemble.nested import nested_cv
    from chemchallenge.ensemble.weights import fit_weights

    train = pd.read_parquet(work / "data/prepared/train.parquet")
    test = pd.read_parquet(work / "data/prepared/test.parquet")
    hold_path = work / "data/prepared/holdout_labels.parquet"
    out: dict[str, Any] = {}
    for extra in ([], *([m] for m in FEATURES if m.startswith("catboost"))):
        members = ["xgb", *OTHERS, *extra]
        P = np.stack([oof(work, m, task, train["id"]) for m in members], axis=1)
        res = nested_cv(P, y, folds, task, lambda P_, y_: fit_weights(P_, y_, task))
        row: dict[str, Any] = {"folds": res.tuned or res.at_05}
        w = fit_weights(P, y, task)
        row["weights"] = dict(zip(members, np.round(w.weights, 3).tolist()))
        if hold_path.exists():
            hold = pd.read_parquet(hold_path)
            hold["id"] = hold["id"].astype(str)
            ids = test["id"].astype(str)
            y_hold = hold.set_index("id").loc[ids, task.targets].to_numpy(float)
            T = []
            for m in members:
                pt = pd.read_parquet(work / "models" / m / "test.parquet")
                pt["id"] = pt["id"].astype(str)
                T.append(pt.set_index("id").loc[ids, task.output_columns].to_numpy(float))
            pred = w.predict(np.stack(T, axis=1))
            row["holdout"] = float(np.sqrt(np.mean((pred - y_hold) ** 2)))
        out[" + ".join(members)] = row
    ref = next(iter(out.values()))["folds"]
    print("\nensemble weights (nested CV; demo: holdout of weights fitted on all OOF):")
    for name, row in out.items():
        row["gain"] = list(np.subtract(row["folds"], ref))
        hold = f" holdout {row['holdout']:.4f}" if "holdout" in row else ""
        print(
            f"  {name:40s} {spread(row['folds'])} (vs without CatBoost "
            f"{spread(row['gain'])}){hold} weights {row['weights']}"
        )
    return out


def compare(work: Path, repeats: int) -> tuple[float, str]:
    seconds, _ = run(["compare", "xgb", "catboost", "--repeats", str(repeats)], work)
    out = json.loads((work / "reports/compare/xgb-catboost.json").read_text())
    from chemchallenge.models.repeated import describe

    text = "\n".join(describe(out, out["seconds"]))
    print(text)
    return seconds, text


def demo(base: Path, repeats: int) -> dict[str, Any]:
    work = base / "demo"
    project(
        work,
        {"source": "demo"},
        {
            "physchem": False,
            "exclude": SOLUBILITY_ENDPOINTS,
        },
    )
    seconds = build(work)
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    rows: dict[str, Any] = {}
    ref = None
    for m in FEATURES:
        f = fold_scores(task, y, oof(work, m, task, train["id"]), folds)
        ref = f if ref is None else ref
        metrics = json.loads((work / f"metrics/{m}.json").read_text())
        rows[m] = {
            "folds": f,
            "holdout": metrics["holdout"],
            "gain": list(np.subtract(f, ref)),
            "fit_s": fit_seconds(work, m),
            "train_wall_s": seconds[f"train {m}"],
            "train_cpu_s": seconds[f"cpu train {m}"],
        }
    print("\n== demo (Huuskonen), params.yaml params untuned, RMSE (lower is better) ==")
    print(
        f"{'model':20s} {'CV mean ± std':>16s}  {'per fold':34s} {'vs xgb':>16s} holdout  "
        "CV s  train wall/CPU s"
    )
    for m, r in rows.items():
        print(
            f"{m:20s} {spread(r['folds']):>16s}  {per_fold(r['folds']):34s} "
            f"{spread(r['gain']):>16s} {r['holdout']:.4f} {r['fit_s']:5.1f}  "
            f"{r['train_wall_s']:.0f}/{r['train_cpu_s']:.0f}"
        )
    ens = blends(work, task, y, folds)
    print(f"\n== demo: chemchallenge compare xgb catboost --repeats {repeats} ==")
    seconds["compare"], text = compare(work, repeats)
    return {"models": rows, "ensemble": ens, "seconds": seconds, "compare": text}


def admet(base: Path, challenge_dir: Path, repeats: int, with_compare: bool) -> dict[str, Any]:
    work = base / "admet"
    project(work, {"source": "challenge", "challenge_dir": str(challenge_dir)}, {"physchem": False})
    seconds = build(work)
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    rows: dict[str, Any] = {}
    ref = None
    for m in FEATURES:
        p = oof(work, m, task, train["id"])
        r = nested(task, y, p, folds, False)
        ref = r.tuned if ref is None else ref
        rows[m] = {
            "at_0.5": r.at_05,
            "tuned": r.tuned,
            "gain": list(np.subtract(r.tuned, ref)),
            "fit_s": fit_seconds(work, m),
            "train_cpu_s": seconds[f"cpu train {m}"],
        }
    print("\n== challenge-admet, params.yaml params untuned, micro-F1 (higher is better) ==")
    print(
        f"{'model':20s} {'at 0.5':>16s} {'nested tuned':>16s}  {'per fold (tuned)':34s} "
        f"{'vs xgb':>16s}  CV s  train CPU s"
    )
    for m, r in rows.items():
        print(
            f"{m:20s} {spread(r['at_0.5']):>16s} {spread(r['tuned']):>16s}  "
            f"{per_fold(r['tuned']):34s} {spread(r['gain']):>16s} {r['fit_s']:5.1f}  "
            f"{r['train_cpu_s']:.0f}"
        )
    out: dict[str, Any] = {"models": rows, "seconds": seconds}
    out["ensemble"] = blends(work, task, y, folds)
    if with_compare:
        print(f"\n== challenge-admet: chemchallenge compare xgb catboost --repeats {repeats} ==")
        seconds["compare"], out["compare"] = compare(work, repeats)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admet-dir", default=str(ROOT.parent / "shared/data/challenge-admet"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--compare-admet", action="store_true")
    ap.add_argument("--maplight", action="store_true", help="also catboost_maplight (slow)")
    ap.add_argument("--json", default=None, help="write every figure to this JSON file")
    args = ap.parse_args()
    if args.maplight:
        FEATURES.update(MAPLIGHT)
    base = Path(args.work or tempfile.mkdtemp(prefix="bench_boosters_"))
    print(f"scratch projects in {base}; load average {os.getloadavg()[0]:.1f}")
    out: dict[str, Any] = {"load_average_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if not args.skip_demo:
        out["demo"] = demo(base, args.repeats)
    challenge = Path(args.admet_dir)
    if (challenge / "X_train.csv").exists():
        out["admet"] = admet(base, challenge, args.repeats, args.compare_admet)
    else:
        print(f"\n(challenge-admet skipped: {challenge} not found)", file=sys.stderr)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["load_average_end"] = os.getloadavg()[0]
    print(f"\nwall {out['wall_s']} s; load average {out['load_average_end']:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
