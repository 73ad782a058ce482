"""Stage ``check``: every section of params.yaml checked (:mod:`chemchallenge.checks`).

Its output is constant text, so that re-running it (params.yaml changed) invalidates nothing
downstream; every other stage depends on it, so DVC runs it first.
"""

from __future__ import annotations

from chemchallenge.checks import check_all
from chemchallenge.config import Config
from chemchallenge.io import write_text
from chemchallenge.paths import Paths

STAMP = "params.yaml: every section checked\n"


def run(cfg: Config, paths: Paths) -> None:
    seconds = check_all(cfg, paths)
    write_text(paths.params_checked, STAMP)
    print(
        f"check: params.yaml OK ({len(cfg.featurize.featurizers)} featurizers, "
        f"{len(cfg.train.models)} models, generate, report) in {seconds:.1f}s"
    )
