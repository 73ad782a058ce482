"""The device knob (device.py): determinism, seeded DataLoader workers, DDP sharding,
XGBoost's device, the gpu profile; and DDP itself on CPU (gloo, 2 processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

from chemchallenge import device
from chemchallenge.errors import ConfigError
from chemchallenge.models.base import ModelInput, build_model
from chemchallenge.models.deep import resolve_params
from chemchallenge.profiles import apply, check, flatten, set_args
from chemchallenge.tasks import TaskSpec, TaskType
from chemchallenge.training.data import BucketBatchSampler

REPO = Path(__file__).resolve().parents[2]


class Draws(Dataset):
    """Each access draws from the dataset's own generator, like SmilesDataset's augmentation."""

    def __init__(self, n: int = 8, seed: int = 0) -> None:
        self.n, self.rng = n, np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor([i, int(self.rng.integers(1_000_000))])


def _epoch(loader: DataLoader) -> dict[int, int]:
    return {int(i): int(v) for batch in loader for i, v in batch.tolist()}


def test_workers_draw_their_own_streams_reproducibly() -> None:
    """Without per-worker seeding every worker copies the same generator state and repeats
    the same draws; with it, draws differ between workers and epochs but not between runs."""

    def loader() -> DataLoader:
        options = device.loader_options(2, "cpu", seed=3)
        return DataLoader(Draws(), batch_size=2, shuffle=False, **options)

    first = loader()
    epoch1, epoch2 = _epoch(first), _epoch(first)
    # items 0-1 go to worker 0, items 2-3 to worker 1: their first draws differ
    assert epoch1[0] != epoch1[2]
    assert epoch1 != epoch2  # a new stream every epoch
    assert _epoch(loader()) == epoch1  # and the same ones for the same seed

    unseeded = DataLoader(Draws(), batch_size=2, shuffle=False, num_workers=2)
    draws = _epoch(unseeded)
    assert draws[0] == draws[2]  # the bug the seeding fixes


def test_loader_options(monkeypatch: pytest.MonkeyPatch) -> None:
    assert device.loader_options(0, "cpu", 0)["num_workers"] == 0
    assert "worker_init_fn" not in device.loader_options(0, "cpu", 0)
    assert device.loader_options(0, "cpu", 0)["pin_memory"] is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.loader_options(2, "auto", 0)["pin_memory"] is True
    assert device.loader_options(2, "cpu", 0)["pin_memory"] is False
    with pytest.raises(ConfigError, match="num_workers"):
        device.loader_options(-1, "cpu", 0)


@pytest.mark.parametrize("world", [2, 3])
def test_bucket_sampler_shards_batches_by_rank(world: int) -> None:
    lengths = list(np.random.default_rng(0).integers(5, 60, 101))
    full = list(BucketBatchSampler(lengths, 8, seed=1))
    shards = [
        list(BucketBatchSampler(lengths, 8, seed=1, rank=r, world_size=world)) for r in range(world)
    ]
    sizes = {len(s) for s in shards}
    assert sizes == {len(full) // world}  # equal counts: no rank waits for a missing batch
    assert all(
        len(s) == len(BucketBatchSampler(lengths, 8, 1, 8, r, world)) for r, s in enumerate(shards)
    )
    seen = [tuple(b) for s in shards for b in s]
    assert len(seen) == len(set(seen))  # no batch on two ranks
    assert set(seen) <= {tuple(b) for b in full}  # the same batches as one device draws
    with pytest.raises(ValueError, match="rank"):
        BucketBatchSampler(lengths, 8, 1, rank=2, world_size=2)


def test_determinism_and_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert device.deterministic_mode("cpu") is True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    assert device.deterministic_mode("auto") == "warn"
    import os

    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == device.CUBLAS_CONFIG
    assert device.deterministic_mode("cpu") is True
    monkeypatch.setattr(device, "_xgboost_cuda", lambda: True)
    assert device.xgboost_device("auto") == "cuda"
    assert device.xgboost_device("cpu") == "cpu"
    assert device.strategy(2) == "ddp_spawn"
    assert device.strategy(1) == "auto"
    with pytest.raises(ConfigError, match="ddp_spawn"):
        device.strategy(2, "ddp")


def test_xgboost_on_the_cpu_here() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert device.xgboost_device(None) == "cpu"


def test_deep_params_check_the_device_keys() -> None:
    assert resolve_params("gcn", {"devices": 2})["devices"] == 2
    with pytest.raises(ConfigError, match="devices"):
        resolve_params("gcn", {"devices": 0})
    with pytest.raises(ConfigError, match="accelerator"):
        resolve_params("gcn", {"accelerator": "tpu-ish"})
    with pytest.raises(ConfigError, match="ddp_spawn"):
        resolve_params("gcn", {"devices": 2, "strategy": "ddp"})


def test_gpu_profile_is_valid_for_params_yaml() -> None:
    overrides = check(REPO, "gpu", REPO / "params.yaml")
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    applied = apply(raw, overrides)
    # a mapping in the profile sets its keys and keeps the others of params.yaml
    assert applied["models"]["mlp"]["features"] == raw["models"]["mlp"]["features"]
    assert applied["models"]["mlp"]["params"]["epochs"] == 200
    args = set_args(overrides)
    assert args[0] == "-S" and all(a.startswith("++") for a in args[1::2])
    assert "++models.mlp.params.hidden=[1024,512]" in args
    assert len(args) == 2 * len(flatten(overrides))


def test_unknown_profile_and_bad_value(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    with pytest.raises(ConfigError, match="no such profile"):
        check(tmp_path, "tpu", params)
    (tmp_path / "profiles" / "bad.yaml").write_text("models.dmpnn.params.devices: 0\n")
    with pytest.raises(ConfigError, match="devices"):
        check(tmp_path, "bad", params)


def test_ddp_on_cpu_two_processes(drug_smiles: list[str]) -> None:
    """Lightning's DDP (spawned processes, gloo on the CPU): each rank trains on its shard of
    the bucketed batches; the fitted net comes back to this process and predicts."""
    smiles = drug_smiles[:40]
    x = ModelInput(smiles, None, [])
    y = np.array([[len(s) / 10.0] for s in smiles])
    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    params = {"epochs": 2, "batch_size": 8, "hidden": 16, "accelerator": "cpu", "devices": 2}
    model = build_model("gcn", task, params, seed=0)
    model.fit(x.subset(np.arange(32)), y[:32], x.subset(np.arange(32, 40)), y[32:])
    pred = model.predict(x.subset(np.arange(32, 40)))
    assert pred.shape == (8, 1) and np.isfinite(pred).all()
    assert float(np.std(pred)) > 0  # trained weights came back, not a constant net
