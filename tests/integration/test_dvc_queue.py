"""README "Experiments in parallel with DVC's queue", through the real ``dvc`` command.

A tiny project on challenge files (not in git: ``-C data/challenge/<file>`` copies them into
each queue workspace; DVC cannot copy a folder that git already created there) is
reproduced and committed; two experiments are queued and run by two queue workers at once
(``dvc queue start -j 2``):

- ``report-only`` (``-S report.title=...``) re-runs the report and nothing else: every other
  output, metrics and submission included, is cached and checked out in its workspace;
- ``xgb-depth4`` (``-S models.xgb.params.max_depth=4``) re-runs tune-xgb and what depends on
  it, in its own workspace with its own Optuna study (``optuna/`` is not copied).

Both results are read back with ``dvc exp show --json``.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_dvc_workflow import PROJECT_FILES, REPO, Project

from conftest import TINY_GENERATE, make_tables, write_tables
from support.params import params_with

pytestmark = pytest.mark.slow

PARAMS: dict[str, Any] = {
    "seed": 0,
    "data": {"source": "challenge", "challenge_dir": "data/challenge"},
    "prepare": {"cv": {"n_folds": 3}},
    "featurize": {"n_jobs": 1, "featurizers": {"morgan": {"radius": 2, "n_bits": 256}}},
    "models": {
        "baseline": {"kind": "decision_tree", "features": ["morgan"]},
        "xgb": {
            "kind": "xgboost",
            "features": ["morgan"],
            "params": {"n_estimators": 8, "max_depth": 3, "n_jobs": 1},
            "tune": True,
            "search_space": {
                "max_depth": {"type": "int", "low": 2, "high": 6},
                "min_child_weight": {"type": "float", "low": 0.5, "high": 10, "log": True},
            },
        },
    },
    "train": {"models": ["baseline", "xgb"]},
    "tune": {"n_trials": 2},
    "ensemble": {"method": "weights"},
    "submit": {"model": "ensemble"},
    "generate": TINY_GENERATE,
    "report": {"tsne": False, "title": "Baseline"},
}
PARAMS = params_with(PARAMS, replace=["featurize.featurizers", "models"])  # params.yaml + these
CHALLENGE_FILES = ("X_train.csv", "y_train.csv", "X_test.csv")
EXPERIMENTS = {
    "report-only": "report.title=Queued report",
    "xgb-depth4": "models.xgb.params.max_depth=4",
}


def make_project(root: Path) -> Project:
    import shutil

    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in PROJECT_FILES:
        if (REPO / name).exists():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, root / name)
    write_tables(root / "data" / "challenge", make_tables("binary"))
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    project = Project(root)
    project.run("git", "init", "-q")
    project.run("dvc", "init", "-q")
    project.run("dvc", "config", "core.autostage", "true")
    project.run("dvc", "config", "core.analytics", "false")
    project.run("chemchallenge", "dvc-yaml")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "-m", "tiny project")  # dvclive needs a commit
    return project


def queue_states(project: Project) -> dict[str, str]:
    """``{experiment name: Queued | Running | Success | Failed}`` from ``dvc queue status``."""
    out = project.run("dvc", "queue", "status", label="dvc queue status")
    states = {}
    for line in out.splitlines():
        for name in EXPERIMENTS:
            m = re.search(rf"\b{re.escape(name)}\b.*\b(Queued|Running|Success|Failed)\b", line)
            if m:
                states[name] = m.group(1)
    return states


def experiments(shown: Any) -> dict[str, dict[str, Any]]:
    """``{name: data}`` of every experiment in ``dvc exp show --json`` (any nesting)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("name") in EXPERIMENTS and isinstance(node.get("data"), dict):
                found[node["name"]] = node["data"]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(shown)
    return found


def metric(data: dict[str, Any], file: str, key: str) -> Any:
    return data["metrics"][file]["data"][key]


def test_two_queued_experiments_in_parallel(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    project.run("dvc", "repro", timeout=1800, label="dvc repro")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-q", "-m", "baseline")
    assert project.status() == {}

    copy = [a for f in CHALLENGE_FILES for a in ("-C", f"data/challenge/{f}")]
    for name, setting in EXPERIMENTS.items():
        project.run(
            "dvc", "exp", "run", "--queue", "-n", name, *copy, "-S", setting,
            label=f"queue {name}",
        )  # fmt: skip
    t0 = time.perf_counter()
    # the workers run in the background; with our pipes they would hold `run` until they end
    subprocess.run(
        ["dvc", "queue", "start", "-j", "2"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    done: dict[str, float] = {}
    try:
        while len(done) < len(EXPERIMENTS):
            assert time.perf_counter() - t0 < 1500, f"queue still busy: {queue_states(project)}"
            for name, state in queue_states(project).items():
                assert state != "Failed", project.run("dvc", "queue", "logs", name)
                if state == "Success" and name not in done:
                    done[name] = round(time.perf_counter() - t0, 1)
            time.sleep(2)
    finally:
        project.run("dvc", "queue", "stop", label="dvc queue stop")

    logs = {n: project.run("dvc", "queue", "logs", n, label=f"logs {n}") for n in EXPERIMENTS}
    ran = {n: set(re.findall(r"Running stage '([^']+)'", log)) for n, log in logs.items()}
    # `check` re-runs on any params.yaml change (seconds; its output is constant text)
    assert ran["report-only"] == {"check", "report"}, logs["report-only"][-4000:]
    assert {"tune-xgb", "train-xgb", "ensemble", "report"} <= ran["xgb-depth4"], ran
    assert not ran["xgb-depth4"] & {"prepare", "featurize-morgan", "train-baseline", "generate"}
    assert "study already has" not in logs["xgb-depth4"]  # a fresh study in its workspace

    out = project.run("dvc", "exp", "show", "--json", label="dvc exp show --json")
    shown = experiments(json.loads(out[out.index("[") :]))
    assert set(shown) == set(EXPERIMENTS), out[:3000]
    base = json.loads((project.root / "metrics" / "xgb.json").read_text())
    key = next(k for k, v in base.items() if isinstance(v, float))
    report_only, depth4 = shown["report-only"], shown["xgb-depth4"]
    assert metric(report_only, "metrics/xgb.json", key) == base[key]
    assert report_only["params"]["params.yaml"]["data"]["report"]["title"] == "Queued report"
    assert depth4["params"]["params.yaml"]["data"]["models"]["xgb"]["params"]["max_depth"] == 4
    assert metric(depth4, "metrics/xgb.json", key) is not None
    steps = [t for t in project.times if t[0] != "dvc queue status"]
    print(f"\nqueue -j 2: finished after (s) {done}; steps (s): {steps}")
