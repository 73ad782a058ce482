"""What each stage really reads against what the generated dvc.yaml declares.

Every stage of a tiny project runs once, in order, each in a fresh interpreter (so that
``sys.modules`` holds only what that stage loads), with the config wrapped in a proxy that
records every params.yaml path the stage reads. Then, per stage:

- every recorded params.yaml path is covered by a ``params`` entry of the stage;
- every ``chemchallenge`` source file loaded is covered by a code dependency of the stage
  (the CLI entry and dvc.yaml's generator aside: they compute no result).

A read or an import that dvc.yaml does not declare means DVC would not re-run the stage when
that key or that file changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import chemchallenge
from chemchallenge.config import config_from_dict, load_config
from chemchallenge.errors import ConfigError
from chemchallenge.pipeline import dvcyaml
from conftest import TINY_GENERATE, deep_update, make_tables, tiny_params, write_tables

#: the repository holding the committed dvc.yaml and params.yaml
REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(chemchallenge.__file__).resolve().parent
#: code the stages load but that computes no result: the CLI entry, dvc.yaml's generator
EXEMPT_CODE = ("cli.py", "pipeline/")


def project_params() -> dict[str, Any]:
    """baseline (tree on morgan), xgb (tuned, on rdkit2d), gcn; the ensemble; generate on."""
    params = deep_update(
        tiny_params(Path("data/challenge")),
        {
            "models": {
                "xgb": {
                    "features": ["rdkit2d"],
                    "tune": True,
                    "search_space": {"max_depth": {"type": "int", "low": 2, "high": 4}},
                },
                "gcn": {"kind": "gcn", "params": {"epochs": 1, "hidden": 16}},
            },
            "train": {"models": ["baseline", "xgb", "gcn"]},
            "tune": {"n_trials": 2},
            "submit": {"model": "ensemble"},
            "ensemble": {"method": "weights"},
            "generate": TINY_GENERATE,
            "report": {"tsne": False},
        },
    )
    params["data"]["challenge_dir"] = "data/challenge"
    del params["models"]["knn"]
    return params


#: runs one stage in a fresh interpreter: argv = root, stage, name ("" for none), output JSON
RUNNER = r'''
import dataclasses, importlib, json, sys
from pathlib import Path

from chemchallenge.config import Config, load_config
from chemchallenge.paths import Paths

root, stage, name, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
#: dict-valued sections whose keys are recorded one by one
DICT_SECTIONS = {"models", "featurize.featurizers", "generate", "report"}
TOUCHED = set()  # sections walked through (a leaf only if nothing below them was read)
READ = set()  # paths read as values


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _wrap(value, path):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        TOUCHED.add(path)
        return ConfigProxy(value, path) if isinstance(value, Config) else Proxy(value, path)
    if isinstance(value, dict) and path in DICT_SECTIONS:
        TOUCHED.add(path)
        return RecordingDict(value, path)
    READ.add(path)
    return value


class Proxy:
    """A dataclass section: a field read records its dotted path; anything else (a method,
    repr, equality) records the whole section."""

    __slots__ = ("_obj", "_path")

    def __init__(self, obj, path):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_path", path)

    def _whole(self):
        READ.add(self._path or "<the whole config>")
        return self._obj

    def __getattr__(self, attr):
        obj = object.__getattribute__(self, "_obj")
        path = object.__getattribute__(self, "_path")
        if attr in {f.name for f in dataclasses.fields(obj)}:
            return _wrap(getattr(obj, attr), _join(path, attr))
        return getattr(self._whole(), attr)

    def __setattr__(self, attr, value):
        setattr(self._whole(), attr, value)

    @property
    def __class__(self):  # isinstance(proxy, TuneConfig) holds
        return type(object.__getattribute__(self, "_obj"))

    def __repr__(self):
        return repr(self._whole())

    def __eq__(self, other):
        return self._whole() == (other._whole() if isinstance(other, Proxy) else other)

    def __hash__(self):
        return hash(self._whole())

    def __reduce_ex__(self, protocol):
        return self._whole().__reduce_ex__(protocol)


class ConfigProxy(Proxy):
    __slots__ = ()

    def model(self, name):
        """Config.model: reads models.<name> (a ConfigError when it is not defined)."""
        models = self.models
        if name not in models:
            return self._whole().model(name)
        return models[name]


class RecordingDict(dict):
    """A dict section: ``[key]``, ``get``, ``in`` record ``<section>.<key>``; iterating,
    ``len``, ``keys``/``items``/``values``, copying record the whole section."""

    def __init__(self, data, path):
        super().__init__(data)
        self._path = path

    def _whole(self):
        READ.add(self._path)

    def __getitem__(self, key):
        return _wrap(super().__getitem__(key), _join(self._path, key))

    def get(self, key, default=None):
        if super().__contains__(key):
            return self[key]
        READ.add(_join(self._path, key))
        return default

    def __contains__(self, key):
        READ.add(_join(self._path, key))
        return super().__contains__(key)

    def __iter__(self):
        self._whole()
        return super().__iter__()

    def __len__(self):
        self._whole()
        return super().__len__()

    def keys(self):
        self._whole()
        return super().keys()

    def items(self):
        self._whole()
        return super().items()

    def values(self):
        self._whole()
        return super().values()

    def copy(self):
        self._whole()
        return dict(super().items())

    def __eq__(self, other):
        self._whole()
        return dict(super().items()) == other

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        self._whole()
        return repr(dict(super().items()))

    def __or__(self, other):
        self._whole()
        return dict(super().items()) | other

    def __ror__(self, other):
        self._whole()
        return other | dict(super().items())

    def __reduce_ex__(self, protocol):  # pickles as a plain dict
        self._whole()
        return (dict, (dict(super().items()),))


cfg = load_config(root / "params.yaml")
module = importlib.import_module(f"chemchallenge.stages.{stage}")
module.run(ConfigProxy(cfg, ""), Paths(root), **({"name": name} if name else {}))

walked = READ | TOUCHED
leaves = {p for p in TOUCHED if not any(q.startswith(p + ".") for q in walked)}
files = {
    getattr(m, "__file__", None)
    for k, m in list(sys.modules.items())
    if k == "chemchallenge" or k.startswith("chemchallenge.")
}
record = {"params": sorted(READ | leaves), "files": sorted(f for f in files if f)}
out.write_text(json.dumps(record))
'''


def stage_runs(cfg_params: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(dvc.yaml stage, stage module, name) in pipeline order."""
    runs = [("check", "check", ""), ("prepare", "prepare", "")]
    runs += [(f"featurize-{f}", "featurize", f) for f in cfg_params["featurize"]["featurizers"]]
    for m in cfg_params["train"]["models"]:
        runs += [(f"tune-{m}", "tune", m), (f"train-{m}", "train", m)]
    stages = ("ensemble", "diagnose", "submit", "generate", "candidates", "report")
    runs += [(s, s, "") for s in stages]
    return runs


