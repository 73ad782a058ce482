"""Stage `report`: figures, ``reports/report.html`` and ``reports/slides.html`` for the
oral exam, built from the other stages' outputs only (nothing is retrained); a section
whose stage has not run is replaced by a short note."""

from __future__ import annotations

import logging

from chemchallenge.config import Config
from chemchallenge.paths import Paths


def run(cfg: Config, paths: Paths) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from chemchallenge.report.render import build

    res = build(cfg, paths)
    parts = ", ".join(f"{k} {v:.1f}s" for k, v in res.seconds.items() if k != "total")
    print(
        f"report: {res.report} and {res.slides} ({res.n_slides} slides, "
        f"{res.note_words} words of speaker notes ≈ {res.note_words / 130:.0f} min, "
        f"{len(res.figures)} figures in {paths.reports / 'figures'}) in "
        f"{res.seconds['total']:.1f}s ({parts})"
    )
