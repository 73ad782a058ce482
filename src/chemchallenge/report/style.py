"""The report's figure style, applied while the report is built (never at import time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib

#: rcParams of every report figure
STYLE = {
    "figure.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
}
#: matplotlib's default colour cycle (tab10), indexed by the figures
COLORS: list[str] = list(matplotlib.rcParamsDefault["axes.prop_cycle"].by_key()["color"])


@contextmanager
def report_style() -> Iterator[None]:
    """Draw with the non-interactive Agg backend and :data:`STYLE`; the caller's rcParams
    and backend are restored afterwards."""
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    if backend.lower() != "agg":
        plt.switch_backend("Agg")
    try:
        with matplotlib.rc_context(STYLE):
            yield
    finally:
        if backend.lower() != "agg":
            plt.switch_backend(backend)
