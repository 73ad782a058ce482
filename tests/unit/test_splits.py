"""Fixed, seeded CV folds: stratified, multi-label stratified, scaffold, random."""

from __future__ import annotations

import numpy as np
import pytest

from chemchallenge.data.splits import SPLIT_FOR_TASK, make_folds, murcko_scaffold, scaffold_folds
from chemchallenge.errors import ConfigError
from chemchallenge.tasks import TaskType


def smiles_list(n: int) -> list[str]:
    return ["C" * (i % 7 + 1) for i in range(n)]


def assert_partition(folds: np.ndarray, n: int, n_folds: int) -> None:
    assert folds.shape == (n,)
    assert set(folds.tolist()) == set(range(n_folds))
    sizes = np.bincount(folds, minlength=n_folds)
    assert sizes.max() - sizes.min() <= max(2, n // (5 * n_folds))


@pytest.mark.parametrize("n_folds", [3, 5])
def test_stratified_binary_keeps_class_ratio(n_folds: int) -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(float)[:, None]
    folds = make_folds(y, smiles_list(200), TaskType.BINARY, "auto", n_folds, seed=1)
    assert_partition(folds, 200, n_folds)
    overall = y.mean()
    for k in range(n_folds):
        assert abs(y[folds == k].mean() - overall) <= 0.02


def test_stratified_multiclass_keeps_class_shares() -> None:
    y = np.repeat([0.0, 1.0, 2.0], [90, 45, 15])[:, None]
    folds = make_folds(y, smiles_list(150), TaskType.MULTICLASS, "stratified", 5, seed=3)
    assert_partition(folds, 150, 5)
    for k in range(5):
        counts = np.bincount(y[folds == k, 0].astype(int), minlength=3)
        assert counts.tolist() == [18, 9, 3]


def test_multilabel_iterative_stratification_keeps_each_label_rate() -> None:
    rng = np.random.default_rng(0)
    n = 300
    y = np.column_stack([rng.random(n) < p for p in (0.5, 0.2, 0.08)]).astype(float)
    y[rng.random(n) < 0.05, 1] = np.nan  # a few missing labels
    folds = make_folds(y, smiles_list(n), TaskType.MULTILABEL, "auto", 5, seed=0)
    assert_partition(folds, n, 5)
    for j in range(3):
        overall = np.nanmean(y[:, j])
        for k in range(5):
            assert abs(np.nanmean(y[folds == k, j]) - overall) <= 0.04, (j, k)


def test_multilabel_beats_random_on_a_rare_label() -> None:
    rng = np.random.default_rng(1)
    n = 200
    y = np.column_stack([rng.random(n) < 0.5, np.arange(n) % 20 == 0]).astype(float)  # 10 rare
    strat = make_folds(y, smiles_list(n), TaskType.MULTILABEL, "multilabel", 5, seed=2)
    assert [int(y[strat == k, 1].sum()) for k in range(5)] == [2, 2, 2, 2, 2]


SCAFFOLD_SMILES = [
    "c1ccccc1O",
    "c1ccccc1N",
    "c1ccccc1C(=O)O",
    "Cc1ccccc1",
    "c1ccc2ccccc2c1",
    "Oc1ccc2ccccc2c1",
    "C1CCNCC1",
    "CC1CCNCC1",
    "OC1CCNCC1",
    "c1ccncc1",
    "Nc1ccncc1",
    "CCO",
    "CCCN",
    "CC(=O)O",
    "O=C1NC(=O)C(c2ccccc2)(c2ccccc2)N1",
    "O=C1NC(=O)C(C)(c2ccccc2)N1",
    "c1ccc(-c2ccccc2)cc1",
    "Cc1ccc(-c2ccccc2)cc1",
    "C1CCCCC1",
    "OC1CCCCC1",
    "c1ccoc1",
    "Cc1ccoc1",
    "c1ccsc1",
    "Clc1ccsc1",
]


def test_murcko_scaffold() -> None:
    assert murcko_scaffold("Oc1ccc2ccccc2c1") == "c1ccc2ccccc2c1"
    assert murcko_scaffold("CC1CCNCC1") == "C1CCNCC1"
    assert murcko_scaffold("CCO") == ""
    assert murcko_scaffold("not a smiles") == ""


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_scaffold_split_puts_each_scaffold_in_one_fold(seed: int) -> None:
    folds = make_folds(
        np.zeros((len(SCAFFOLD_SMILES), 1)),
        SCAFFOLD_SMILES,
        TaskType.REGRESSION,
        "scaffold",
        3,
        seed,
    )
    assert_partition(folds, len(SCAFFOLD_SMILES), 3)
    by_scaffold: dict[str, set[int]] = {}
    for s, f in zip(SCAFFOLD_SMILES, folds, strict=True):
        by_scaffold.setdefault(murcko_scaffold(s), set()).add(int(f))
    assert len(by_scaffold) < len(SCAFFOLD_SMILES)  # the test has real groups
    assert all(len(fs) == 1 for fs in by_scaffold.values()), by_scaffold


def test_scaffold_split_is_deterministic(drug_smiles: list[str]) -> None:
    a = scaffold_folds(drug_smiles, 5, seed=3)
    b = scaffold_folds(drug_smiles, 5, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(a).tolist() == [12, 12, 12, 12, 12]


def test_random_split_is_deterministic_for_a_seed() -> None:
    y = np.zeros((50, 1))
    a = make_folds(y, smiles_list(50), TaskType.REGRESSION, "auto", 5, seed=4)
    b = make_folds(y, smiles_list(50), TaskType.REGRESSION, "random", 5, seed=4)
    c = make_folds(y, smiles_list(50), TaskType.REGRESSION, "random", 5, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.bincount(a).tolist() == [10] * 5


def test_stratified_is_deterministic_for_a_seed() -> None:
    y = (np.arange(60) % 3 == 0).astype(float)[:, None]
    a = make_folds(y, smiles_list(60), TaskType.BINARY, "stratified", 3, seed=9)
    b = make_folds(y, smiles_list(60), TaskType.BINARY, "stratified", 3, seed=9)
    np.testing.assert_array_equal(a, b)


def test_classification_can_use_a_random_split() -> None:
    y = np.array([[0.0]] * 10 + [[1.0]])  # one positive only: stratification impossible
    folds = make_folds(y, smiles_list(11), TaskType.BINARY, "random", 3, seed=0)
    assert_partition(folds, 11, 3)


def test_too_few_members_per_class() -> None:
    y = np.array([0.0] * 20 + [1.0] * 2)[:, None]
    with pytest.raises(ConfigError, match="fewer than n_folds=3 members"):
        make_folds(y, smiles_list(22), TaskType.BINARY, "auto", 3, seed=0)


def test_more_folds_than_molecules() -> None:
    with pytest.raises(ConfigError, match="n_folds=5 but only 4"):
        make_folds(np.zeros((4, 1)), smiles_list(4), TaskType.REGRESSION, "random", 5, seed=0)


def test_stratified_regression_is_refused() -> None:
    with pytest.raises(ConfigError, match="classification"):
        make_folds(np.zeros((10, 1)), smiles_list(10), TaskType.REGRESSION, "stratified", 2, 0)


def test_unknown_split() -> None:
    with pytest.raises(ConfigError, match="unknown split 'kmeans'"):
        make_folds(np.zeros((10, 1)), smiles_list(10), TaskType.REGRESSION, "kmeans", 2, 0)


def test_auto_split_for_each_task() -> None:
    assert SPLIT_FOR_TASK == {
        TaskType.REGRESSION: "random",
        TaskType.BINARY: "stratified",
        TaskType.MULTICLASS: "stratified",
        TaskType.MULTILABEL: "multilabel",
    }
