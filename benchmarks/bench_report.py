"""Report build time, and the t-SNE thread limit it relies on, measured side by side.

1. t-SNE (Tanimoto, precomputed) on ``--points`` molecules, interleaved: default BLAS /
   OpenMP threads vs one thread (what ``report.render.build`` does). On a shared 2-core
   machine the OpenMP threads spin against each other; the ratio says by how much.
2. The whole report on synthetic stage outputs of ``--molecules`` molecules (wall and CPU).

Usage: ``python benchmarks/bench_report.py [--points 1000] [--molecules 300] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits


def _tsne_seconds(dist: np.ndarray, limit: int | None) -> float:
    from sklearn.manifold import TSNE

    t = time.perf_counter()
    with threadpool_limits(limits=limit):
        TSNE(2, metric="precomputed", init="random", max_iter=500, random_state=0).fit_transform(
            dist
        )
    return time.perf_counter() - t


def bench_tsne(points: int, rounds: int) -> None:
    from chemchallenge.report import chem
    from chemchallenge.report.synthetic import molecules

    fps = chem.bitvects(molecules(points))
    dist = np.clip(1.0 - chem.tanimoto_matrix(fps), 0, None)
    ratios = []
    for r in range(rounds):
        default = _tsne_seconds(dist, None)
        single = _tsne_seconds(dist, 1)
        ratios.append(default / single)
        print(f"t-SNE round {r}: default threads {default:.2f}s, one thread {single:.2f}s")
    print(f"t-SNE on {points} points: one thread is {statistics.median(ratios):.2f}x faster")


def bench_build(n: int) -> None:
    from chemchallenge.paths import Paths
    from chemchallenge.report.render import build
    from chemchallenge.report.synthetic import make_project

    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_project(Path(tmp), "multilabel", n=n, extras=True)
        wall, cpu = time.perf_counter(), time.process_time()
        res = build(cfg, Paths(Path(tmp)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in res.seconds.items() if k != "total")
    print(f"report on {n} synthetic molecules: {wall:.1f}s wall, {cpu:.1f}s CPU ({parts})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--molecules", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    bench_tsne(a.points, a.rounds)
    bench_build(a.molecules)


if __name__ == "__main__":
    main()
