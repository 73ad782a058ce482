"""Every number the report prints comes from the stage outputs, and every conditional
sentence is true for the data it was built from — checked on both variants of each
condition (duplicates or not, rising or falling curves, near or far test set, which model
is best), on tiny pipeline-like outputs (``tests/support/synthetic.py``)."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chemchallenge.paths import Paths
from chemchallenge.report.items import sig
from chemchallenge.report.render import build
from support.synthetic import make_project

N = 45
FAST = {"tsne": False, "dpi": 60}


# --- reading the HTML back --------------------------------------------------------------
def _text(fragment: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def table(page: str, title: str) -> list[list[str]]:
    """The body rows of the table captioned ``title``."""
    m = re.search(
        rf"<caption>{re.escape(title)}</caption>.*?<tbody>(.*?)</tbody>", page, flags=re.S
    )
    assert m, f"no table {title!r}"
    rows = re.findall(r"<tr>(.*?)</tr>", m.group(1), flags=re.S)
    return [[_text(c) for c in re.findall(r"<td>(.*?)</td>", r, flags=re.S)] for r in rows]


def words(page: str, section: str) -> str:
    """The "In words" paragraph of a section."""
    m = re.search(rf'<section id="{section}">.*?<p class="words">(.*?)</p>', page, flags=re.S)
    return _text(m.group(1)) if m else ""


def summary(page: str) -> list[str]:
    m = re.search(r'<section id="summary">(.*?)</section>', page, flags=re.S)
    assert m
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", m.group(1), flags=re.S)]


def limits(page: str) -> str:
    m = re.search(r'<section id="limits">(.*?)</section>', page, flags=re.S)
    assert m
    return _text(m.group(1))


def scores(root: Path, name: str) -> dict[str, Any]:
    return json.loads(Paths(root).scores(name).read_text())


def pm(d: dict[str, Any]) -> str:
    return f"{sig(d['mean'])} ± {sig(d['std'])}"


# --- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def multilabel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("truth_multilabel")
    cfg = make_project(root, "multilabel", n=N, extras=True, report=FAST)
    res = build(cfg, Paths(root))
    return root, res.report.read_text(), res.slides.read_text()


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("truth_regression")
    cfg = make_project(root, "regression", n=N, extras=True, report=FAST)
    res = build(cfg, Paths(root))
    return root, res.report.read_text(), res.slides.read_text()


# --- numbers --------------------------------------------------------------------------------
def test_every_model_row_equals_its_scores_json(multilabel) -> None:
    root, page, _ = multilabel
    rows = {r[0]: r for r in table(page, "Every model")}
    base = scores(root, "baseline")
    for name in ("baseline", "mlp"):
        s = scores(root, name)
        row = rows[name]
        assert row[3] == pm({"mean": s["cv_mean"], "std": s["cv_std"]}), name
        assert row[4] == sig(s["train_mean"]), name
        for j, t in enumerate(["Y1", "Y2", "Y3"]):
            assert row[6 + j] == pm(s["per_target"][t])
    ens = scores(root, "ensemble")
    # one protocol: the ensemble's row is its nested score at 0.5, not the tuned one …
    assert rows["ensemble (nested CV)"][3] == pm(ens["nested_cv_at_0.5"])
    assert rows["ensemble (nested CV)"][4] == "–"  # no training score for a blend
    # … and the tuned score has its own, labelled row
    assert rows["ensemble + tuned thresholds (nested)"][3] == pm(ens["nested_cv_tuned_thresholds"])
    d = ens["nested_cv_at_0.5"]["mean"] - base["cv_mean"]
    assert rows["ensemble (nested CV)"][5].startswith(f"micro_f1 {'+' if d > 0 else '−'}")
    assert sig(abs(d)) in rows["ensemble (nested CV)"][5]


def _trivial_f1(root: Path) -> list[float]:
    """micro-F1 of predicting 1 for every molecule and target, per fold, by hand."""
    train = pd.read_parquet(Paths(root).train)
    folds = pd.read_parquet(Paths(root).folds)["fold"].to_numpy()
    y = train[["Y1", "Y2", "Y3"]].to_numpy()
    out = []
    for k in sorted(set(folds)):
        t = y[folds == k]
        tp, fp = t.sum(), (1 - t).sum()
        out.append(2 * tp / (2 * tp + fp))
    return out


def test_gain_ladder_equals_stage_outputs_and_paired_differences(multilabel) -> None:
    root, page, _ = multilabel
    rows = table(page, "Gain ladder")
    by = {r[0].split(" (")[0]: r for r in rows}
    base, ens = scores(root, "baseline"), scores(root, "ensemble")
    triv = _trivial_f1(root)
    assert by["organisers' benchmark"][1] == pm({"mean": base["cv_mean"], "std": base["cv_std"]})
    trivial = next(r for r in rows if r[0].startswith("trivial: predict 1"))
    assert trivial[1] == f"{sig(np.mean(triv))} ± {sig(np.std(triv))}"
    single = next(r for r in rows if r[0].startswith("best single model ("))
    assert single[1] == pm(ens["best_single_nested_at_0.5"])
    assert by["ensemble"][1] == pm(ens["nested_cv_at_0.5"])
    tuned = next(r for r in rows if r[0] == "ensemble, tuned thresholds (nested)")
    assert tuned[1] == pm(ens["nested_cv_tuned_thresholds"])
    # the ensemble at 0.5 against the best single model at 0.5, fold by fold
    d = np.subtract(ens["nested_cv_at_0.5"]["folds"], ens["best_single_nested_at_0.5"]["folds"])
    assert by["ensemble"][3].startswith("micro_f1 ")
    assert f"{sig(abs(d.mean()))} ± {sig(d.std())}" in by["ensemble"][3]
    assert by["ensemble"][4] == f"{int(np.sum(d > 0))} / {len(d)}"
    # the tuned thresholds against the same blend at 0.5
    d = np.subtract(ens["nested_cv_tuned_thresholds"]["folds"], ens["nested_cv_at_0.5"]["folds"])
    assert f"{sig(abs(d.mean()))} ± {sig(d.std())}" in tuned[3]


def test_summary_numbers_come_from_the_outputs(multilabel) -> None:
    root, page, _ = multilabel
    said = summary(page)
    rep = json.loads(Paths(root).prepare_report.read_text())
    assert said[0].startswith(
        f"{rep['counts']['train_molecules']} training and {rep['counts']['test_molecules']} test"
    )
    base, mlp = scores(root, "baseline"), scores(root, "mlp")
    best = max((base, mlp), key=lambda s: s["cv_mean"])
    line = next(s for s in said if s.startswith("Best single model:"))
    assert (
        f"{best['model']} (" in line
        and pm({"mean": best["cv_mean"], "std": best["cv_std"]}) in line
    )
    # the submitted model (submit.model = ensemble) is the one quoted against the leaderboard
    reg = pd.read_csv(Paths(root).submissions / "registry.csv")
    sub = next(s for s in said if "(submitted)" in s)
    assert sub.startswith("ensemble (submitted): CV " + sig(reg["cv_mean"][0]))
    assert "leaderboard " + sig(reg["leaderboard_score"][0]) in sub


def test_precision_recall_in_words_match_the_oof_predictions(multilabel) -> None:
    root, page, _ = multilabel
    text = words(page, "errors")
    assert "Out-of-fold predictions of the submitted model, ensemble." in page
    ens = scores(root, "ensemble")
    train = pd.read_parquet(Paths(root).train)
    oof = pd.read_parquet(Paths(root).oof("ensemble")).set_index("id").reindex(train["id"])
    for t in ("Y1", "Y2", "Y3"):
        thr = oof["fold"].map(lambda k, t=t: ens["nested_thresholds"][str(k)][t]).to_numpy()
        pred, true = oof[t].to_numpy() >= thr, train[t].to_numpy() == 1
        tp, fp = int(np.sum(pred & true)), int(np.sum(pred & ~true))
        assert f"{t}: of {tp + fp} molecules predicted 1, {tp} are 1" in text


def test_cooccurrence_and_domain_numbers_are_recomputed(multilabel) -> None:
    from chemchallenge.report import chem

    root, page, _ = multilabel
    text = words(page, "data")
    train = pd.read_parquet(Paths(root).train)
    m = re.search(r"P\((Y\d)=1 \| (Y\d)=1\) = ([\d.]+) against P\(\1=1\) = ([\d.]+)", text)
    assert m, text
    j, i = m.group(1), m.group(2)
    assert m.group(3) == f"{train.loc[train[i] == 1, j].mean():.2f}"
    assert m.group(4) == f"{train[j].mean():.2f}"
    test = pd.read_parquet(Paths(root).test)
    nn = chem.max_similarity(chem.bitvects(test["smiles"]), chem.bitvects(train["smiles"]))
    assert f"median {np.nanmedian(nn):.2f} for the test molecules" in text


# --- conditional sentences, both ways ----------------------------------------------------------
def _rebuild(root: Path, task: str = "multilabel") -> str:
    from support.synthetic import config

    return build(config(task, FAST), Paths(root)).report.read_text()


def _project(tmp_path: Path, task: str = "multilabel") -> Path:
    make_project(tmp_path, task, n=N, report=FAST)
    return tmp_path


def test_duplicates_sentence_follows_prepare_report(tmp_path: Path) -> None:
    root = _project(tmp_path)
    page = _rebuild(root)  # the synthetic prepare report has 2 conflicting duplicates
    assert "2 molecule(s) appear several times with conflicting labels" in words(page, "data")
    assert "conflicting labels" in limits(page)
    path = Paths(root).prepare_report
    rep = json.loads(path.read_text())
    rep["counts"].pop("conflicting_labels")
    rep["findings"] = []
    path.write_text(json.dumps(rep))
    page = _rebuild(root)
    assert "No molecule appears twice in the training set" in words(page, "data")
    assert "noise" not in limits(page) and "duplicates disagree" not in page


def _write_curves(root: Path, val: np.ndarray, train: np.ndarray) -> None:
    for k in range(3):
        base = Paths(root).curves("mlp") / f"fold_{k}" / "plots" / "metrics"
        for name, v in (("train_loss", train), ("val_loss", val)):
            df = pd.DataFrame({"timestamp": 0, "step": np.arange(len(v)), name: v})
            df.to_csv(base / f"{name}.tsv", sep="\t", index=False)


def test_over_fitting_verdict_follows_the_curves(tmp_path: Path) -> None:
    root = _project(tmp_path)
    ep = np.arange(30.0)
    train = 1 / (1 + 0.3 * ep)
    _write_curves(root, train + 0.002 * (ep - 10) ** 2 + 0.1, train)  # rises after ~epoch 10
    text = words(_rebuild(root), "models")
    assert "mlp: smoothed validation loss" in text and "rises consistently" in text
    _write_curves(root, train + 0.05, train)  # still falling at the end
    text = words(_rebuild(root), "models")
    assert "still falling at the last epoch" in text and "rises consistently" not in text


def test_domain_sentence_follows_the_similarities(tmp_path: Path) -> None:
    root = _project(tmp_path)
    text = words(_rebuild(root), "data")
    assert "The test set is as far from" in text or "The test set is closer" in text
    # a test set of long chains and inorganics: far from every training molecule
    paths = Paths(root)
    test = pd.read_parquet(paths.test)
    far = [
        "CCCCCCCCCCCCCCCC",
        "O=S(=O)(O)O",
        "ClC(Cl)(Cl)Cl",
        "CCCCCCCCCCCCCCCCCCCC",
        "[Na+].[Cl-]",
    ]
    test["smiles"] = [far[i % len(far)] for i in range(len(test))]
    test["valid"] = True
    test.to_parquet(paths.test, index=False)
    page = _rebuild(root)
    assert "The test set is further from the training set than CV folds are" in words(page, "data")
    assert "scaffold-split CV" in limits(page)


def test_best_model_sentence_follows_the_scores(tmp_path: Path) -> None:
    root = _project(tmp_path, "regression")
    paths = Paths(root)
    for best, worst in (("mlp", "baseline"), ("baseline", "mlp")):
        for name, value in ((best, 0.3), (worst, 0.9)):  # rmse: lower is better
            s = json.loads(paths.scores(name).read_text())
            s["cv_mean"] = value
            paths.scores(name).write_text(json.dumps(s))
        said = summary(_rebuild(root, "regression"))
        line = next(s for s in said if s.startswith("Best single model:"))
        assert line.startswith(f"Best single model: {best} (") and "lower rmse is better" in line


def test_regression_shows_no_threshold_and_words_rmse_as_lower_is_better(regression) -> None:
    root, page, slides = regression
    models = re.search(r'<section id="models">(.*?)</section>', page, flags=re.S)
    assert models and "threshold" not in _text(models.group(1)).lower()
    base, mlp = scores(root, "baseline"), scores(root, "mlp")
    row = next(r for r in table(page, "Every model") if r[0] == "mlp")
    d = mlp["cv_mean"] - base["cv_mean"]
    assert row[5].startswith(f"rmse {'+' if d > 0 else '−'}{sig(abs(d))}")
    assert row[5].endswith("better" if d < 0 else "worse")
    decision = r"thresholds? 0\.5|tuned thresholds|decision thresholds?"
    assert not re.search(decision, page.lower()) and not re.search(decision, slides.lower())


def test_errors_by_scaffold_family_are_recomputed(multilabel) -> None:
    from collections import Counter

    from chemchallenge.report import chem
    from chemchallenge.report.context import load_context
    from chemchallenge.report.figures_errors import molecule_error, oof_matrix
    from support.synthetic import config

    root, page, _ = multilabel
    rows = {r[0]: r for r in table(page, "Errors by scaffold family")}
    ctx = load_context(config("multilabel", FAST, "ensemble"), Paths(root))
    ens = ctx.run("ensemble")
    assert ens is not None and ctx.train is not None
    err = molecule_error(ctx, oof_matrix(ctx, ens))
    sc = [chem.scaffold(s) for s in ctx.train["smiles"]]
    counts = Counter(s for s in sc if s)
    size = np.array([counts.get(s, 0) if s else 0 for s in sc])
    for name, mask in (("unique scaffold", size == 1), ("≥ 5 molecules", size >= 5)):
        if name in rows:
            assert rows[name][1] == str(int(mask.sum()))
            assert rows[name][2] == f"{err[mask].mean():.3f}"
    assert rows, "no scaffold family table"
