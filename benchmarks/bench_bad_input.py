"""Hostile inputs through prepare → featurize → train → submit (issue 11).

Each case corrupts one thing of a valid tiny challenge (one of the three CSV files or
params.yaml), runs the four stages through the command line (``chemchallenge.cli.main``,
in-process) and sorts the outcome:

- ``refused``: a stage stopped with exit status 2 and a clean message (no traceback), and
  left no submission behind;
- ``handled``: every stage succeeded and the submission is exactly what the site expects:
  X_test's IDs as spelled in the file and in its order, the ID column and the targets of
  y_train's header, values in the task's domain (0/1, a class, a finite number);
- ``traceback``: an exception escaped, or exit status 1 ("unexpected error");
- ``malformed``: every stage succeeded but the submission differs from the above.

The goal is zero ``traceback`` and zero ``malformed``.

Usage: ``python benchmarks/bench_bad_input.py [--cases 120] [--seed 0] [--verbose]``
(tests/unit/test_bad_input.py runs a small sample of the same cases).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from chemchallenge.cli import main  # noqa: E402
from conftest import make_tables, tiny_params, write_tables  # noqa: E402

FILES = ("X_train.csv", "y_train.csv", "X_test.csv")
STAGES = (["prepare"], ["featurize", "morgan"], ["train", "baseline"], ["submit"])
#: what each task's submission values must be (besides the IDs and the columns)
TASK_OF_TABLE = {
    "binary": "binary",
    "multilabel": "multilabel",
    "regression": "regression",
    "multiclass": "multiclass",
}


@dataclass
class Case:
    """One corruption: ``kind`` applied with ``args`` to a tiny table of ``task``."""

    name: str
    task: str
    apply: Callable[[Path, dict[str, Any], random.Random], None]
    #: the task the submission must follow when params set ``data.task``
    declared_task: str | None = None
    #: a command run after a successful pipeline (``predict``/``record-score`` with hostile
    #: arguments): given the project root, it writes what it needs and returns the argv
    command: Callable[[Path], list[str]] | None = None


@dataclass
class Outcome:
    case: str
    result: str  # refused | handled | traceback | malformed
    detail: str = ""
    stage: str = ""
    messages: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- files
def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def _rows_op(file: str, op: Callable[[list[list[str]], random.Random], None]) -> Callable:
    def apply(folder: Path, params: dict[str, Any], rng: random.Random) -> None:
        rows = _read(folder / file)
        op(rows, rng)
        _write(folder / file, rows)

    return apply


def _text_op(file: str, op: Callable[[str, random.Random], str | bytes]) -> Callable:
    def apply(folder: Path, params: dict[str, Any], rng: random.Random) -> None:
        out = op((folder / file).read_text(encoding="utf-8"), rng)
        if isinstance(out, bytes):
            (folder / file).write_bytes(out)
        else:
            (folder / file).write_text(out, encoding="utf-8")

    return apply


def _params_op(update: dict[str, Any]) -> Callable:
    def apply(folder: Path, params: dict[str, Any], rng: random.Random) -> None:
        _deep_set(params, update)

    return apply


def _deep_set(base: dict[str, Any], update: dict[str, Any]) -> None:
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict) and v:
            _deep_set(base[k], v)
        else:
            base[k] = v


def _row(rows: list[list[str]], rng: random.Random) -> int:
    return rng.randrange(1, len(rows))


def drop_header(rows: list[list[str]], rng: random.Random) -> None:
    del rows[0]


def add_index(rows: list[list[str]], rng: random.Random) -> None:
    name = rng.choice(["", "Unnamed: 0"])
    rows[0].insert(0, name)
    for i, r in enumerate(rows[1:]):
        r.insert(0, str(i))


def duplicate_column(rows: list[list[str]], rng: random.Random) -> None:
    j = rng.randrange(1, len(rows[0]))
    rows[0][j] = rows[0][rng.randrange(0, j)]


def append_copy_column(rows: list[list[str]], rng: random.Random) -> None:
    j = rng.randrange(1, len(rows[0]))
    for r in rows:
        r.append(r[j])


def truncate_line(rows: list[list[str]], rng: random.Random) -> None:
    i = _row(rows, rng)
    rows[i] = rows[i][:-1]


def extra_field(rows: list[list[str]], rng: random.Random) -> None:
    rows[_row(rows, rng)].append("oops")


def blank_cell(col: int) -> Callable[[list[list[str]], random.Random], None]:
    def op(rows: list[list[str]], rng: random.Random) -> None:
        rows[_row(rows, rng)][col] = rng.choice(["", " "])

    return op


def set_cell(col: int | None, values: list[str]) -> Callable:
    def op(rows: list[list[str]], rng: random.Random) -> None:
        j = col if col is not None else rng.randrange(1, len(rows[0]))
        rows[_row(rows, rng)][j] = rng.choice(values)

    return op


def set_all(col: int, value: str) -> Callable:
    def op(rows: list[list[str]], rng: random.Random) -> None:
        for r in rows[1:]:
            r[col] = value

    return op


def duplicate_row(rows: list[list[str]], rng: random.Random) -> None:
    rows.insert(_row(rows, rng), list(rows[_row(rows, rng)]))


def delete_row(rows: list[list[str]], rng: random.Random) -> None:
    del rows[_row(rows, rng)]


def shuffle_rows(rows: list[list[str]], rng: random.Random) -> None:
    body = rows[1:]
    rng.shuffle(body)
    rows[1:] = body


def swap_columns(rows: list[list[str]], rng: random.Random) -> None:
    for r in rows:
        r[0], r[1] = r[1], r[0]


def pad_id(rows: list[list[str]], rng: random.Random) -> None:
    i = _row(rows, rng)
    rows[i][0] = rng.choice([f" {rows[i][0]}", f"{rows[i][0]} ", f"id {rows[i][0]}"])


def extra_data_column(rows: list[list[str]], rng: random.Random) -> None:
    rows[0].append(rng.choice(["MolWt", "comment", "Source"]))
    for i, r in enumerate(rows[1:]):
        r.append(rng.choice([str(100 + i), "n/a", ""]))


def trailing_comma(text: str, rng: random.Random) -> str:
    return "".join(line + ",\n" for line in text.splitlines())


def header_only(rows: list[list[str]], rng: random.Random) -> None:
    del rows[1:]


def huge_molecule(rows: list[list[str]], rng: random.Random) -> None:
    rows[_row(rows, rng)][1] = "C" * 300 + "(O)" + "C" * 299


def giant_molecule(rows: list[list[str]], rng: random.Random) -> None:
    """Beyond RDKit's recursion limits (a 20,000-atom chain crashes its canonicaliser)."""
    rows[_row(rows, rng)][1] = rng.choice(["C" * 20000, "C(" * 1600 + "C" + ")" * 1600])


