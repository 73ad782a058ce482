"""Scaffold-split CV beside the project's CV (the diagnose stage's stress test), read with
the nearest-neighbour similarity each split shows its validation molecules and the test
set's: which of the two scores to expect on the test set, and far from the training set."""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.report.context import Context
from chemchallenge.report.items import Figure, FigureStore, Note, plt, sig
from chemchallenge.report.style import COLORS


def _median(x: Any) -> float:
    x = np.asarray(x if x is not None else [], dtype=float)
    x = x[~np.isnan(x)]
    return float(np.median(x)) if len(x) else np.nan


def scaffold_items(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Figure | Note:
    d = ctx.diagnostics
    folds = ctx.scaffold_fold_of_train()
    if not d or not d.get("scaffold_cv") or folds is None:
        return Note(
            "No scaffold-split CV: the diagnose stage has not run (`chemchallenge diagnose`)."
        )
    sim_scaffold = ctx.neighbours_under(folds)["cv"].dropna().to_numpy()
    sim_random = ctx.neighbours["cv"].dropna().to_numpy()
    sim_test = np.asarray(facts.get("nn_test") if facts.get("nn_test") is not None else [])
    facts["scaffold_cv"] = {
        "d": d,
        "split": facts.get("split", ""),
        "random": sim_random,
        "scaffold": sim_scaffold,
        "test": sim_test,
    }
    rnd, sca = d["random_cv"], d["scaffold_cv"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 3.8), layout="constrained")
    for i, (_label, s, color) in enumerate(
        ((f"{facts.get('split') or 'project'} CV", rnd, COLORS[0]), ("scaffold CV", sca, COLORS[3]))
    ):
        a1.scatter(np.full(len(s["folds"]), i), s["folds"], color=color, alpha=0.5, s=14)
        a1.errorbar(i + 0.15, s["mean"], yerr=s["std"], fmt="o", color=color, capsize=4, ms=7)
        a1.annotate(sig(s["mean"]), (i + 0.22, s["mean"]), fontsize=9, va="center")
    a1.set_xticks([0, 1], [f"{facts.get('split') or 'project'} folds", "scaffold folds"])
    a1.set_xlim(-0.5, 1.7)
    a1.set_ylabel(f"{d['metric']} ({'higher' if d['greater_is_better'] else 'lower'} is better)")
    a1.set_title(f"{d['model']}: per fold (dots), mean ± std")
    bins = np.linspace(0, 1, 41)
    for x, label, color in (
        (sim_test, "test → train", COLORS[1]),
        (sim_random, "project CV: fold → other folds", COLORS[0]),
        (sim_scaffold, "scaffold CV: fold → other folds", COLORS[3]),
    ):
        if len(x):
            a2.hist(x, bins=bins, density=True, histtype="step", lw=1.8, color=color, label=label)
    a2.axvline(ctx.ad_threshold, color="k", ls=":", lw=1.2, label=f"domain {ctx.ad_threshold:.2f}")
    a2.set(xlabel="max Tanimoto to the molecules trained on (ECFP4)", ylabel="density")
    a2.set_title("How far validation and test molecules are")
    a2.legend(fontsize=7)
    cap = (
        f"Left: {d['model']}'s CV score on the project's folds and on {d['n_folds']} folds that "
        "hold out whole Bemis–Murcko scaffolds (the same model and params). Right: for each "
        "validation molecule, its most similar molecule in the folds its model was trained "
        "on, under each split, and the same for the test molecules. What to see: the scaffold "
        "split moves validation molecules away from training (curve shifted left) and the "
        "score drops; the test curve tells which of the two CV scores the test set resembles."
    )
    return store.save(fig, "scaffold_cv", "Scaffold-split CV: a harder test", cap)


def scaffold_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    s = f.get("scaffold_cv")
    if not s:
        return []
    d, split = s["d"], s["split"] or "project"
    rnd, sca = d["random_cv"], d["scaffold_cv"]
    gib, metric = bool(d["greater_is_better"]), d["metric"]
    diff = (sca["mean"] - rnd["mean"]) * (1 if gib else -1)  # < 0: the scaffold split is worse
    rel = abs(sca["mean"] - rnd["mean"]) / abs(rnd["mean"]) if rnd["mean"] else np.nan
    word = "worse" if diff < 0 else "better" if diff > 0 else "equal"
    out = [
        f"Scaffold-split CV of {d['model']} (whole Bemis–Murcko scaffolds held out): {metric} "
        f"{sig(sca['mean'])} ± {sig(sca['std'])} vs {sig(rnd['mean'])} ± {sig(rnd['std'])} on "
        f"the {split} folds"
        + (
            f", {rel:.{0 if rel >= 0.1 else 1}%} {word}"
            if word != "equal" and np.isfinite(rel)
            else ", equal"
        )
        + (
            f" (more than 2 fold std): molecules from unseen chemical series are predicted "
            f"clearly {word}."
            if abs(sca["mean"] - rnd["mean"]) > 2 * rnd["std"]
            else " (within 2 fold std of the project's CV)."
        )
    ]
    if split == "scaffold":
        out.append("The project's CV is already a scaffold split: the two agree by design.")
        return out
    mr, ms, mt = _median(s["random"]), _median(s["scaffold"]), _median(s["test"])
    thr = ctx.ad_threshold
    below = np.mean(np.asarray(s["scaffold"]) < thr) if len(s["scaffold"]) else np.nan
    sims = (
        f"Median nearest-training-neighbour similarity: {mr:.2f} under the {split} split, "
        f"{ms:.2f} under the scaffold split ({below:.0%} below the domain threshold {thr:.2f})"
    )
    if not np.isfinite(mt):
        out.append(sims + ".")
    elif abs(mt - mr) <= abs(mt - ms):
        out.append(
            sims + f", {mt:.2f} for the test molecules: the test set resembles the {split} "
            f"folds, so the {split} CV score is the estimate for it; the scaffold score is what "
            "to expect for molecules far from training (out-of-domain, new series)."
        )
    else:
        out.append(
            sims + f", {mt:.2f} for the test molecules: the test set resembles the scaffold "
            "folds, so expect the test score near the scaffold-split score, not the "
            f"{split} CV."
        )
    return out
