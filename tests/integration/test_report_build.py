"""Build the report on tiny synthetic stage outputs written in a temporary folder."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from PIL import Image

from chemchallenge.paths import Paths
from chemchallenge.report.render import BuildResult, build
from support.params import config_with
from support.synthetic import make_project

HEADINGS = [
    "Summary",
    "1. The data",
    "2. The approach",
    "3. The models",
    "4. Where the models go wrong",
    "5. Why the models work",
    "6. Generated molecules",
    "7. Submissions",
    "Limits and next steps",
    "References",
]
COMMON = [
    "target_distribution",
    "chemical_space_pca",
    "top_scaffolds",
    "nn_similarity",
    "train_vs_cv",
    "gain_ladder",
    "curves_mlp",
    "worst_molecules",
    "error_vs_similarity",
    "feature_importance",
    "morgan_bits",
]
CLASSIFICATION = ["confusion", "roc_pr", "calibration"]
NOT_RUN = [
    "The ensemble stage has not run",
    "The generate stage has not run",
    "No submission yet",
    "No model has been tuned",
    "No graph network was trained",
]


def _build(root: Path, task_type: str, **kw: object) -> tuple[BuildResult, str, str]:
    cfg = make_project(root, task_type, n=45, **kw)  # type: ignore[arg-type]
    res = build(cfg, Paths(root))
    return res, res.report.read_text(), res.slides.read_text()


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, str, str]:
    return _build(tmp_path_factory.mktemp("regression"), "regression")


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, str, str]:
    return _build(tmp_path_factory.mktemp("multilabel"), "multilabel", extras=True)


def _check_figures(res: BuildResult, html: str, expected: list[str]) -> None:
    names = {p.stem for p in res.figures}
    assert set(expected) <= names, set(expected) - names
    for path in res.figures:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, path
        with Image.open(path) as img:
            img.verify()
        assert base64.b64encode(data).decode() in html, f"{path.name} is not embedded"


def _self_contained(html: str) -> None:
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "<script src" not in html


def test_regression_report_has_every_section_and_figure(regression) -> None:
    res, html, _ = regression
    for h in HEADINGS:
        assert f">{h}</h2>" in html, h
    _check_figures(res, html, [*COMMON, "chemical_space_tsne", "pred_vs_true"])
    for note in NOT_RUN:
        assert note in html, note
    assert "could not be built" not in html
    assert "Best single model:" in html and "benchmark scores" in html
    assert "the training folds&#39; mean for every molecule" in html  # the trivial predictor's row
    assert "over-fitting" in html  # the fake learning curves over-fit after epoch ~13
    assert "baseline relies most on morgan_" in html  # importances named by feature
    _self_contained(html)


def test_slides_are_a_self_contained_deck(regression) -> None:
    res, _, slides = regression
    assert 12 <= res.n_slides <= 16
    assert slides.count('<section class="slide') == res.n_slides
    assert slides.count('<aside class="notes">') == res.n_slides  # speaker notes everywhere
    assert "ArrowRight" in slides and "ArrowLeft" in slides
    assert "Conclusion and next steps" in slides and "Our approach" in slides
    assert res.note_words > 5 * res.n_slides
    assert "data:image/png;base64," in slides
    _self_contained(slides)


def test_multilabel_report_with_ensemble_tuning_generation_submissions(multilabel) -> None:
    res, html, _ = multilabel
    expected = [
        *COMMON,
        *CLASSIFICATION,
        "label_cooccurrence",
        "ensemble_weights",
        "tuning_baseline_history",
        "generation_properties",
        "candidates",
        "cv_vs_leaderboard",
    ]
    _check_figures(res, html, expected)
    for note in NOT_RUN[:4]:
        assert note not in html, note
    assert "Tuned decision thresholds" in html and "Generation metrics" in html
    assert "Submission registry" in html and "could not be built" not in html
    assert re.search(
        r"best single model \((baseline|mlp|baseline, mlp)\), nested CV, thresholds 0.5", html
    )
    assert "Gain ladder" in html and "ensemble, tuned thresholds (nested)" in html
    assert "<th>info</th>" not in html  # generation.json's info block is not a generator
    assert "property-guided candidate(s)" in html  # candidates/guided.json
    assert "Objectives: " in html


@pytest.mark.parametrize("task_type", ["binary", "multiclass"])
def test_other_classification_tasks(tmp_path: Path, task_type: str) -> None:
    res, html, _ = _build(tmp_path, task_type, report={"tsne": False})
    _check_figures(res, html, [*COMMON, *CLASSIFICATION])
    assert "chemical_space_tsne" not in {p.stem for p in res.figures}
    assert "could not be built" not in html


def _empty_config():
    return config_with(
        {
            "featurize": {"featurizers": {"morgan": {}}},
            "models": {"baseline": {"kind": "decision_tree", "features": ["morgan"]}},
            "train": {"models": ["baseline"]},
            "submit": {"model": "baseline"},
        },
        replace=["featurize.featurizers", "models"],
    )


def test_nothing_run_yet_gives_notes_not_errors(tmp_path: Path) -> None:
    res = build(_empty_config(), Paths(tmp_path))
    html = res.report.read_text()
    for h in HEADINGS:
        assert f">{h}</h2>" in html, h
    assert "The prepare stage has not run" in html
    assert "No model has been trained" in html
    assert "No out-of-fold predictions" in html
    assert "No trained model to interpret" in html
    assert res.figures == [] and res.slides.exists()


def test_prepared_but_untrained(tmp_path: Path) -> None:
    make_project(tmp_path, "regression", n=30, report={"tsne": False})
    for p in [*(tmp_path / "metrics").glob("*.json"), *tmp_path.glob("*/*/scores.json")]:
        p.unlink()
    for p in tmp_path.glob("ensemble/scores.json"):
        p.unlink()
    res = build(_empty_config(), Paths(tmp_path))
    html = res.report.read_text()
    assert "Not trained yet" not in html  # no metrics at all: one note for the section
    assert "No model has been trained" in html and "No out-of-fold predictions" in html
    assert "nn_similarity" in {p.stem for p in res.figures}
    assert "could not be built" not in html