def odd_id(rows: list[list[str]], rng: random.Random) -> None:
    rows[_row(rows, rng)][0] = rng.choice(["4,5", "4\n5", 'a "quoted" id', "ID", "é-7"])


def all_smiles_invalid(rows: list[list[str]], rng: random.Random) -> None:
    for r in rows[1:]:
        r[1] = "xyz"


def one_row(rows: list[list[str]], rng: random.Random) -> None:
    del rows[2:]


def add_target(rows: list[list[str]], rng: random.Random) -> None:
    rows[0].append("Y_extra")
    for i, r in enumerate(rows[1:]):
        r.append(r[1] if r[1] else str(i % 2))


def bom(text: str, rng: random.Random) -> str:
    return "\ufeff" + text


def separator(sep: str) -> Callable[[str, random.Random], str]:
    return lambda text, rng: text.replace(",", sep)


def crlf(text: str, rng: random.Random) -> str:
    return text.replace("\n", "\r\n")


def blank_lines(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    lines.insert(rng.randrange(1, len(lines)), "")
    return "\n".join(lines) + "\n\n"


def cut_file(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text) // 3, len(text) - 2)]


def latin1(text: str, rng: random.Random) -> bytes:
    return text.encode() + "99,Cé\n".encode("latin-1")


def nul_bytes(text: str, rng: random.Random) -> bytes:
    return text.encode()[:40] + b"\x00\x00" + text.encode()[40:]


def empty_file(text: str, rng: random.Random) -> str:
    return ""


def quote_all(text: str, rng: random.Random) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue()


def make_directory(file: str) -> Callable:
    def apply(folder: Path, params: dict[str, Any], rng: random.Random) -> None:
        (folder / file).unlink()
        (folder / file).mkdir()

    return apply


def remove_file(file: str) -> Callable:
    def apply(folder: Path, params: dict[str, Any], rng: random.Random) -> None:
        (folder / file).unlink()

    return apply


def params_text(text: str) -> Callable:
    def apply(folder: Path, params: dict[str, Any], rng: random.Random) -> None:
        params.clear()
        params["__raw__"] = text

    return apply


# ----------------------------------------------------------------------------- cases
def _file_cases() -> list[tuple[str, Callable, list[str]]]:
    """(name, apply, tasks it makes sense for)."""
    all_tasks = ["binary", "regression", "multilabel", "multiclass"]
    cases: list[tuple[str, Callable, list[str]]] = []
    for f in FILES:
        stem = f.removesuffix(".csv")
        cases += [
            (f"{stem}: no header", _rows_op(f, drop_header), all_tasks),
            (f"{stem}: index column", _rows_op(f, add_index), all_tasks),
            (f"{stem}: duplicate column name", _rows_op(f, duplicate_column), all_tasks),
            (f"{stem}: truncated line", _rows_op(f, truncate_line), all_tasks),
            (f"{stem}: extra field", _rows_op(f, extra_field), all_tasks),
            (f"{stem}: BOM", _text_op(f, bom), all_tasks),
            (f"{stem}: semicolons", _text_op(f, separator(";")), all_tasks),
            (f"{stem}: tabs", _text_op(f, separator("\t")), all_tasks),
            (f"{stem}: CRLF", _text_op(f, crlf), all_tasks),
            (f"{stem}: blank lines", _text_op(f, blank_lines), all_tasks),
            (f"{stem}: cut short", _text_op(f, cut_file), all_tasks),
            (f"{stem}: latin-1 bytes", _text_op(f, latin1), all_tasks),
            (f"{stem}: NUL bytes", _text_op(f, nul_bytes), all_tasks),
            (f"{stem}: empty", _text_op(f, empty_file), all_tasks),
            (f"{stem}: header only", _rows_op(f, header_only), all_tasks),
            (f"{stem}: quoted cells", _text_op(f, quote_all), all_tasks),
            (f"{stem}: trailing commas", _text_op(f, trailing_comma), all_tasks),
            (f"{stem}: a directory", make_directory(f), all_tasks),
            (f"{stem}: missing", remove_file(f), all_tasks),
            (f"{stem}: blank ID", _rows_op(f, blank_cell(0)), all_tasks),
            (f"{stem}: duplicate row", _rows_op(f, duplicate_row), all_tasks),
            (f"{stem}: row deleted", _rows_op(f, delete_row), all_tasks),
            (f"{stem}: rows shuffled", _rows_op(f, shuffle_rows), all_tasks),
            (f"{stem}: padded ID", _rows_op(f, pad_id), all_tasks),
            (f"{stem}: extra copy column", _rows_op(f, append_copy_column), all_tasks),
        ]
    for f in ("X_train.csv", "X_test.csv"):
        stem = f.removesuffix(".csv")
        cases += [
            (f"{stem}: blank SMILES", _rows_op(f, blank_cell(1)), all_tasks),
            (
                f"{stem}: invalid SMILES",
                _rows_op(f, set_cell(1, ["C1CC", "xyz", "C(C", "[Xx]"])),
                all_tasks,
            ),
            (f"{stem}: columns swapped", _rows_op(f, swap_columns), all_tasks),
            (f"{stem}: 600-atom molecule", _rows_op(f, huge_molecule), all_tasks),
            (f"{stem}: extra data column", _rows_op(f, extra_data_column), all_tasks),
            (f"{stem}: giant molecule", _rows_op(f, giant_molecule), all_tasks),
            (f"{stem}: every SMILES invalid", _rows_op(f, all_smiles_invalid), all_tasks),
            (f"{stem}: odd ID", _rows_op(f, odd_id), all_tasks),
        ]
    cases += [("X_test: a single row", _rows_op("X_test.csv", one_row), all_tasks)]
    y = "y_train.csv"
    cls = ["binary", "multilabel"]
    cases += [
        ("y_train: label 2", _rows_op(y, set_cell(None, ["2"])), cls),
        ("y_train: label -1 / 0.5", _rows_op(y, set_cell(None, ["-1", "0.5"])), cls),
        ("y_train: label 1.0 / -0", _rows_op(y, set_cell(None, ["1.0", "-0", " 1 "])), cls),
        (
            "y_train: non-numeric label",
            _rows_op(y, set_cell(None, ["abc", "yes", "1,5"])),
            ["binary", "regression", "multilabel"],
        ),
        (
            "y_train: inf label",
            _rows_op(y, set_cell(None, ["inf", "-inf", "1e400", "Infinity"])),
            ["binary", "regression", "multilabel"],
        ),
        (
            "y_train: nan label",
            _rows_op(y, set_cell(None, ["nan", "NaN", "NA"])),
            ["binary", "regression", "multilabel"],
        ),
        ("y_train: blank label", _rows_op(y, blank_cell(1)), all_tasks),
        ("y_train: single class", _rows_op(y, set_all(1, "0")), cls),
        ("y_train: constant value", _rows_op(y, set_all(1, "1.5")), ["regression"]),
        ("y_train: all labels blank", _rows_op(y, set_all(1, "")), all_tasks),
        ("y_train: stray class", _rows_op(y, set_cell(1, ["2", "lowish", "HIGH"])), ["multiclass"]),
        ("y_train: extra target", _rows_op(y, add_target), ["binary", "multilabel"]),
        ("y_train: huge labels", _rows_op(y, set_cell(1, ["1e300", "-1e300"])), ["regression"]),
    ]
    return cases


def _params_cases() -> list[tuple[str, Callable, list[str], str | None]]:
    """(name, apply, tasks, the task declared in params or None)."""
    all_tasks = ["binary", "regression", "multilabel", "multiclass"]
    base = "models"
    p: list[tuple[str, dict[str, Any], list[str], str | None]] = [
        ("seed -1", {"seed": -1}, all_tasks, None),
        ("seed text", {"seed": "x"}, all_tasks, None),
        ("seed 2**40", {"seed": 2**40}, all_tasks, None),
        ("n_folds 1", {"prepare": {"cv": {"n_folds": 1}}}, all_tasks, None),
        ("n_folds 1000", {"prepare": {"cv": {"n_folds": 1000}}}, all_tasks, None),
        ("n_folds 40", {"prepare": {"cv": {"n_folds": 40}}}, all_tasks, None),
        ("n_folds text", {"prepare": {"cv": {"n_folds": "five"}}}, all_tasks, None),
        ("task binary", {"data": {"task": "binary"}}, ["multilabel", "regression"], "binary"),
        ("task multiclass", {"data": {"task": "multiclass"}}, ["multilabel", "regression"], None),
        ("task multilabel", {"data": {"task": "multilabel"}}, ["binary"], None),
        ("task regression", {"data": {"task": "regression"}}, ["binary"], "regression"),
        ("task nonsense", {"data": {"task": "ranking"}}, all_tasks, None),
        ("targets missing", {"data": {"targets": ["nope"]}}, all_tasks, None),
        ("id column missing", {"data": {"id_column": "nope"}}, all_tasks, None),
        ("smiles column = ID", {"data": {"smiles_column": "ID"}}, all_tasks, None),
        ("metric nonsense", {"data": {"metric": "accuracy_score"}}, all_tasks, None),
        ("metric for another task", {"data": {"metric": "rmse"}}, ["binary"], None),
        ("thresholds 7", {"submit": {"thresholds": 7}}, ["binary", "multilabel"], None),
        ("thresholds -1", {"submit": {"thresholds": -1}}, ["binary"], None),
        ("thresholds text", {"submit": {"thresholds": "high"}}, ["binary"], None),
        ("thresholds unknown target", {"submit": {"thresholds": {"Y9": 0.3}}}, ["binary"], None),
        ("thresholds 0.3", {"submit": {"thresholds": 0.3}}, ["binary", "multilabel"], None),
        ("submit.dir", {"submit": {"dir": "elsewhere"}}, all_tasks, None),
        ("submit.model unknown", {"submit": {"model": "nope"}}, all_tasks, None),
        (
            "max_depth text",
            {base: {"baseline": {"params": {"max_depth": "deep"}}}},
            all_tasks,
            None,
        ),
        ("max_depth -1", {base: {"baseline": {"params": {"max_depth": -1}}}}, all_tasks, None),
        ("max_depth 3.5", {base: {"baseline": {"params": {"max_depth": 3.5}}}}, all_tasks, None),
        (
            "min_samples_leaf 0",
            {base: {"baseline": {"params": {"min_samples_leaf": 0}}}},
            all_tasks,
            None,
        ),
        (
            "criterion bogus",
            {base: {"baseline": {"params": {"criterion": "bogus"}}}},
            all_tasks,
            None,
        ),
        (
            "unknown hyper-parameter",
            {base: {"baseline": {"params": {"depth": 3}}}},
            all_tasks,
            None,
        ),
        ("model kind unknown", {base: {"baseline": {"kind": "forest"}}}, all_tasks, None),
        ("model features unknown", {base: {"baseline": {"features": ["ecfp"]}}}, all_tasks, None),
        ("params not a mapping", {base: {"baseline": {"params": [1, 2]}}}, all_tasks, None),
        (
            "n_bits -5",
            {"featurize": {"featurizers": {"morgan": {"n_bits": -5}}}},
            all_tasks,
            None,
        ),
        (
            "n_bits text",
            {"featurize": {"featurizers": {"morgan": {"n_bits": "many"}}}},
            all_tasks,
            None,
        ),
        (
            "n_bits 1e9",
            {"featurize": {"featurizers": {"morgan": {"n_bits": 10**9}}}},
            all_tasks,
            None,
        ),
        ("radius -1", {"featurize": {"featurizers": {"morgan": {"radius": -1}}}}, all_tasks, None),
        ("n_jobs 0", {"featurize": {"n_jobs": 0}}, all_tasks, None),
        ("n_trials 0", {"tune": {"n_trials": 0}}, all_tasks, None),
        ("timeout -5", {"tune": {"timeout": -5}}, all_tasks, None),
        ("top_k 0", {"ensemble": {"top_k": 0}}, all_tasks, None),
        ("unknown top-level key", {"sed": 1}, all_tasks, None),
        ("train.models unknown", {"train": {"models": ["nope"]}}, all_tasks, None),
        ("challenge_dir missing", {"data": {"challenge_dir": "/nonexistent/dir"}}, all_tasks, None),
    ]
    out: list[tuple[str, Callable, list[str], str | None]] = [
        (f"params: {n}", _params_op(u), t, d) for n, u, t, d in p
    ]
    out += [
        ("params: not YAML", params_text("seed: [1\n"), all_tasks, None),
        ("params: a list", params_text("- 1\n- 2\n"), all_tasks, None),
        ("params: tab indented", params_text("seed: 1\n\tdata: x\n"), all_tasks, None),
    ]
    return out


def _molecules(text: str | bytes | None, name: str = "new.csv") -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        path = root / name
        if text is None:
            path.mkdir()
        elif isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return make


def _predict(text: str | bytes | None, *extra: str) -> Callable[[Path], list[str]]:
    def argv(root: Path) -> list[str]:
        out = [a.replace("{root}", str(root)) for a in extra]
        if "--output-dir" in out:
            (root / "outdir").mkdir()
            out = ["--output", str(root / "outdir")]
        return ["predict", "--input", str(_molecules(text)(root)), "--model", "baseline", *out]

    return argv


def _record(name: str, score: str) -> Callable[[Path], list[str]]:
    return lambda root: ["record-score", name, score]


def _command_cases() -> list[tuple[str, Callable[[Path], list[str]]]]:
    good = "SMILES\nCCO\nc1ccccc1O\n"
    return [
        ("predict: valid file", _predict(good)),
        ("predict: input is a directory", _predict(None)),
        ("predict: input missing", lambda root: ["predict", "--input", str(root / "nope.csv")]),
        ("predict: empty file", _predict("")),
        ("predict: no header", _predict("CCO\nc1ccccc1O\n")),
        ("predict: semicolons", _predict("ID;SMILES\n1;CCO\n")),
        ("predict: latin-1", _predict("SMILES\nC\xe9\n".encode("latin-1"))),
        ("predict: invalid SMILES", _predict("SMILES\nC1CC\n\nxyz\n")),
        ("predict: no SMILES column", _predict("name\nethanol\n")),
        ("predict: index column", _predict(",SMILES\n0,CCO\n")),
        ("predict: output is a directory", _predict(good, "--output-dir")),
        ("predict: unknown model", lambda root: ["predict", "--input", "x.csv", "--model", "nope"]),
        ("predict: ensemble not run", _predict(good, "--model", "ensemble")),
        ("record-score: empty name", _record("", "0.5")),
        ("record-score: slash", _record("/", "0.5")),
        ("record-score: unknown file", _record("nope", "0.5")),
        ("record-score: inf score", _record("2", "inf")),
        ("record-score: nan score", _record("2", "nan")),
        ("record-score: parent path", _record("../params.yaml", "0.5")),
    ]


def all_cases() -> list[Case]:
    cases = []
    for name, command in _command_cases():
        cases.append(Case(f"{name} [binary]", "binary", _params_op({}), None, command))
    for name, apply, tasks in _file_cases():
        for t in tasks:
            cases.append(Case(f"{name} [{t}]", t, apply))
    for name, apply, tasks, declared in _params_cases():
        for t in tasks:
            cases.append(Case(f"{name} [{t}]", t, apply, declared))
    return cases


# ----------------------------------------------------------------------------- running
def _expected(folder: Path, targets: list[str]) -> tuple[list[str], list[str]] | None:
    """X_test's IDs as spelled in the (corrupted) file and the expected header, read
    independently of chemchallenge, as the site would: a first line without an ``ID``
    column is a data row (the site's files have headers), and y_train's targets are its
    header's (the original ``targets`` when that header is gone); None when a file cannot be
    read at all."""
    try:
        x = [r for r in _read(folder / "X_test.csv") if any(c.strip() for c in r)]
        y = [r for r in _read(folder / "y_train.csv") if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not x or not y:
        return None
    first = [c.strip().lstrip("\ufeff") for c in x[0]]
    if "ID" in first:
        idx, data = first.index("ID"), x[1:]
    else:
        idx, data = 0, x
    ids = [r[idx] if idx < len(r) else "" for r in data]
    yh = [c.strip().lstrip("\ufeff") for c in y[0]]
    found = [c for c in yh if c != "ID"] if "ID" in yh else list(targets)
    return ids, ["ID", *found]


def _check_submission(sub_file: Path, folder: Path, task: str, targets: list[str]) -> str:
    """'' when the submission is what the site expects, else what differs."""
    exp = _expected(folder, targets)
    if exp is None:
        return "the challenge files cannot be read, yet a submission was written"
    ids, header = exp
    rows = _read(sub_file)
    if rows[0] != header:
        return f"header {rows[0]} != {header}"
    if [r[0] for r in rows[1:]] != ids:
        return f"IDs differ from X_test ({len(rows) - 1} rows for {len(ids)})"
    values = [r[1:] for r in rows[1:]]
    if any(len(v) != len(header) - 1 for v in values):
        return "ragged rows"
    flat = [c for v in values for c in v]
    if task in ("binary", "multilabel"):
        if not all(c in ("0", "1") for c in flat):
            return f"values outside 0/1: {sorted(set(flat))[:5]}"
    elif task == "regression":
        try:
            ok = all(np.isfinite(float(c)) for c in flat)
        except ValueError:
            ok = False
        if not ok:
            return "non-finite or non-numeric regression values"
    elif task == "multiclass":
        y = _read(folder / "y_train.csv")
        classes = {r[1].strip() for r in y[1:] if len(r) > 1}
        if not set(flat) <= classes:
            return f"values {sorted(set(flat) - classes)[:5]} are not training classes"
    return ""


def run_case(case: Case, workdir: Path, seed: int = 0) -> Outcome:
    """Write the tiny challenge, corrupt it, run the four stages; classify the outcome."""
    rng = random.Random(f"{seed}:{case.name}")
    root = workdir / "project"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    folder = root / "challenge"
    tables = make_tables(case.task, seed=seed)
    targets = [c for c in tables.y_train.columns if c != "ID"]
    write_tables(folder, tables)
    params = tiny_params(folder)
    params["featurize"]["featurizers"] = {"morgan": {"radius": 2, "n_bits": 256}}
    params["models"] = {k: v for k, v in params["models"].items() if k == "baseline"}
    params["train"]["models"] = ["baseline"]
    case.apply(folder, params, rng)
    params_file = root / "params.yaml"
    if "__raw__" in params:
        params_file.write_text(params["__raw__"])
    else:
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    messages: list[str] = []
    for argv in STAGES:
        stage = "-".join(argv)
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = main(["--params", str(params_file), "--root", str(root), *argv])
        except BaseException as exc:
            return Outcome(case.name, "traceback", f"{type(exc).__name__}: {exc}", stage)
        text = err.getvalue()
        messages = [line for line in text.splitlines() if line.strip()]
        if "Traceback" in text or rc == 1:
            return Outcome(case.name, "traceback", text.strip()[-300:], stage, messages)
        if rc == 2:
            leftover = list((root / "submissions").glob("**/*.csv"))
            if leftover:
                return Outcome(case.name, "malformed", "a refused run left a submission", stage)
            errors = [m for m in messages if ": error: " in m]
            if not errors or not errors[0].startswith("chemchallenge "):
                return Outcome(case.name, "traceback", f"unclear refusal: {text[-300:]}", stage)
            return Outcome(case.name, "refused", errors[0], stage, messages)
        if rc != 0:
            return Outcome(case.name, "traceback", f"exit status {rc}", stage, messages)
    sub = root / "submissions" / "submission.csv"
    if not sub.exists():
        return Outcome(case.name, "malformed", "no submission written", "submit")
    task = case.declared_task or TASK_OF_TABLE[case.task]
    problem = _check_submission(sub, folder, task, targets)
    if problem:
        return Outcome(case.name, "malformed", problem, "submit")
    if case.command is not None:
        return _run_command(case, root, params_file)
    return Outcome(case.name, "handled", "; ".join(m for m in messages)[:300], "submit")


def _run_command(case: Case, root: Path, params_file: Path) -> Outcome:
    """After a good pipeline: a command with hostile arguments refuses or works, cleanly."""
    assert case.command is not None
    argv = case.command(root)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["--params", str(params_file), "--root", str(root), *argv])
    except BaseException as exc:
        return Outcome(case.name, "traceback", f"{type(exc).__name__}: {exc}", argv[0])
    text = err.getvalue()
    if "Traceback" in text or rc not in (0, 2):
        return Outcome(case.name, "traceback", text.strip()[-300:], argv[0])
    if rc == 2:
        errors = [m for m in text.splitlines() if m.startswith(f"chemchallenge {argv[0]}: error: ")]
        if not errors:
            return Outcome(case.name, "traceback", f"unclear refusal: {text[-300:]}", argv[0])
        return Outcome(case.name, "refused", errors[0], argv[0])
    return Outcome(case.name, "handled", text.strip()[-300:], argv[0])


def pick_cases(n: int, seed: int) -> list[Case]:
    """``n`` cases: every kind once (in a seeded order), then random repeats with other
    random rows and values."""
    cases = all_cases()
    rng = random.Random(seed)
    rng.shuffle(cases)
    if n <= len(cases):
        return cases[:n]
    extra = [rng.choice(cases) for _ in range(n - len(cases))]
    return cases + [
        Case(f"{c.name} #{i}", c.task, c.apply, c.declared_task, c.command)
        for i, c in enumerate(extra, 1)
    ]


def main_cli(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=120, help="number of corruptions to run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="print every case's outcome")
    args = ap.parse_args(argv)
    cases = pick_cases(args.cases, args.seed)
    counts: Counter[str] = Counter()
    bad: list[Outcome] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bad-input-") as tmp:
        for i, case in enumerate(cases, 1):
            out = run_case(case, Path(tmp), args.seed + i)
            counts[out.result] += 1
            if out.result in ("traceback", "malformed"):
                bad.append(out)
            if args.verbose:
                print(f"{i:4d} {out.result:9s} {case.name}: {out.stage}: {out.detail[:160]}")
    seconds = time.perf_counter() - t0
    print(
        f"{len(cases)} corruptions ({len(all_cases())} kinds x task) in {seconds:.0f}s: "
        f"clean refusal {counts['refused']}, handled {counts['handled']}, "
        f"traceback {counts['traceback']}, malformed {counts['malformed']}"
    )
    for out in bad:
        print(f"  {out.result}: {out.case} ({out.stage}): {out.detail[:300]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_cli())
