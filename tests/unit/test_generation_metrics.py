"""MOSES-style metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from chemchallenge.generation import metrics as M
from chemchallenge.generation.fcd import frechet_distance, frechet_distance_between

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_validity_counts_rdkit_parsable_strings() -> None:
    # "C1CC" is an unclosed ring: RDKit rejects it, so only 1 of these 3 is valid
    assert M.validity(["CCO", "C1CC", "invalid"]) == pytest.approx(1 / 3)
    assert M.validity(["CCO", "C1CC1", "invalid"]) == pytest.approx(2 / 3)
    assert M.validity(["", None, "CCO"]) == pytest.approx(1 / 3)
    assert math.isnan(M.validity([]))


def test_uniqueness_uses_canonical_forms_and_first_k_valid() -> None:
    gen = ["CCO", "OCC", "CCN", "bad", "CCC"]
    assert M.uniqueness(gen) == pytest.approx(3 / 4)  # CCO == OCC
    assert M.uniqueness(gen, k=2) == pytest.approx(1 / 2)
    assert M.uniqueness(gen, k=3) == pytest.approx(2 / 3)
    assert math.isnan(M.uniqueness(["bad"]))


def test_novelty_over_distinct_valid_molecules() -> None:
    assert M.novelty(["CCO", "CCN", "CCC", "OCC", "x"], ["OCC"]) == pytest.approx(2 / 3)
    assert M.novelty(["CCO"], ["CCO"]) == 0.0


def test_internal_diversity() -> None:
    assert M.internal_diversity(["CCO", "CCO", "OCC"]) == pytest.approx(0.0)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    a, b = (gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in ("CCO", "c1ccccc1"))
    t = DataStructs.TanimotoSimilarity(a, b)
    assert M.internal_diversity(["CCO", "c1ccccc1"]) == pytest.approx(1 - t)
    # three molecules: mean over the 3 distinct pairs
    smi = ["CCO", "CCN", "c1ccccc1"]
    fps = M.fingerprints(smi)
    sims = [DataStructs.TanimotoSimilarity(fps[i], fps[j]) for i, j in [(0, 1), (0, 2), (1, 2)]]
    assert M.internal_diversity(smi) == pytest.approx(1 - np.mean(sims))
    assert math.isnan(M.internal_diversity(["CCO"]))


def test_snn_is_one_for_molecules_in_the_reference() -> None:
    assert M.snn(["CCO", "c1ccccc1"], ["c1ccccc1", "OCC", "CCN"]) == pytest.approx(1.0)


def test_scaffold_similarity_cosine_of_counts() -> None:
    # generated scaffolds: benzene x2 (toluene, phenol; propane has none); reference: benzene,
    # pyridine -> cos((2, 0), (1, 1)) = 2 / (2 * sqrt 2)
    sim = M.scaffold_similarity(["Cc1ccccc1", "Oc1ccccc1", "CCC"], ["c1ccccc1", "c1ccncc1"])
    assert sim == pytest.approx(1 / math.sqrt(2))
    assert M.scaffold_similarity(["Cc1ccccc1"], ["Oc1ccccc1"]) == pytest.approx(1.0)
    assert math.isnan(M.scaffold_similarity(["CCC"], ["c1ccccc1"]))


def test_fragment_similarity() -> None:
    # ethyl benzoate breaks into 4 BRICS fragments; the identical set has similarity 1
    frags = M.fragments(Chem.MolFromSmiles("CCOC(=O)c1ccccc1"))
    assert len(frags) == 4
    assert M.fragment_similarity(["CCOC(=O)c1ccccc1"], ["O=C(OCC)c1ccccc1"]) == pytest.approx(1)
    # methane: one fragment, absent from the reference -> 0
    assert M.fragment_similarity(["C"], ["CCOC(=O)c1ccccc1"]) == pytest.approx(0.0)


def test_cosine_counts() -> None:
    from collections import Counter

    assert M.cosine_counts(Counter(a=1, b=2), Counter(a=2, b=4)) == pytest.approx(1.0)
    assert M.cosine_counts(Counter(a=1), Counter(b=1)) == 0.0
    assert M.cosine_counts(Counter(a=3, b=4), Counter(a=1)) == pytest.approx(3 / 5)


def test_properties_and_wasserstein() -> None:
    props = M.properties(["CCO", "invalid", "c1ccccc1"])
    assert list(props.columns) == ["logP", "QED", "MW", "SA", "heavy_atoms"]
    assert props.loc[2, "heavy_atoms"] == 6
    assert props.loc[0, "MW"] == pytest.approx(46.069, abs=1e-3)
    assert props.loc[1].isna().all()
    assert 1.0 <= props.loc[2, "SA"] <= 10.0
    ref = M.properties(["CCO", "CCCO", "CCCCO"])  # 3-5 heavy atoms
    assert M.size_in_range(M.properties(["C", "CCCO", "CCCCCCCCCCO"]), ref) == pytest.approx(1 / 3)
    a = pd.DataFrame({p: [0.0, 1.0] for p in M.PROPERTIES})
    b = pd.DataFrame({p: [1.0, 2.0] for p in M.PROPERTIES})
    d = M.property_distances(a, b)
    assert d["wasserstein_logP"] == pytest.approx(1.0)  # shift by 1
    assert M.property_distances(a, a)["wasserstein_QED"] == 0.0


def test_frechet_distance_closed_forms() -> None:
    # 1-D: (mu1 - mu2)^2 + s1 + s2 - 2 sqrt(s1 s2) = 1 + 4 + 1 - 4
    assert frechet_distance(
        np.array([0.0]), np.array([[4.0]]), np.array([1.0]), np.array([[1.0]])
    ) == pytest.approx(2.0)
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    assert frechet_distance(np.zeros(2), cov, np.zeros(2), cov) == pytest.approx(0.0, abs=1e-9)
    # diagonal covariances: sum of the 1-D distances
    d = frechet_distance(np.zeros(2), np.diag([1.0, 9.0]), np.ones(2), np.diag([4.0, 1.0]))
    assert d == pytest.approx((1 + 1 + 4 - 4) + (1 + 9 + 1 - 6))


def test_fcd_is_zero_for_the_same_set_and_positive_otherwise() -> None:
    a = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl", "c1ccncc1"]
    name, same = frechet_distance_between(a, list(reversed(a)))
    assert name in ("fcd", "frechet_descriptor_distance")
    assert same == pytest.approx(0.0, abs=1e-3)
    _, other = frechet_distance_between(a, ["CCCCCCCC", "CCCCCCCCO", "CCCCCCCCN", "CCCCCC"])
    assert other > 1.0
    assert math.isnan(frechet_distance_between(["CCO"], a)[1])


def test_fcd_matches_fcd_torch_reference_implementation() -> None:
    fcd_torch = pytest.importorskip("fcd_torch")
    a = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCCl", "c1ccc(Br)cc1"]
    b = ["CCC", "CCNC", "c1ccncc1", "CC(=O)N", "OCCO", "c1ccc(F)cc1"]
    ref = fcd_torch.FCD(device="cpu", n_jobs=1)(a, b)
    assert frechet_distance_between(a, b)[1] == pytest.approx(ref, rel=1e-3)


def test_evaluate_reports_every_metric() -> None:
    gen = ["CCO", "CCN", "bad", "c1ccccc1O", "CCO"]
    out = M.evaluate(gen, ["CCO"], ["CCC", "c1ccccc1", "CCOC"], k=1000)
    assert out["validity"] == pytest.approx(0.8)
    assert out["uniqueness"] == pytest.approx(3 / 4)
    assert out["novelty"] == pytest.approx(2 / 3)
    for key in (
        "internal_diversity",
        "snn",
        "scaffold_similarity",
        "fragment_similarity",
        "wasserstein_SA",
    ):
        assert key in out
    assert out["fcd_n"] == 4


def test_frechet_from_embeddings_subsamples_to_equal_sizes() -> None:
    from chemchallenge.generation.fcd import frechet_from_embeddings

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 3)), rng.normal(1.0, 1.0, size=(300, 3))
    full, sd0 = frechet_from_embeddings("fcd", a, b)
    assert sd0 == 0.0 and full == pytest.approx(3.0, abs=0.5)  # |mu1 - mu2|^2 = 3
    mean, sd = frechet_from_embeddings("fcd", a, b, repeats=5, size=50, seed=0)
    assert sd > 0 and mean > full  # smaller samples: FCD biased upwards
    # descriptor fallback standardises on the reference; same set -> 0
    assert frechet_from_embeddings("frechet_descriptor_distance", b, b)[0] == pytest.approx(
        0.0, abs=1e-9
    )


def test_sensible_fraction_against_the_training_profile() -> None:
    from chemchallenge.generation.chemistry import sensible_fraction

    train = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN", "C1CCCCC1N", "CCCCCCO"]
    assert sensible_fraction(["CCCO", "Oc1ccccc1C"], train) == 1.0
    # sulfur unseen; a 3-ring unseen; a radical; a 40-carbon chain (too big)
    for bad in ["CCS", "C1CC1O", "[CH2]CO", "C" * 40]:
        assert sensible_fraction([bad], train) == 0.0, bad
    assert sensible_fraction(["CCCO", "CCS"], train) == 0.5
    assert math.isnan(sensible_fraction([], train))
