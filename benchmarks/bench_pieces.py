"""Issue 13's pieces side by side, one run, both datasets: what each added piece gains.

Scratch projects run the project's own stages (``prepare``, ``featurize``, ``train``) with
the same 5 folds for every model of a dataset; every model uses params.yaml's own params
for its kind, untuned, so that a gain is the piece's, not the tuner's:

1. **transfer features** — XGBoost on ``rdkit2d`` vs on ``rdkit2d + admet_ai`` (the default
   ``exclude`` of params.yaml: no solubility/lipophilicity endpoint on the demo);
2. **descriptor-augmented graph networks** — D-MPNN and AttentiveFP alone vs the same nets
   with scaled ``rdkit2d + admet_ai`` concatenated to the learned molecule vector
   (``use_descriptors: true``, as chemprop's ``rdkit_2d_normalized``);
3. **label structure** (multi-label only) — the ensemble of every model above with
   independent per-label weights (``ensemble.method: weights``) vs ``label_stacking``
   (each label's stacker sees all labels' predictions), and one model with vs without
   label stacking.

Scores: demo RMSE per fold + holdout (the fixed 257-molecule test split); challenge-admet
micro-F1 in nested CV (thresholds tuned on the other folds), the ensemble stage's
procedure. Gains are paired per fold against the piece's reference: mean ± std.

Usage: ``python benchmarks/bench_pieces.py [--admet-dir ../shared/data/challenge-admet]
[--work DIR] [--skip-demo] [--skip-admet] [--json out.json]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bench_transfer import ROOT, finish, fold_scores, holdout_rows, load, oof, per_fold, run, spread

#: name -> (params.yaml model whose kind/params are used, features, extra params)
MODELS: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "xgb rdkit2d": ("xgb", ["rdkit2d"], {}),
    "xgb rdkit2d+admet_ai": ("xgb", ["rdkit2d", "admet_ai"], {}),
    "dmpnn": ("dmpnn", [], {"use_descriptors": False}),
    "dmpnn + descriptors": ("dmpnn", ["rdkit2d", "admet_ai"], {"use_descriptors": True}),
    "attentivefp": ("attentivefp", [], {"use_descriptors": False}),
    "attentivefp + descriptors": (
        "attentivefp",
        ["rdkit2d", "admet_ai"],
        {"use_descriptors": True},
    ),
}
#: (piece, model, reference)
PIECES = [
    ("transfer features", "xgb rdkit2d+admet_ai", "xgb rdkit2d"),
    ("augmented D-MPNN", "dmpnn + descriptors", "dmpnn"),
    ("augmented AttentiveFP", "attentivefp + descriptors", "attentivefp"),
]


def slug(name: str) -> str:
    return name.replace(" + ", "_").replace("+", "_").replace(" ", "_")


def project(work: Path, data: dict[str, Any]) -> Path:
    """A scratch project: params.yaml with these models only (their params.yaml params)."""
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data)
    feats = params["featurize"]["featurizers"]
    params["featurize"]["featurizers"] = {k: feats[k] for k in ("rdkit2d", "admet_ai")}
    if data.get("source") == "challenge":  # the challenge's own admet_ai: all endpoints
        params["featurize"]["featurizers"]["admet_ai"] = {
            k: v for k, v in feats["admet_ai"].items() if k != "exclude"
        }
    models = {}
    for name, (base, features, extra) in MODELS.items():
        spec = dict(params["models"][base])
        spec["params"] = {**(spec.get("params") or {}), **extra}
        spec.pop("tune", None)
        spec.pop("search_space", None)
        spec["features"] = features
        if not features:
            spec.pop("features")
        models[slug(name)] = spec
    params["models"] = models
    params["train"]["models"] = list(models)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return work


def build(work: Path) -> dict[str, float]:
    seconds: dict[str, float] = {}
    seconds["prepare"], _ = run(["prepare"], work)
    for f in ("rdkit2d", "admet_ai"):
        seconds[f"featurize {f}"], _ = run(["featurize", f], work)
    for name in MODELS:
        seconds[f"train {name}"], _ = run(["train", slug(name)], work)
    return seconds


def table(title: str, rows: dict[str, dict[str, Any]], cols: list[str]) -> None:
    print(f"\n== {title} ==")
    print(f"{'':34s} " + " ".join(f"{c:>18s}" for c in cols) + "   per fold")
    for name, r in rows.items():
        cells = " ".join(
            f"{spread(r[c]) if isinstance(r.get(c), list) else str(r.get(c, '')):>18s}"
            for c in cols
        )
        print(f"{name:34s} {cells}   {per_fold(r[cols[0]])}")


def demo(base: Path) -> dict[str, Any]:
    work = project(base / "demo", {"source": "demo"})
    seconds = build(work)
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    test, y_hold = holdout_rows(work, task)
    cv: dict[str, list[float]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for name in MODELS:
        m = slug(name)
        cv[name] = fold_scores(task, y, oof(work, m, task, train["id"]), folds)
        pt = pd.read_parquet(work / "models" / m / "test.parquet")
        pt["id"] = pt["id"].astype(str)
        pt = pt.set_index("id").loc[test["id"].astype(str), task.output_columns].to_numpy(float)
        holdout = float(np.sqrt(np.mean((pt - y_hold) ** 2)))
        rows[name] = {
            "CV RMSE": cv[name],
            "holdout": f"{holdout:.4f}",
            "s": seconds[f"train {name}"],
        }
    gains = {
        f"{piece}: {model}": {"gain (CV RMSE)": list(np.subtract(cv[model], cv[ref]))}
        for piece, model, ref in PIECES
    }
    table("demo (Huuskonen logS), RMSE, lower is better", rows, ["CV RMSE", "holdout", "s"])
    table(
        "demo: each piece's paired gain vs its reference (negative = better)",
        gains,
        ["gain (CV RMSE)"],
    )
    print("label structure: n/a on the demo (one regression target)")
    return {"models": rows, "gains": gains, "seconds": seconds}


def admet(base: Path, challenge_dir: Path) -> dict[str, Any]:
    from chemchallenge.ensemble.nested import nested_best_single, nested_cv
    from chemchallenge.ensemble.weights import make_fit

    work = project(base / "admet", {"source": "challenge", "challenge_dir": str(challenge_dir)})
    seconds = build(work)
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    P = {name: oof(work, slug(name), task, train["id"]) for name in MODELS}
    rows: dict[str, dict[str, Any]] = {}
    for name, p in P.items():
        r = nested_best_single(p[:, None, :], y, folds, task)[0]
        rows[name] = {"at 0.5": r.at_05, "tuned": r.tuned, "s": seconds[f"train {name}"]}
    everything = np.stack(list(P.values()), axis=1)
    best = "xgb rdkit2d+admet_ai"
    for label, members, method in [
        ("ensemble, weights", everything, "weights"),
        ("ensemble, label_stacking", everything, "label_stacking"),
        (f"{best}, label_stacking", P[best][:, None, :], "label_stacking"),
    ]:
        r = nested_cv(members, y, folds, task, make_fit(method, task))
        rows[label] = {"at 0.5": r.at_05, "tuned": r.tuned, "s": ""}
    pieces = [
        *PIECES,
        ("label structure", "ensemble, label_stacking", "ensemble, weights"),
        ("label structure", f"{best}, label_stacking", best),
    ]
    gains = {
        f"{piece}: {model}": {
            "gain (tuned)": list(np.subtract(rows[model]["tuned"], rows[ref]["tuned"])),
            "gain (at 0.5)": list(np.subtract(rows[model]["at 0.5"], rows[ref]["at 0.5"])),
        }
        for piece, model, ref in pieces
    }
    table("challenge-admet, micro-F1 (nested CV), higher is better", rows, ["tuned", "at 0.5", "s"])
    table(
        "challenge-admet: each piece's paired gain vs its reference",
        gains,
        ["gain (tuned)", "gain (at 0.5)"],
    )
    return {"models": rows, "gains": gains, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admet-dir", default=str(ROOT.parent / "shared/data/challenge-admet"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-admet", action="store_true")
    ap.add_argument("--json", default=None, help="write every figure to this JSON file")
    args = ap.parse_args()
    base = Path(args.work or tempfile.mkdtemp(prefix="bench_pieces_"))
    print(f"scratch projects in {base}; load average {os.getloadavg()[0]:.1f}")
    out: dict[str, Any] = {"load_average_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if not args.skip_demo:
        out["demo"] = demo(base)
    if args.skip_admet:
        pass
    elif Path(args.admet_dir, "X_train.csv").exists():
        out["admet"] = admet(base, Path(args.admet_dir))
    else:
        print(f"\n(challenge-admet skipped: {args.admet_dir} not found)")
    finish(out, t0, args.json)


if __name__ == "__main__":
    main()
