"""The data side of training shared by the predictive nets and the generation VAE: SMILES
token datasets with augmentation, length-bucketed batches, padding, and the
LightningDataModule that serves them (seeded, sharded under DDP).

Every batch is a pair ``(inputs, y)``: ``inputs`` what the net's ``forward`` takes and ``y`` a
float (batch, n_targets) tensor with NaN for missing labels (an empty (batch, 0) tensor when
there are no targets: predicting, or the VAE).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from rdkit import Chem
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from chemchallenge.features.tokenizer import SmilesVocab, tokenize

Item = tuple[Any, torch.Tensor]


def targets_tensor(y: np.ndarray | None, n: int) -> torch.Tensor:
    """``y`` as a float (n, n_targets) tensor; (n, 0) when there are none."""
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
    """Token ids of each SMILES (or SELFIES: the tokenizer splits both); with ``variants``
    each access draws one of the molecule's strings for augmentation: uniformly among the
    given one and its variants, or with ``p_variant`` a random variant with that
    probability, else the given one. ``lengths`` (tokens) lets the loader bucket by length."""

    def __init__(
        self,
        smiles: Sequence[str],
        vocab: SmilesVocab,
        max_len: int,
        y: np.ndarray | None = None,
        variants: list[list[str]] | None = None,
        seed: int = 0,
        p_variant: float | None = None,
    ) -> None:
        self.vocab, self.max_len, self.p_variant = vocab, max_len, p_variant
        self.pool = [[s, *(variants[i] if variants else [])] for i, s in enumerate(smiles)]
        self.y = targets_tensor(y, len(self.pool))
        self.rng = np.random.default_rng(seed)
        self._ids: dict[tuple[int, int], torch.Tensor] = {}
        self.lengths = [len(tokenize(p[0])) for p in self.pool]

    def __len__(self) -> int:
        return len(self.pool)

    def _draw(self, i: int) -> int:
        n = len(self.pool[i])
        if n == 1:
            return 0
        if self.p_variant is None:
            return int(self.rng.integers(n))
        return 1 + int(self.rng.integers(n - 1)) if self.rng.random() < self.p_variant else 0

    def __getitem__(self, i: int) -> Item:
        j = self._draw(i)
        ids = self._ids.get((i, j))
        if ids is None:
            ids = torch.tensor(self.vocab.encode(self.pool[i][j], max_len=self.max_len))
            self._ids[(i, j)] = ids
        return ids, self.y[i]


def collate_tokens(items: list[Item], pad_idx: int) -> Item:
    """Pad to the longest sequence of the batch (dynamic padding)."""
    seqs = [t for t, _ in items]
    out = torch.full((len(seqs), max(len(t) for t in seqs)), pad_idx, dtype=torch.long)
    for i, t in enumerate(seqs):
        out[i, : len(t)] = t
    return out, torch.stack([y for _, y in items])


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
