"""Building blocks of the report: sections made of texts, notes, tables and figures.

Figures are written to ``reports/figures/<name>.png`` and kept base64-encoded so that
the HTML files embed them (self-contained, no network).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

log = logging.getLogger(__name__)


@dataclass
class Figure:
    name: str
    title: str
    caption: str
    b64: str
    kind: str = "figure"

    @property
    def src(self) -> str:
        return f"data:image/png;base64,{self.b64}"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    kind: str = "table"


@dataclass
class Text:
    text: str
    kind: str = "text"


@dataclass
class Note:
    """A grey box: what is missing and which stage to run, or a caveat."""

    text: str
    kind: str = "note"


@dataclass
class Heading:
    text: str
    kind: str = "heading"


Item = Figure | Table | Text | Note | Heading


@dataclass
class Section:
    key: str
    title: str
    items: list[Item] = field(default_factory=list)

    def add(self, item: Item | None) -> None:
        if item is not None:
            self.items.append(item)

    @property
    def figures(self) -> list[Figure]:
        return [i for i in self.items if isinstance(i, Figure)]


class FigureStore:
    """Saves figures as PNG files and remembers them by name."""

    def __init__(self, folder: Path, dpi: int = 100) -> None:
        self.folder = Path(folder)
        self.dpi = dpi
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):  # stale figures of an earlier build
            old.unlink()
        self.by_name: dict[str, Figure] = {}

    def png(self, data: bytes, name: str, title: str, caption: str = "") -> Figure:
        (self.folder / f"{name}.png").write_bytes(data)
        fig = Figure(name, title, caption, base64.b64encode(data).decode("ascii"))
        self.by_name[name] = fig
        return fig

    def save(self, fig: Any, name: str, title: str, caption: str = "") -> Figure:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=self.dpi, bbox_inches="tight")
        plt.close(fig)
        return self.png(buf.getvalue(), name, title, caption)

    def get(self, name: str) -> Figure | None:
        return self.by_name.get(name)


def strict() -> bool:
    """``CHEMCHALLENGE_STRICT=1`` (CI sets it): a part of the report that fails stops the
    report stage instead of becoming a note."""
    return os.environ.get("CHEMCHALLENGE_STRICT", "").lower() in ("1", "true", "yes")


def safe(section: Section, what: str, build: Callable[[], Any]) -> Any:
    """Run one part of a section; an unexpected error becomes a note, not a crash (in
    :func:`strict` mode it is raised)."""
    try:
        result = build()
    except Exception as err:
        if strict():
            raise
        plt.close("all")
        log.warning("report: %s failed: %s\n%s", what, err, traceback.format_exc())
        section.add(Note(f"{what} could not be built: {type(err).__name__}: {err}"))
        return None
    if isinstance(result, Figure | Table | Text | Note | Heading):
        section.add(result)
    elif isinstance(result, list):
        for item in result:
            section.add(item)
    return result


def fmt(x: Any, digits: int = 3) -> str:
    """A number for tables and sentences (``–`` for missing)."""
    if x is None:
        return ""
    if isinstance(x, bool | str):
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if v != v or v in (float("inf"), float("-inf")):
        return "–"
    if isinstance(x, int) or type(x).__name__.startswith(("int", "uint")):
        return str(int(v))
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-2):
        return f"{v:.{digits}g}"
    return f"{v:.{digits}f}"


def sig(x: Any, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits (``–`` for missing)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if v != v or v in (float("inf"), float("-inf")):
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 10**digits:
        return f"{v:.0f}"
    out = f"{v:#.{digits}g}"
    if "e" not in out:
        out = out.rstrip(".")
    return out


def signed(x: Any, digits: int = 3) -> str:
    """``sig`` with an explicit sign (``+0.0123``, ``−0.5``)."""
    s = sig(x, digits)
    if s in ("–", "0"):
        return s
    return s.replace("-", "−") if s.startswith("-") else "+" + s


def grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.0, 3.2)) -> tuple[Any, list[Any]]:
    """A figure with ``n`` panels (extra axes hidden)."""
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size[0] * ncols, size[1] * nrows),
        squeeze=False,
        layout="constrained",
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def short(labels: Sequence[str], n: int = 18) -> list[str]:
    return [s if len(s) <= n else s[: n - 1] + "…" for s in labels]
