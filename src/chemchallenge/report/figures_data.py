"""Section 1 — the data: counts, quality findings, targets, chemical space, scaffolds and
how far the test set lies from the training set."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

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
from chemchallenge.tasks import TaskType


def data_section(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Section:
    sec = Section("data", "1. The data")
    if not ctx.prepared:
        sec.add(Note("The prepare stage has not run: run `chemchallenge prepare`."))
        return sec
    safe(sec, "the counts table", lambda: _counts(ctx, facts))
    safe(sec, "the findings table", lambda: _findings(ctx))
    safe(sec, "the target distributions", lambda: _targets(ctx, store, facts))
    if ctx.task is not None and len(ctx.task.targets) > 1:
        safe(sec, "the label co-occurrence", lambda: _cooccurrence(ctx, store, facts))
    safe(sec, "the chemical space", lambda: _space(ctx, store, facts))
    safe(sec, "the scaffold statistics", lambda: _scaffolds(ctx, store, facts))
    safe(sec, "the test-to-train similarity", lambda: _similarity(ctx, store, facts))
    return sec


def _counts(ctx: Context, facts: dict[str, Any]) -> Table:
    assert ctx.task is not None and ctx.train is not None
    rep = ctx.prepare_report or {}
    counts = dict(rep.get("counts", {}))
    counts.setdefault("train_molecules", len(ctx.train))
    if ctx.test is not None:
        counts.setdefault("test_molecules", len(ctx.test))
        counts.setdefault("invalid_test", int((~ctx.test["valid"].astype(bool)).sum()))
    facts["counts"] = counts
    facts["task"] = ctx.task
    facts["split"] = rep.get("split", "")
    rows = [[k.replace("_", " "), fmt(v)] for k, v in counts.items()]
    rows.append(["task", f"{ctx.task.task_type} ({', '.join(ctx.task.targets)})"])
    rows.append(["metric", ctx.task.metric])
    if rep.get("fold_sizes"):
        rows.append(["CV folds", f"{rep['fold_sizes']} ({rep.get('split', '')} split)"])
    return Table("Counts", ["what", "value"], rows)


def _findings(ctx: Context) -> Table | Note:
    found = (ctx.prepare_report or {}).get("findings", [])
    if not found:
        return Note("Validation found no invalid, duplicate or conflicting molecules.")
    rows = []
    for f in found:
        ex = list(f.get("rows", []))
        rows.append(
            [
                f.get("level", ""),
                f.get("file", ""),
                f.get("message", ""),
                ", ".join(map(str, ex[:6])) + (" …" if len(ex) > 6 else ""),
            ]
        )
    return Table(
        "Invalid, duplicate and conflicting molecules found by `prepare`",
        ["level", "file", "finding", "IDs"],
        rows,
    )


def _targets(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Figure:
    assert ctx.task is not None and ctx.train is not None
    task, y = ctx.task, ctx.y()
    if task.task_type == TaskType.REGRESSION:
        fig, axes = grid(len(task.targets), 3, (4.2, 3.0))
        for ax, t, col in zip(axes, task.targets, y.T):
            v = col[~np.isnan(col)]
            ax.hist(v, bins=40, color=COLORS[0], alpha=0.8)
            ax.set(title=f"{t}: mean {v.mean():.2f}, sd {v.std():.2f}", xlabel=t, ylabel="count")
        cap = "Distribution of each target over the training molecules."
        return store.save(fig, "target_distribution", "Target distributions", cap)
    if task.task_type == TaskType.MULTICLASS:
        counts = np.bincount(y[~np.isnan(y[:, 0]), 0].astype(int), minlength=len(task.classes))
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.bar([str(c) for c in task.classes], counts, color=COLORS[0])
        ax.set(xlabel=task.targets[0], ylabel="molecules", title="Class balance")
        facts["class_rates"] = dict(zip(task.classes, counts / counts.sum()))
        cap = "Number of training molecules per class."
        return store.save(fig, "target_distribution", "Class balance", cap)
    rates = np.nanmean(y, axis=0)
    facts["class_rates"] = dict(zip(task.targets, rates))
    fig, ax = plt.subplots(figsize=(max(4.5, 0.6 * len(rates) + 2), 3.2))
    ax.bar(task.targets, rates, color=COLORS[0], label="label 1")
    ax.bar(task.targets, 1 - rates, bottom=rates, color=COLORS[7], alpha=0.4, label="label 0")
    for i, r in enumerate(rates):
        ax.text(i, r / 2, f"{r:.0%}", ha="center", va="center", color="white", fontsize=9)
    ax.set(ylabel="share of labelled molecules", title="Class balance per target", ylim=(0, 1))
    ax.legend(loc="upper right", fontsize=8)
    cap = "Share of positive (1) labels per target: the rarer class is the harder one."
    return store.save(fig, "target_distribution", "Class balance", cap)


def _cooccurrence(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Figure:
    assert ctx.task is not None
    task, y = ctx.task, ctx.y()
    df = pd.DataFrame(y, columns=task.targets)
    if task.task_type == TaskType.REGRESSION:
        mat, title = df.corr().to_numpy(), "Correlation between targets"
    else:  # P(target j = 1 | target i = 1)
        k = len(task.targets)
        mat = np.full((k, k), np.nan)
        for i in range(k):
            pos = y[:, i] == 1
            for j in range(k):
                lab = pos & ~np.isnan(y[:, j])
                mat[i, j] = y[lab, j].mean() if lab.any() else np.nan
        title = "P(column = 1 | row = 1)"
        facts["cooccurrence"] = {
            "targets": list(task.targets),
            "matrix": mat.tolist(),
            "rates": np.nanmean(y, axis=0).tolist(),
        }
    fig, ax = plt.subplots(figsize=(1.0 * len(task.targets) + 2.5, 0.8 * len(task.targets) + 2))
    im = ax.imshow(mat, cmap="viridis", vmin=-1 if task.task_type == "regression" else 0, vmax=1)
    ax.set_xticks(range(len(task.targets)), task.targets)
    ax.set_yticks(range(len(task.targets)), task.targets)
    ax.grid(False)
    for (i, j), v in np.ndenumerate(mat):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v < 0.6 else "k")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title)
    cap = (
        "Pearson correlation between the targets."
        if task.task_type == TaskType.REGRESSION
        else "Row i, column j: the share of molecules with label j = 1 among those with "
        "label i = 1 (the diagonal is 1). Compare each cell with the column's overall "
        "positive rate: a much higher value means the labels are linked, which a multitask "
        "model or chaining can use."
    )
    return store.save(fig, "label_cooccurrence", "Label co-occurrence", cap)


def _space_points(ctx: Context) -> tuple[list[Any], np.ndarray, np.ndarray]:
    fps_tr, fps_te = ctx.fingerprints
    y0 = ctx.y()[:, 0]
    fps, split, color = [], [], []
    for fp, v in zip(fps_tr, y0):
        if fp is not None:
            fps.append(fp)
            split.append(0)
            color.append(v)
    for fp in fps_te:
        if fp is not None:
            fps.append(fp)
            split.append(1)
            color.append(np.nan)
    return fps, np.array(split), np.array(color, dtype=float)


def _space(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> list[Figure]:
    from sklearn.decomposition import PCA

    assert ctx.task is not None
    fps, split, color = _space_points(ctx)
    out = []
    xy = PCA(n_components=2, random_state=0).fit_transform(chem.to_matrix(fps).astype(float))
    out.append(_space_plot(store, xy, split, color, ctx.task.targets[0], "pca", "PCA"))
    if ctx.cfg.tsne and len(fps) >= 10:
        from sklearn.manifold import TSNE

        rng = np.random.default_rng(0)
        idx = np.arange(len(fps))
        if len(idx) > ctx.cfg.tsne_max_points:
            idx = np.sort(rng.choice(idx, ctx.cfg.tsne_max_points, replace=False))
        dist = 1.0 - chem.tanimoto_matrix([fps[i] for i in idx])
        perplexity = float(min(30, max(2, (len(idx) - 1) // 3)))
        tsne = TSNE(
            2,
            metric="precomputed",
            init="random",
            perplexity=perplexity,
            max_iter=500,
            random_state=0,
        )
        xy2 = tsne.fit_transform(np.clip(dist, 0, None))
        out.append(
            _space_plot(store, xy2, split[idx], color[idx], ctx.task.targets[0], "tsne", "t-SNE")
        )
    return out


def _space_plot(
    store: FigureStore,
    xy: np.ndarray,
    split: np.ndarray,
    color: np.ndarray,
    target: str,
    name: str,
    label: str,
) -> Figure:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    for s, lab, c in ((0, "train", COLORS[0]), (1, "test", COLORS[1])):
        m = split == s
        a.scatter(xy[m, 0], xy[m, 1], s=6, alpha=0.5, color=c, label=f"{lab} ({m.sum()})")
    a.legend(markerscale=3)
    a.set_title(f"{label}: train vs test")
    m = (split == 0) & ~np.isnan(color)
    values = np.unique(color[m])
    if len(values) <= 10 and np.all(values == values.round()):  # classes: categorical colours
        for i, v in enumerate(values):
            sel = m & (color == v)
            b.scatter(
                xy[sel, 0],
                xy[sel, 1],
                s=6,
                alpha=0.6,
                color=COLORS[(i + 2) % 10],
                label=f"{target} = {v:g} ({sel.sum()})",
            )
        b.legend(markerscale=3, fontsize=8)
    else:
        sc = b.scatter(xy[m, 0], xy[m, 1], s=6, c=color[m], cmap="viridis", alpha=0.7)
        fig.colorbar(sc, ax=b, shrink=0.8, label=target)
    b.set_title(f"{label}: training molecules coloured by {target}")
    for ax in (a, b):
        ax.set_xticks([])
        ax.set_yticks([])
    cap = (
        f"{label} of ECFP4 fingerprints"
        + (" (Tanimoto distance)" if name == "tsne" else "")
        + ". Left: where the test molecules (orange) fall among the training ones — test "
        "points in regions without training points are extrapolation. Right: the training "
        f"molecules coloured by {target} — if the colours separate into regions, nearby "
        "molecules share labels and similarity-based models work."
        + (
            " Only two axes of a 2048-bit space: clusters in PCA are mostly dominated by a few "
            "frequent substructures."
            if name == "pca"
            else " t-SNE keeps neighbours together but distances between clusters mean little."
        )
    )
    return store.save(fig, f"chemical_space_{name}", f"Chemical space ({label})", cap)


def _scaffolds(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> list[Any]:
    assert ctx.train is not None
    tr = [chem.scaffold(s) for s in ctx.train["smiles"]]
    te = [] if ctx.test is None else [chem.scaffold(s) for s in ctx.test["smiles"]]
    counts = Counter(s for s in tr if s is not None)
    n_mol = sum(counts.values())
    singletons = sum(1 for c in counts.values() if c == 1)
    top = counts.most_common(10)
    te_ok = [s for s in te if s is not None]
    unseen = sum(1 for s in te_ok if s not in counts) / len(te_ok) if te_ok else np.nan
    facts["scaffolds"] = {"n": len(counts), "singletons": singletons, "test_unseen": unseen}
    rows = [
        ["Bemis–Murcko scaffolds in train", fmt(len(counts))],
        ["molecules per scaffold", fmt(n_mol / max(1, len(counts)), 2)],
        [
            "singleton scaffolds (one molecule)",
            f"{singletons} ({singletons / max(1, len(counts)):.0%})",
        ],
        ["acyclic molecules (empty scaffold)", fmt(counts.get("", 0))],
        ["molecules in the 10 largest scaffolds", f"{sum(c for _, c in top) / max(1, n_mol):.0%}"],
        ["test molecules whose scaffold is not in train", f"{unseen:.0%}" if te_ok else "–"],
    ]
    out: list[Any] = [Table("Scaffolds", ["what", "value"], rows)]
    drawn = [(s, c) for s, c in top if s][:8]
    png = chem.grid_png([s for s, _ in drawn], [f"{c} molecules" for _, c in drawn])
    if png:
        cap = "The most frequent ring systems (Bemis–Murcko scaffolds) of the training set."
        out.append(store.png(png, "top_scaffolds", "Top scaffolds", cap))
    return out


def _similarity(ctx: Context, store: FigureStore, facts: dict[str, Any]) -> Figure | Note:
    fps_tr, fps_te = ctx.fingerprints
    nn_test = chem.max_similarity(fps_te, fps_tr)
    nn_test = nn_test[~np.isnan(nn_test)]
    cv = ctx.neighbours["cv"].dropna().to_numpy()
    if not len(cv):
        cv = ctx.neighbours["loo"].dropna().to_numpy()
    if not len(nn_test):
        return Note("No valid test molecule: the test-to-train similarity is not shown.")
    facts["nn_test"] = nn_test
    facts["nn_cv"] = cv
    thr = ctx.ad_threshold
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    bins = np.linspace(0, 1, 41)
    ax.hist(nn_test, bins=bins, alpha=0.7, density=True, color=COLORS[1], label="test → train")
    if len(cv):
        ax.hist(
            cv, bins=bins, alpha=0.5, density=True, color=COLORS[0], label="CV fold → other folds"
        )
    ax.axvline(thr, color="k", ls=":", lw=1.2, label=f"domain threshold {thr:.2f}")
    ax.set(xlabel="max Tanimoto similarity to the training molecules", ylabel="density")
    ax.legend(fontsize=8)
    med = f"test median {np.median(nn_test):.2f}" + (
        f", CV median {np.median(cv):.2f}" if len(cv) else ""
    )
    ax.set_title(f"Nearest-neighbour similarity ({med})")
    cap = (
        "For each test molecule, its most similar training molecule (ECFP4 Tanimoto), against "
        "the same for each training molecule and the folds its CV model was trained on. If "
        "the two profiles match, random CV represents the test set; a test profile shifted "
        f"left means the test score will be below CV. Below {thr:.2f} (the applicability "
        "domain used for the generated candidates too) a prediction is an extrapolation."
    )
    return store.save(fig, "nn_similarity", "How far the test set lies from the training set", cap)
