"""Generated sentences stating the key numbers, so that the student can speak from them.

:func:`sentences` turns the facts gathered while the figures were drawn into short
sentences grouped by topic; the report's summary and the slides pick from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.figures_models import curves_sentence, optimism
from chemchallenge.report.items import fmt, sig, signed
from chemchallenge.report.ladder import Paired, Step, is_f1, paired, step, uses_thresholds
from chemchallenge.report.learning import learning_sentences
from chemchallenge.report.scaffold_cv import scaffold_sentences

TOPICS = ("data", "models", "overfitting", "errors", "interpretation", "generation", "submissions")


def _pct(x: float) -> str:
    return f"{x:.0%}"


def duplicates_sentence(counts: dict[str, Any]) -> str:
    """What ``prepare`` found about repeated molecules, and what it implies for the noise."""
    dup, conf = int(counts.get("duplicate_molecule", 0)), int(counts.get("conflicting_labels", 0))
    if conf:
        return (
            f"{conf} molecule(s) appear several times with conflicting labels (and {dup} with "
            "the same labels): the labels carry experimental noise that no model can learn."
        )
    if dup:
        return (
            f"{dup} molecule(s) appear several times, always with the same labels: no sign of "
            "label noise among the repeats."
        )
    return (
        "No molecule appears twice in the training set: the experimental label noise cannot "
        "be measured from repeats."
    )


def domain_sentence(ctx: Context, f: dict[str, Any]) -> str | None:
    """Test-to-train similarity against the similarity CV sees (a fold to the other folds)."""
    nn, cv = f.get("nn_test"), f.get("nn_cv")
    if nn is None or cv is None or not len(cv) or not len(nn):
        return None
    thr = ctx.ad_threshold
    mt, mc = float(np.median(nn)), float(np.median(cv))
    ot, oc = float(np.mean(nn < thr)), float(np.mean(cv < thr))
    s = (
        f"Nearest training neighbour (Tanimoto, ECFP4): median {mt:.2f} for the test "
        f"molecules vs {mc:.2f} for a CV fold's molecules to the other folds; below the "
        f"applicability-domain threshold {thr:.2f}: {ot:.0%} vs {oc:.0%}"
    )
    if abs(mt - mc) <= 0.05 and abs(ot - oc) <= 0.10:
        return s + (
            ". The test set is as far from the training set as CV folds are from each "
            "other: random CV represents it."
        )
    if mt > mc:
        return s + (
            ". The test set is closer to the training set than CV folds are: CV is, if "
            "anything, pessimistic."
        )
    return s + (
        ". The test set is further from the training set than CV folds are: expect the "
        "test score below CV"
        + (
            "; the scaffold-split CV (in 'Where the models go wrong') is the fairer estimate."
            if f.get("scaffold_cv")
            else "; a scaffold split would be the fairer estimate."
        )
    )


def cooccurrence_sentence(ctx: Context, f: dict[str, Any]) -> str | None:
    """The most informative conditional rate between two binary labels."""
    co = f.get("cooccurrence")
    if not co:
        return None
    names, mat, rates = co["targets"], co["matrix"], co["rates"]
    best, lift = None, 0.0
    for i in range(len(names)):
        for j in range(len(names)):
            if i != j and np.isfinite(mat[i][j]) and abs(mat[i][j] - rates[j]) > lift:
                best, lift = (i, j), abs(mat[i][j] - rates[j])
    if best is None:
        return None
    i, j = best
    s = f"P({names[j]}=1 | {names[i]}=1) = {mat[i][j]:.2f} against P({names[j]}=1) = {rates[j]:.2f}"
    if lift >= 0.15:
        return (
            s + ": the labels are linked, a multitask model (or chaining the targets) can use it."
        )
    return s + ": the labels are nearly independent; separate models lose little."


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
            ("invalid_test", "unreadable test SMILES (given the training prior)"),
            ("train_test_overlap", "test molecules also in training"),
        )
        if c.get(k)
    ]
    if issues:
        out.append("Data checks found " + ", ".join(issues) + ".")
    out.append(duplicates_sentence(c))
    rates = f.get("class_rates")
    if rates:
        rare = {k: v for k, v in rates.items() if min(v, 1 - v) < 0.2}
        if rare:
            out.append(
                "Imbalanced labels: "
                + ", ".join(f"{k} {v:.0%} positive" for k, v in rare.items())
                + " — F1 depends on the decision threshold."
            )
    co = cooccurrence_sentence(ctx, f)
    if co:
        out.append(co)
    sc = f.get("scaffolds")
    if sc:
        out.append(
            f"{sc['n']} Bemis–Murcko scaffolds, {_pct(sc['singletons'] / max(1, sc['n']))} of "
            f"them singletons; {_pct(sc['test_unseen'])} of test molecules have a scaffold "
            "never seen in training."
            if np.isfinite(sc["test_unseen"])
            else f"{sc['n']} Bemis–Murcko scaffolds."
        )
    d = domain_sentence(ctx, f)
    if d:
        out.append(d)
    return out


def _score(r: ModelRun) -> str:
    return f"{sig(r.fair_mean)} ± {sig(r.fair_std)}"


def _diff(metric: str, p: Paired) -> str:
    if p.diff == 0 and p.std == 0:
        return f"{metric} identical in all {p.n} folds"
    word = "better" if p.gain > 0 else "worse" if p.gain < 0 else "the same"
    return (
        f"{metric} {signed(p.diff)} ± {sig(p.std)} over paired folds ({word} in "
        f"{p.better if p.gain >= 0 else p.n - p.better} of {p.n})"
    )


def _tied(p: Paired | None) -> bool:
    return p is not None and (abs(p.diff) <= p.std or 0 < p.better < p.n)


def model_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    ranking: list[ModelRun] = f.get("ranking") or []
    if not ranking:
        return []
    metric, gib = f.get("metric", ""), f.get("greater_is_better", True)
    steps: list[Step] = f.get("ladder") or []
    thr = uses_thresholds(ctx)
    at = " at threshold 0.5" if thr else ""
    lower = "" if gib else f" (lower {metric} is better)"
    singles = [r for r in ranking if r.name != "ensemble"]
    out = []
    if singles:
        b = singles[0]
        k = len(b.fair["folds"]) or "k"
        out.append(
            f"Best single model: {b.name} ({b.concept or b.kind}), CV {metric} {_score(b)}"
            f"{at} over {k} folds{lower}."
        )
        if len(singles) > 1:
            r2 = singles[1]
            a = Step(r2.name, r2.name, r2.fair_mean, r2.fair_std, r2.fair["folds"])
            bb = Step(b.name, b.name, b.fair_mean, b.fair_std, b.fair["folds"])
            p = paired(a, bb, gib)
            s = f"Runner-up: {r2.name} ({_score(r2)})"
            if p is not None:
                s += f"; {b.name} vs {r2.name}: {_diff(metric, p)}"
                s += ": treat them as tied." if _tied(p) else "."
            else:
                s += "."
            out.append(s)
    bench, triv = step(steps, "benchmark"), step(steps, "trivial")
    if bench is not None and triv is not None:
        beats = (bench.mean > triv.mean) == gib and bench.mean != triv.mean
        out.append(
            f"The organisers' benchmark scores {sig(bench.mean)}; the trivial predictor "
            f"({triv.label.split(': ', 1)[-1]}) scores {sig(triv.mean)}: the benchmark is "
            + ("better than" if beats else "no better than")
            + " the trivial predictor"
            + ("." if beats else ", so beating the benchmark alone proves little.")
        )
    elif bench is None:
        out.append("The organisers' benchmark (`baseline`) was not trained: no gain to state.")
    single, ens = step(steps, "single"), step(steps, "ensemble")
    if bench is not None and ens is not None:
        p = paired(bench, ens, gib)
        if p is not None:
            out.append(
                f"Ensemble vs the benchmark, same protocol{at}: {_diff(metric, p)}"
                + (f" ({p.diff / abs(bench.mean):+.0%}).".replace("-", "−") if bench.mean else ".")
            )
    elif bench is not None and single is not None:
        p = paired(bench, single, gib)
        if p is not None:
            out.append(f"Best single model vs the benchmark{at}: {_diff(metric, p)}.")
    if single is not None and ens is not None:
        p = paired(single, ens, gib)
        if p is not None:
            out.append(
                f"Ensemble {sig(ens.mean)} vs the best single model {sig(single.mean)} (both "
                f"nested{at}): {_diff(metric, p)}"
                + (": a gain within the fold noise." if _tied(p) else ".")
            )
    st, et = step(steps, "single_tuned"), step(steps, "ensemble_tuned")
    if et is not None and ens is not None:
        p = paired(ens, et, gib)
        if p is not None:
            out.append(f"Tuning the thresholds (nested) moves the ensemble by {_diff(metric, p)}.")
        if st is not None:
            p = paired(st, et, gib)
            if p is not None:
                out.append(
                    f"With tuned thresholds on both: ensemble {sig(et.mean)} vs best single "
                    f"{sig(st.mean)}, {_diff(metric, p)}"
                    + (": within the fold noise." if _tied(p) else ".")
                )
    return out


def metric_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    """What the metric rewards, and the chosen thresholds read as confusion matrices."""
    if ctx.task is None:
        return []
    metric, out = ctx.task.metric, []
    if is_f1(metric) and ctx.task.task_type != "multiclass":
        out.append(
            f"{metric} = 2·TP / (2·TP + FP + FN)"
            + (" pooled over every (molecule, target) decision" if metric == "micro_f1" else "")
            + ": true negatives earn nothing, so when positives are common a doubtful 1 "
            "costs less than a missed 1."
        )
        thr = f.get("thresholds_used") or {}
        below = [t for t, v in thr.items() if v < 0.5]
        if thr:
            out.append(
                "Tuned thresholds: "
                + ", ".join(f"{t} {v:.2f}" for t, v in thr.items())
                + (f" ({', '.join(below)} below 0.5)." if below else ".")
            )
    for t, d in (f.get("precision_recall") or {}).items():
        out.append(
            f"{t}: of {d['pred_pos']} molecules predicted 1, {d['tp']} are 1 (precision "
            f"{d['precision']:.2f}); of {d['true_pos']} true 1, {d['tp']} are found (recall "
            f"{d['recall']:.2f}); {d['fp']} false alarms, {d['fn']} misses."
        )
    return out


def overfitting_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    trees = ("random_forest", "xgboost", "catboost", "decision_tree", "knn")
    for r in f.get("ranking") or []:
        o = optimism(r)
        if r.name == "ensemble" or not np.isfinite(o) or not np.isfinite(r.cv_mean):
            continue
        if r.cv_mean == 0:
            continue
        rel = o / abs(r.cv_mean)
        head = f"{r.name}: train {sig(r.train_mean)} vs CV {sig(r.cv_mean)}, a {rel:.0%} gap"
        if rel > 0.25:
            out.append(
                head
                + ": it memorises the training folds (high variance)"
                + (
                    "; expected for trees and neighbours (they fit every training point), the "
                    "CV score is what counts."
                    if r.kind in trees
                    else "."
                )
            )
        elif rel >= 0.05:
            out.append(head + ": moderate variance.")
        else:
            out.append(
                head + ": little variance; if the score is poor, the limit is bias (under-fitting)."
            )
    for name, d in (f.get("curves") or {}).items():
        if d:
            out.append(curves_sentence(name, d))
    return out + learning_sentences(f)


def error_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    es = f.get("err_sim")
    if es and len(es["means"]) >= 2:
        lo, hi = es["means"][0], es["means"][-1]
        ratio = lo / hi if hi > 0 else np.nan
        trend = (
            "Error grows "
            + ("slightly " if es["rho"] > -0.3 else "")
            + "as molecules get less similar to the training folds"
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
                f"{exp:.2f} vs {oof:.2f} out-of-fold: expect the leaderboard to be {word} "
                f"{'as' if word == 'about as good' else 'than'} CV."
            )
    sg = f.get("scaffold_errors")
    if sg:
        parts = [f"{v['mean']:.3f} for {k} (n = {v['n']})" for k, v in sg.items()]
        uniq = sg.get("unique scaffold")
        large = next((v for k, v in sg.items() if k.startswith("≥")), None)
        s = "Mean error by scaffold family: " + ", ".join(parts)
        if uniq is not None and large is not None:
            word = (
                "higher"
                if uniq["mean"] > 1.1 * large["mean"]
                else "lower"
                if uniq["mean"] < 0.9 * large["mean"]
                else "about the same"
            )
            s += f": {word} on molecules with a unique scaffold than in large families" + (
                " — a scaffold-split CV would likely score below the random one."
                if word == "higher" and not f.get("scaffold_cv")
                else "."
            )
        else:
            s += "."
        out.append(s)
    best: ModelRun | None = f.get("error_model")
    per = best.metrics.get("per_target", {}) if best else {}
    if len(per) > 1:
        gib = bool(best.metrics.get("greater_is_better", True)) if best else True
        vals = {t: d.get("mean", np.nan) for t, d in per.items() if isinstance(d, dict)}
        hard = (min if gib else max)(vals, key=lambda t: vals[t])
        out.append(f"Hardest target for {best.name if best else ''}: {hard} ({fmt(vals[hard])}).")
    out += scaffold_sentences(ctx, f)
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
    out += list(f.get("effects") or [])
    for name, share in (f.get("morgan_share") or {}).items():
        if share is not None:
            out.append(f"Morgan bits carry {share:.0%} of {name}'s importance.")
    mb = f.get("morgan_bits")
    if mb:
        out.append(
            f"The substructures that matter most to {mb[0]} are drawn from Morgan bits "
            f"{', '.join(map(str, mb[1][:4]))}."
        )
    elif f.get("morgan_skipped"):
        out.append(f["morgan_skipped"])
    if f.get("attribution_model"):
        w = f.get("attribution_weight")
        out.append(
            f"Atom occlusion on {f['attribution_model']}"
            + (f" (ensemble weight {w:.2f})" if w is not None and np.isfinite(w) else "")
            + " shows which atoms drive its prediction of "
            + f"{f.get('attribution_target', 'the first target')}."
        )
    elif f.get("attribution_skipped"):
        out.append(f["attribution_skipped"])
    return out


#: generation metrics where a lower value is better
LOWER_BETTER = ("fcd", "fd", "kl", "wasserstein")


def _lower(metric: str) -> bool:
    return any(metric.startswith(p) or metric.endswith(p) for p in LOWER_BETTER)


def generation_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    df = f.get("generation")
    if df is None:
        return []
    out = []
    gens = [c for c in df.columns if c != "floor"]
    for g in gens:
        col = df[g]
        parts = []
        if "n_generated" in col and "n_valid" in col and np.isfinite(col["n_generated"]):
            parts.append(f"{int(col['n_valid'])} valid of {int(col['n_generated'])} sampled")
        for metric in ("validity", "sensible", "uniqueness", "novelty"):
            if metric in col and np.isfinite(col[metric]):
                parts.append(f"{metric} {fmt(col[metric])}")
        fcd = next((m for m in ("fcd", "fd") if m in col and np.isfinite(col[m])), None)
        if fcd:
            sd = col.get(f"{fcd}_sd", np.nan)
            n = col.get("fcd_n", np.nan)
            parts.append(
                f"{fcd.upper()} {fmt(col[fcd])}"
                + (f" ± {fmt(sd)}" if np.isfinite(sd) else "")
                + (f" on {int(n)} molecules" if np.isfinite(n) else "")
            )
        if parts:
            out.append(f"{g}: " + ", ".join(parts) + ".")
    if "floor" in df.columns:
        floor = df["floor"]
        beat = []
        for metric in ("validity", "uniqueness", "novelty", "snn", "fcd", "fd"):
            if metric not in df.index or not np.isfinite(floor.get(metric, np.nan)):
                continue
            for g in gens:
                v = df.at[metric, g]
                if np.isfinite(v) and (v < floor[metric] if _lower(metric) else v > floor[metric]):
                    beat.append(f"{g} on {metric}")
        n_floor = ((ctx.generation or {}).get("info") or {}).get("corpus", {}).get("n_floor")
        s = (
            "floor: "
            + (f"{n_floor} " if n_floor else "")
            + "held-out real molecules scored like a generator — the level of real, unseen "
            "chemistry, a reference rather than a bound"
        )
        out.append(s + (f" (beaten by {', '.join(beat)})." if beat else "."))
    info = (ctx.generation or {}).get("info")
    info = info if isinstance(info, dict) else {}
    rec = info.get("vae_reconstruction")
    if isinstance(rec, dict) and rec:
        out.append(
            "VAE reconstruction (molecules decoded back exactly): "
            + ", ".join(f"{k} {v:.1%}" for k, v in rec.items() if isinstance(v, int | float))
            + "."
        )
    guided = info.get("guided") if isinstance(info, dict) else None
    if isinstance(guided, dict) and guided.get("status") == "ok":
        obj = guided.get("objectives")
        out.append(
            f"{guided.get('n_candidates', 0)} property-guided candidate(s), "
            f"{guided.get('n_in_domain', 0)} within the applicability domain "
            f"(max Tanimoto to training ≥ {ctx.ad_threshold:.2f}; candidates/candidates.csv)"
            + (
                "; desirability assumes, per target: "
                + ", ".join(f"{k} {v}" for k, v in obj.items())
                + "."
                if isinstance(obj, dict) and obj
                else "."
            )
        )
    return out


def submission_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out = []
    gib = f.get("greater_is_better", True)
    pts = list(f.get("cv_vs_lb") or [])
    pts.sort(key=lambda p: p[0] != ctx.submitted)  # the submitted model first
    for name, cv, sd, lb, kind in pts[:4]:
        sub = " (submitted)" if name == ctx.submitted else ""
        s = f"{name}{sub}: CV {sig(cv)}, {kind} {sig(lb)}"
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
    nn, cv = f.get("nn_test"), f.get("nn_cv")
    if nn is not None and cv is not None and len(nn) and len(cv):
        if float(np.median(nn)) > float(np.median(cv)) + 0.05:
            pass  # the test set is closer than the folds are to each other
        elif float(np.median(nn)) < float(np.median(cv)) - 0.05:
            out.append(
                "The test set lies further from the training set than the CV folds: "
                + (
                    "quote the scaffold-split CV beside the random one"
                    if f.get("scaffold_cv")
                    else "report a scaffold-split CV beside the random one"
                )
                + ", and flag out-of-domain predictions."
            )
        elif float(np.mean(nn < ctx.ad_threshold)) > 0.2:
            out.append(
                f"{np.mean(nn < ctx.ad_threshold):.0%} of the test molecules are below the "
                f"applicability-domain threshold ({ctx.ad_threshold:.2f}), as many as in CV: "
                "the CV score already includes them; "
                + (
                    "the scaffold-split CV measures harder extrapolation."
                    if f.get("scaffold_cv")
                    else "a scaffold split would test harder extrapolation."
                )
            )
    ranking = [r for r in f.get("ranking") or [] if r.name != "ensemble"]
    if any(optimism(r) / abs(r.cv_mean) > 0.25 for r in ranking if r.cv_mean):
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
    k = len(((f.get("ladder") or [None])[0] or Step("", "", 0, 0)).folds)
    out.append(
        f"CV uses one fixed split{f' of {k} folds' if k else ''}: repeated CV with other "
        "seeds would narrow the uncertainty of the ranking."
    )
    conf = int(((ctx.prepare_report or {}).get("counts") or {}).get("conflicting_labels", 0))
    if conf:
        out.append(
            f"{conf} repeated molecule(s) carry conflicting labels: part of the error is "
            "experimental noise that cannot be learned."
        )
    return out


def _about(said: list[str], ranking: list[ModelRun], first: str = "") -> list[str]:
    """The first sentence about ``first`` (the submitted model), else the best-ranked."""
    for name in [first] + [r.name for r in ranking]:
        hits = [s for s in said if name and s.startswith(f"{name}")]
        if hits:
            return hits[:1]
    return said[:1]


def sentences(ctx: Context, facts: dict[str, Any]) -> dict[str, list[str]]:
    out = {
        "data": data_sentences(ctx, facts),
        "models": model_sentences(ctx, facts),
        "metric": metric_sentences(ctx, facts),
        "overfitting": overfitting_sentences(ctx, facts),
        "errors": error_sentences(ctx, facts),
        "interpretation": interpretation_sentences(ctx, facts),
        "generation": generation_sentences(ctx, facts),
        "submissions": submission_sentences(ctx, facts),
        "limits": limits(ctx, facts),
    }
    models = out["models"]
    key = [s for s in models if s.startswith(("Ensemble ", "Best single"))]
    dom = [s for s in out["data"] if s.startswith("Nearest training neighbour")]
    picked = (
        out["data"][:1]
        + key[:3]
        + [s for s in models if s.startswith("The organisers'")][:1]
        + out["overfitting"][:1]
        + out["errors"][:1]
        + dom
        + _about(out["submissions"], facts.get("ranking") or [], ctx.submitted)
    )
    out["summary"] = list(dict.fromkeys(picked))
    return out
