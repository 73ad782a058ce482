"""The diagnose stage (learning curve, scaffold-split CV), the signed effects of random
forests and linear models, and the transfer leak table: every number the report prints
equals the stage output it came from, on real stage outputs of a tiny project (prepare →
featurize → train → diagnose → report), and every conditional sentence holds both ways."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_report_truth import table, words

from chemchallenge.config import config_from_dict
from chemchallenge.data.splits import murcko_scaffold
from chemchallenge.features.store import load_features
from chemchallenge.features.transfer import leak_report
from chemchallenge.paths import Paths
from chemchallenge.report.items import sig, signed
from chemchallenge.report.render import build
from chemchallenge.stages import diagnose, featurize, prepare, train
from conftest import make_tables, tiny_params, write_tables

MODELS = {
    "baseline": {"kind": "decision_tree", "features": ["morgan"]},
    "xgb": {
        "kind": "xgboost",
        "features": ["rdkit2d"],
        "params": {"n_estimators": 20, "max_depth": 3, "n_jobs": 1},
    },
    "rf": {
        "kind": "random_forest",
        "features": ["rdkit2d"],
        "params": {"n_estimators": 15, "n_jobs": 1},
    },
    "linear": {"kind": "linear", "features": ["rdkit2d"]},
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A tiny regression project run through the real stages, with a leak report written
    by the featurize stage's own function (on rdkit2d: admet-ai's networks are too big)."""
    root = tmp_path_factory.mktemp("stress")
    write_tables(root / "challenge", make_tables("regression", n_train=48, n_test=12))
    params = tiny_params(root / "challenge")
    params["models"] = MODELS
    params["train"] = {"models": list(MODELS)}
    params["report"].update(tsne=False, dpi=60)
    cfg = config_from_dict(params)
    paths = Paths(root)
    prepare.run(cfg, paths)
    for f in ("morgan", "rdkit2d"):
        featurize.run(cfg, paths, f)
    for m in MODELS:
        train.run(cfg, paths, m)
    diagnose.run(cfg, paths)
    fs = load_features(paths, ["rdkit2d"])
    tr = pd.read_parquet(paths.train)
    folds = pd.read_parquet(paths.folds)["fold"].to_numpy()
    leak = leak_report(
        fs.train[:, :12], fs.names[:12], tr[["logS"]].to_numpy(), ["logS"], False, folds
    )
    leak["suspected"] = [{"endpoint": fs.names[0], "target": "logS", "score": 0.95}]
    paths.leak("rdkit2d").write_text(json.dumps(leak))
    res = build(cfg, paths)
    return root, res.report.read_text(), res.slides.read_text()


def _diag(root: Path) -> dict[str, Any]:
    return json.loads((Paths(root).diagnostics / "diagnostics.json").read_text())


def _scores(root: Path, name: str) -> dict[str, Any]:
    return json.loads(Paths(root).scores(name).read_text())


