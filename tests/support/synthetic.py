"""Tiny synthetic stage outputs (for the report's tests and benchmark): a prepared data set,
a Morgan feature file, a fitted decision tree (``baseline``) and a network (``mlp``) with
fake DVCLive curves; with ``extras`` also ensemble, tuning, submissions and generation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.paths import Paths
from chemchallenge.tasks import TaskSpec, TaskType
from support.params import config_with

CORES = ["c1ccccc1", "c1ccncc1", "C1CCCCC1", "c1ccc2ccccc2c1", "c1ccoc1", "C1CCNCC1", "c1cscc1"]
SUBS = ["", "O", "N", "Cl", "C(=O)O", "CC", "OC", "C#N", "F", "C(F)(F)F", "S(N)(=O)=O"]


def molecules(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct, valid SMILES built from ring cores and substituents."""
    from rdkit import Chem

    from chemchallenge.report.chem import mol

    rng = np.random.default_rng(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        core, a, b = rng.choice(CORES), rng.choice(SUBS), rng.choice(SUBS)
        link = rng.choice(["", "C", "CC", "OC"])
        m = mol(f"{a}{link}{core}{b}" if a or b else f"C{link}{core}")
        if m is None:
            continue
        s = Chem.MolToSmiles(m)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def config(
    task_type: str, report: dict[str, Any] | None = None, submitted: str = "baseline"
) -> Config:
    models: dict[str, Any] = {
        "baseline": {"kind": "decision_tree", "features": ["morgan"], "concept": "decision trees"},
        "mlp": {"kind": "mlp", "features": ["morgan"], "concept": "multilayer perceptron"},
    }
    return config_with(
        {
            "featurize": {"featurizers": {"morgan": {"radius": 2, "n_bits": 2048}}},
            "models": models,
            "train": {"models": ["baseline", "mlp"]},
            "submit": {"model": submitted},
            "report": {
                "title": f"Synthetic {task_type}",
                "authors": ["Ada Lovelace", "Alan Turing"],
                "tsne_max_points": 80,
                **(report or {}),
            },
        },
        replace=["featurize.featurizers", "models"],
    )


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


def make_project(
    root: Path,
    task_type: str = "regression",
    n: int = 70,
    extras: bool = False,
    report: dict[str, Any] | None = None,
) -> Config:
    """Write the synthetic outputs under ``root``; return the matching config."""
    from rdkit.Chem import Descriptors
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    from chemchallenge.features.store import load_features
    from chemchallenge.metrics import get_metric, per_target, score
    from chemchallenge.models.base import ModelInput
    from chemchallenge.models.persist import save_estimators
    from chemchallenge.models.tabular import PerTargetModel
    from chemchallenge.report import chem

    rng = np.random.default_rng(1)
    paths = Paths(Path(root))
    smiles = molecules(n + n // 3)
    train_smi, test_smi = smiles[:n], smiles[n:]
    logp = np.array([Descriptors.MolLogP(chem.mol(s)) for s in train_smi])
    task, y = _labels(task_type, logp, rng)
    targets, reg = task.targets, task_type == "regression"
    train = pd.DataFrame(
        {"id": [str(i) for i in range(n)], "smiles_raw": train_smi, "smiles": train_smi}
    )
    train[targets] = y
    train["valid"] = True
    test = pd.DataFrame({"id": [str(n + i) for i in range(len(test_smi))], "smiles_raw": test_smi})
    test["smiles"] = test_smi
    test.loc[0, ["smiles_raw", "smiles"]] = ["not_a_smiles", None]
    test["valid"] = test["smiles"].notna()
    folds = np.arange(n) % 3
    paths.prepared.mkdir(parents=True, exist_ok=True)
    train.to_parquet(paths.train, index=False)
    test.to_parquet(paths.test, index=False)
    pd.DataFrame({"id": train["id"], "fold": folds}).to_parquet(paths.folds, index=False)
    _write_json(paths.task, task.to_dict())
    finding = {
        "level": "warning",
        "file": "X_train.csv",
        "check": "conflicting_labels",
        "message": "2 molecules with conflicting labels; averaged",
        "rows": ["3=7", "9=12"],
    }
    _write_json(
        paths.prepare_report,
        {
            "task": task.to_dict(),
            "split": "random",
            "fold_sizes": np.bincount(folds).tolist(),
            "counts": {
                "train_molecules": n,
                "test_molecules": len(test),
                "invalid_test": 1,
                "conflicting_labels": 2,
            },
            "findings": [finding],
        },
    )
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)

    def fp(s: str | None) -> np.ndarray:
        m = chem.mol(s)
        return np.zeros(2048, np.float32) if m is None else gen.GetFingerprintAsNumPy(m)

    X = np.array([fp(s) for s in train_smi])
    X_test = np.array([fp(s) for s in test["smiles"]])
    feats = pd.DataFrame(np.vstack([X, X_test]), columns=[f"morgan_{i}" for i in range(2048)])
    feats.insert(0, "id", list(train["id"]) + list(test["id"]))
    feats.insert(0, "split", ["train"] * n + ["test"] * len(test))
    paths.features("morgan").parent.mkdir(parents=True, exist_ok=True)
    feats.to_parquet(paths.features("morgan"), index=False)
    X = load_features(paths, ["morgan"]).train  # as the train stage sees it (constants dropped)

    template = (
        DecisionTreeRegressor(max_depth=4, random_state=0)
        if reg
        else DecisionTreeClassifier(max_depth=4, random_state=0)
    )
    oof_tree, ests = np.zeros((n, task.n_outputs)), []
    for k in range(3):
        tr, va = folds != k, folds == k
        est = PerTargetModel(task, template).fit(
            ModelInput([s for s, t in zip(train_smi, tr) if t], X[tr]), y[tr]
        )
        oof_tree[va] = est.predict(ModelInput([s for s, v in zip(train_smi, va) if v], X[va]))
        ests.append(est)
    oof_mlp = _fake_oof(task, y, rng)
    m = get_metric(task.metric)
    for name, oof in (("baseline", oof_tree), ("mlp", oof_mlp)):
        fold_scores = [score(task.metric, y[folds == k], oof[folds == k], task) for k in range(3)]
        pt = [per_target(task.metric, y[folds == k], oof[folds == k], task) for k in range(3)]
        cv = float(np.mean(fold_scores))  # a training score better than CV, in range
        train_score = cv * 0.5 if not m.greater_is_better else cv + 0.5 * (1 - cv)
        _write_json(
            paths.scores(name),
            {
                "model": name,
                "kind": "decision_tree" if name == "baseline" else "mlp",
                "features": ["morgan"],
                "metric": task.metric,
                "greater_is_better": m.greater_is_better,
                "cv_mean": float(np.mean(fold_scores)),
                "cv_std": float(np.std(fold_scores)),
                "oof": score(task.metric, y, oof, task),
                "train_mean": train_score,
                "train_std": 0.01,
                "folds": fold_scores,
                "per_target": {
                    t: {"mean": float(np.mean([p[t] for p in pt])), "std": 0.01} for t in targets
                },
                "tuned": False,
                "params": {},
                "seconds": 0.1,
            },
        )
        cols = task.output_columns
        o = pd.DataFrame(oof, columns=cols)
        o.insert(0, "fold", folds)
        o.insert(0, "id", train["id"])
        paths.model_dir(name).mkdir(parents=True, exist_ok=True)
        o.to_parquet(paths.oof(name), index=False)
        t = pd.DataFrame(np.full((len(test), len(cols)), 0.5), columns=cols)
        t.insert(0, "id", test["id"])
        t.to_parquet(paths.test_pred(name), index=False)
        curves = paths.curves(name)
        curves.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {"fold": range(3), "train": [train_score] * 3, "validation": fold_scores}
        ).to_csv(curves / "cv_scores.csv", index=False)
    save_estimators(paths.estimators("baseline"), ests)
    for k in range(3):  # fake DVCLive curves of the network: over-fits after epoch 10
        base = paths.curves("mlp") / f"fold_{k}" / "plots" / "metrics"
        ep = np.arange(30)
        for metric, vals in (
            ("train_loss", 1.0 / (1 + 0.3 * ep)),
            ("val_loss", 1.0 / (1 + 0.3 * ep) + 0.002 * (ep - 10) ** 2 + 0.1),
            (f"val_{task.metric}", 0.5 + 0.01 * ep),
        ):
            base.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"timestamp": 0, "step": ep, metric: vals}).to_csv(
                base / f"{metric}.tsv", sep="\t", index=False
            )
    if extras:
        _extras(paths, task, smiles)
    return config(task_type, report, "ensemble" if extras else "baseline")


