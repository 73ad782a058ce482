"""Data for the deep models: datasets, collate functions, a LightningDataModule and the
input adapters that turn a :class:`~chemchallenge.models.base.ModelInput` into tensors.

Every batch is a pair ``(inputs, y)``: ``inputs`` is what the net's ``forward`` takes
(a float matrix, padded token ids or a PyG ``Batch`` with optional ``extra``
descriptors) and ``y`` a float (batch, n_targets) tensor with NaN for missing labels
(an empty (batch, 0) tensor when predicting).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from rdkit import Chem
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, TensorDataset
from torch_geometric.data import Batch, Data

from chemchallenge.errors import ConfigError
from chemchallenge.features.graphs import smiles_to_graphs
from chemchallenge.features.tokenizer import SmilesVocab, tokenize
from chemchallenge.models.base import ModelInput

Item = tuple[Any, torch.Tensor]


def _targets(y: np.ndarray | None, n: int) -> torch.Tensor:
    if y is None:
        return torch.zeros(n, 0)
    return torch.as_tensor(np.asarray(y, dtype=np.float32).reshape(n, -1))


def random_variants(smiles: Sequence[str], n: int, seed: int) -> list[list[str]]:
    """``n`` random SMILES of every molecule (RDKit's randomised atom order, seeded).

    Same idea as :func:`~chemchallenge.features.tokenizer.randomize_smiles`, ~6x faster
    per string, which matters when a pool is drawn for every training molecule.
    """
    out: list[list[str]] = []
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s)
        if mol is None or mol.GetNumAtoms() == 0 or n <= 0:
            out.append([s] * max(n, 0))
            continue
        rs = (seed * 1_000_003 + i) % (2**31 - 1) + 1  # randomSeed 0 would not be reproducible
        out.append(list(Chem.MolToRandomSmilesVect(mol, n, randomSeed=rs)))
    return out


class SmilesDataset(Dataset):
    """Token ids of each SMILES; with ``variants`` each access draws one of the molecule's
    SMILES (the given one or a random variant) for augmentation."""

    def __init__(
        self,
        smiles: Sequence[str],
        vocab: SmilesVocab,
        max_len: int,
        y: np.ndarray | None = None,
        variants: list[list[str]] | None = None,
        seed: int = 0,
    ) -> None:
        self.vocab, self.max_len = vocab, max_len
        self.pool = [[s, *(variants[i] if variants else [])] for i, s in enumerate(smiles)]
        self.y = _targets(y, len(self.pool))
        self.rng = np.random.default_rng(seed)
        self._ids: dict[tuple[int, int], torch.Tensor] = {}
        self.lengths = [len(tokenize(p[0])) for p in self.pool]

    def __len__(self) -> int:
        return len(self.pool)

    def __getitem__(self, i: int) -> Item:
        j = int(self.rng.integers(len(self.pool[i]))) if len(self.pool[i]) > 1 else 0
        ids = self._ids.get((i, j))
        if ids is None:
            ids = torch.tensor(self.vocab.encode(self.pool[i][j], max_len=self.max_len))
            self._ids[(i, j)] = ids
        return ids, self.y[i]


class GraphDataset(Dataset):
    def __init__(
        self, graphs: list[Data], y: np.ndarray | None = None, extra: np.ndarray | None = None
    ) -> None:
        self.graphs = graphs
        self.y = _targets(y, len(graphs))
        self.extra = None if extra is None else torch.as_tensor(extra, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, i: int) -> tuple[Data, torch.Tensor, torch.Tensor | None]:
        return self.graphs[i], self.y[i], None if self.extra is None else self.extra[i]


def collate_tokens(items: list[Item], pad_idx: int) -> Item:
    """Pad to the longest sequence of the batch (dynamic padding)."""
    seqs = [t for t, _ in items]
    out = torch.full((len(seqs), max(len(t) for t in seqs)), pad_idx, dtype=torch.long)
    for i, t in enumerate(seqs):
        out[i, : len(t)] = t
    return out, torch.stack([y for _, y in items])


def collate_graphs(items: list[tuple[Data, torch.Tensor, torch.Tensor | None]]) -> Item:
    batch = Batch.from_data_list([g for g, _, _ in items])
    if items[0][2] is not None:
        batch.extra = torch.stack([e for _, _, e in items])
    return batch, torch.stack([y for _, y, _ in items])


class BucketBatchSampler(Sampler[list[int]]):
    """Shuffled batches of similar lengths (less padding): shuffle, sort chunks of
    ``bucket`` batches by length, cut into batches, shuffle the batches. A last batch of
    one is merged into the previous one (BatchNorm needs two samples).

    Under DDP every rank draws the same batch order (same seed, same epoch count) and keeps
    every ``world_size``-th batch from its ``rank``, the same number on every rank (the
    last ``len % world_size`` batches of an epoch are left to the next epoch's shuffle).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        seed: int,
        bucket: int = 8,
        rank: int = 0,
        world_size: int = 1,
    ):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.lengths, self.batch_size = np.asarray(lengths), batch_size
        self.rng, self.bucket = np.random.default_rng(seed), bucket
        self.rank, self.world_size = rank, world_size

    def _batches(self) -> list[list[int]]:
        order = self.rng.permutation(len(self.lengths))
        chunk = self.batch_size * self.bucket
        batches: list[list[int]] = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [
                part[i : i + self.batch_size].tolist() for i in range(0, len(part), self.batch_size)
            ]
        if len(batches) > 1 and len(batches[-1]) == 1:
            last = batches.pop()
            batches[-1] += last
        return [batches[i] for i in self.rng.permutation(len(batches))]

    def _n_all(self) -> int:
        n = -(-len(self.lengths) // self.batch_size)
        return n - 1 if n > 1 and len(self.lengths) % self.batch_size == 1 else n

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        if self.world_size == 1:
            return iter(batches)
        return iter(batches[self.rank : len(self) * self.world_size : self.world_size])

    def __len__(self) -> int:
        n = self._n_all()
        return n if self.world_size == 1 else max(n // self.world_size, 1)


class DeepDataModule(pl.LightningDataModule):
    """Shuffled training batches (seeded) and, when given, validation batches.

    ``loader``: DataLoader options (workers, ``pin_memory``, seeded generator: see
    :func:`chemchallenge.device.loader_options`). Under DDP the training batches are
    sharded by rank here (the Trainer runs with ``use_distributed_sampler=False``); every
    rank validates on the whole validation set, so all ranks see the same ``val_loss``.
    """

    def __init__(
        self,
        train: Dataset,
        val: Dataset | None,
        collate: Any,
        batch_size: int = 64,
        seed: int = 0,
        loader: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.train, self.val, self.collate = train, val, collate
        self.batch_size, self.seed = batch_size, seed
        self.loader = loader or {}

    def _rank(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return int(trainer.global_rank), int(trainer.world_size)

    def train_dataloader(self) -> DataLoader:
        n = len(self.train)  # type: ignore[arg-type]
        rank, world = self._rank()
        lengths = getattr(self.train, "lengths", None)
        if lengths is not None:
            sampler = BucketBatchSampler(
                lengths, self.batch_size, self.seed, rank=rank, world_size=world
            )
            return DataLoader(
                self.train, batch_sampler=sampler, collate_fn=self.collate, **self.loader
            )
        if world > 1:
            shard = DistributedSampler(
                self.train, num_replicas=world, rank=rank, shuffle=True, seed=self.seed
            )
            return DataLoader(
                self.train,
                batch_size=self.batch_size,
                sampler=shard,
                collate_fn=self.collate,
                drop_last=True,
                **self.loader,
            )
        options = {"generator": torch.Generator().manual_seed(self.seed), **self.loader}
        return DataLoader(
            self.train,
            batch_size=self.batch_size,
            shuffle=True,
            collate_fn=self.collate,
            drop_last=n > self.batch_size and n % self.batch_size == 1,  # BatchNorm needs 2+
            **options,
        )

    def val_dataloader(self) -> DataLoader | list:
        if self.val is None:
            return []
        options = {k: v for k, v in self.loader.items() if k != "generator"}
        return DataLoader(
            self.val, batch_size=self.batch_size, shuffle=False, collate_fn=self.collate, **options
        )


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
        return TensorDataset(x, _targets(y, len(x)))

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
