"""The one device knob: where torch, XGBoost and CatBoost run, and what follows from it.

Every network (predictive nets, the VAE, the GAN, ChemNet for FCD), XGBoost and CatBoost
ask this module, so that ``accelerator: auto`` means the same everywhere: the GPU when CUDA is
present, the CPU otherwise.

- Determinism: on the CPU Lightning's ``deterministic=True``; on CUDA some kernels
  (scatter reductions of the graph networks) have no deterministic version, so determinism
  is ``"warn"`` there, with ``CUBLAS_WORKSPACE_CONFIG`` set so that cuBLAS itself is
  deterministic (it refuses deterministic mode without it).
- DataLoaders: ``num_workers`` worker processes with ``pin_memory`` on a GPU; each worker
  re-seeds its dataset's random generator (randomised SMILES) from the worker seed, which
  differs per worker and per epoch and follows the loader's seeded generator.
- Several devices: ``devices: N`` (N > 1) trains with DDP in spawned processes
  (``ddp_spawn``): the cross-validation loop stays in one process, each fit is spread over
  the devices, and the bucketed batch sampler shards its batches by rank.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chemchallenge.errors import ConfigError

#: cuBLAS needs a workspace configuration to run deterministically
CUBLAS_CONFIG = ":4096:8"
GPU_ACCELERATORS = ("auto", "gpu", "cuda")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda")


def _cuda() -> bool:
    import torch  # here: checking params.yaml (chemchallenge check) needs no torch

    return torch.cuda.is_available()


def use_gpu(accelerator: str) -> bool:
    """True when ``accelerator`` asks for (or allows) a GPU and CUDA is present."""
    return accelerator in GPU_ACCELERATORS and _cuda()


def torch_device(accelerator: str) -> Any:
    import torch

    return torch.device("cuda" if use_gpu(accelerator) else "cpu")


def deterministic_mode(accelerator: str) -> bool | str:
    """Lightning's ``deterministic`` for ``accelerator`` (see the module docstring)."""
    if not use_gpu(accelerator):
        return True
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_CONFIG)
    return "warn"


def check_strategy(devices: int | str, name: str = "auto") -> str:
    """Lightning's ``strategy`` for ``devices``: ``ddp_spawn`` for several devices unless one is
    named. Plain ``ddp`` re-launches the command once per device, which would run the whole
    cross-validation loop (and write every output) once per process: refused."""
    if name == "ddp":
        raise ConfigError(
            "strategy: ddp re-runs the whole stage in every process; use ddp_spawn "
            "(the default when devices > 1)"
        )
    several = devices == -1 or (isinstance(devices, int) and devices > 1)
    return "ddp_spawn" if several and name == "auto" else name


def strategy(devices: int | str, name: str = "auto") -> str:
    """:func:`check_strategy`, ready to train: spawned processes receive the data module
    through shared memory, and torch's default (file descriptors) fails on some kernels with
    "unable to resize file", so ``ddp_spawn`` shares through files."""
    chosen = check_strategy(devices, name)
    if chosen.startswith("ddp_spawn"):
        import torch.multiprocessing

        torch.multiprocessing.set_sharing_strategy("file_system")
    return chosen


def check_devices(devices: Any, where: str) -> None:
    if isinstance(devices, bool) or not (
        (isinstance(devices, int) and (devices >= 1 or devices == -1)) or devices == "auto"
    ):
        raise ConfigError(
            f"{where}: devices must be a positive integer, -1 or auto; got {devices!r}"
        )


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: a dataset with an ``rng`` (random SMILES) draws its own
    stream in every worker; without it all workers would repeat the same augmentations."""
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    if info is None:
        return
    seed = info.seed % 2**32
    np.random.seed(seed)
    dataset = info.dataset
    if hasattr(dataset, "rng"):
        dataset.rng = np.random.default_rng([seed, worker_id])


def loader_options(num_workers: int, accelerator: str, seed: int) -> dict[str, Any]:
    """DataLoader keyword arguments for ``num_workers`` seeded workers (0: in-process)."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ConfigError(f"num_workers must be an integer >= 0, got {num_workers!r}")
    options: dict[str, Any] = {"num_workers": num_workers, "pin_memory": use_gpu(accelerator)}
    if num_workers > 0:  # the workers' seeds follow this generator: reproducible runs
        import torch

        options["generator"] = torch.Generator().manual_seed(seed)
        options["worker_init_fn"] = seed_worker
        options["persistent_workers"] = False
    return options


def _xgboost_cuda() -> bool:
    """An NVIDIA driver is loaded and this XGBoost was built with CUDA (no torch import:
    building a tree model, e.g. to check its params, stays light)."""
    if not os.path.exists("/proc/driver/nvidia/version"):
        return False
    import xgboost

    return bool(xgboost.build_info().get("USE_CUDA"))


def xgboost_device(requested: str | None) -> str:
    """XGBoost's ``device``: ``cuda`` when asked for or when ``auto`` finds a GPU."""
    if requested in (None, "auto"):
        return "cuda" if _xgboost_cuda() else "cpu"
    return requested


#: CatBoost parameters its GPU mode refuses for ordinary losses (``rsm``: pairwise only)
CATBOOST_CPU_ONLY = ("rsm", "colsample_bylevel")


def _catboost_cuda() -> bool:
    """An NVIDIA driver is loaded and CatBoost sees a CUDA device."""
    if not os.path.exists("/proc/driver/nvidia/version"):
        return False
    from catboost.utils import get_gpu_device_count

    return get_gpu_device_count() > 0


def catboost_task_type(requested: str | None, params: dict[str, Any]) -> str:
    """CatBoost's ``task_type``: ``GPU`` when ``auto`` finds a GPU and no CPU-only
    parameter (:data:`CATBOOST_CPU_ONLY`) is set, else ``CPU``; an explicit value is kept.
    GPU training is fast but not bit-reproducible; the CPU is."""
    if requested in (None, "auto"):
        cpu_only = any(k in params for k in CATBOOST_CPU_ONLY)
        return "GPU" if not cpu_only and _catboost_cuda() else "CPU"
    return str(requested)


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """The one thread knob: cap torch and BLAS/OpenMP threads to ``n`` while the block runs
    (on a few shared cores more threads spin, not work), then restore them; ``None``/0:
    leave them as they are."""
    if not n:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)
