"""``chemchallenge check``: a typo in any section of params.yaml stops the run before any
training, naming the key; the repository's own params.yaml passes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from chemchallenge.cli import main
from chemchallenge.paths import Paths
from chemchallenge.stages.check import STAMP

REPO = Path(__file__).resolve().parents[2]


def _run(root: Path, params: dict[str, Any], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    code = main(["--params", str(root / "params.yaml"), "--root", str(root), "check"])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_repository_params_pass(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    code = main(["--params", str(tmp_path / "params.yaml"), "--root", str(tmp_path), "check"])
    assert code == 0, capsys.readouterr().err
    assert Paths(tmp_path).params_checked.read_text() == STAMP


@pytest.mark.parametrize(
    ("extra", "where", "what"),
    [
        ({"models": {"xgb": {"params": {"max_depth": "deep"}}}}, "models.xgb.params", "max_depth"),
        (
            {"models": {"baseline": {"params": {"max_dept": 3}}}},
            "models.baseline.params",
            "max_dept",
        ),
        (
            {
                "models": {
                    "net": {"kind": "mlp", "features": ["morgan"], "params": {"epochs": "x"}}
                },
                "train": {"models": ["baseline", "net"]},
            },
            "models.net.params",
            "epochs",
        ),
        (
            {
                "models": {"net": {"kind": "dmpnn", "params": {"use_descriptors": True}}},
                "train": {"models": ["baseline", "net"]},
            },
            "models.net",
            "use_descriptors",
        ),
        (
            {
                "models": {"net": {"kind": "gin", "features": ["morgan"]}},
                "train": {"models": ["baseline", "net"]},
            },
            "models.net",
            "ignore",
        ),
        ({"generate": {"vae": {"epoch": 3}}}, "generate", "epoch"),
        ({"report": {"titel": "x"}}, "report", "titel"),
        (
            {"featurize": {"featurizers": {"admet_ai": {"physchem": "yes"}}}},
            "featurize.featurizers.admet_ai",
            "physchem",
        ),
        ({"featurize": {"featurizers": {"morgan": {"radius": 2, "nbits": 64}}}}, "morgan", "nbits"),
    ],
)
def test_a_typo_anywhere_is_named(
    extra: dict[str, Any],
    where: str,
    what: str,
    tmp_path: Path,
    params_factory: Any,
    capsys: pytest.CaptureFixture,
) -> None:
    code, out = _run(tmp_path, params_factory(extra), capsys)
    assert code == 2, out
    assert where in out and what in out, out
    assert "Traceback" not in out
    assert not Paths(tmp_path).params_checked.exists()  # nothing written on failure


def test_no_stage_module_imports_another() -> None:
    """Stages share code through the layer below them (inputs.py, checks.py, ...): a stage
    that imports another would make DVC re-run it when the other's code changes."""
    from chemchallenge.pipeline.imports import PACKAGE, SOURCE, source_files

    stages = sorted((SOURCE / "stages").glob("*.py"))
    for path in stages:
        if path.name == "__init__.py":
            continue
        module = f"{PACKAGE}.stages.{path.stem}"
        used = {f for f in source_files([module]) if f.parent == SOURCE / "stages"}
        others = sorted(f.name for f in used if f.name not in (path.name, "__init__.py"))
        assert not others, f"{module} imports the stage module(s) {others}"
