"""Sections 5 and 6 — molecule generation (metrics in their frame, property distributions,
top candidates) and the submissions (registry, CV against leaderboard scores)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.registry import REGISTRY_COLUMNS
from chemchallenge.report import chem
from chemchallenge.report.context import Context
from chemchallenge.report.items import (
    Figure,
    FigureStore,
    Note,
    Section,
    Table,
    fmt,
    grid,
    plt,
    safe,
)
from chemchallenge.report.style import COLORS

PROPERTIES = ("MolWt", "MolLogP", "TPSA", "qed")
MAX_PER_SOURCE = 500
SOURCE_COLUMNS = ("model", "source", "generator", "method")


def generation_section(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Section:
    sec = Section("generation", "5. Generated molecules")
    if ctx.generation is None and ctx.generated is None:
        sec.add(Note("The generate stage has not run (no generated/generation.json)."))
        return sec
    if isinstance(ctx.generation, dict) and ctx.generation.get("enabled") is False:
        sec.add(Note("Generation is switched off (`generate: enabled: false`)."))
        return sec
    if ctx.generation is not None:
        safe(sec, "the generation metrics", lambda: _metrics_table(ctx, facts))
    own = {f.stem for f in ctx.generation_figures}
    if ctx.generated is not None and "properties" not in own:
        safe(sec, "the property distributions", lambda: _properties(ctx, store))
    if ctx.candidates is not None:
        safe(sec, "the candidates grid", lambda: _candidates(ctx, store))
    for f in ctx.generation_figures:
        name = f"generation_{f.stem}"
        title, cap = _gen_caption(f.stem)
        sec.add(store.png(f.read_bytes(), name, title, cap))
    return sec


def _gen_caption(stem: str) -> tuple[str, str]:
    """Title and what-to-see caption of a figure written by the generate stage."""
    if stem == "properties":
        return (
            "Properties of the generated molecules",
            "Distributions of molecular weight, logP, QED and synthetic accessibility of each "
            "generator's valid samples against the training molecules: curves that overlap "
            "the training one mean the generator reproduces the chemistry it learnt from.",
        )
    if stem == "interpolation":
        return (
            "Interpolation in the VAE's latent space",
            "Molecules decoded along the straight line between the latent codes of two "
            "training molecules: gradual changes mean a smooth latent space, where a search "
            "for better properties can move.",
        )
    if stem.startswith("latent_"):
        parts = stem.split("_")
        how = parts[1].upper() if len(parts) > 1 else ""
        target = "_".join(parts[2:])
        return (
            f"VAE latent space ({how}{', ' + target if target else ''})",
            f"The training molecules' latent codes projected by {how}"
            + (f", coloured by {target}" if target else "")
            + ": if the colours form a gradient, the latent space (learnt without the labels) "
            "already orders the molecules by the property.",
        )
    return stem.replace("_", " "), f"Written by the generate stage (generated/figures/{stem}.png)."


def _metrics_table(ctx: Context, facts: dict[str, Any]) -> Table | Note:
    g = ctx.generation or {}
    g = g.get("metrics", g) if isinstance(g.get("metrics"), dict) else g
    models = {k: v for k, v in g.items() if isinstance(v, dict) and k != "info"}
    if not models:
        return Note("generated/generation.json holds no per-model metrics.")
    df = pd.DataFrame(
        {
            k: pd.Series({m: v for m, v in d.items() if isinstance(v, int | float)})
            for k, d in models.items()
        }
    )
    order = [c for c in df.columns if c not in ("floor", "baseline")]
    order += [c for c in ("baseline", "floor") if c in df.columns]
    df = df[order]
    facts["generation"] = df
    rows = [[str(i), *[fmt(v) for v in r]] for i, r in df.iterrows()]
    n_floor = ((ctx.generation or {}).get("info") or {}).get("corpus", {}).get("n_floor")
    cap = (
        "MOSES-style metrics, each on the generator's own samples (n_generated, n_valid: how "
        "many). Frame: `baseline` is a trivial generator (a token n-gram model: the bar to "
        "beat); `floor` scores "
        + (f"{n_floor} " if n_floor else "")
        + "held-out real molecules like a generator — the level of real, unseen chemistry, a "
        "reference rather than a bound (a generator can beat it, e.g. a lower FCD by staying "
        "close to the training set). FCD: lower is better; fcd_sd its spread over resamples."
    )
    info = (ctx.generation or {}).get("info", {})
    if info.get("constrained"):
        cap += (
            " The VAE and GAN decode SMILES under syntax and valence constraints: validity "
            "counts the molecules that still fail (dead ends, rings RDKit rejects)."
        )
    if info.get("representation") == "selfies":
        cap += (
            " The VAE and GAN write SELFIES, so their validity is 1 by construction: "
            "judge them by `sensible` (training elements, charges and ring sizes, no radicals, "
            "size in the training range), FCD and the property distances."
        )
    return Table("Generation metrics", ["metric", *df.columns], rows, cap)


def _props(smiles: list[str]) -> pd.DataFrame:
    from rdkit.Chem import QED, Descriptors

    rows = []
    for s in smiles:
        m = chem.mol(s)
        if m is None:
            continue
        rows.append(
            {
                "MolWt": Descriptors.MolWt(m),
                "MolLogP": Descriptors.MolLogP(m),
                "TPSA": Descriptors.TPSA(m),
                "qed": QED.qed(m),
            }
        )
    return pd.DataFrame(rows, columns=list(PROPERTIES))


def _smiles_col(df: pd.DataFrame) -> str | None:
    for c in df.columns:
        if c.lower() in ("smiles", "smi", "canonical_smiles"):
            return c
    return None


def _properties(ctx: Context, store: FigureStore) -> Figure | Note:
    gen = ctx.generated
    assert gen is not None
    col = _smiles_col(gen)
    if col is None:
        return Note("generated/molecules.csv has no SMILES column.")
    if "valid" in gen.columns:
        gen = gen[gen["valid"].astype(str).str.lower().isin(["true", "1"])]
    src = next((c for c in gen.columns if c.lower() in SOURCE_COLUMNS), None)
    groups: dict[str, list[str]] = {}
    if ctx.train is not None:
        groups["training set"] = list(ctx.train["smiles"].dropna())[:MAX_PER_SOURCE]
    for name, df in gen.groupby(src) if src else [("generated", gen)]:
        groups[str(name)] = list(df[col].dropna().astype(str))[:MAX_PER_SOURCE]
    props = {k: _props(v) for k, v in groups.items()}
    fig, axes = grid(len(PROPERTIES), 4, (3.4, 2.8))
    for ax, p in zip(axes, PROPERTIES):
        for i, (k, df) in enumerate(props.items()):
            if len(df):
                ax.hist(
                    df[p],
                    bins=30,
                    density=True,
                    histtype="step",
                    lw=1.5,
                    color=COLORS[i % 10],
                    label=k,
                )
        ax.set_title(p)
    axes[0].legend(fontsize=7)
    cap = "Property distributions of the generated molecules against the training set."
    return store.save(fig, "generation_properties", "Generated vs training properties", cap)


def _candidates(ctx: Context, store: FigureStore) -> Figure | Note:
    cand = ctx.candidates
    assert cand is not None
    col = _smiles_col(cand)
    guided = _guided_info(ctx)
    if col is None or cand.empty:
        status = str(guided.get("status", ""))
        why = f" (property-guided generation {status})" if status and status != "ok" else ""
        return Note(f"No candidates to draw{why}.")
    num = [c for c in cand.columns if c != col and pd.api.types.is_numeric_dtype(cand[c])]
    key = next((c for c in ("desirability", "score") if c in num), num[0] if num else None)
    df = cand if key in (None, "desirability") else cand.sort_values(key, ascending=False)
    df = df.head(6)  # the candidates stage sorts: in domain, sensible, desirability
    targets = [t for t in (ctx.task.targets if ctx.task else []) if t in df.columns]
    legends = []
    for _, r in df.iterrows():
        lg = [str(r["source"])] if "source" in df else []
        lg += [f"{t} {fmt(r[t], 2)}" for t in targets[:3]]
        if "max_sim_train" in df:
            inside = bool(r["in_domain"]) if "in_domain" in df else None
            where = "" if inside is None else (" in domain" if inside else " OUT of domain")
            lg.append(f"sim {fmt(r['max_sim_train'], 2)}{where}")
        elif "in_domain" in df and not bool(r["in_domain"]):
            lg.append("outside domain")
        legends.append(" · ".join(lg))
    png = chem.grid_png(list(df[col].astype(str)), legends)
    if png is None:
        return Note("No candidate SMILES could be drawn.")
    order = (
        "in domain first, then chemically sensible, then by desirability (the candidates "
        "stage's order)"
        if key == "desirability"
        else f"by {key or 'file order'}"
    )
    cap = (
        f"The {len(df)} best generated candidates, ranked {order}, each with "
        f"{guided.get('model', 'the predictor')}'s predicted "
        + (", ".join(targets) if targets else "value")
        + " and its max Tanimoto similarity to the training set (in domain: ≥ "
        f"{ctx.ad_threshold:.2f}); a prediction outside the domain is an extrapolation."
    )
    objectives = guided.get("objectives")
    if isinstance(objectives, dict) and objectives:
        cap += " Objectives: " + ", ".join(f"{k} ({v})" for k, v in objectives.items()) + "."
    return store.png(png, "candidates", "Top generated candidates", cap)


def _guided_info(ctx: Context) -> dict[str, Any]:
    """``candidates/guided.json`` (merged into the generation record by the context)."""
    info = (ctx.generation or {}).get("info")
    guided = info.get("guided") if isinstance(info, dict) else None
    return guided if isinstance(guided, dict) else {}


def submissions_section(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Section:
    sec = Section("submissions", "6. Submissions")
    hold = [r for r in ctx.runs() if "holdout" in r.metrics]
    if ctx.registry is None and not hold:
        sec.add(
            Note("No submission yet (no submissions/registry.csv): run `chemchallenge submit`.")
        )
        return sec
    if ctx.registry is not None:
        reg = ctx.registry
        cols = [c for c in REGISTRY_COLUMNS if c in reg and c != "sha256"]  # hash: for tools
        rows = [
            [fmt(v) if not isinstance(v, str) else v for v in r]
            for r in reg[cols].itertuples(index=False)
        ]
        sec.add(Table("Submission registry", cols, rows, "submissions/registry.csv"))
    safe(sec, "the CV-vs-leaderboard plot", lambda: _cv_vs_lb(ctx, hold, store, facts))
    return sec


def _cv_vs_lb(
    ctx: Context, hold: list[Any], store: FigureStore, facts: dict[str, Any]
) -> Figure | Note:
    pts: list[tuple[str, float, float, float, str]] = []
    reg = ctx.registry
    if reg is not None and {"cv_mean", "leaderboard_score"} <= set(reg.columns):
        for r in reg.itertuples(index=False):
            cv, lb = (
                pd.to_numeric(r.cv_mean, errors="coerce"),
                pd.to_numeric(r.leaderboard_score, errors="coerce"),
            )
            sd = pd.to_numeric(getattr(r, "cv_std", np.nan), errors="coerce")
            if np.isfinite(cv) and np.isfinite(lb):
                pts.append((str(r.model), float(cv), float(sd), float(lb), "leaderboard"))
    pts += [
        (r.name, r.cv_mean, r.cv_std, float(r.metrics["holdout"]), "demo holdout") for r in hold
    ]
    if not pts:
        return Note("No leaderboard score recorded yet (`chemchallenge record-score FILE SCORE`).")
    facts["cv_vs_lb"] = pts
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for i, kind in enumerate(sorted({p[4] for p in pts})):
        sel = [p for p in pts if p[4] == kind]
        ax.errorbar(
            [p[1] for p in sel],
            [p[3] for p in sel],
            xerr=[p[2] for p in sel],
            fmt="o",
            color=COLORS[i],
            label=kind,
            capsize=3,
        )
        for p in sel:
            ax.annotate(p[0], (p[1], p[3]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    lo = min(min(p[1], p[3]) for p in pts)
    hi = max(max(p[1], p[3]) for p in pts)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set(
        xlabel="CV score (± std)", ylabel="leaderboard / holdout score", title="CV vs leaderboard"
    )
    ax.legend(fontsize=8)
    cap = (
        "Points near the diagonal: CV predicts the leaderboard; a constant offset is a shift "
        "between the training and the test distributions."
    )
    return store.save(fig, "cv_vs_leaderboard", "CV vs leaderboard", cap)
