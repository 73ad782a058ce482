"""The README's workflow through the real ``dvc`` command, in a copy of the project.

demo -> ``dvc repro``; the challenge files (binary) -> ``dvc repro``; an experiment with
``dvc exp run -S``; a second ``dvc repro`` re-runs nothing, bytecode caches or not; editing
the graph code invalidates the graph model only, editing the tabular code the tabular ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from conftest import TINY_GENERATE, deep_update, make_tables, write_tables
from support.params import params_with

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: project files besides src/ that the workflow relies on (copied when present)
PROJECT_FILES = (".dvcignore", ".gitignore", "data/.gitignore", "data/challenge/README.md")

PARAMS: dict[str, Any] = {
    "seed": 0,
    "data": {"source": "demo", "challenge_dir": "data/challenge"},
    "prepare": {"cv": {"n_folds": 3}},
    "featurize": {
        "n_jobs": 1,
        "featurizers": {"morgan": {"radius": 2, "n_bits": 256}, "rdkit2d": {}},
    },
    "models": {
        "baseline": {"kind": "decision_tree", "features": ["morgan"]},
        "xgb": {
            "kind": "xgboost",
            "features": ["rdkit2d"],
            "params": {"n_estimators": 8, "max_depth": 3, "n_jobs": 1},
            "tune": True,
            # min_child_weight: on 30 molecules a fold, depths alone often give equal scores
            "search_space": {
                "max_depth": {"type": "int", "low": 2, "high": 6},
                "min_child_weight": {"type": "float", "low": 0.5, "high": 10, "log": True},
            },
        },
        "gcn": {"kind": "gcn", "params": {"epochs": 1, "hidden": 16}},
    },
    "train": {"models": ["baseline", "xgb", "gcn"]},
    "tune": {"n_trials": 2},
    "ensemble": {"method": "weights"},
    "submit": {"model": "ensemble"},
    "generate": deep_update(TINY_GENERATE, {"vae": {"batch_size": 64}, "gan": {"batch_size": 64}}),
    "report": {"tsne": False},
}
PARAMS = params_with(PARAMS, replace=["featurize.featurizers", "models"])  # params.yaml + these


class Project:
    """A temp copy of the project; ``run`` runs a command there with the venv on PATH."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env.update(
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            # the code DVC tracks (the copy's src/) is the code the stages run
            PYTHONPATH=str(root / "src"),
            DVC_NO_ANALYTICS="1",
            GIT_AUTHOR_NAME="test",
            GIT_AUTHOR_EMAIL="test@example.com",
            GIT_COMMITTER_NAME="test",
            GIT_COMMITTER_EMAIL="test@example.com",
        )
        self.times: list[tuple[str, float]] = []

    def run(self, *cmd: str, timeout: int = 300, label: str = "") -> str:
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        seconds = time.perf_counter() - t0
        self.times.append((label or " ".join(cmd), round(seconds, 1)))
        assert proc.returncode == 0, (
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}, {seconds:.0f} s)\n"
            f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-10000:]}"
        )
        return proc.stdout + proc.stderr

    def status(self) -> dict[str, Any]:
        out = self.run("dvc", "status", "--json", label="dvc status")
        return json.loads(out[out.index("{") :])

    def set_params(self, extra: dict[str, Any]) -> None:
        params = yaml.safe_load((self.root / "params.yaml").read_text())
        for dotted, value in extra.items():
            *parents, key = dotted.split(".")
            node = params
            for p in parents:
                node = node[p]
            node[key] = value
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def make_project(root: Path) -> Project:
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in PROJECT_FILES:
        if (REPO / name).exists():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, root / name)
    (root / "data" / "challenge").mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    project = Project(root)
    project.run("git", "init", "-q")
    project.run("dvc", "init", "-q")
    project.run("dvc", "config", "core.autostage", "true")
    project.run("dvc", "config", "core.analytics", "false")
    project.run("chemchallenge", "dvc-yaml")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "-m", "tiny project")
    return project


def changed_stages(project: Project, file: str) -> set[str]:
    """Stages ``dvc status`` lists after appending a comment to ``file`` (then restored)."""
    path = project.root / file
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# an edit that changes no behaviour\n")
        return set(project.status())
    finally:
        path.write_bytes(original)


def test_readme_workflow(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    project = make_project(tmp_path / "project")
    root = project.root

    # 1. the demo (regression, rmse: the Optuna study minimises)
    out = project.run("dvc", "repro", timeout=1800, label="dvc repro (demo)")
    assert "tune-xgb: best rmse" in out, out[-3000:]
    assert (root / "submissions" / "submission.csv").exists()

    # 2. the challenge files, a binary task: a new study (named by its fingerprint), no clash
    #    with the demo's minimising one
    tables = make_tables("binary")
    write_tables(root / "data" / "challenge", tables)
    project.set_params({"data.source": "challenge"})
    project.run("chemchallenge", "dvc-yaml", "--check", label="dvc-yaml --check")
    out = project.run("dvc", "repro", timeout=1800, label="dvc repro (challenge)")
    assert "tune-xgb: best roc_auc" in out, out[-3000:]
    sub = pd.read_csv(root / "submissions" / "submission.csv", dtype=str)
    assert list(sub["ID"]) == list(tables.x_test["ID"])
    assert set(sub["active"]) <= {"0", "1"}
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "-m", "challenge data")

    # 3. an experiment on a tuned parameter: tune-xgb says what that means
    out = project.run(
        "dvc", "exp", "run", "-S", "models.xgb.params.max_depth=4", timeout=1800, label="exp run"
    )
    assert "max_depth=4 also in models.xgb.search_space" in out, out[-3000:]

    # 4. bytecode in the tracked src/ tree, then nothing to re-run
    project.run(
        sys.executable,
        "-c",
        "import sys; sys.path.insert(0, 'src'); import chemchallenge.stages.train, "
        "chemchallenge.models.deep, chemchallenge.stages.report",
        label="import with bytecode",
    )
    assert list((root / "src" / "chemchallenge").rglob("__pycache__")), "no bytecode written"
    out = project.run("dvc", "repro", timeout=600, label="dvc repro (nothing to do)")
    assert "Data and pipelines are up to date" in out, out[-3000:]
    assert project.status() == {}

    # 5. a change in the graph code re-runs the graph model only; in the tabular code, the
    #    tabular models only
    graph = changed_stages(project, "src/chemchallenge/features/graphs.py")
    assert "train-gcn" in graph and "train-xgb" not in graph, graph
    assert not graph & {"train-baseline", "tune-xgb", "prepare", "generate"}, graph
    tabular = changed_stages(project, "src/chemchallenge/models/tabular.py")
    assert "train-xgb" in tabular and "train-gcn" not in tabular, tabular
    assert not tabular & {"tune-gcn", "prepare", "generate"}, tabular
    assert project.status() == {}

    print(f"\nworkflow wall time {time.perf_counter() - t0:.0f} s; steps (s): {project.times}")
