"""Report build time, and the t-SNE thread limit it relies on, measured side by side.

1. t-SNE (Tanimoto, precomputed) on ``--points`` molecules, interleaved: default BLAS /
   OpenMP threads vs one thread (what ``report.render.build`` does). On a shared 2-core
   machine the OpenMP threads spin against each other; the ratio says by how much.
2. The whole report on synthetic stage outputs of ``--molecules`` molecules (wall and CPU),
   or with ``--project DIR`` on a real project's outputs (its ``params.yaml``), read only.
   Both print the deck's size: slides, words on the slides, words in the speaker notes and
   the minutes of speech they make at 130 words a minute.

Usage: ``python benchmarks/bench_report.py [--points 1000] [--molecules 300] [--rounds 3]``
       ``python benchmarks/bench_report.py --project DIR [--out DIR]`` (build only)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

TESTS = Path(__file__).resolve().parents[1] / "tests"  # support.synthetic: the test data
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


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
    from support.synthetic import molecules

    fps = chem.bitvects(molecules(points))
    dist = np.clip(1.0 - chem.tanimoto_matrix(fps), 0, None)
    ratios = []
    for r in range(rounds):
        default = _tsne_seconds(dist, None)
        single = _tsne_seconds(dist, 1)
        ratios.append(default / single)
        print(f"t-SNE round {r}: default threads {default:.2f}s, one thread {single:.2f}s")
    print(f"t-SNE on {points} points: one thread is {statistics.median(ratios):.2f}x faster")


def _deck(res: object) -> str:
    n, on, notes = res.n_slides, res.slide_words, res.note_words  # type: ignore[attr-defined]
    return (
        f"{n} slides, {on} words on the slides ({on / max(1, n):.0f} per slide), {notes} words "
        f"of speaker notes ({notes / 130:.1f} min at 130 words/min)"
    )


def bench_build(n: int) -> None:
    from chemchallenge.paths import Paths
    from chemchallenge.report.render import build
    from support.synthetic import make_project

    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_project(Path(tmp), "multilabel", n=n, extras=True)
        wall, cpu = time.perf_counter(), time.process_time()
        res = build(cfg, Paths(Path(tmp)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in res.seconds.items() if k != "total")
    print(f"report on {n} synthetic molecules: {wall:.1f}s wall, {cpu:.1f}s CPU ({parts})")
    print(f"deck: {_deck(res)}")


def bench_project(root: Path, out: Path | None) -> None:
    """The report on a real project's outputs; written under ``out`` (default: a temporary
    folder) through symbolic links, so the project itself is not touched."""
    from chemchallenge.config import load_config
    from chemchallenge.paths import Paths
    from chemchallenge.report.render import build

    cfg = load_config(root / "params.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        work = out or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for entry in root.iterdir():
            link = work / entry.name
            if entry.name != "reports" and not link.exists():
                link.symlink_to(entry.resolve())
        wall, cpu = time.perf_counter(), time.process_time()
        res = build(cfg, Paths(work))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in res.seconds.items() if k != "total")
    print(f"report on {root}: {wall:.1f}s wall, {cpu:.1f}s CPU ({parts})")
    print(f"deck: {_deck(res)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--molecules", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--project", type=Path, help="build on this project's outputs only")
    p.add_argument("--out", type=Path, help="with --project: where reports/ is written")
    a = p.parse_args()
    if a.project:
        bench_project(a.project.resolve(), a.out)
        return
    bench_tsne(a.points, a.rounds)
    bench_build(a.molecules)


if __name__ == "__main__":
    main()
