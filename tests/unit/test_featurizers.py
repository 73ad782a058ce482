"""Featurizers against direct RDKit calls, NaN handling, registry, parallel == serial."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Avalon import pyAvalonTools
from rdkit.Chem import Descriptors, MACCSkeys, rdReducedGraphs
from rdkit.Chem import rdFingerprintGenerator as rfg

import chemchallenge.features.compute as compute
from chemchallenge.errors import ChemChallengeError, ConfigError
from chemchallenge.features.base import FEATURIZERS, Featurizer, build_featurizer
from chemchallenge.features.compute import featurize_smiles, resolve_n_jobs

SMILES = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "C[C@H](N)C(=O)O",
    "c1ccc2ccccc2c1",
    "CCCCCCCCCCCCCCCC(=O)O",
    "O=C(O)c1cn(C2CC2)c2cc(N3CCNCC3)c(F)cc2c1=O",
    "CCN(CC)CCNC(=O)c1ccc(N)cc1",
    "Clc1ccc(Cl)c(Cl)c1",
]
MOLS = [Chem.MolFromSmiles(s) for s in SMILES]


def direct(fp_fn, mols=MOLS) -> np.ndarray:
    return np.array([fp_fn(m) for m in mols], dtype=np.float64)


def run(f: Featurizer, mols=MOLS) -> np.ndarray:
    out = np.array([f(m) for m in mols])
    assert out.dtype == np.float32 and out.shape == (len(mols), len(f.names))
    return out


def test_registry_has_all_featurizers():
    build_featurizer("morgan")
    expected = {"morgan", "morgan_counts", "fcfp", "maccs", "atompair", "torsion", "rdkit2d"}
    expected |= {"avalon", "erg"}
    assert expected <= set(FEATURIZERS)
    for name in expected:
        assert isinstance(build_featurizer(name), Featurizer)


@pytest.mark.parametrize("params", [{}, {"radius": 3, "n_bits": 1024, "use_chirality": True}])
def test_morgan_bits_equal_rdkit(params):
    f = build_featurizer("morgan", params)
    gen = rfg.GetMorganGenerator(
        radius=params.get("radius", 2),
        fpSize=params.get("n_bits", 2048),
        includeChirality=params.get("use_chirality", False),
    )
    np.testing.assert_array_equal(run(f), direct(gen.GetFingerprintAsNumPy))
    n = params.get("n_bits", 2048)
    assert f.names[0] == "morgan_0" and f.names[-1] == f"morgan_{n - 1}" and len(f.names) == n


def test_morgan_counts_equal_rdkit_counts():
    f = build_featurizer("morgan_counts")
    gen = rfg.GetMorganGenerator(radius=2, fpSize=2048)
    x = run(f)
    np.testing.assert_array_equal(x, direct(gen.GetCountFingerprintAsNumPy))
    assert x.max() > 1  # real counts, not bits
    assert f.names[0] == "morgan_counts_0"


def test_fcfp_uses_feature_invariants():
    f = build_featurizer("fcfp")
    gen = rfg.GetMorganGenerator(
        radius=2, fpSize=2048, atomInvariantsGenerator=rfg.GetMorganFeatureAtomInvGen()
    )
    x = run(f)
    np.testing.assert_array_equal(x, direct(gen.GetFingerprintAsNumPy))
    assert not np.array_equal(x, run(build_featurizer("morgan")))


def test_maccs_equal_rdkit():
    f = build_featurizer("maccs")
    assert f.names == [f"maccs_{i}" for i in range(167)]

    def keys(m: Chem.Mol) -> np.ndarray:
        arr = np.zeros(167)
        DataStructs.ConvertToNumpyArray(MACCSkeys.GenMACCSKeys(m), arr)
        return arr

    np.testing.assert_array_equal(run(f), direct(keys))


@pytest.mark.parametrize("counts", [False, True])
def test_atompair_and_torsion_equal_rdkit(counts):
    for name, gen in [
        ("atompair", rfg.GetAtomPairGenerator(fpSize=1024)),
        ("torsion", rfg.GetTopologicalTorsionGenerator(fpSize=1024)),
    ]:
        f = build_featurizer(name, {"n_bits": 1024, "counts": counts})
        fn = gen.GetCountFingerprintAsNumPy if counts else gen.GetFingerprintAsNumPy
        np.testing.assert_array_equal(run(f), direct(fn))
        assert f.names[-1] == f"{name}_1023"


@pytest.mark.parametrize("counts", [True, False])
def test_avalon_equal_rdkit(counts):
    f = build_featurizer("avalon", {"n_bits": 512, "counts": counts})
    fp = pyAvalonTools.GetAvalonCountFP if counts else pyAvalonTools.GetAvalonFP

    def dense(m: Chem.Mol) -> np.ndarray:
        v = fp(m, nBits=512)
        arr = np.zeros(512)
        for i, c in v.GetNonzeroElements().items() if counts else ((b, 1) for b in v.GetOnBits()):
            arr[i] = c
        return arr

    x = run(f)
    np.testing.assert_array_equal(x, direct(dense))
    assert bool(x.max() > 1) is counts  # counts are real occurrence counts, bits are 0/1
    assert f.names[0] == "avalon_0" and f.names[-1] == "avalon_511"


def test_avalon_default_is_1024_counts():
    f = build_featurizer("avalon")
    assert len(f.names) == 1024 and run(f).max() > 1
    with pytest.raises(ConfigError, match="avalon: n_bits"):
        build_featurizer("avalon", {"n_bits": 0})


def test_erg_equal_rdkit():
    f = build_featurizer("erg")
    x = run(f)
    np.testing.assert_allclose(x, direct(rdReducedGraphs.GetErGFingerprint), rtol=1e-6)
    assert x.shape[1] == 315 and f.names[-1] == "erg_314"
    # pharmacophore pairs differ between an acid and a hydrocarbon of similar size
    assert not np.array_equal(x[0], x[3])


def test_rdkit2d_matches_descriptor_functions():
    f = build_featurizer("rdkit2d")
    assert f.names == [n for n, _ in Descriptors._descList]
    x = run(f)
    for name, fn in [
        ("MolWt", Descriptors.MolWt),
        ("TPSA", Descriptors.TPSA),
        ("MolLogP", Descriptors.MolLogP),
        ("NumHDonors", Descriptors.NumHDonors),
    ]:
        col = f.names.index(name)
        np.testing.assert_allclose(x[:, col], direct(fn), rtol=1e-6)


def test_rdkit2d_subset_and_errors():
    f = build_featurizer("rdkit2d", {"names": ["TPSA", "MolWt"]})
    assert f.names == ["TPSA", "MolWt"]
    np.testing.assert_allclose(run(f)[:, 1], direct(Descriptors.MolWt), rtol=1e-6)
    with pytest.raises(ConfigError, match="NoSuchDescriptor"):
        build_featurizer("rdkit2d", {"names": ["MolWt", "NoSuchDescriptor"]})


def test_rdkit2d_bad_values_become_nan(monkeypatch):
    def boom(mol: Chem.Mol) -> float:
        raise ValueError("descriptor failed")

    fake = [
        ("Boom", boom),
        ("Inf", lambda m: float("inf")),
        ("Huge", lambda m: -1e12),
        ("Nothing", lambda m: None),
        ("MolWt", Descriptors.MolWt),
    ]
    monkeypatch.setattr(Descriptors, "_descList", fake)
    x = build_featurizer("rdkit2d")(MOLS[0])
    assert np.isnan(x[:4]).all()
    assert x[4] == pytest.approx(Descriptors.MolWt(MOLS[0]), rel=1e-6)


def test_unknown_type_and_bad_params_are_config_errors():
    with pytest.raises(ConfigError, match="unknown featurizer type 'nope'"):
        build_featurizer("x", {"type": "nope"})
    with pytest.raises(ConfigError, match=r"featurize\.featurizers\.morgan"):
        build_featurizer("morgan", {"radiuss": 3})
    with pytest.raises(ConfigError, match="n_bits"):
        build_featurizer("morgan", {"n_bits": 0})


def test_alias_with_type():
    f = build_featurizer("ecfp6", {"type": "morgan", "radius": 3, "n_bits": 512})
    gen = rfg.GetMorganGenerator(radius=3, fpSize=512)
    np.testing.assert_array_equal(run(f), direct(gen.GetFingerprintAsNumPy))


def test_featurize_smiles_nan_rows_and_order():
    smiles = [SMILES[0], None, "not a smiles", "", SMILES[3], "C1CC"]
    x, names = featurize_smiles("morgan", {"n_bits": 256}, smiles, n_jobs=1, progress=False)
    assert x.shape == (6, 256) and x.dtype == np.float32 and len(names) == 256
    gen = rfg.GetMorganGenerator(radius=2, fpSize=256)
    np.testing.assert_array_equal(x[0], gen.GetFingerprintAsNumPy(MOLS[0]))
    np.testing.assert_array_equal(x[4], gen.GetFingerprintAsNumPy(MOLS[3]))
    assert np.isnan(x[[1, 2, 3, 5]]).all()
    assert not np.isnan(x[[0, 4]]).any()


def test_featurize_smiles_empty_input():
    x, names = featurize_smiles("maccs", {}, [], progress=False)
    assert x.shape == (0, 167) and len(names) == 167


@pytest.mark.parametrize("share", [True, False])
@pytest.mark.parametrize(
    "name, params",
    [("morgan_counts", {"n_bits": 512}), ("rdkit2d", {"names": ["MolWt", "TPSA", "BertzCT"]})],
)
def test_parallel_equals_serial(monkeypatch, caplog, share, name, params):
    smiles: list[str | None] = [*SMILES * 8, None, "xyz", *SMILES[:3]]
    serial, names = featurize_smiles(name, params, smiles, n_jobs=1, progress=False)
    monkeypatch.setattr(compute, "MIN_PARALLEL_SECONDS", 0.0)  # always start the pool
    monkeypatch.setattr(compute, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(compute, "CHUNK_SECONDS", 1e-6)  # many small chunks
    monkeypatch.setattr(compute, "SHARE_OUTPUT", share)
    monkeypatch.setattr(compute, "_cpus", lambda: 2)  # even on a 1-core runner
    monkeypatch.setattr(compute, "busy_cores", lambda: 0)  # even on a busy machine
    with caplog.at_level(logging.DEBUG, logger=compute.__name__):
        parallel, names2 = featurize_smiles(name, params, smiles, n_jobs=2, progress=False)
    assert "-> 2 workers" in caplog.text  # the pool did run
    assert names == names2
    np.testing.assert_array_equal(parallel, serial)  # NaN rows compare equal too
    assert np.isnan(parallel[len(SMILES) * 8 : len(SMILES) * 8 + 2]).all()


def test_no_pool_when_other_processes_hold_the_cores(monkeypatch, caplog):
    monkeypatch.setattr(compute, "MIN_PARALLEL_SECONDS", 0.0)
    monkeypatch.setattr(compute, "PROBE_SECONDS", 0.0)
    monkeypatch.setattr(compute, "_cpus", lambda: 2)
    monkeypatch.setattr(compute, "busy_cores", lambda: 3)
    with caplog.at_level(logging.DEBUG, logger=compute.__name__):
        x, _ = featurize_smiles("maccs", {}, SMILES * 4, n_jobs=-1, progress=False)
    assert "3 other busy cores -> serial" in caplog.text
    assert x.shape == (32, 167) and not np.isnan(x).any()


def test_featurizer_exception_gives_nan_and_warning(monkeypatch):
    def broken(*args, **kwargs):
        class Broken:
            names = ("a", "b")

            def __call__(self, mol):
                if mol.GetNumAtoms() > 3:
                    raise RuntimeError("boom")
                return np.ones(2, np.float32)

        return Broken()

    monkeypatch.setitem(FEATURIZERS, "broken", broken)
    smiles = ["CCO", SMILES[0]]
    with pytest.warns(RuntimeWarning, match=r"failed on 1 of 2 molecules \(50.0%\): row 1"):
        x, _ = featurize_smiles("broken", {}, smiles, n_jobs=1, progress=False, max_error_rate=0.5)
    assert x[0].tolist() == [1.0, 1.0] and np.isnan(x[1]).all()
    # above featurize.max_error_rate the stage stops, naming the molecules
    with pytest.raises(ChemChallengeError, match=r"failed on 1 of 2 .*row 1 .*max_error_rate"):
        featurize_smiles("broken", {}, smiles, n_jobs=1, progress=False, max_error_rate=0.01)


def test_resolve_n_jobs():
    assert resolve_n_jobs(1) == 1
    assert resolve_n_jobs(-1) >= 1
    assert resolve_n_jobs(10_000) == resolve_n_jobs(-1)  # capped at the available cores
    with pytest.raises(ConfigError, match="n_jobs"):
        resolve_n_jobs(0)
