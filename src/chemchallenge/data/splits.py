"""Fixed, seeded cross-validation folds."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold
from sklearn.model_selection import KFold, StratifiedKFold

from chemchallenge.errors import ConfigError
from chemchallenge.tasks import TaskType

#: the ``prepare.cv.split`` values :func:`make_folds` implements (besides ``auto``)
SPLITS = ("random", "stratified", "multilabel", "scaffold")

SPLIT_FOR_TASK = {
    TaskType.REGRESSION: "random",
    TaskType.BINARY: "stratified",
    TaskType.MULTICLASS: "stratified",
    TaskType.MULTILABEL: "multilabel",
}


def murcko_scaffold(smiles: str) -> str:
    """Bemis–Murcko scaffold SMILES ('' for acyclic molecules)."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ""
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


def scaffold_folds(smiles: list[str], n_folds: int, seed: int) -> np.ndarray:
    """Whole scaffold groups go to one fold: biggest groups first, each to the smallest fold
    (ties broken by a seeded shuffle), so test folds hold scaffolds unseen in training."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(smiles):
        groups[murcko_scaffold(s)].append(i)
    rng = np.random.default_rng(seed)
    keys = list(groups)
    rng.shuffle(keys)
    keys.sort(key=lambda k: -len(groups[k]))
    folds = np.zeros(len(smiles), dtype=int)
    sizes = np.zeros(n_folds, dtype=int)
    for k in keys:
        f = int(np.argmin(sizes))
        folds[groups[k]] = f
        sizes[f] += len(groups[k])
    return folds


def make_folds(
    y: np.ndarray, smiles: list[str], task: TaskType, split: str, n_folds: int, seed: int
) -> np.ndarray:
    """Fold index (0..n_folds-1) per training row.

    ``y`` is (n, n_targets) float with NaN for missing labels (multi-class: class index).
    """
    n = len(smiles)
    if n < n_folds:
        raise ConfigError(f"prepare.cv.n_folds={n_folds} but only {n} training molecules")
    split = SPLIT_FOR_TASK[task] if split == "auto" else split
    if split not in SPLITS:
        raise ConfigError(f"prepare.cv.split: unknown split {split!r}; use auto or one of {SPLITS}")
    folds = np.zeros(n, dtype=int)
    if split == "scaffold":
        return scaffold_folds(smiles, n_folds, seed)
    if split == "random":
        splitter = KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(n))
    elif split == "stratified":
        if task == TaskType.REGRESSION:
            raise ConfigError("prepare.cv.split=stratified needs a classification task")
        label = np.nan_to_num(y[:, 0], nan=-1).astype(int)
        if np.unique(label, return_counts=True)[1].min() < n_folds:
            raise ConfigError(
                f"prepare.cv: a class has fewer than n_folds={n_folds} members; "
                "lower n_folds or use split: random"
            )
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
            np.zeros(n), label
        )
    else:  # multilabel
        from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

        labels = np.nan_to_num(y, nan=0).astype(int)
        splitter = MultilabelStratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
            np.zeros(n), labels
        )
    for k, (_, val) in enumerate(splitter):
        folds[val] = k
    return folds