METRIC = {
    "regression": "rmse",
    "binary": "roc_auc",
    "multilabel": "micro_f1",
    "multiclass": "accuracy",
}


def _labels(task_type: str, logp: np.ndarray, rng: np.random.Generator) -> tuple[TaskSpec, Any]:
    n, tt = len(logp), TaskType(task_type)
    if tt == TaskType.REGRESSION:
        y, targets = (-0.8 * logp + rng.normal(0, 0.4, n))[:, None], ["logS"]
    elif tt == TaskType.MULTICLASS:
        cuts = np.quantile(logp, [0.33, 0.66])
        y, targets = np.digitize(logp + rng.normal(0, 0.3, n), cuts)[:, None].astype(float), ["c"]
    else:
        spec = ((0.5, 1), (1, 2), (2, 0))[: 1 if tt == TaskType.BINARY else 3]
        y = np.column_stack([(logp + rng.normal(0, s, n) > t).astype(float) for s, t in spec])
        targets = ["active"] if tt == TaskType.BINARY else ["Y1", "Y2", "Y3"]
    classes = ["low", "mid", "high"] if tt == TaskType.MULTICLASS else []
    return TaskSpec(tt, targets, METRIC[task_type], "ID", classes), y


def _fake_oof(task: TaskSpec, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Predictions of a decent fake network."""
    if task.task_type == TaskType.REGRESSION:
        return y + rng.normal(0, 0.3, y.shape)
    if task.task_type == TaskType.MULTICLASS:
        p = 0.6 * np.eye(len(task.classes))[y[:, 0].astype(int)] + rng.uniform(0, 0.4, (len(y), 3))
        return p / p.sum(axis=1, keepdims=True)
    return np.clip(0.5 * y + 0.25 + rng.normal(0, 0.15, y.shape), 0, 1)


def _nested(paths: Paths, task: TaskSpec) -> dict[str, Any]:
    """Pipeline-like nested scores of an ensemble whose OOF predictions are mlp's: per fold,
    at 0.5 and (classification) at threshold 0.4; the best single model picked per fold on
    the other folds' scores."""
    from chemchallenge.metrics import per_target, score

    train = pd.read_parquet(paths.train)
    y = train[task.targets].to_numpy(dtype=float)
    folds = pd.read_parquet(paths.folds)["fold"].to_numpy()
    cols = task.output_columns
    oof = {
        m: pd.read_parquet(paths.oof(m))[cols].to_numpy(dtype=float) for m in ("baseline", "mlp")
    }
    tune = task.task_type in (TaskType.BINARY, TaskType.MULTILABEL)
    thr = 0.4 if tune else None
    ks = sorted(set(folds.tolist()))

    def per_fold(p: np.ndarray, t: float | None) -> list[float]:
        return [float(score(task.metric, y[folds == k], p[folds == k], task, t)) for k in ks]

    def summary(v: list[float]) -> dict[str, Any]:
        return {"mean": float(np.mean(v)), "std": float(np.std(v)), "folds": v}

    member = {m: per_fold(p, None) for m, p in oof.items()}
    gib = json.loads(paths.scores("baseline").read_text())["greater_is_better"]
    picks = []
    for i, _ in enumerate(ks):
        other = {m: np.mean([v for j, v in enumerate(f) if j != i]) for m, f in member.items()}
        picks.append((max if gib else min)(other, key=lambda m: other[m]))
    single05 = [member[m][i] for i, m in enumerate(picks)]
    single_t = [per_fold(oof[m], thr)[i] for i, m in enumerate(picks)] if tune else None
    ens05 = per_fold(oof["mlp"], None)
    ens_t = per_fold(oof["mlp"], thr) if tune else None
    chosen = ens_t if ens_t is not None else ens05
    pt = [per_target(task.metric, y[folds == k], oof["mlp"][folds == k], task, thr) for k in ks]
    return {
        "cv_mean": float(np.mean(chosen)),
        "cv_std": float(np.std(chosen)),
        "folds": chosen,
        "per_target": {
            t: {
                "mean": float(np.mean([p[t] for p in pt])),
                "std": float(np.std([p[t] for p in pt])),
            }
            for t in task.targets
        },
        "tuned": tune,
        "thresholds": {t: thr for t in task.targets} if tune else None,
        "nested_thresholds": {str(k): {t: thr for t in cols} for k in ks} if tune else None,
        "nested_cv_at_0.5": summary(ens05),
        "nested_cv_tuned_thresholds": summary(ens_t) if ens_t is not None else None,
        "best_single_per_fold": {str(k): m for k, m in zip(ks, picks)},
        "best_single_model": max(set(picks), key=picks.count),
        "best_single_nested_at_0.5": summary(single05),
        "best_single_nested_tuned": summary(single_t) if single_t is not None else None,
        "member_cv": {m: float(np.mean(f)) for m, f in member.items()},
    }


def _extras(paths: Paths, task: TaskSpec, smiles: list[str]) -> None:
    base = json.loads(paths.scores("baseline").read_text())
    ens = dict(
        {k: v for k, v in base.items() if k not in ("train_mean", "train_std")},
        inner_mean=base["train_mean"],  # the ensemble has an inner score, no train score
        model="ensemble",
        kind="weights",
        method="weights",
        members=["baseline", "mlp"],
        weights={"baseline": 0.3, "mlp": 0.7},
        **_nested(paths, task),
    )
    _write_json(paths.scores("ensemble"), ens)
    paths.model_dir("ensemble").mkdir(parents=True, exist_ok=True)
    for f in ("oof", "test_pred"):
        df = pd.read_parquet(getattr(paths, f)("mlp"))
        df.to_parquet(getattr(paths, f)("ensemble"), index=False)
    w = {"method": "weights", "weights": {"baseline": 0.3, "mlp": 0.7}}
    _write_json(paths.model_dir("ensemble") / "weights.json", w)
    thresholds = ens["thresholds"] or {}
    _write_json(paths.model_dir("ensemble") / "thresholds.json", thresholds)
    tdir = paths.model_dir("baseline") / "tuning"
    tdir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"number": range(8), "value": np.linspace(1, 0.5, 8), "state": "COMPLETE"}).to_csv(
        tdir / "trials.csv", index=False
    )
    _write_json(
        paths.best_params("baseline"), {"tuned": True, "params": {"max_depth": 4}, "value": 0.5}
    )
    paths.submissions.mkdir(parents=True, exist_ok=True)
    row = {"time": "2025-01-01", "file": "submissions/history/a.csv", "model": "ensemble"}
    row |= {k: ens[k] for k in ("metric", "cv_mean", "cv_std")}
    row |= {"sha256": "x", "leaderboard_score": ens["cv_mean"] * 1.1, "note": ""}
    pd.DataFrame([row]).to_csv(paths.submissions / "registry.csv", index=False)
    gm = {"validity": 0.9, "uniqueness": 0.95, "novelty": 0.8, "snn": 0.4}
    gen = {"vae": gm, "gan": gm, "baseline": gm, "floor": gm, "info": {"seed": 0}}
    _write_json(paths.generation_scores, gen)  # the full record; metrics/: headline numbers
    _write_json(paths.root / "metrics" / "generation.json", {"vae": gm, "gan": gm})
    mols = pd.DataFrame({"smiles": smiles[:20], "source": ["vae", "gan"] * 10, "valid": True})
    mols.to_csv(paths.generated / "molecules.csv", index=False)
    cand = pd.DataFrame({"smiles": smiles[:6], "source": "vae", "desirability": np.arange(6.0)})
    cand = cand.assign(in_domain=[True] * 5 + [False])
    paths.candidates.mkdir(parents=True, exist_ok=True)
    cand.to_csv(paths.candidates / "candidates.csv", index=False)
    objectives = {t: "probability" for t in task.targets}
    guided = {"status": "ok", "n_candidates": 6, "n_in_domain": 5, "objectives": objectives}
    _write_json(paths.candidates / "guided.json", guided | {"model": "ensemble"})
