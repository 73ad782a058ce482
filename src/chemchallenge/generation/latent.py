"""Views of the VAE latent space: 2-D PCA / t-SNE projections and molecule interpolations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Draw
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from chemchallenge.generation.codec import MoleculeVAE
from chemchallenge.generation.figures import plot_latent
from chemchallenge.generation.metrics import to_mol
from chemchallenge.io import atomic_write, write_csv


def pca_2d(z: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) PCA coordinates and the explained variance ratio of both components."""
    pca = PCA(n_components=2, random_state=seed)
    return pca.fit_transform(z), pca.explained_variance_ratio_


def tsne_2d(z: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """(n, 2) t-SNE coordinates (PCA initialisation; perplexity capped for small sets)."""
    n = len(z)
    if n < 3:
        return np.zeros((n, 2))
    perplexity = min(perplexity, (n - 1) / 3)
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(z)


def interpolate(
    vae: MoleculeVAE, start: str, end: str, n_steps: int, spherical: bool = False
) -> list[str]:
    """Greedy decodings of ``n_steps`` latents on the segment (or arc) between two molecules."""
    z = vae.encode([start, end])
    t = np.linspace(0.0, 1.0, n_steps)[:, None]
    if spherical:
        a, b = z[0], z[1]
        omega = np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))
        if omega < 1e-6:
            path = (1 - t) * a + t * b
        else:
            path = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    else:
        path = (1 - t) * z[0] + t * z[1]
    return vae.decode(path.astype(np.float32), greedy=True)


def grid_image(
    smiles: list[str],
    path: Path,
    legends: list[str] | None = None,
    per_row: int = 5,
    size: int = 220,
) -> None:
    """An RDKit grid image of the molecules (invalid SMILES drawn empty, labelled 'invalid')."""
    mols = [to_mol(s) for s in smiles]
    if legends is None:
        legends = [s if len(s) <= 40 else s[:37] + "..." for s in smiles]
    legends = [lg if m is not None else f"invalid: {lg[:20]}" for m, lg in zip(mols, legends)]
    mols = [m if m is not None else Chem.Mol() for m in mols]
    img = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=(size, size), legends=legends)
    atomic_write(path, lambda p: img.save(p, format="PNG"))


def write_latent_views(
    z: np.ndarray,
    table: pd.DataFrame,
    targets: list[str],
    out_dir: Path,
    seed: int = 0,
    tsne_max_points: int = 2000,
) -> None:
    """``latent_{pca,tsne}.csv`` (table + ``dim_1``, ``dim_2``) and one PNG per target.

    ``table`` has one row per latent vector; t-SNE (skipped when ``tsne_max_points`` is 0) runs
    on a seeded sub-sample of at most ``tsne_max_points`` molecules.
    """
    views = {"pca": (np.arange(len(z)), pca_2d(z, seed)[0])}
    if tsne_max_points > 0:
        idx = np.sort(np.random.default_rng(seed).permutation(len(z))[:tsne_max_points])
        views["tsne"] = (idx, tsne_2d(z[idx], seed))
    for name, (idx, xy) in views.items():
        df = table.iloc[idx].reset_index(drop=True)
        df.insert(2, "dim_1", xy[:, 0])
        df.insert(3, "dim_2", xy[:, 1])
        write_csv(out_dir / f"latent_{name}.csv", df)
        for t in targets or [None]:
            color = df[t].to_numpy(dtype=float) if t else None
            png = out_dir / "figures" / f"latent_{name}{'_' + t if t else ''}.png"
            plot_latent(xy, png, color, f"VAE latent space ({name.upper()})", t or "")


def write_interpolation(
    vae: MoleculeVAE, start: str, end: str, n_steps: int, out_dir: Path
) -> dict[str, Any]:
    """``interpolation.csv`` and ``figures/interpolation.png``; returns a summary."""
    path = interpolate(vae, start, end, n_steps)
    smiles = [start, *path, end]
    legends = ["start", *[f"step {i + 1}" for i in range(len(path))], "end"]
    write_csv(out_dir / "interpolation.csv", pd.DataFrame({"label": legends, "smiles": smiles}))
    grid_image(smiles, out_dir / "figures" / "interpolation.png", legends)
    n_valid = sum(to_mol(s) is not None for s in path)
    return {
        "start": start,
        "end": end,
        "validity": n_valid / max(1, len(path)),
        "n_distinct": len(set(path)),
    }
