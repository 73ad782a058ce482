"""Transfer learning (issue 13): what admet-ai's pretrained endpoints add to XGBoost.

One run, both datasets, the project's own stages (``prepare``, ``featurize``, ``train``) in
scratch projects, the same 5 folds for every model of a dataset:

- **demo** (Huuskonen solubility, fixed train/test split): XGBoost on ``rdkit2d``,
  ``rdkit2d + maccs`` (``xgb``'s features before issue 13), ``rdkit2d + admet_ai`` with every
  solubility / lipophilicity / hydration endpoint excluded (the default), and, to show the
  leak, ``rdkit2d + admet_ai`` with all endpoints. Scores: CV RMSE per fold, holdout RMSE
  (the 257 test molecules, once); plus ``Solubility_AqSolDB`` alone (a linear fit on the
  training molecules, no model at all) on the holdout.
- **challenge-admet** (``--admet-dir``, skipped when missing): the same models without the
  leaky variant; micro-F1 per fold at 0.5 and with thresholds tuned in nested CV (the
  ensemble stage's procedure). Also a cross-target stacker (issue item 3: each label's
  logistic regression sees the out-of-fold logits of *all* labels, so P(Y1 | Y2) is used),
  scored by the same nested CV.

Gains are paired per fold (``model - xgb on rdkit2d`` on the same fold): mean ± std.
Every model uses params.yaml's ``xgb`` params without tuning (one fixed configuration, so a
gain is the features' and not the tuner's). Also measured: admet_ai inference time per 1000
molecules (model loading included, and without).

Needs admet-ai in the running interpreter: ``pip install -e ".[transfer]"``.

Usage: ``python benchmarks/bench_transfer.py [--admet-dir ../shared/data/challenge-admet]
[--work DIR] [--skip-demo] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from chemchallenge.features.overlap import KNOWN_OVERLAP

ROOT = Path(__file__).resolve().parents[1]
SOLUBILITY_ENDPOINTS = KNOWN_OVERLAP["demo"]  # what exclude: auto drops on the demo


def run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "chemchallenge", *cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(
            f"failed: chemchallenge {' '.join(cmd)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return seconds, "\n".join(lines[-4:])


def project(work: Path, data: dict[str, Any], featurizers: dict, models: dict) -> Path:
    """A scratch project: the repository's params.yaml with these sections replaced."""
    work.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(data)
    params["featurize"]["featurizers"] = featurizers
    xgb = params["models"]["xgb"]["params"]
    params["models"] = {
        name: {"kind": "xgboost", "features": feats, "params": dict(xgb)}
        for name, feats in models.items()
    }
    params["train"]["models"] = list(models)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return work


def build(work: Path, featurizers: dict, models: dict) -> dict[str, float]:
    """prepare, featurize, train; returns the wall seconds of each step."""
    seconds: dict[str, float] = {}
    seconds["prepare"], _ = run(["prepare"], work)
    for f in featurizers:
        seconds[f"featurize {f}"], out = run(["featurize", f], work)
        if "leak" in out:
            print("   ", out.replace("\n", "\n    "))
    for m in models:
        seconds[f"train {m}"], _ = run(["train", m], work)
    return seconds


def load(work: Path) -> tuple[Any, np.ndarray, np.ndarray]:
    from chemchallenge.io import read_json
    from chemchallenge.tasks import TaskSpec

    task = TaskSpec.from_dict(read_json(work / "data/prepared/task.json"))
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    folds = pd.read_parquet(work / "data/prepared/folds.parquet").set_index("id")
    ids = train["id"].astype(str)
    folds.index = folds.index.astype(str)
    return task, train[task.targets].to_numpy(float), folds.loc[ids, "fold"].to_numpy()


