"""The 12–15 slides of a 15-minute talk, picked from the report's figures and sentences."""

from __future__ import annotations

from dataclasses import dataclass, field

from chemchallenge.report.items import Figure, FigureStore, Table

MAX_SLIDES = 15


@dataclass
class Slide:
    title: str
    bullets: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    table: Table | None = None
    kind: str = "content"  # title | content | closing
    priority: int = 5  # dropped first when the deck is too long: the lowest


def _fig(store: FigureStore, *names: str) -> list[Figure]:
    """The first existing figure among ``names``."""
    for n in names:
        f = store.get(n)
        if f is not None:
            return [f]
    return []


def _compact(table: Table | None) -> Table | None:
    if table is None:
        return None
    keep = [i for i, c in enumerate(table.columns) if i < 5]
    rows = [[r[i] for i in keep] for r in table.rows[:8]]
    return Table(table.title, [table.columns[i] for i in keep], rows)


def build_slides(
    store: FigureStore,
    words: dict[str, list[str]],
    title: str,
    subtitle: str,
    model_table: Table | None,
) -> list[Slide]:
    w = words
    curves = sorted(n for n in store.by_name if n.startswith("curves_"))
    tuning = sorted(n for n in store.by_name if n.startswith("tuning_"))
    cand: list[Slide] = [
        Slide(title, [subtitle], kind="title", priority=99),
        Slide("Key numbers", w["summary"][:5], kind="text", priority=90),
        Slide(
            "The task and the data", w["data"][:2], _fig(store, "target_distribution"), priority=80
        ),
        Slide(
            "Data checks and scaffolds", w["data"][1:4], _fig(store, "top_scaffolds"), priority=40
        ),
        Slide(
            "Chemical space: train vs test",
            [
                "Each point is a molecule (ECFP4); test regions without training points "
                "are extrapolation."
            ],
            _fig(store, "chemical_space_tsne", "chemical_space_pca"),
            priority=60,
        ),
        Slide(
            "How far is the test set?", w["data"][-1:], _fig(store, "nn_similarity"), priority=75
        ),
        Slide("Models compared", w["models"][:3], table=_compact(model_table), priority=95),
        Slide("Bias and variance", w["overfitting"][:3], _fig(store, "train_vs_cv"), priority=85),
    ]
    if curves:
        cand.append(
            Slide(
                "Learning curves",
                [store.by_name[curves[0]].caption],
                _fig(store, curves[0]),
                priority=70,
            )
        )
    if tuning:
        cand.append(Slide("Hyper-parameter tuning", [], _fig(store, *tuning), priority=35))
    cand += [
        Slide("Ensemble", w["models"][-1:], _fig(store, "ensemble_weights"), priority=45),
        Slide(
            "Errors out of fold",
            [],
            _fig(store, "pred_vs_true", "confusion"),
            priority=78,
        ),
        Slide("ROC and precision–recall", [], _fig(store, "roc_pr"), priority=50),
        Slide("Calibration", [], _fig(store, "calibration"), priority=30),
        Slide(
            "Error vs similarity to training",
            w["errors"][:2],
            _fig(store, "error_vs_similarity"),
            priority=77,
        ),
        Slide(
            "Worst-predicted molecules",
            w["errors"][-1:],
            _fig(store, "worst_molecules"),
            priority=55,
        ),
        Slide(
            "What the models use",
            w["interpretation"][:2],
            _fig(store, "feature_importance"),
            priority=65,
        ),
        Slide("Important substructures", [], _fig(store, "morgan_bits"), priority=62),
        Slide(
            "Atom attributions",
            w["interpretation"][-1:],
            _fig(store, "atom_attribution"),
            priority=42,
        ),
        Slide(
            "Generated molecules",
            w["generation"][:3],
            _fig(store, "generation_properties", "candidates"),
            priority=48,
        ),
        Slide("Submissions", w["submissions"][:3], _fig(store, "cv_vs_leaderboard"), priority=52),
        Slide("Limits and next steps", w["limits"][:5], kind="closing", priority=98),
    ]
    slides = [s for s in cand if s.kind != "content" or s.figures or s.table is not None]
    while len(slides) > MAX_SLIDES:
        slides.remove(min(slides, key=lambda s: s.priority))
    return slides