# --- the stage --------------------------------------------------------------------------------
def test_diagnose_picks_the_best_tabular_model_and_ends_on_its_cv(project) -> None:
    root, _, _ = project
    d = _diag(root)
    sc = {m: _scores(root, m) for m in MODELS}
    best = min(sc, key=lambda m: sc[m]["cv_mean"])  # rmse: lower is better
    close = [m for m in MODELS if sc[m]["cv_mean"] <= sc[best]["cv_mean"] + 2 * sc[best]["cv_std"]]
    close.sort(key=lambda m: sc[m]["cv_mean"])  # equal seconds: the better CV
    assert d["best_cv_model"] == best
    assert d["model"] == min(close, key=lambda m: sc[m]["seconds"])  # quickest of the tied
    best = _scores(root, d["model"])
    last = d["learning_curve"][-1]
    assert last["fraction"] == 1.0 and last["validation"]["mean"] == best["cv_mean"]
    assert last["train"]["mean"] == best["train_mean"] and d["random_cv"]["folds"] == best["folds"]
    assert [p["fraction"] for p in d["learning_curve"]] == [0.25, 0.5, 0.75, 1.0]
    sizes = [p["n_train"] for p in d["learning_curve"]]
    assert sizes == sorted(sizes) and len(set(sizes)) == 4


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # within two stds of the best: the quickest is diagnosed
        ({"slow": (0.50, 0.03, 60.0), "fast": (0.52, 0.03, 5.0), "bad": (0.90, 0.03, 1.0)}, "fast"),
        ({"slow": (0.508, 0.019, 150.0), "fast": (0.541, 0.037, 44.0)}, "fast"),  # the demo's
        # clearly ahead: the best, however slow
        ({"slow": (0.40, 0.01, 60.0), "fast": (0.52, 0.03, 5.0)}, "slow"),
        ({"slow": (0.50, 0.01, 60.0), "fast": (0.521, 0.03, 5.0)}, "slow"),
    ],
)
def test_diagnose_choice_two_std_rule(
    scores: dict[str, tuple[float, float, float]], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chemchallenge.stages import diagnose

    table = {
        m: {"cv_mean": v, "cv_std": sd, "seconds": t, "greater_is_better": False}
        for m, (v, sd, t) in scores.items()
    }
    monkeypatch.setattr(diagnose, "tabular_models", lambda cfg: list(table))
    monkeypatch.setattr(diagnose, "read_scores", lambda paths, m: table[m])
    name, _ = diagnose.best_tabular(None, None)  # type: ignore[arg-type]
    assert name == expected


def test_learning_curve_at_full_size_reproduces_the_train_stage(project) -> None:
    """Refitting 100 % is skipped because it reproduces the train stage exactly: check it."""
    from chemchallenge.inputs import load_task, model_inputs
    from chemchallenge.models.diagnostics import learning_curve

    root, _, _ = project
    d = _diag(root)
    params = tiny_params(root / "challenge")
    params["models"], params["train"] = MODELS, {"models": list(MODELS)}
    cfg, paths = config_from_dict(params), Paths(root)
    X, _, tr, _ = model_inputs(cfg, paths, d["model"])
    folds = pd.read_parquet(paths.folds)["fold"].to_numpy()
    y = tr[["logS"]].to_numpy(float)
    mc = cfg.model(d["model"])
    full = learning_curve(mc.kind, load_task(paths), mc.params, cfg.seed, X, y, folds, [1.0])
    assert full[0]["validation"]["folds"] == pytest.approx(d["random_cv"]["folds"], abs=1e-12)


def test_scaffold_folds_hold_out_whole_scaffolds(project) -> None:
    root, _, _ = project
    paths = Paths(root)
    tr = pd.read_parquet(paths.train)
    sf = pd.read_parquet(paths.diagnostics / "scaffold_folds.parquet").set_index("id")
    scaffolds = pd.Series([murcko_scaffold(s) for s in tr["smiles"]], index=tr["id"])
    fold = sf["fold"].reindex(tr["id"])
    for k in sorted(set(fold)):
        assert not set(scaffolds[fold == k]) & set(scaffolds[fold != k])
    assert len(_diag(root)["scaffold_cv"]["folds"]) == len(set(fold))


# --- the numbers the report prints --------------------------------------------------------
def test_learning_curve_numbers_equal_the_stage_output(project) -> None:
    root, page, slides = project
    d = _diag(root)
    first, before, last = d["learning_curve"][0], d["learning_curve"][-2], d["learning_curve"][-1]
    text = words(page, "models")
    assert (
        f"CV rmse {sig(first['validation']['mean'])} with {first['n_train']} training molecules "
        f"(25%) → {sig(last['validation']['mean'])} with {last['n_train']} (100%)" in text
    )
    assert f"{sig(first['train']['mean'])} → {sig(last['train']['mean'])}" in text
    move = last["validation"]["mean"] - before["validation"]["mean"]
    assert f"CV moves by {signed(move)} (fold std {sig(last['validation']['std'])})" in text
    assert "More data or a better model?" in slides and "learning_curve_size" in page


def test_scaffold_cv_numbers_equal_the_stage_output(project) -> None:
    root, page, _ = project
    d = _diag(root)
    s, r = d["scaffold_cv"], d["random_cv"]
    text = words(page, "errors")
    rel = abs(s["mean"] - r["mean"]) / abs(r["mean"])
    pct = f"{rel:.0%}" if rel >= 0.1 else f"{rel:.1%}"
    head = (
        f"Scaffold-split CV of {d['model']} (whole Bemis–Murcko scaffolds held out): rmse "
        f"{sig(s['mean'])} ± {sig(s['std'])} vs {sig(r['mean'])} ± {sig(r['std'])} on the "
        f"random folds, {pct} {'worse' if s['mean'] > r['mean'] else 'better'}"
    )
    assert head in text, text
    assert ("more than 2 fold std" in text) == (abs(s["mean"] - r["mean"]) > 2 * r["std"])


def test_signed_effects_for_forest_and_linear(project) -> None:
    _, page, _ = project
    text = words(page, "interpretation")
    for name in ("rf", "linear", "xgb"):
        assert f"{name}, logS: " in text
        assert f"signed_effects_{name}" in page or f"Signed effects ({name})" in page
    assert "path attributions (Saabas)" in page and "coefficient × standardised value" in page


def test_leak_table_equals_the_leak_report_and_the_oof(project) -> None:
    root, page, _ = project
    paths = Paths(root)
    leak = json.loads(paths.leak("rdkit2d").read_text())
    rows = {r[0].split(" ⚠")[0]: r for r in table(page, "Transfer features alone (rdkit2d)")}
    for name, entry in leak["endpoints"].items():
        if name in rows:
            e = entry["logS"]
            assert rows[name][1] == f"{sig(e['cv_r2'])} (RMSE {sig(e['cv_rmse'])})"
    flagged = leak["suspected"][0]["endpoint"]
    assert f"{flagged} ⚠ suspected leak" in [
        r[0] for r in table(page, "Transfer features alone (rdkit2d)")
    ]
    best = next(k for k in rows if k.startswith("best model: "))
    name = re.match(r"best model: (\S+) ", best).group(1)  # type: ignore[union-attr]
    tr = pd.read_parquet(paths.train)
    oof = pd.read_parquet(paths.oof(name)).set_index("id").reindex(tr["id"])
    y, p = tr["logS"].to_numpy(float), oof["logS"].to_numpy(float)
    mse = np.mean((y - p) ** 2)
    assert rows[best][1] == f"{sig(1 - mse / y.var())} (RMSE {sig(np.sqrt(mse))})"
    text = words(page, "approach")
    assert f"Suspected leak(s): {leak['suspected'][0]['endpoint']} → logS" in text
    assert "Huuskonen" not in page  # not the demo


# --- conditional sentences, both ways --------------------------------------------------------
def _curve(val: list[float], train: list[float], gib: bool = False) -> dict[str, Any]:
    fr = [0.2, 0.4, 0.6, 0.8, 1.0]
    pts = [
        {
            "fraction": f,
            "n_train": int(100 * f),
            "train": {"mean": t, "std": 0.01},
            "validation": {"mean": v, "std": 0.02},
        }
        for f, v, t in zip(fr, val, train, strict=True)
    ]
    return {
        "learning_curve": {
            "model": "m",
            "metric": "auc" if gib else "rmse",
            "greater_is_better": gib,
            "n_folds": 5,
            "learning_curve": pts,
        }
    }


def test_learning_sentences_follow_the_curve() -> None:
    from chemchallenge.report.learning import learning_sentences

    # rmse: big gap that narrows, still falling at the end
    said = " ".join(
        learning_sentences(_curve([1.0, 0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.35, 0.4]))
    )
    assert "high variance, and it narrows" in said and "Still improving" in said
    # rmse: small gap, flat end → bias, more data would not help
    said = " ".join(
        learning_sentences(_curve([0.7, 0.65, 0.62, 0.6, 0.6], [0.6, 0.6, 0.59, 0.58, 0.58]))
    )
    assert "low variance; the remaining error is bias" in said and "Flat:" in said
    # higher is better: a gap that grows, a small last gain
    said = " ".join(
        learning_sentences(_curve([0.6, 0.7, 0.75, 0.8, 0.802], [0.99, 1.0, 1.0, 1.0, 1.0], True))
    )
    assert "low variance" in said and "Flattening" in said


def _stress(sca: float, test_sim: float, split: str = "random") -> dict[str, Any]:
    d = {
        "model": "m",
        "metric": "rmse",
        "greater_is_better": False,
        "random_cv": {"mean": 0.5, "std": 0.02, "folds": []},
        "scaffold_cv": {"mean": sca, "std": 0.05, "folds": []},
    }
    return {
        "scaffold_cv": {
            "d": d,
            "split": split,
            "random": np.full(10, 0.6),
            "scaffold": np.full(10, 0.3),
            "test": np.full(10, test_sim),
        }
    }


def test_scaffold_sentences_follow_the_scores_and_similarities() -> None:
    from types import SimpleNamespace

    from chemchallenge.report.scaffold_cv import scaffold_sentences

    ctx: Any = SimpleNamespace(ad_threshold=0.35)
    said = " ".join(scaffold_sentences(ctx, _stress(0.7, 0.58)))
    assert "40% worse (more than 2 fold std)" in said
    assert "the test set resembles the random folds" in said
    said = " ".join(scaffold_sentences(ctx, _stress(0.51, 0.32)))
    assert "within 2 fold std" in said and "resembles the scaffold folds" in said
    assert "100% below the domain threshold 0.35" in said
    said = " ".join(scaffold_sentences(ctx, _stress(0.51, 0.32, "scaffold")))
    assert "already a scaffold split" in said and "resembles" not in said


def test_leak_sentences_name_leaks_and_the_demo_overlap() -> None:
    from types import SimpleNamespace

    from chemchallenge.report.leak import leak_sentences

    leak = {
        "threshold": 0.9,
        "endpoints": {"A": {"y": {"cv_r2": 0.95, "cv_rmse": 0.2}}, "B": {"y": {"cv_r2": 0.1}}},
        "suspected": [{"endpoint": "A", "target": "y", "score": 0.95}],
    }
    info = {"leak": leak, "key": "cv_r2", "label": "R²", "best": None, "excluded": []}
    ctx: Any = SimpleNamespace(source="challenge")
    said = " ".join(leak_sentences(ctx, {"leaks": {"t": info}}))
    assert "Suspected leak(s): A → y (R² 0.950) ≥ 0.9" in said and "strongest is A" in said
    leak["suspected"] = []
    said = " ".join(leak_sentences(ctx, {"leaks": {"t": info}}))
    assert "no suspected leak" in said and "Huuskonen" not in said
    assert "none excluded" in said  # exclude: auto keeps every endpoint on a challenge
    info["excluded"] = ["Solubility_*"]
    assert "none excluded" not in " ".join(leak_sentences(ctx, {"leaks": {"t": info}}))
    assert "Huuskonen" not in " ".join(leak_sentences(ctx, {"leaks": {"t": info}}))
    ctx.source = "demo"
    assert "Huuskonen" in " ".join(leak_sentences(ctx, {"leaks": {"t": info}}))


# --- the explainers add up ------------------------------------------------------------------
@pytest.mark.parametrize("classification", [False, True])
def test_forest_and_linear_contributions_add_up_to_the_output(classification: bool) -> None:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from chemchallenge.report.explainers import (
        forest_bias,
        forest_contributions,
        linear_contributions,
    )

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = X[:, 0] - 2 * X[:, 1] + rng.normal(size=80) * 0.1
    if classification:
        y = (y > 0).astype(int)
        rf = RandomForestClassifier(20, random_state=0).fit(X, y)
        lin = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
        out, raw = rf.predict_proba(X)[:, 1], lin.decision_function(X)
    else:
        rf = RandomForestRegressor(20, random_state=0).fit(X, y)
        lin = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
        out, raw = rf.predict(X), lin.predict(X)
    c = forest_contributions(rf, X)
    assert c is not None
    np.testing.assert_allclose(c.sum(axis=1) + forest_bias(rf), out, atol=1e-9)
    assert np.abs(c[:, :2]).mean() > np.abs(c[:, 2:]).mean()  # the two real features
    c = linear_contributions(lin, X)
    assert c is not None
    np.testing.assert_allclose(c.sum(axis=1) + float(np.ravel(lin[-1].intercept_)[0]), raw)
