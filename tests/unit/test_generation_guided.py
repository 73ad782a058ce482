"""Property-guided selection, latent search, latent views and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.generation.codec import MoleculeVAE
from chemchallenge.generation.figures import plot_latent, plot_properties
from chemchallenge.generation.guided import (
    Objective,
    desirability,
    favourable,
    latent_search,
    select_candidates,
)
from chemchallenge.generation.latent import grid_image, interpolate, pca_2d, tsne_2d
from chemchallenge.generation.metrics import properties
from chemchallenge.generation.vae import build_vae

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def n_atoms_and_prob(smiles: list[str]) -> np.ndarray:
    """Toy predictor: target 0 = length (maximise), target 1 = a 'probability' (O present)."""
    return np.array([[len(s), 0.9 if "O" in s else 0.1] for s in smiles], dtype=float)


OBJ = [Objective("size", "maximize"), Objective("p_oxygen", "probability")]


def test_favourable_and_desirability() -> None:
    scores = np.array([[5.0, 0.9], [1.0, 0.9], [5.0, 0.2]])
    ref = np.array([[2.0, 0.5], [3.0, 0.5], [4.0, 0.5]])  # median size 3
    np.testing.assert_array_equal(
        favourable(scores, OBJ, ref), [[True, True], [False, True], [True, False]]
    )
    d = desirability(scores, OBJ, ref)
    assert d[0] == pytest.approx((1.0 + 0.9) / 2)  # above every reference size
    assert d[1] == pytest.approx((0.0 + 0.9) / 2)
    minimize = [Objective("size", "minimize", threshold=2.0)]
    assert favourable(np.array([[1.0], [3.0]]), minimize).ravel().tolist() == [True, False]
    with pytest.raises(ValueError, match="direction"):
        Objective("x", "bigger")


def test_select_candidates_keeps_novel_favourable_molecules_with_domain_flag() -> None:
    train = ["CCO", "CCCO", "c1ccccc1O"]
    ref = n_atoms_and_prob(train)
    gen = ["CCO", "CCCCCO", "OCCCCC", "CCCCCCCC", "bad(", "c1ccccc1CO", "O"]
    cand = select_candidates(
        gen, n_atoms_and_prob, OBJ, train, ref, ad_threshold=0.35, sources=["vae"] * len(gen)
    )
    # CCO is known; CCCCCCCC has no O; O too short; CCCCCO == OCCCCC (kept once)
    assert sorted(cand["smiles"]) == sorted(["CCCCCO", "OCc1ccccc1"])
    assert set(cand.columns) >= {
        "size",
        "p_oxygen",
        "desirability",
        "max_sim_train",
        "in_domain",
        "source",
    }
    assert cand["desirability"].between(0, 1).all()
    assert cand["in_domain"].tolist() == (cand["max_sim_train"] >= 0.35).tolist()
    empty = select_candidates(["bad("], n_atoms_and_prob, OBJ, train, ref)
    assert len(empty) == 0 and "in_domain" in empty.columns


def test_latent_search_climbs_and_returns_valid_molecules() -> None:
    pool = ["CO", "CCO", "CCCO", "CCCCO", "CCCCCO", "CCCCCCO"]

    def encode(smiles: list[str]) -> np.ndarray:
        return np.array([[pool.index(s)] for s in smiles], dtype=np.float32)

    def decode(z: np.ndarray) -> list[str]:
        return [pool[int(np.clip(round(float(v)), 0, len(pool) - 1))] for v in z[:, 0]]

    found = latent_search(
        encode,
        decode,
        n_atoms_and_prob,
        ["CO"],
        OBJ,
        n_atoms_and_prob(pool),
        steps=30,
        step_size=1.0,
        seed=0,
    )
    assert found and set(found) <= set(pool)
    assert "CCCCCCO" in found


def test_latent_views_interpolation_and_figures(tmp_path: Path) -> None:
    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN", "CCCl", "OCCO", "CC(C)O"]
    vocab = SmilesVocab.build(smiles)
    vae = MoleculeVAE(build_vae(vocab, embed=8, hidden=16, latent=4).eval(), vocab, 30)
    z = np.random.default_rng(0).normal(size=(40, 4))
    xy, ratio = pca_2d(z)
    assert xy.shape == (40, 2) and 0 < ratio.sum() <= 1
    assert tsne_2d(z).shape == (40, 2)
    path = interpolate(vae, smiles[0], smiles[2], 5)
    assert len(path) == 5
    assert len(interpolate(vae, smiles[0], smiles[2], 4, spherical=True)) == 4
    grid_image([smiles[0], *path, "bad("], tmp_path / "interp.png")
    plot_latent(
        xy,
        tmp_path / "pca.png",
        color=np.r_[np.ones(20), np.full(20, np.nan)],
        title="t",
        color_label="y",
    )
    plot_properties(
        {"train": properties(smiles), "vae": properties(smiles[:3])}, tmp_path / "props.png"
    )
    for name in ("interp.png", "pca.png", "props.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
