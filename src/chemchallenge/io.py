"""Atomic file writes and small readers shared by the stages."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from chemchallenge.errors import InputError, MissingInputError


def _umask() -> int:
    """The process umask (read from /proc on Linux, else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    return 0o666 & ~_umask()


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary sibling and an atomic rename: a reader never sees
    half a file, and an interrupted write leaves the old file (or none). The file gets the
    mode of an ordinary new file (umask-respecting, e.g. group-readable), not mkstemp's 0600."""
    path = Path(path)
    if path.is_dir():
        raise InputError(str(path), "is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (NaN becomes null)."""

    def _w(p: Path) -> None:
        p.write_text(json.dumps(_clean(obj), indent=2, sort_keys=False) + "\n")

    atomic_write(path, _w)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:  # NaN
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return _clean(obj.item())
    return obj


def read_json(path: Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: not found (run the stage that writes it first)")
    return json.loads(path.read_text())


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    """Write a DataFrame to parquet atomically, without its index."""
    atomic_write(path, lambda p: df.to_parquet(p, index=False))


def read_parquet(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: not found (run the stage that writes it first)")
    return pd.read_parquet(path)


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write(path, lambda p: df.to_csv(p, index=False))
