"""The slides of a 15 + 5 minute oral exam, picked from the report's figures and sentences.

Every slide carries speaker notes (``notes``): what to say, built from the same computed
sentences as the report, plus the explanation a jury expects (what the figure shows, how
to read it). Press N in the deck to show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chemchallenge.report.items import Figure, FigureStore, Table

MAX_SLIDES = 16


@dataclass
class Slide:
    title: str
    bullets: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    table: Table | None = None
    kind: str = "content"  # title | text | content | closing
    priority: int = 5  # dropped first when the deck is too long: the lowest
    notes: str = ""

    @property
    def words_on_slide(self) -> int:
        text = " ".join(self.bullets) + " " + self.title
        if self.table is not None:
            text += " " + " ".join(" ".join(r) for r in self.table.rows)
        return len(text.split())

    @property
    def words_in_notes(self) -> int:
        return len(self.notes.split())


def _fig(store: FigureStore, *names: str) -> list[Figure]:
    """The first existing figure among ``names``."""
    for n in names:
        f = store.get(n)
        if f is not None:
            return [f]
    return []


def _columns(table: Table | None, wanted: list[int], title: str = "") -> Table | None:
    if table is None:
        return None
    keep = [i for i in wanted if i < len(table.columns)]
    rows = [[r[i] for i in keep] for r in table.rows]
    return Table(title or table.title, [table.columns[i] for i in keep], rows)


def _say(*parts: Any) -> str:
    """Join sentences (and lists of sentences) into one paragraph of speech."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, list | tuple):
            out += [str(x) for x in p if x]
        elif p:
            out.append(str(p))
    return " ".join(s.replace("`", "") for s in out)


def _short_curve(s: str) -> str:
    """``mlp: over-fitting …`` → the model and its verdict only."""
    name = s.split(":", 1)[0]
    for phrase, verdict in (
        ("rises consistently", "over-fitting (early stopping kept the best epoch)"),
        ("oscillates", "unstable, not over-fitting"),
        ("still falling", "still improving at the last epoch"),
        ("a plateau", "plateau, no clear over-fitting"),
    ):
        if phrase in s:
            return f"{name}: {verdict}"
    return name


def _one_per_model(said: list[str]) -> list[str]:
    """The first signed-effect sentence of each model (``<model>, <target>: higher …``)."""
    out: dict[str, str] = {}
    for s in said:
        head = s.split(":")[0]
        if ", " in head and "higher" in s:
            out.setdefault(head.split(", ")[0], s)
    return list(out.values())


