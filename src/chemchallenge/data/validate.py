"""Checks on the raw challenge tables. Each finding names the file, the rows/IDs and
the problem; errors stop the pipeline before any work, warnings go to the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from chemchallenge.errors import InputError
from chemchallenge.tasks import TaskType


@dataclass
class Finding:
    level: str  # "error" | "warning"
    file: str
    check: str
    message: str
    rows: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        shown = ", ".join(self.rows[:10])
        more = f" (+{len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
        where = f" [{shown}{more}]" if self.rows else ""
        return f"{self.file}: {self.message}{where}"


@dataclass
class Findings:
    items: list[Finding] = field(default_factory=list)

    def error(self, file: str, check: str, message: str, rows: list[str] | None = None) -> None:
        self.items.append(Finding("error", file, check, message, list(rows or [])))

    def warn(self, file: str, check: str, message: str, rows: list[str] | None = None) -> None:
        self.items.append(Finding("warning", file, check, message, list(rows or [])))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.items if f.level == "error"]

    def raise_if_errors(self) -> None:
        errs = self.errors
        if not errs:
            return
        if len(errs) == 1:
            e = errs[0]
            raise InputError(e.file, e.message, e.rows)
        lines = "; ".join(f"({k}) {e}" for k, e in enumerate(errs, 1))
        raise InputError("input files", f"{len(errs)} problems found: {lines}")

    def to_list(self) -> list[dict]:
        return [asdict(f) for f in self.items]


def _line(i: int) -> str:
    """CSV line number of data row ``i`` (the header is line 1)."""
    return f"line {i + 2}"


def check_ids(df: pd.DataFrame, id_col: str, file: str, found: Findings) -> None:
    """Missing or duplicate IDs are errors. IDs are compared exactly as spelled (the
    submission echoes them), a blank cell counts as missing."""
    ids = df[id_col]
    empty = [_line(i) for i in np.flatnonzero(ids.str.strip().eq("").to_numpy())]
    if empty:
        found.error(file, "missing_id", f"empty value in ID column {id_col!r}", empty)
    dup = ids[ids.str.strip().ne("") & ids.duplicated(keep=False)]
    if len(dup):
        found.error(file, "duplicate_id", "duplicate IDs", sorted(set(dup), key=str))


def check_xy_match(
    x_ids: pd.Series, y_ids: pd.Series, x_file: str, y_file: str, found: Findings
) -> None:
    """Every training molecule needs labels and every label row a molecule."""
    only_x = sorted(set(x_ids) - set(y_ids))
    only_y = sorted(set(y_ids) - set(x_ids))
    if only_x:
        found.error(y_file, "xy_mismatch", f"IDs of {x_file} without a row here", only_x)
    if only_y:
        found.error(y_file, "xy_mismatch", f"IDs here that are not in {x_file}", only_y)


def parse_targets(
    y: pd.DataFrame, targets: list[str], id_col: str, task: TaskType, file: str, found: Findings
) -> pd.DataFrame:
    """Convert target cells to floats (multi-class: kept as text). Empty cells are missing
    labels (a warning); non-numeric or non-finite cells (``inf``, ``1e400``), non-0/1 labels
    of binary tasks, a target with a single class (or a single value) and a class with a
    single label are errors."""
    out = pd.DataFrame({"id": y[id_col]})
    for t in targets:
        cells = y[t].str.strip()
        empty = cells.eq("")
        if empty.any():
            found.warn(
                file,
                "missing_label",
                f"column {t!r}: {int(empty.sum())} empty cells treated as missing labels",
                list(out["id"][empty]),
            )
        if task == TaskType.MULTICLASS:
            out[t] = cells.where(~empty, None)
            _check_classes(out[t], out["id"], t, file, found)
            continue
        values = pd.to_numeric(cells.where(~empty, None), errors="coerce")
        bad = values.isna() & ~empty
        if bad.any():
            found.error(
                file,
                "non_numeric_label",
                f"column {t!r}: non-numeric values {sorted(set(cells[bad]))[:5]}",
                list(out["id"][bad]),
            )
        infinite = values.notna() & ~np.isfinite(values.to_numpy(dtype=float, na_value=0.0))
        if infinite.any():
            found.error(
                file,
                "non_finite_label",
                f"column {t!r}: non-finite values {sorted(set(cells[infinite]))[:5]} "
                "(infinite, or too large for a float): fix or empty these cells",
                list(out["id"][infinite]),
            )
        if task in (TaskType.BINARY, TaskType.MULTILABEL):
            outside = values.notna() & ~values.isin([0.0, 1.0])
            if outside.any():
                found.error(
                    file,
                    "label_not_binary",
                    f"column {t!r}: labels outside {{0, 1}} for a {task} task "
                    f"(values {sorted(set(values[outside]))[:5]})",
                    list(out["id"][outside]),
                )
        out[t] = values.astype(float)
    for t in targets:
        if out[t].isna().all():
            found.error(file, "empty_target", f"column {t!r} has no label at all")
        elif task != TaskType.MULTICLASS and not found.errors:
            _check_not_constant(out[t], t, task, file, found)
    all_missing = out[targets].isna().all(axis=1)
    if all_missing.any():
        found.warn(
            file, "no_label", "rows with no label at all are dropped", list(out["id"][all_missing])
        )
    return out


def _check_not_constant(
    values: pd.Series, target: str, task: TaskType, file: str, found: Findings
) -> None:
    """A target whose every label is the same teaches nothing, and its CV score is undefined
    (ROC-AUC) or meaningless (micro-F1 jumps): stop instead of scoring it."""
    known = values.dropna().unique()
    if len(known) != 1:
        return
    what = "class" if task != TaskType.REGRESSION else "value"
    found.error(
        file,
        "single_class",
        f"column {target!r}: every label is {known[0]:g} (a single {what}): nothing can be "
        "learnt or scored; check the file (a wrong column or a filtered export?)",
    )


def _check_classes(
    values: pd.Series, ids: pd.Series, target: str, file: str, found: Findings
) -> None:
    """Multi-class labels: at least two classes, and no class seen once (a typo)."""
    counts = values.dropna().value_counts()
    if len(counts) == 1:
        found.error(
            file,
            "single_class",
            f"column {target!r}: every label is {counts.index[0]!r} (a single class): nothing "
            "can be learnt or scored; check the file",
        )
        return
    single = [c for c, k in counts.items() if k == 1]
    if single:
        rows = [f"ID {i}: {v!r}" for i, v in zip(ids, values, strict=True) if v in single]
        found.error(
            file,
            "rare_class",
            f"column {target!r}: class(es) {single[:5]} appear once: a typo? fix the cell(s) "
            "(a class needs several examples to be learnt and cross-validated)",
            rows,
        )