def holdout_rows(work: Path, task: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """The demo's prepared test rows and their hidden labels, in the same order."""
    test = pd.read_parquet(work / "data/prepared/test.parquet")
    hold = pd.read_parquet(work / "data/prepared/holdout_labels.parquet")
    hold["id"] = hold["id"].astype(str)
    return test, hold.set_index("id").loc[test["id"].astype(str), task.targets].to_numpy(float)


def oof(work: Path, model: str, task: Any, train_ids: pd.Series) -> np.ndarray:
    df = pd.read_parquet(work / "models" / model / "oof.parquet")
    df["id"] = df["id"].astype(str)
    return df.set_index("id").loc[train_ids.astype(str), task.output_columns].to_numpy(float)


def fold_scores(task: Any, y: np.ndarray, p: np.ndarray, folds: np.ndarray) -> list[float]:
    from chemchallenge.metrics import score

    return [score(task.metric, y[folds == k], p[folds == k], task) for k in np.unique(folds)]


def spread(values: list[float] | np.ndarray) -> str:
    v = np.asarray(values, float)
    return f"{v.mean():.4f} ± {v.std():.4f}"


def per_fold(values: list[float] | np.ndarray) -> str:
    return " ".join(f"{x:.3f}" for x in values)


def admet_ai_timing(smiles: list[str]) -> dict[str, float]:
    """Seconds per 1000 molecules: first call (loads the 10 models) and a second call."""
    from chemchallenge.features import transfer
    from chemchallenge.features.compute import featurize_smiles

    transfer._MODELS.clear()
    t0 = time.perf_counter()
    featurize_smiles("admet_ai", {}, smiles, progress=False)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    featurize_smiles("admet_ai", {}, smiles, progress=False)
    warm = time.perf_counter() - t0
    k = len(smiles) / 1000
    return {
        "molecules": len(smiles),
        "s_per_1000_with_loading": round(cold / k, 1),
        "s_per_1000": round(warm / k, 1),
        "model_loading_s": round(cold - warm, 1),
        "torch_threads": __import__("torch").get_num_threads(),
        "load_average": round(os.getloadavg()[0], 1),
    }


# --------------------------------------------------------------------------------------
# cross-target stacking (issue 13, item 3)


class CrossTargetStacker:
    """Per label, a logistic regression on the out-of-fold logits of every label."""

    def __init__(self, C: float = 1.0) -> None:
        self.C = C
        self.models: list[Any] = []

    @staticmethod
    def _logits(P: np.ndarray) -> np.ndarray:
        p = np.clip(P.reshape(len(P), -1), 1e-6, 1 - 1e-6)
        return np.log(p) - np.log1p(-p)

    def fit(self, P: np.ndarray, y: np.ndarray) -> CrossTargetStacker:
        from sklearn.linear_model import LogisticRegression

        X = self._logits(P)
        self.models = []
        for j in range(y.shape[1]):
            keep = ~np.isnan(y[:, j])
            self.models.append(LogisticRegression(C=self.C, max_iter=2000).fit(X[keep], y[keep, j]))
        return self

    def predict(self, P: np.ndarray) -> np.ndarray:
        X = self._logits(P)
        return np.column_stack([m.predict_proba(X)[:, 1] for m in self.models])


def nested(task: Any, y: np.ndarray, P: np.ndarray, folds: np.ndarray, stack: bool) -> Any:
    """Nested CV (thresholds tuned on the other folds) of one model or the cross stacker."""
    from chemchallenge.ensemble.nested import nested_best_single, nested_cv

    if not stack:
        return nested_best_single(P[:, None, :], y, folds, task)[0]
    return nested_cv(P[:, None, :], y, folds, task, lambda P_, y_: CrossTargetStacker().fit(P_, y_))


# --------------------------------------------------------------------------------------


def demo(base: Path) -> dict[str, Any]:
    work = base / "demo"
    featurizers = {
        "rdkit2d": {},
        "maccs": {},
        "admet_ai": {"exclude": SOLUBILITY_ENDPOINTS},
        "admet_all": {"type": "admet_ai", "leak_threshold": 0.9},
    }
    models = {
        "xgb_rdkit": ["rdkit2d"],
        "xgb_rdkit_maccs": ["rdkit2d", "maccs"],
        "xgb_rdkit_admet": ["rdkit2d", "admet_ai"],
        "xgb_rdkit_admet_LEAKY": ["rdkit2d", "admet_all"],
    }
    project(work, {"source": "demo"}, featurizers, models)
    seconds = build(work, featurizers, models)
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    test, y_hold = holdout_rows(work, task)

    rows: dict[str, Any] = {}
    ref = None
    for m in models:
        p = oof(work, m, task, train["id"])
        f = fold_scores(task, y, p, folds)
        pt = pd.read_parquet(work / "models" / m / "test.parquet")
        pt["id"] = pt["id"].astype(str)
        pt = pt.set_index("id").loc[test["id"].astype(str), task.output_columns].to_numpy(float)
        holdout = float(np.sqrt(np.mean((pt - y_hold) ** 2)))
        ref = f if ref is None else ref
        rows[m] = {"folds": f, "holdout": holdout, "gain": list(np.subtract(f, ref))}

    # Solubility_AqSolDB alone: a linear fit on the training molecules, applied to the holdout
    feats = pd.read_parquet(work / "data/features/admet_all.parquet")
    col = "Solubility_AqSolDB"
    tr = feats[feats["split"] == "train"].set_index("id").loc[train["id"].astype(str), col]
    te = feats[feats["split"] == "test"].set_index("id").loc[test["id"].astype(str), col]
    b, a = np.polyfit(tr.to_numpy(float), y[:, 0], 1)
    aqsol = float(np.sqrt(np.mean((a + b * te.to_numpy(float) - y_hold[:, 0]) ** 2)))
    raw = float(np.sqrt(np.mean((te.to_numpy(float) - y_hold[:, 0]) ** 2)))
    leak = json.loads((work / "data/features/admet_all.leak.json").read_text())
    kept = json.loads((work / "data/features/admet_ai.leak.json").read_text())

    print("\n== demo (Huuskonen), XGBoost (params.yaml xgb params, untuned), RMSE ==")
    print(f"{'features':28s} {'CV mean ± std':>16s}  {'per fold':34s} {'gain':>16s} holdout")
    for m, r in rows.items():
        print(
            f"{m:28s} {spread(r['folds']):>16s}  {per_fold(r['folds']):34s} "
            f"{spread(r['gain']):>16s} {r['holdout']:.4f}"
        )
    print(
        f"Solubility_AqSolDB alone on the holdout: raw {raw:.4f}, linear fit on train {aqsol:.4f}"
    )
    print(
        "leak report, all endpoints: "
        + ", ".join(f"{s['endpoint']}->{s['target']} {s['score']}" for s in leak["suspected"])
    )
    print(f"leak report, default exclude: {len(kept['suspected'])} suspected")
    return {
        "models": rows,
        "aqsoldb_alone_holdout": {"raw": raw, "linear_fit": aqsol},
        "suspected_all_endpoints": leak["suspected"],
        "suspected_default": kept["suspected"],
        "seconds": seconds,
    }


def admet(base: Path, challenge_dir: Path) -> dict[str, Any]:
    work = base / "admet"
    featurizers = {"rdkit2d": {}, "maccs": {}, "admet_ai": {}}
    models = {
        "xgb_rdkit": ["rdkit2d"],
        "xgb_rdkit_maccs": ["rdkit2d", "maccs"],
        "xgb_rdkit_admet": ["rdkit2d", "admet_ai"],
        "xgb_admet": ["admet_ai"],
    }
    project(work, {"source": "challenge", "challenge_dir": str(challenge_dir)}, featurizers, models)
    seconds = build(work, featurizers, models)
    task, y, folds = load(work)
    train = pd.read_parquet(work / "data/prepared/train.parquet")
    rows: dict[str, Any] = {}
    variants = [(m, False) for m in models] + [("xgb_rdkit_admet", True), ("xgb_rdkit", True)]
    ref = None
    for m, stack in variants:
        p = oof(work, m, task, train["id"])
        r = nested(task, y, p, folds, stack)
        name = f"{m} + cross-target stacking" if stack else m
        ref = r.tuned if ref is None else ref
        rows[name] = {
            "at_0.5": r.at_05,
            "tuned": r.tuned,
            "gain": list(np.subtract(r.tuned, ref)),
        }
    leak = json.loads((work / "data/features/admet_ai.leak.json").read_text())
    top = sorted(
        ((e, t, v["auc"]) for e, per in leak["endpoints"].items() for t, v in per.items()),
        key=lambda r: -r[2],
    )[:5]
    print("\n== challenge-admet, XGBoost (untuned), micro-F1, nested CV ==")
    print(
        f"{'model':40s} {'at 0.5':>16s} {'tuned thresholds':>16s}  {'per fold (tuned)':34s} "
        f"{'gain vs rdkit2d':>16s}"
    )
    for m, r in rows.items():
        print(
            f"{m:40s} {spread(r['at_0.5']):>16s} {spread(r['tuned']):>16s}  "
            f"{per_fold(r['tuned']):34s} {spread(r['gain']):>16s}"
        )
    print(
        f"leak report: {len(leak['suspected'])} suspected; strongest single endpoints: "
        + ", ".join(f"{e}->{t} AUC {a:.3f}" for e, t, a in top)
    )
    return {
        "models": rows,
        "suspected": leak["suspected"],
        "top_endpoints": top,
        "seconds": seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admet-dir", default=str(ROOT.parent / "shared/data/challenge-admet"))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--json", default=None, help="write every figure to this JSON file")
    args = ap.parse_args()
    try:
        import admet_ai  # noqa: F401
    except ImportError:
        sys.exit('admet-ai is not installed: pip install -e ".[transfer]"')
    base = Path(args.work or tempfile.mkdtemp(prefix="bench_transfer_"))
    print(f"scratch projects in {base}; load average {os.getloadavg()[0]:.1f}")
    out: dict[str, Any] = {"load_average_start": os.getloadavg()[0]}
    t0 = time.perf_counter()
    if not args.skip_demo:
        out["demo"] = demo(base)
        smiles = pd.read_parquet(base / "demo/data/prepared/train.parquet")["smiles"].tolist()
        out["inference"] = admet_ai_timing(smiles[:1000])
        print(f"admet_ai inference: {out['inference']}")
    if Path(args.admet_dir, "X_train.csv").exists():
        out["admet"] = admet(base, Path(args.admet_dir))
    else:
        print(f"\n(challenge-admet skipped: {args.admet_dir} not found)")
    finish(out, t0, args.json)


def finish(out: dict[str, Any], t0: float, json_path: str | None) -> None:
    """Wall time and load average at the end, printed and added to ``out`` (written to
    ``json_path`` when given)."""
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["load_average_end"] = os.getloadavg()[0]
    print(f"\nwall {out['wall_s']} s; load average {out['load_average_end']:.1f}")
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