def build_slides(
    store: FigureStore,
    words: dict[str, list[str]],
    title: str,
    subtitle: str,
    model_table: Table | None,
    extra: dict[str, Any] | None = None,
) -> list[Slide]:
    """``extra``: ``team``, ``task`` (a one-line description), ``approach_table``,
    ``references``, ``classification`` (bool), ``curve`` (the network figure to show),
    ``effects_figures`` (signed-effect figures, the most weighted model first)."""
    w = {k: list(v) for k, v in words.items()}
    x = extra or {}
    for k in ("data", "models", "metric", "overfitting", "errors", "interpretation"):
        w.setdefault(k, [])
    for k in ("generation", "submissions", "limits", "summary", "approach"):
        w.setdefault(k, [])
    team = x.get("team") or ""
    data = w["data"]
    dom = [s for s in data if s.startswith("Nearest training neighbour")]
    scaff = [s for s in data if "scaffolds" in s]
    co = [s for s in data if s.startswith("P(")]
    dup = [s for s in data if "appear" in s and "molecule" in s]
    models = w["models"]
    best = [s for s in models if s.startswith(("Best single", "Runner-up"))]
    bench = [s for s in models if s.startswith("The organisers'")]
    ladder = [s for s in models if s.startswith(("Ensemble", "Tuning the", "With tuned"))]
    gaps = [s for s in w["overfitting"] if ", a " in s and " gap" in s]
    size = [s for s in w["overfitting"] if s.startswith(("Learning curve of", "The train–CV gap"))]
    size += [
        s for s in w["overfitting"] if s.startswith(("Still improving", "Flattening", "Flat:"))
    ]
    stress = [s for s in w["errors"] if s.startswith(("Scaffold-split CV", "Median nearest"))]
    effects = [s for s in w["interpretation"] if ", " in s.split(":")[0] and "higher" in s]
    leak = [s for s in w["approach"] if s.startswith(("Transfer", "Suspected leak", "No kept"))]
    curves = [s for s in w["overfitting"] if "smoothed validation loss" in s]
    cand: list[Slide] = [
        Slide(
            title,
            [b for b in (subtitle, team or "team: set `report.authors` in params.yaml") if b],
            kind="title",
            priority=99,
            notes=_say(
                f"We are {team}." if team else "",
                f"Our task: {x.get('task', subtitle)}.",
                "In fifteen minutes: the data and how far the test set lies from it, our "
                "approach, the results under one fair protocol, what over-fitting we see, "
                "where the models fail and what they rely on, and what we would do next.",
            ),
        ),
        Slide(
            "The task and the data",
            data[:1] + dup,
            _fig(store, "target_distribution"),
            priority=92,
            notes=_say(
                data[:1],
                "The figure shows the balance of each target in the training set.",
                [s for s in data if s.startswith("Imbalanced")],
                dup,
                [s for s in data if s.startswith("Data checks")],
            ),
        ),
        Slide(
            "How the labels go together",
            co,
            _fig(store, "label_cooccurrence"),
            priority=62,
            notes=_say(
                "Each cell is the share of molecules positive for the column target among "
                "those positive for the row target; compare it with the column's overall rate.",
                co,
            ),
        ),
        Slide(
            "Is the test set like the training set?",
            dom[:1] + stress[:1],
            _fig(store, "scaffold_cv", "nn_similarity"),
            priority=86,
            notes=_say(
                "For every test molecule we take its most similar training molecule, and we "
                "compare that profile with what cross-validation sees: a fold's molecules "
                "against the other folds.",
                dom,
                scaff,
                stress,
                "This is what tells us whether the CV score can be trusted as an estimate of "
                "the test score.",
            ),
        ),
        Slide(
            "Our approach",
            [a for a in w["approach"] if a.startswith(("Validation", "Tuning"))][:2] + leak[1:2],
            table=x.get("approach_table"),
            priority=94,
            notes=_say(
                "The table lists each model, what it sees and how it was set.",
                [a for a in w["approach"] if a not in leak],
                leak,
            ),
        ),
        Slide(
            "Results: every model, one protocol",
            [],
            table=_columns(model_table, [0, 3, 4, 5]),
            priority=96,
            notes=_say(
                "Every row is scored the same way on the same folds, including the "
                "organisers' benchmark and a trivial constant predictor.",
                best,
                bench,
            ),
        ),
        Slide(
            "The gain ladder",
            ladder[:3],
            _fig(store, "gain_ladder"),
            priority=95,
            notes=_say(
                "Each step is compared with the one it builds on, fold by fold: the grey dots "
                "are the folds, so we can see whether a gain holds in every fold or is noise.",
                bench,
                ladder,
            ),
        ),
    ]
    if x.get("classification"):
        cand.append(
            Slide(
                "The metric and the thresholds",
                w["metric"][:4],
                _fig(store, "confusion"),
                priority=82,
                notes=_say(
                    "The confusion matrices count the out-of-fold decisions: rows are the true "
                    "label, columns the prediction.",
                    w["metric"],
                ),
            )
        )
    else:
        cand.append(
            Slide(
                "Predicted vs true",
                w["errors"][:1],
                _fig(store, "pred_vs_true"),
                priority=82,
                notes=_say(
                    "Out-of-fold predictions against the truth; the orange line is the mean "
                    "truth per decile of prediction: flatter than the diagonal means the "
                    "model shrinks towards the mean.",
                ),
            )
        )
    curve = x.get("curve")
    cand += [
        Slide(
            "Bias and variance",
            [": ".join(g.split(": ", 2)[:2]) for g in gaps[:5]],
            _fig(store, "train_vs_cv"),
            priority=84,
            notes=_say(
                "Blue is the score on the training folds, orange the cross-validated score: "
                "the distance between them is variance, a low score on both is bias.",
                gaps[:5],
            ),
        ),
        Slide(
            "More data or a better model?",
            size[1:3],
            _fig(store, "learning_curve_size"),
            priority=80,
            notes=_say(
                "A strong tabular model refitted on growing shares of its training folds: the "
                "gap between the curves is variance, a held-out curve still moving at the right "
                "means more data would pay.",
                size,
            ),
        ),
        Slide(
            "Learning curves: over-fitting or not?",
            [_short_curve(s) for s in curves][:6],
            _fig(store, curve) if curve else [],
            priority=76,
            notes=_say(
                "We read each curve smoothed over a few epochs: over-fitting is a consistent "
                "rise of the validation loss after its minimum, oscillation is instability, "
                "a minimum at the last epoch means training stopped too early.",
                curves[:4],
                "The report gives the verdict of every network." if len(curves) > 4 else "",
            ),
        ),
        Slide(
            "Where the models fail",
            w["errors"][:2],
            _fig(store, "error_vs_similarity"),
            priority=78,
            notes=_say(
                "Each point is a training molecule, its out-of-fold error against its "
                "similarity to the folds its model was trained on.",
                [s for s in w["errors"] if s not in stress],  # said on the test-set slide
            ),
        ),
        Slide(
            "Worst-predicted molecules",
            [s for s in w["errors"] if s.startswith("Worst")],
            _fig(store, "worst_molecules"),
            priority=48,
            notes=_say(
                "These are the molecules with the largest out-of-fold errors; we check "
                "whether their labels are plausible and what they have in common.",
                [s for s in w["errors"] if s.startswith("Worst")],
            ),
        ),
        Slide(
            "What the models rely on",
            w["interpretation"][:3],
            _fig(store, "feature_importance"),
            priority=72,
            notes=_say(
                "Importances averaged over the fold models; correlated descriptors share "
                "their importance, so a low bar does not mean a useless feature.",
                [s for s in w["interpretation"] if s not in effects],
            ),
        ),
        Slide(
            "Signed effects: which way each feature pushes",
            _one_per_model(w["interpretation"])[:3],
            _fig(store, *(x.get("effects_figures") or [])),
            priority=66,
            notes=_say(
                "Each dot is a molecule: how much this feature moved its prediction, out of "
                "fold. Red means a high value of the feature; red dots on the right mean the "
                "higher the feature, the higher the prediction.",
                _one_per_model(w["interpretation"]),
                "The report gives every target." if len(effects) > 3 else "",
            ),
        ),
        Slide(
            "Atoms and substructures",
            [s for s in w["interpretation"] if s.startswith(("Atom", "The substructures"))],
            _fig(store, "atom_attribution", "morgan_bits"),
            priority=56,
            notes=_say(
                "Green atoms raise the prediction, purple ones lower it: this is where a "
                "chemist can check whether the model's reasons are plausible.",
                [s for s in w["interpretation"] if s.startswith(("Atom", "The substructures"))],
            ),
        ),
        Slide(
            "Generated molecules",
            w["generation"][:4],
            _fig(store, "candidates", "generation_properties"),
            priority=58,
            notes=_say(
                "We trained a VAE and a GAN on the molecules and scored the samples with the "
                "MOSES metrics against a trivial generator and held-out real molecules.",
                w["generation"],
            ),
        ),
        Slide(
            "Submissions",
            w["submissions"][:3],
            _fig(store, "cv_vs_leaderboard"),
            priority=52,
            notes=_say(w["submissions"]),
        ),
        Slide(
            "Conclusion and next steps",
            [s for s in w["approach"] if s.startswith("Submitted")] + w["limits"][:4],
            kind="closing",
            priority=98,
            notes=_say(
                [s for s in w["approach"] if s.startswith("Submitted")],
                w["limits"],
                "Thank you; we are happy to take questions.",
            ),
        ),
        Slide(
            "References",
            list(x.get("references") or [])[:9],
            kind="text",
            priority=45,
            notes="The methods and tools we used; the full list is in the report.",
        ),
    ]
    slides = [
        s
        for s in cand
        if s.kind != "content" or s.figures or s.table is not None
        if s.kind != "text" or s.bullets
    ]
    while len(slides) > MAX_SLIDES:
        slides.remove(min(slides, key=lambda s: s.priority))
    return slides
