"""Featurize many SMILES, in parallel when it pays.

Cheap fingerprints (Morgan: ~60 µs per molecule including parsing) finish faster in one
process than it takes to start and feed a pool, while descriptors (~3 ms per molecule)
scale with the cores. :func:`featurize_smiles` therefore measures first: it featurizes
molecules serially for a few hundredths of a second, estimates the remaining serial time
and starts a pool only when that estimate exceeds :data:`MIN_PARALLEL_SECONDS` and at
least two cores are not already busy with other runnable processes. Chunks are sized to
about :data:`CHUNK_SECONDS` of work each.

With the ``fork`` start method (Linux, macOS) workers write their rows straight into one
shared anonymous memory map (copied once into the returned array), so no feature matrix is
pickled between processes; elsewhere workers send their blocks back. Row order is always
the input order, and the numbers do not depend on how many processes computed them.
"""

from __future__ import annotations

import logging
import math
import mmap
import multiprocessing as mp
import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from rdkit import Chem, rdBase
from tqdm.auto import tqdm

from chemchallenge.errors import ChemChallengeError, ConfigError
from chemchallenge.features.base import Featurizer, build_featurizer, is_batched

#: Start a pool only when the serial estimate of the remaining work exceeds this. Measured
#: (benchmarks/bench_featurize.py): a pool of 2 costs Morgan ~30-40% more CPU in total
#: (fork, page faults, copies), so it barely pays on ~5000 molecules (~0.3 s), while
#: descriptors keep ~0.92 CPU efficiency (~1.8x on 2 free cores).
MIN_PARALLEL_SECONDS = 1.0
#: Target duration of one chunk of work in a worker.
CHUNK_SECONDS = 0.1
#: Serial warm-up/measurement before deciding (seconds, and at least this many molecules).
PROBE_SECONDS = 0.02
PROBE_MIN_MOLECULES = 8
#: Share the output buffer with forked workers (False: workers send their blocks back).
SHARE_OUTPUT = True

_WORKER: dict[str, Any] = {}
log = logging.getLogger(__name__)


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # the cores this process may use
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def resolve_n_jobs(n_jobs: int) -> int:
    """Number of worker processes: ``-1`` all cores, ``-2`` all but one, ``k`` at most k."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ConfigError(f"featurize.n_jobs: expected -1 or a non-zero integer, got {n_jobs!r}")
    cpus = _cpus()
    if n_jobs < 0:
        return max(1, cpus + 1 + n_jobs)
    return max(1, min(n_jobs, cpus))


def busy_cores() -> int:
    """Runnable tasks other than this one right now (Linux ``procs_running``; else 0)."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("procs_running"):
                    return max(0, int(line.split()[1]) - 1)
    except (OSError, ValueError):
        pass
    return 0


def _fill(featurizer: Featurizer, smiles: Sequence[Any], out: np.ndarray) -> tuple[int, list[int]]:
    """Featurize ``smiles`` into the rows of ``out``; return (unparsable count, the rows the
    featurizer failed on)."""
    bad = 0
    errors: list[int] = []
    with rdBase.BlockLogs():  # unparsable SMILES become NaN rows, not log noise
        for i, smi in enumerate(smiles):
            mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
            if mol is None:
                out[i] = np.nan
                bad += 1
                continue
            try:
                out[i] = featurizer(mol)
            except Exception:
                out[i] = np.nan
                errors.append(i)
    return bad, errors


def _init_worker(
    name: str, params: dict[str, Any], buf: mmap.mmap | None, d: int, first: int
) -> None:
    _WORKER["featurizer"] = build_featurizer(name, params)
    _WORKER["d"], _WORKER["first"] = d, first
    _WORKER["out"] = None if buf is None else np.frombuffer(buf, np.float32).reshape(-1, d)


def _work(start: int, chunk: list[Any]) -> tuple[int, int, int, list[int], np.ndarray | None]:
    shared = _WORKER["out"]
    if shared is not None:  # rows [first, n) of the output live in the shared buffer
        block = shared[start - _WORKER["first"] :][: len(chunk)]
    else:
        block = np.empty((len(chunk), _WORKER["d"]), dtype=np.float32)
    bad, errors = _fill(_WORKER["featurizer"], chunk, block)
    return start, len(chunk), bad, errors, (None if shared is not None else block)


def _context() -> tuple[mp.context.BaseContext, bool]:
    """The pool's start method and whether workers can share the output buffer."""
    if "fork" in mp.get_all_start_methods():
        return mp.get_context("fork"), SHARE_OUTPUT
    return mp.get_context("spawn"), False  # pragma: no cover - Windows