PARAMS = project_params()
RUNS = stage_runs(PARAMS)
STAGES = [r[0] for r in RUNS]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny project after every stage, with dvc.yaml and what each stage read/loaded."""
    base = tmp_path_factory.mktemp("declared")
    root = base / "project"
    write_tables(root / "data" / "challenge", make_tables("binary"))
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS, sort_keys=False))
    cfg = load_config(root / "params.yaml")
    dvc = dvcyaml.render(cfg, PARAMS)
    (root / "dvc.yaml").write_text(dvc)
    runner = base / "runner.py"
    runner.write_text(RUNNER)
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_WAIT_POLICY": "PASSIVE", "MPLBACKEND": "Agg"}
    seen: dict[str, dict[str, list[str]]] = {}
    seconds: dict[str, float] = {}
    for stage, module, name in RUNS:
        out = base / f"{stage}.json"
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(runner), str(root), module, name, str(out)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        seconds[stage] = round(time.perf_counter() - t0, 1)
        assert proc.returncode == 0, (
            f"stage {stage} failed (exit {proc.returncode})\n--- stdout\n{proc.stdout[-5000:]}"
            f"\n--- stderr\n{proc.stderr[-8000:]}"
        )
        seen[stage] = json.loads(out.read_text())
    print(f"\nstage wall times (s): {seconds}")
    return {"root": root, "dvc": yaml.safe_load(dvc)["stages"], "seen": seen}


def declared_params(stage: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for entry in stage.get("params", []):
        if isinstance(entry, str):
            out.append(entry)
        else:  # {params file: [keys]}
            for keys in entry.values():
                out.extend(keys)
    return out


def declared_code(stage: dict[str, Any]) -> list[str]:
    """Code deps relative to the package folder (``models/deep.py``, ``report``)."""
    prefix = "src/chemchallenge/"
    return [d.removeprefix(prefix) for d in stage.get("deps", []) if d.startswith(prefix)]


def covered(path: str, declared: list[str], sep: str) -> bool:
    return any(path == d or path.startswith(d.rstrip(sep) + sep) for d in declared)


def package_relative(file: str) -> str:
    path = Path(file).resolve()
    try:
        return path.relative_to(PACKAGE_DIR).as_posix()
    except ValueError:
        return str(path)  # outside the package: never covered, so reported


@pytest.mark.parametrize("stage", STAGES)
def test_params_read_are_declared(project: dict[str, Any], stage: str) -> None:
    declared = declared_params(project["dvc"][stage])
    # a key absent from params.yaml takes its default: DVC has nothing to track (and refuses
    # a declared key that is missing), so only the keys params.yaml spells out must be declared
    read = [p for p in project["seen"][stage]["params"] if _lookup(PARAMS, p)]
    missing = [p for p in read if not covered(p, declared, ".")]
    assert not missing, (
        f"stage {stage} reads params.yaml keys that dvc.yaml does not declare:\n"
        + "".join(f"  + {p}\n" for p in missing)
        + f"declared: {declared}\nread: {read}"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_code_loaded_is_declared(project: dict[str, Any], stage: str) -> None:
    declared = declared_code(project["dvc"][stage])
    loaded = sorted(package_relative(f) for f in project["seen"][stage]["files"])
    missing = [f for f in loaded if not f.startswith(EXEMPT_CODE) and not covered(f, declared, "/")]
    assert not missing, (
        f"stage {stage} loads chemchallenge code that dvc.yaml does not declare:\n"
        + "".join(f"  + src/chemchallenge/{f}\n" for f in missing)
        + f"declared: {declared}"
    )


def test_recording_is_not_vacuous(project: dict[str, Any]) -> None:
    """The proxy sees field reads, and sys.modules the modules imported at run time (a model
    kind's module is imported by name when the model is built)."""
    seen = project["seen"]
    assert {"seed", "models.xgb.kind", "models.xgb.params"} <= set(seen["train-xgb"]["params"])
    assert {"tune.n_trials", "models.xgb.search_space"} <= set(seen["tune-xgb"]["params"])
    assert "prepare.cv.n_folds" in seen["prepare"]["params"]
    assert "report" in seen["report"]["params"]
    gcn = {package_relative(f) for f in seen["train-gcn"]["files"]}
    xgb = {package_relative(f) for f in seen["train-xgb"]["files"]}
    assert "models/deep.py" in gcn and "models/tabular.py" not in gcn, sorted(gcn)
    assert "models/tabular.py" in xgb and "models/deep.py" not in xgb, sorted(xgb)


def _lookup(params: dict[str, Any], dotted: str) -> bool:
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.mark.parametrize("stage", STAGES)
def test_declared_params_exist_in_params_yaml(stage: str) -> None:
    """DVC refuses a stage whose declared param is not in params.yaml ("Parameters 'x' are
    missing from 'params.yaml'"), even where chemchallenge would use its default: the
    generated dvc.yaml must run with every params.yaml that load_config accepts."""
    cfg = config_from_dict(project_params())
    doc = dvcyaml.declare_present(dvcyaml.build(cfg), project_params())
    declared = declared_params(doc["stages"][stage])
    missing = [p for p in declared if not _lookup(project_params(), p)]
    assert not missing, (
        f"stage {stage} declares params absent from a valid params.yaml: {missing} "
        f"(present sections: {sorted(project_params())}); `dvc repro` fails on them"
    )


def _code_deps(stage: str) -> list[str]:
    cfg = config_from_dict(project_params())
    return declared_code(dvcyaml.build(cfg)["stages"][stage])


@pytest.mark.parametrize(
    ("stage", "foreign"),
    [
        ("tune-xgb", ["models/deep.py", "features/graphs.py", "models/nets"]),
        ("train-xgb", ["models/deep.py", "features/graphs.py", "models/nets"]),
        ("train-gcn", ["models/tabular.py"]),
        ("train-baseline", ["models/deep.py", "features/graphs.py"]),
    ],
)
def test_model_stage_code_deps_are_tight(stage: str, foreign: list[str]) -> None:
    """A model stage depends on its own kind's module, not on the other kind's."""
    deps = _code_deps(stage)
    assert deps, f"{stage}: no code deps at all"
    wrong = [f for f in foreign if covered(f, deps, "/") or f in deps]
    assert not wrong, f"{stage} declares code of another model kind: {wrong}\ndeclared: {deps}"


@pytest.mark.skipif(
    not (REPO / "params.yaml").exists(),
    reason=f"{REPO / 'params.yaml'} absent: no committed pipeline to check",
)
def test_committed_dvc_yaml_is_current() -> None:
    """dvc.yaml is what `chemchallenge dvc-yaml` writes from params.yaml and the code now."""
    cfg = load_config(REPO / "params.yaml")
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    target = REPO / "dvc.yaml"
    if dvcyaml.is_current(cfg, target, raw):
        return
    import difflib

    old = target.read_text().splitlines(keepends=True) if target.exists() else []
    diff = "".join(
        difflib.unified_diff(old, dvcyaml.render(cfg, raw).splitlines(keepends=True), n=1)
    )
    pytest.fail(f"{target} is stale: run `chemchallenge dvc-yaml`; diff to the fresh one:\n{diff}")


def test_a_section_left_out_is_refused_before_dvc_sees_it() -> None:
    """Sections have no defaults in code: a params.yaml without ``ensemble:`` fails to load
    (one line naming it) instead of reaching `dvc repro` ("Parameters 'ensemble' are
    missing"); with every section present, each declared key exists."""
    raw = project_params()
    doc = dvcyaml.declare_present(dvcyaml.build(config_from_dict(raw)), raw)
    declared = declared_params(doc["stages"]["ensemble"])
    assert "ensemble" in declared and all(_lookup(raw, p) for p in declared), declared
    raw.pop("ensemble")
    with pytest.raises(ConfigError, match=r"^ensemble: missing from params\.yaml"):
        config_from_dict(raw)
