"""PNG figures of the generate stage (matplotlib without pyplot: no global state)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from chemchallenge.generation.metrics import PROPERTIES
from chemchallenge.io import atomic_write


def _save(fig: Figure, path: Path) -> None:
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))


def plot_latent(
    coords: np.ndarray,
    path: Path,
    color: np.ndarray | None = None,
    title: str = "",
    color_label: str = "",
) -> None:
    """Scatter of 2-D latent coordinates, coloured by a target vector when given."""
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    if color is not None and np.isfinite(np.asarray(color, dtype=float)).any():
        c = np.asarray(color, dtype=float)
        ok = np.isfinite(c)
        ax.scatter(coords[~ok, 0], coords[~ok, 1], s=6, c="lightgrey", label="no label")
        sc = ax.scatter(coords[ok, 0], coords[ok, 1], s=6, c=c[ok], cmap="viridis")
        fig.colorbar(sc, ax=ax, label=color_label)
    else:
        ax.scatter(coords[:, 0], coords[:, 1], s=6)
    ax.set_title(title)
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    _save(fig, path)


def plot_properties(props: Mapping[str, pd.DataFrame], path: Path) -> None:
    """Histograms of logP, QED, MW and SA per source (density-normalised)."""
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(2, 2).ravel()
    for ax, p in zip(axes, PROPERTIES):
        values = {k: df[p].dropna().to_numpy() for k, df in props.items()}
        allv = np.concatenate([v for v in values.values() if len(v)] or [np.zeros(1)])
        bins = np.linspace(np.percentile(allv, 0.5), np.percentile(allv, 99.5) + 1e-9, 40)
        for name, v in values.items():
            if len(v):
                ax.hist(v, bins=bins, density=True, histtype="step", linewidth=1.5, label=name)
        ax.set_title(p)
    axes[0].legend(fontsize=8)
    fig.suptitle("Property distributions: generated vs training molecules")
    _save(fig, path)


def plot_curves(history: Mapping[str, list[float]], path: Path, title: str) -> None:
    """Line plot of per-epoch curves (one line per key)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for k, v in history.items():
        ax.plot(np.arange(1, len(v) + 1), v, label=k)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend(fontsize=8)
    _save(fig, path)
