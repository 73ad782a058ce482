"""Transfer features and their leak report (``data/features/<name>.leak.json``, written by
the featurize stage): how well each kept endpoint of a pretrained model predicts each
target alone, beside the best trained model scored the same way, and the suspected leaks."""

from __future__ import annotations

import fnmatch
from typing import Any

import numpy as np

from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.items import Table, sig

#: endpoints shown in the table (the strongest on any target)
TOP = 8


def _criterion(leak: dict[str, Any]) -> tuple[str, str]:
    """(key of the score in an endpoint entry, its label)."""
    return ("auc", "AUC") if "AUC" in str(leak.get("criterion", "")) else ("cv_r2", "R²")


def model_scores(ctx: Context, run: ModelRun, key: str) -> dict[str, dict[str, float]]:
    """The run's out-of-fold predictions per target, scored like an endpoint alone:
    ROC AUC (classification) or R² and RMSE (regression)."""
    from sklearn.metrics import roc_auc_score

    assert ctx.train is not None and ctx.task is not None and run.oof is not None
    oof = run.oof.set_index("id").reindex(ctx.train["id"])
    out: dict[str, dict[str, float]] = {}
    for t in ctx.task.targets:
        if t not in oof:
            continue
        y, p = ctx.train[t].to_numpy(dtype=float), oof[t].to_numpy(dtype=float)
        ok = ~np.isnan(y) & ~np.isnan(p)
        y, p = y[ok], p[ok]
        if key == "auc":
            if len(np.unique(y)) == 2:
                out[t] = {"auc": float(roc_auc_score(y, p))}
        elif len(y) > 1 and y.var() > 0:
            mse = float(np.mean((y - p) ** 2))
            out[t] = {"cv_r2": 1 - mse / float(y.var()), "cv_rmse": float(np.sqrt(mse))}
    return out


def _cell(entry: dict[str, Any] | None, key: str) -> str:
    if not entry or entry.get(key) is None:
        return "–"
    rmse = f" (RMSE {sig(entry['cv_rmse'])})" if key == "cv_r2" and "cv_rmse" in entry else ""
    return f"{sig(entry[key])}{rmse}"


def leak_items(ctx: Context, facts: dict[str, Any]) -> list[Any]:
    if not ctx.leaks or not ctx.prepared or ctx.task is None:
        return []
    best = ctx.best()
    out: list[Any] = []
    for name, leak in ctx.leaks.items():
        key, label = _criterion(leak)
        ends: dict[str, dict[str, Any]] = leak["endpoints"]
        targets = [t for t in ctx.task.targets if any(t in e for e in ends.values())]
        score = {
            n: max((e[t].get(key) or -np.inf) for t in e if t in targets)
            for n, e in ends.items()
            if e
        }
        flagged = {(s["endpoint"], s["target"]) for s in leak.get("suspected") or []}
        named = list(dict.fromkeys(e for e, _ in flagged if e in ends))  # always shown
        top = named + [n for n in sorted(score, key=lambda n: -score[n]) if n not in named]
        top = top[: max(TOP, len(named))]
        rows = [
            [n + (" ⚠ suspected leak" if any((n, t) in flagged for t in targets) else "")]
            + [_cell(ends[n].get(t), key) for t in targets]
            for n in top
        ]
        mine = model_scores(ctx, best, key) if best is not None and best.oof is not None else {}
        if best is not None:
            rows.append(
                [f"best model: {best.name} (out of fold)"]
                + [_cell(mine.get(t), key) for t in targets]
            )
        excluded = list((ctx.featurizers.get(name) or {}).get("exclude") or [])
        facts.setdefault("leaks", {})[name] = {
            "leak": leak,
            "key": key,
            "label": label,
            "targets": targets,
            "best": (best.name, mine) if best is not None else None,
            "excluded": excluded,
        }
        cap = (
            f"Each kept endpoint of `{name}` used alone as a predictor of each target "
            + (
                "(oriented ROC AUC: 0.5 is chance)"
                if key == "auc"
                else "(cross-validated R² of a linear fit on that endpoint, and its RMSE; 0 is "
                "the mean)"
            )
            + f", the {len(top)} strongest of {len(ends)}, against the best model scored the "
            f"same way. An endpoint at or above {leak.get('threshold')} is a suspected leak: it "
            "alone nearly equals the label, as if its model had seen these molecules."
        )
        out.append(
            Table(
                f"Transfer features alone ({name})",
                [
                    "endpoint",
                    *(f"{t}: {label}" + (" (RMSE)" if key == "cv_r2" else "") for t in targets),
                ],
                rows,
                cap,
            )
        )
    return out


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def leak_sentences(ctx: Context, f: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, info in (f.get("leaks") or {}).items():
        leak, key, label = info["leak"], info["key"], info["label"]
        ends = leak["endpoints"]
        pairs = [(n, t, e[t][key]) for n, e in ends.items() for t in e if e[t].get(key) is not None]
        excl = info["excluded"]
        s = (
            f"Transfer features `{name}`: the predictions of pretrained models for {len(ends)} "
            "endpoints learnt on other public datasets"
            + (f" (excluded by params.yaml: {', '.join(excl)})" if excl else "")
            + (
                " (none excluded: nothing is known to overlap a challenge's molecules)"
                if not excl and ctx.source == "challenge"
                else ""
            )
            + "."
        )
        if pairs:
            n, t, v = max(pairs, key=lambda p: p[2])
            s += f" Alone, the strongest is {n} for {t}: {label} {sig(v)}"
            best = info["best"]
            if best is not None and best[1].get(t, {}).get(key) is not None:
                s += f", against {sig(best[1][t][key])} for the best model ({best[0]}, out of fold)"
            s += "."
        out.append(s)
        sus = leak.get("suspected") or []
        thr = leak.get("threshold")
        if sus:
            out.append(
                "Suspected leak(s): "
                + ", ".join(
                    f"{x['endpoint']} → {x['target']} ({label} {sig(x['score'])})" for x in sus
                )
                + f" ≥ {thr}: alone it nearly equals the label; exclude it (`exclude`) or expect "
                "inflated CV and test scores."
            )
        else:
            out.append(
                f"No kept endpoint reaches the leak threshold ({label} ≥ {thr}): no suspected leak."
            )
        s = (
            "Transfer brings knowledge from larger data sets into a small one; its risk is that "
            "a pretrained model saw these very molecules with their measured values, so its "
            "prediction is a remembered label, and the gain vanishes on new molecules."
        )
        aqsol = ctx.source == "demo" and _matches("Solubility_AqSolDB", excl)
        if aqsol:
            s += (
                " Here the demo's molecules are the Huuskonen solubility set, which AqSolDB "
                "(behind Solubility_AqSolDB) contains: hence the excluded solubility endpoints."
            )
        out.append(s)
    return out
