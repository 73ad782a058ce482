"""The submissions registry: ``submissions/registry.csv``, one row per archived file in
``submissions/history/``, with the CV score it was chosen on and, once known, the public
leaderboard score (``chemchallenge record-score <submission> <score>``).

Rows are never deleted; every write replaces the file atomically, under a lock so that
``submit`` and ``record-score`` running at the same time cannot lose each other's rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from chemchallenge.errors import ChemChallengeError
from chemchallenge.io import write_csv
from chemchallenge.paths import Paths

REGISTRY_COLUMNS = [
    "time",
    "file",
    "model",
    "metric",
    "cv_mean",
    "cv_std",
    "sha256",
    "leaderboard_score",
    "note",
]


def registry_path(paths: Paths) -> Path:
    return paths.submissions / "registry.csv"


def history_dir(paths: Paths) -> Path:
    return paths.submissions / "history"


@contextlib.contextmanager
def _locked(paths: Paths) -> Iterator[None]:
    """An exclusive lock around read-modify-write of the registry (POSIX; no-op elsewhere)."""
    lock = registry_path(paths).with_name(".registry.csv.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_registry(paths: Paths) -> pd.DataFrame:
    """The registry as text columns (empty, with the columns, when there is none yet)."""
    path = registry_path(paths)
    if not path.exists():
        return pd.DataFrame(columns=REGISTRY_COLUMNS)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in REGISTRY_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    return df


def _write(paths: Paths, df: pd.DataFrame) -> None:
    extra = [c for c in df.columns if c not in REGISTRY_COLUMNS]  # keep user columns
    write_csv(registry_path(paths), df[REGISTRY_COLUMNS + extra])


def _num(v: float) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"


def append_entry(paths: Paths, entry: dict[str, Any]) -> None:
    """Append one row (missing columns left empty)."""
    row = {c: "" if entry.get(c) is None else str(entry.get(c, "")) for c in REGISTRY_COLUMNS}
    with _locked(paths):
        df = read_registry(paths)
        _write(paths, pd.concat([df, pd.DataFrame([row], dtype=str)], ignore_index=True))


def archive_submission(
    paths: Paths,
    sub: pd.DataFrame,
    model: str,
    metric: str = "",
    cv_mean: float = float("nan"),
    cv_std: float = float("nan"),
) -> Path:
    """Write ``sub`` into ``submissions/history/`` and log it, unless an identical file
    is archived there already; return the archived file. Never overwrites a file."""
    history = history_dir(paths)
    history.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(sub.to_csv(index=False).encode()).hexdigest()
    registry = read_registry(paths)
    same = registry[registry["sha256"] == digest]
    if len(same) and (paths.root / same.iloc[-1]["file"]).exists():
        print(f"submit: identical to the archived {same.iloc[-1]['file']}; not archived again")
        return paths.root / same.iloc[-1]["file"]
    now = datetime.now(UTC)
    target = history / f"{now:%Y%m%dT%H%M%S}_{model}_{digest[:8]}.csv"
    n = 1
    while target.exists():  # never overwrite, even within the same second
        target = history / f"{now:%Y%m%dT%H%M%S}_{model}_{digest[:8]}_{n}.csv"
        n += 1
    write_csv(target, sub)
    append_entry(
        paths,
        {
            "time": now.isoformat(timespec="seconds"),
            "file": target.relative_to(paths.root).as_posix(),
            "model": model,
            "metric": metric,
            "cv_mean": _num(cv_mean),
            "cv_std": _num(cv_std),
            "sha256": digest,
        },
    )
    return target


def resolve_submission(paths: Paths, submission: str) -> Path:
    """The archived file named by ``submission``: a file name in ``submissions/history/``,
    a unique prefix of one, or a path to one."""
    history = history_dir(paths)
    files = sorted(p for p in history.glob("*.csv")) if history.exists() else []
    given = Path(submission)
    for candidate in (given, paths.root / given):
        if candidate.is_file() and candidate.resolve().parent == history.resolve():
            return history / candidate.name
    matches = [p for p in files if p.name == given.name] or [
        p for p in files if p.name.startswith(given.name)
    ]
    if len(matches) == 1:
        return matches[0]
    names = [p.name for p in (matches or files)]
    shown = "\n  ".join(names[-20:]) or "(none: run chemchallenge submit first)"
    what = "matches several" if matches else "matches no"
    raise ChemChallengeError(
        f"{submission!r} {what} file in {history.relative_to(paths.root).as_posix()}/; "
        f"candidates:\n  {shown}"
    )


def record_score(paths: Paths, submission: str, score: float) -> None:
    """Write the public leaderboard ``score`` of an archived submission into the registry."""
    if not math.isfinite(score):
        raise ChemChallengeError(f"record-score: {score!r} is not a finite number")
    if not Path(submission.strip()).name:
        raise ChemChallengeError(
            f"record-score: {submission!r} names no file: give a file name (or a unique "
            "prefix) in submissions/history/"
        )
    target = resolve_submission(paths, submission)
    rel = target.relative_to(paths.root).as_posix()
    with _locked(paths):
        df = read_registry(paths)
        rows = df.index[df["file"].map(lambda f: Path(f).name) == target.name]
        if len(rows):
            df.loc[rows[-1], "leaderboard_score"] = f"{score:.10g}"
        else:  # archived by hand or before the registry existed: add its row
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            row = dict.fromkeys(REGISTRY_COLUMNS, "")
            row.update(
                time=datetime.now(UTC).isoformat(timespec="seconds"),
                file=rel,
                sha256=digest,
                leaderboard_score=f"{score:.10g}",
                note="row added by record-score",
            )
            df = pd.concat([df, pd.DataFrame([row], dtype=str)], ignore_index=True)
        _write(paths, df)
    where = registry_path(paths).relative_to(paths.root).as_posix()
    print(f"record-score: {rel}: leaderboard score {score:g} recorded in {where}")
