"""Data for the predictive nets: the input adapters that turn a
:class:`~chemchallenge.models.base.ModelInput` into tensors, graph datasets and the
prediction loader (SMILES datasets, bucketing and the LightningDataModule, shared with the
generation VAE: :mod:`chemchallenge.training.data`).

Every batch is a pair ``(inputs, y)``: ``inputs`` is what the net's ``forward`` takes
(a float matrix, padded token ids or a PyG ``Batch`` with optional ``extra``
descriptors) and ``y`` a float (batch, n_targets) tensor with NaN for missing labels
(an empty (batch, 0) tensor when predicting).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch_geometric.data import Batch, Data

from chemchallenge.errors import ConfigError
from chemchallenge.features.graphs import smiles_to_graphs
from chemchallenge.features.tokenizer import SmilesVocab, tokenize
from chemchallenge.models.base import ModelInput
from chemchallenge.training.data import (
    Item,
    SmilesDataset,
    collate_tokens,
    random_variants,
    targets_tensor,
)


class GraphDataset(Dataset):
    def __init__(
        self, graphs: list[Data], y: np.ndarray | None = None, extra: np.ndarray | None = None
    ) -> None:
        self.graphs = graphs
        self.y = targets_tensor(y, len(graphs))
        self.extra = None if extra is None else torch.as_tensor(extra, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> tuple[Data, torch.Tensor, torch.Tensor | None]:
        return self.graphs[i], self.y[i], None if self.extra is None else self.extra[i]


def collate_graphs(items: list[tuple[Data, torch.Tensor, torch.Tensor | None]]) -> Item:
    batch = Batch.from_data_list([g for g, _, _ in items])
    if items[0][2] is not None:
        batch.extra = torch.stack([e for _, _, e in items])
    return batch, torch.stack([y for _, y, _ in items])


def predict_loader(ds: Dataset, collate: Any, batch_size: int = 256) -> DataLoader:
    return DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate)


def _scaler(features: np.ndarray | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    if features is None:
        raise ConfigError(f"{what} needs a feature matrix: list `features:` for this model")
    x = np.asarray(features, dtype=np.float64)
    std = x.std(axis=0)
    return x.mean(axis=0), np.where(std > 1e-12, std, 1.0)


class TabularAdapter:
    """Standard-scales ``X.features`` with statistics of the training rows (clipped)."""

    collate = None  # torch's default collate

    def __init__(self, clip: float = 10.0) -> None:
        self.clip = clip

    def fit(self, X: ModelInput) -> TabularAdapter:
        self.mean, self.std = _scaler(X.features, "the mlp model")
        return self

    @property
    def in_dim(self) -> int:
        return len(self.mean)

    def transform(self, features: np.ndarray | None) -> np.ndarray:
        if features is None or features.shape[1] != self.in_dim:
            raise ValueError(f"expected a feature matrix with {self.in_dim} columns")
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.std
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def dataset(self, X: ModelInput, y: np.ndarray | None = None, train: bool = False) -> Dataset:
        x = torch.as_tensor(self.transform(X.features))
        return TensorDataset(x, targets_tensor(y, len(x)))

    def tta_datasets(self, X: ModelInput) -> list[Dataset]:
        return [self.dataset(X)]


class SmilesAdapter:
    """Vocabulary from the training SMILES (plus random variants) and token datasets.

    ``augment`` random SMILES per training molecule form a pool that training batches
    draw from (0: no augmentation); ``tta`` > 0 predicts on the given SMILES and ``tta``
    random SMILES of each molecule and averages the outputs.
    """

    def __init__(self, max_len: int = 150, augment: int = 20, tta: int = 0, seed: int = 0):
        self.max_len, self.augment, self.tta, self.seed = max_len, int(augment), tta, seed

    def fit(self, X: ModelInput) -> SmilesAdapter:
        variants = [v for vs in random_variants(X.smiles, 3, self.seed + 7) for v in vs]
        vocab = SmilesVocab.build([*X.smiles, *variants])
        digits = [str(d) for d in range(10)]  # ring closures random SMILES may need
        self.vocab = SmilesVocab([t for t in vocab.itos if t not in digits] + digits)
        return self

    @property
    def collate(self) -> Any:
        return partial(collate_tokens, pad_idx=self.vocab.pad_idx)

    def dataset(self, X: ModelInput, y: np.ndarray | None = None, train: bool = False) -> Dataset:
        for s in X.smiles:
            tokenize(s)  # fail early, naming the offending SMILES
        pool = random_variants(X.smiles, self.augment, self.seed) if train else None
        return SmilesDataset(X.smiles, self.vocab, self.max_len, y, pool, self.seed)

    def tta_datasets(self, X: ModelInput) -> list[Dataset]:
        variants = random_variants(X.smiles, self.tta, self.seed + 1)
        views = [list(X.smiles)] + [[v[j] for v in variants] for j in range(self.tta)]
        return [SmilesDataset(v, self.vocab, self.max_len) for v in views]


class GraphAdapter:
    """Molecule graphs; with ``use_descriptors`` also scaled ``X.features`` as ``extra``."""

    collate = staticmethod(collate_graphs)

    def __init__(self, use_descriptors: bool = False, clip: float = 10.0) -> None:
        self.use_descriptors = use_descriptors
        self.tabular = TabularAdapter(clip) if use_descriptors else None

    def fit(self, X: ModelInput) -> GraphAdapter:
        if self.tabular is not None:
            if X.features is None:
                raise ConfigError(
                    "use_descriptors: true needs a feature matrix: list `features:` for this model"
                )
            self.tabular.fit(X)
        return self

    @property
    def n_extra(self) -> int:
        return 0 if self.tabular is None else self.tabular.in_dim

    def dataset(self, X: ModelInput, y: np.ndarray | None = None, train: bool = False) -> Dataset:
        extra = None if self.tabular is None else self.tabular.transform(X.features)
        return GraphDataset(smiles_to_graphs(X.smiles, cache=True), y, extra)

    def tta_datasets(self, X: ModelInput) -> list[Dataset]:
        return [self.dataset(X)]
