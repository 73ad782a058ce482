"""Generated sentences stating the key numbers, so that the student can speak from them.

:func:`sentences` turns the facts gathered while the figures were drawn into short
sentences grouped by topic; the report's summary and the slides pick from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.figures_models import curves_sentence, gain, optimism
from chemchallenge.report.items import fmt

TOPICS = ("data", "models", "overfitting", "errors", "interpretation", "generation", "submissions")


def _pct(x: float) -> str:
    return f"{x:.0%}"


def data_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    c, task = f.get("counts"), f.get("task")
    if not c or task is None:
        return []
    out = [
        f"{c.get('train_molecules', '?')} training and {c.get('test_molecules', '?')} test "
        f"molecules; a {task.task_type} task on {', '.join(task.targets)}, scored by {task.metric}."
    ]
    issues = [
        f"{c[k]} {label}"
        for k, label in (
            ("duplicate_molecule", "duplicated molecules merged"),
            ("conflicting_labels", "duplicates with conflicting labels"),
            ("invalid_test", "unreadable test SMILES"),
            ("train_test_overlap", "test molecules also in training"),
        )
        if c.get(k)
    ]
    if issues:
        out.append("Data checks found " + ", ".join(issues) + ".")
    rates = f.get("class_rates")
    if rates:
        rare = {k: v for k, v in rates.items() if min(v, 1 - v) < 0.2}
        if rare:
            out.append(
                "Imbalanced labels: "
                + ", ".join(f"{k} {v:.0%} positive" for k, v in rare.items())
                + " — F1 depends on the decision threshold."
            )
    sc = f.get("scaffolds")
    if sc:
        out.append(
            f"{sc['n']} Bemis–Murcko scaffolds, {_pct(sc['singletons'] / max(1, sc['n']))} of "
            f"them singletons; {_pct(sc['test_unseen'])} of test molecules have a scaffold "
            "never seen in training."
            if np.isfinite(sc["test_unseen"])
            else f"{sc['n']} Bemis–Murcko scaffolds."
        )
    nn, loo = f.get("nn_test"), f.get("nn_train")
    if nn is not None:
        s = (
            f"Test molecules: median similarity to their nearest training molecule "
            f"{np.median(nn):.2f}; {_pct(np.mean(nn < 0.4))} lie below 0.4"
        )
        if loo is not None and len(loo):
            s += f" (within the training set: {np.median(loo):.2f} and {_pct(np.mean(loo < 0.4))})"
        out.append(s + ".")
    return out


def _score(r: ModelRun) -> str:
    return f"{fmt(r.cv_mean)} ± {fmt(r.cv_std)}"


def model_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    ranking: list[ModelRun] = f.get("ranking") or []
    if not ranking:
        return []
    best, base, metric = ranking[0], f.get("baseline"), f.get("metric", "")
    k = len(best.metrics.get("folds", [])) or "k"
    out = [
        f"Best model: {best.name} ({best.concept or best.kind}), CV {metric} "
        f"{_score(best)} over {k} folds."
    ]
    if base is None:
        out.append("The organisers' benchmark (`baseline`) was not trained: no gain to state.")
    elif best is base:
        out.append(f"No model beats the organisers' benchmark ({metric} {_score(base)}).")
    else:
        g = gain(best, base)
        sd = float(np.hypot(best.cv_std, base.cv_std))
        sd = sd if np.isfinite(sd) and sd > 0 else np.nan
        out.append(
            f"Gain over the organisers' benchmark (baseline, {fmt(base.cv_mean)}): "
            f"{g:+.3f} {metric} ({g / abs(base.cv_mean):+.0%})"
            + (f", {abs(g) / sd:.1f}× the fold-to-fold spread." if np.isfinite(sd) else ".")
        )
    if len(ranking) > 2:
        runner = ranking[1]
        d = abs(best.cv_mean - runner.cv_mean)
        close = d < max(best.cv_std, runner.cv_std)
        tie = "within one fold std: treat them as tied" if close else f"{d:.3f} behind"
        out.append(f"Runner-up: {runner.name} ({_score(runner)}), {tie}.")
    thr = f.get("threshold_gain")
    if thr is not None:
        out.append(f"Tuning the decision thresholds changes the nested-CV score by {thr:+.3f}.")
    return out


def overfitting_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    for r in f.get("ranking") or []:
        o = optimism(r)
        if not np.isfinite(o) or not np.isfinite(r.cv_mean) or r.cv_mean == 0:
            continue
        rel = o / abs(r.cv_mean)
        if rel > 0.25:
            out.append(
                f"{r.name}: train {fmt(r.train_mean)} vs CV {fmt(r.cv_mean)} — a "
                f"{rel:.0%} gap: it memorises the training folds (high variance)"
                + (
                    "; for tree ensembles this is expected as long as CV improves."
                    if r.kind in ("random_forest", "xgboost")
                    else "."
                )
            )
        elif rel < 0.05 and r.name != "ensemble":
            out.append(
                f"{r.name}: train ≈ CV ({fmt(r.train_mean)} vs {fmt(r.cv_mean)}): no "
                "over-fitting; if the score is poor, it is bias (under-fitting)."
            )
    for name, d in (f.get("curves") or {}).items():
        if d:
            out.append(curves_sentence(name, d))
    return out


def error_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    es = f.get("err_sim")
    if es and len(es["means"]) >= 2:
        lo, hi = es["means"][0], es["means"][-1]
        ratio = lo / hi if hi > 0 else np.nan
        trend = (
            "Error grows as molecules get less similar to the training folds"
            if es["rho"] < -0.1 and lo > hi
            else "Error barely depends on the similarity to the training folds"
        )
        out.append(
            f"{trend} (Spearman ρ = {es['rho']:.2f}): mean error {lo:.2f} in the least "
            f"similar bin vs {hi:.2f} in the most similar one"
            + (f" ({ratio:.1f}×)." if np.isfinite(ratio) else ".")
        )
        exp, oof = es.get("expected_test"), es.get("oof_mean")
        if exp is not None and oof and np.isfinite(exp):
            word = (
                "worse" if exp > oof * 1.05 else ("better" if exp < oof * 0.95 else "about as good")
            )
            out.append(
                f"Weighted by the test set's similarity profile, the expected test error is "
                f"{exp:.2f} vs {oof:.2f} out-of-fold: expect the leaderboard to be {word} than CV."
            )
    best: ModelRun | None = f.get("error_model")
    per = best.metrics.get("per_target", {}) if best else {}
    if len(per) > 1:
        gib = bool(best.metrics.get("greater_is_better", True)) if best else True
        vals = {t: d.get("mean", np.nan) for t, d in per.items() if isinstance(d, dict)}
        hard = (min if gib else max)(vals, key=lambda t: vals[t])
        out.append(f"Hardest target for {best.name if best else ''}: {hard} ({fmt(vals[hard])}).")
    if f.get("worst_ids"):
        out.append(
            f"Worst-predicted molecules (IDs): {', '.join(f['worst_ids'][:5])} — check their "
            "labels and chemistry."
        )
    return out


def interpretation_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    for name, imp in list((f.get("importances") or {}).items())[:3]:
        out.append(f"{name} relies most on " + ", ".join(list(imp.index[:5])) + ".")
    mb = f.get("morgan_bits")
    if mb:
        out.append(
            f"The most important substructures of {mb[0]} are drawn from Morgan bits "
            f"{', '.join(map(str, mb[1][:4]))}."
        )
    if f.get("attribution_model"):
        out.append(
            f"Atom occlusion on {f['attribution_model']} shows which atoms drive a prediction."
        )
    return out


def generation_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    df = f.get("generation")
    if df is None:
        return []
    out = []
    wanted = ("validity", "sensible", "uniqueness", "novelty", "fcd")
    for metric in [m for m in wanted if m in df.index][:4]:
        out.append(
            f"{metric}: " + ", ".join(f"{c} {fmt(v)}" for c, v in df.loc[metric].items()) + "."
        )
    info = (ctx.generation or {}).get("info")
    guided = info.get("guided") if isinstance(info, dict) else None
    if isinstance(guided, dict) and guided.get("status") == "ok":
        out.append(
            f"{guided.get('n_candidates', 0)} property-guided candidate(s), "
            f"{guided.get('n_in_domain', 0)} within the applicability domain "
            "(candidates/candidates.csv)."
        )
    return out


def submission_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    gib = f.get("greater_is_better", True)
    for name, cv, sd, lb, kind in (f.get("cv_vs_lb") or [])[:4]:
        s = f"{name}: CV {fmt(cv)}, {kind} {fmt(lb)}"
        if np.isfinite(sd) and abs(lb - cv) <= 2 * sd:
            s += " — within 2 fold std of CV: CV is a reliable estimate."
        else:
            better = (lb > cv) == gib
            s += f" — {'better' if better else 'worse'} than CV by more than 2 fold std: " + (
                "the test predictions average the fold models (a small ensemble), "
                "or the test set is easier."
                if better
                else "CV is optimistic, or the test set differs."
            )
        out.append(s)
    n = 0 if ctx.registry is None else len(ctx.registry)
    if n:
        out.append(f"{n} submission(s) archived in submissions/registry.csv.")
    return out


def limits(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    nn = f.get("nn_test")
    if nn is not None and np.mean(nn < 0.4) > 0.2:
        out.append(
            "Many test molecules are far from the training set: state an applicability domain, "
            "measure it with a scaffold split, try pre-trained representations."
        )
    if any(optimism(r) / abs(r.cv_mean) > 0.25 for r in f.get("ranking") or [] if r.cv_mean):
        out.append(
            "Large train–CV gaps: stronger regularisation (min_samples_leaf, max_depth, "
            "dropout, weight decay) or fewer, less redundant features."
        )
    if not f.get("tuned"):
        out.append("No model was tuned: an Optuna search (tune: true) is the cheapest next gain.")
    if ctx.ensemble is None:
        out.append(
            "No ensemble yet: averaging diverse models (trees + networks) usually gains a "
            "little and lowers the variance."
        )
    if f.get("class_rates") and any(min(v, 1 - v) < 0.2 for v in f["class_rates"].values()):
        out.append(
            "Rare labels: tune the decision thresholds on out-of-fold predictions, try class "
            "weights."
        )
    out.append(
        "CV uses one fixed split: repeated CV with other seeds would narrow the "
        "uncertainty of the ranking."
    )
    out.append(
        "Labels carry experimental noise (duplicates disagree): part of the error "
        "cannot be learned."
    )
    return out


def _about(said: list[str], ranking: list[ModelRun]) -> list[str]:
    """The first sentence about the best-ranked model that has one."""
    for r in ranking:
        hits = [s for s in said if s.startswith(f"{r.name}:")]
        if hits:
            return hits[:1]
    return said[:1]


def sentences(ctx: Context, facts: dict[str, Any]) -> dict[str, list[str]]:
    out = {
        "data": data_sentences(ctx, facts),
        "models": model_sentences(ctx, facts),
        "overfitting": overfitting_sentences(ctx, facts),
        "errors": error_sentences(ctx, facts),
        "interpretation": interpretation_sentences(ctx, facts),
        "generation": generation_sentences(ctx, facts),
        "submissions": submission_sentences(ctx, facts),
        "limits": limits(ctx, facts),
    }
    picked = (
        out["data"][:1]
        + out["models"][:2]
        + out["overfitting"][:1]
        + out["errors"][:1]
        + out["data"][-1:]
        + _about(out["submissions"], facts.get("ranking") or [])
    )
    out["summary"] = list(dict.fromkeys(picked))
    return out