class _Run:
    """One featurisation: output matrix, progress bar and NaN-row counters."""

    def __init__(
        self, name: str, params: dict[str, Any], smiles: list[Any], workers: int, progress: bool
    ) -> None:
        self.name, self.params, self.smiles = name, params, smiles
        self.featurizer = build_featurizer(name, params)
        self.names = list(self.featurizer.names)
        n, d = len(smiles), len(self.names)
        self.out = np.empty((n, d), np.float32)
        self.bad = 0
        self.failed: list[int] = []  # rows the featurizer raised on
        show = progress and n > 0
        self.bar = tqdm(total=n, desc=f"featurize {name}", unit="mol", disable=not show)

    def serial(self, start: int, stop: int) -> None:
        b, e = _fill(self.featurizer, self.smiles[start:stop], self.out[start:stop])
        self.bad += b
        self.failed += [start + i for i in e]
        self.bar.update(stop - start)

    def batched(self, block: int = 1024) -> None:
        """A featurizer with ``featurize_many`` (a neural network): in-process, in blocks;
        a molecule that fails alone gets a NaN row."""
        n = len(self.smiles)
        for start in range(0, n, block):
            stop = min(n, start + block)
            mols: list[Chem.Mol] = []
            rows: list[int] = []
            with rdBase.BlockLogs():
                for i in range(start, stop):
                    smi = self.smiles[i]
                    mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
                    if mol is None:
                        self.out[i] = np.nan
                        self.bad += 1
                    else:
                        mols.append(mol)
                        rows.append(i)
            if mols:
                try:
                    self.out[rows] = self.featurizer.featurize_many(mols)  # type: ignore[attr-defined]
                except Exception:  # find the culprits one by one
                    for i, mol in zip(rows, mols):
                        try:
                            self.out[i] = self.featurizer.featurize_many([mol])[0]  # type: ignore[attr-defined]
                        except Exception:
                            self.out[i] = np.nan
                            self.failed.append(i)
            self.bar.update(stop - start)

    def probe(self) -> tuple[int, float]:
        """Featurize serially for PROBE_SECONDS; return (rows done, seconds per molecule)."""
        n, done, step, t0 = len(self.smiles), 0, PROBE_MIN_MOLECULES, time.perf_counter()
        while done < n:
            stop = min(n, done + step)
            self.serial(done, stop)
            done, step = stop, 2 * step
            if time.perf_counter() - t0 >= PROBE_SECONDS:
                break
        return done, (time.perf_counter() - t0) / max(done, 1)

    def parallel(self, start: int, workers: int, per_mol: float) -> None:
        n, d = len(self.smiles), len(self.names)
        rest = n - start
        size = math.ceil(CHUNK_SECONDS / max(per_mol, 1e-9))
        size = max(1, min(size, math.ceil(rest / (4 * workers))))
        ctx, share = _context()
        # Shared with the forked workers only; copied into the private output at the end
        # so that the caller's array is not shared with processes it forks later.
        buf = mmap.mmap(-1, rest * d * 4) if share and d else None
        init = (self.name, self.params, buf, d, start)
        with ProcessPoolExecutor(workers, ctx, _init_worker, init) as pool:
            futures = [
                pool.submit(_work, s, self.smiles[s : s + size]) for s in range(start, n, size)
            ]
            try:
                for future in as_completed(futures):
                    s, m, b, e, block = future.result()
                    if block is not None:
                        self.out[s : s + m] = block
                    self.bad += b
                    self.failed += [s + i for i in e]
                    self.bar.update(m)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        if buf is not None:
            self.out[start:] = np.frombuffer(buf, np.float32).reshape(rest, d)
            buf.close()


def _report_failures(name: str, run: _Run, max_error_rate: float) -> None:
    n_parsed = max(len(run.smiles) - run.bad, 1)
    rows = sorted(run.failed)
    shown = ", ".join(f"row {i} {run.smiles[i]!r}" for i in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    what = (
        f"featurizer {name!r} failed on {len(rows)} of {n_parsed} molecules "
        f"({len(rows) / n_parsed:.1%}): {shown}{more}"
    )
    if len(rows) / n_parsed > max_error_rate:
        raise ChemChallengeError(
            f"{what}; above featurize.max_error_rate ({max_error_rate:g}): fix the featurizer "
            "or its params, or raise the rate to accept NaN rows"
        )
    warnings.warn(f"{what} (rows set to NaN)", RuntimeWarning, stacklevel=3)


def _per_molecule(run: _Run, name: str, workers: int) -> None:
    """Featurize one molecule at a time, with a pool of processes when it pays."""
    n = len(run.smiles)
    busy = busy_cores()
    done, per_mol = (0, 0.0) if workers == 1 else run.probe()
    if done < n and workers > 1:
        busy = min(busy, busy_cores())  # two samples: transient tasks are common
        workers = min(workers, max(1, _cpus() - busy), math.ceil((n - done) / 8))
        pays = workers > 1 and per_mol * (n - done) >= MIN_PARALLEL_SECONDS
        log.debug(
            "featurize %s: %d molecules, %.0f us/molecule, %d other busy cores -> %s",
            name,
            n,
            per_mol * 1e6,
            busy,
            f"{workers} workers" if pays else "serial",
        )
        if pays:
            run.parallel(done, workers, per_mol)
            done = n
    for start in range(done, n, 256):  # serial, in blocks for the progress bar
        run.serial(start, min(n, start + 256))


def featurize_smiles(
    name: str,
    params: dict[str, Any] | None,
    smiles: Sequence[str | None],
    n_jobs: int = -1,
    progress: bool = True,
    max_error_rate: float = 0.01,
) -> tuple[np.ndarray, list[str]]:
    """Featurize SMILES with the featurizer declared as ``name: params``.

    Parameters
    ----------
    name, params
        As under ``featurize.featurizers`` in params.yaml (``params`` may hold ``type:``).
    smiles
        One SMILES per row; ``None`` or an unparsable SMILES gives a row of NaN.
    n_jobs
        Most worker processes: ``-1`` all cores, ``1`` no pool at all. A pool is started
        only when the measured cost of the work and the idle cores make it pay.
    progress
        Show a tqdm progress bar.
    max_error_rate
        Share of the parsed molecules the featurizer may fail on (their rows become NaN,
        with a warning naming them); above it the stage stops, naming them: a broken
        featurizer must not turn into imputed columns silently.

    Returns
    -------
    X, names
        ``(len(smiles), len(names))`` float32 matrix in input order, and column names.
    """
    workers = resolve_n_jobs(n_jobs)
    run = _Run(name, dict(params or {}), list(smiles), workers, progress)
    with run.bar:
        if is_batched(run.featurizer):  # a neural network: batched, with torch's own threads
            run.batched()
        else:
            _per_molecule(run, name, workers)
    if run.failed:
        _report_failures(name, run, max_error_rate)
    return run.out, run.names
