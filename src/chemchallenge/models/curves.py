"""Learning curves of a network's fold models as DVC plots.

DVCLive writes one TSV per metric and fold (``dvclive/<model>/fold_<k>/plots/metrics/``).
:func:`write_fold_curves` joins each fold's training and validation loss into
``fold_<k>/curves.csv`` (epoch, train_loss, val_loss), the files dvc.yaml's plot of the model
draws together: one plot per model, a train and a validation line per fold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from chemchallenge.io import write_csv

CURVES_FILE = "curves.csv"
LOSSES = ("train_loss", "val_loss")


def read_tsv_curve(path: Path) -> pd.DataFrame | None:
    """A DVCLive metric file as (step, value); ``None`` when it cannot be read."""
    try:
        df = pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None
    cols = [c for c in df.columns if c not in ("timestamp", "step")]
    if df.empty or not cols:
        return None
    step = df["step"] if "step" in df.columns else pd.Series(np.arange(len(df)))
    value = pd.to_numeric(df[cols[-1]], errors="coerce")
    out = pd.DataFrame({"step": pd.to_numeric(step, errors="coerce"), "value": value})
    return out.dropna().reset_index(drop=True)


def fold_curve_file(folder: Path, fold: int) -> Path:
    return folder / f"fold_{fold}" / CURVES_FILE


def write_fold_curves(folder: Path) -> list[Path]:
    """``fold_<k>/curves.csv`` for every fold folder under ``folder`` with a loss curve."""
    written = []
    for fold_dir in sorted(folder.glob("fold_*")):
        series = {}
        for loss in LOSSES:
            df = read_tsv_curve(fold_dir / "plots" / "metrics" / f"{loss}.tsv")
            if df is not None:
                series[loss] = df.set_index("step")["value"]
        if not series:
            continue
        table = pd.DataFrame(series).rename_axis("epoch").reset_index()
        table["epoch"] = table["epoch"].astype(int)
        path = fold_dir / CURVES_FILE
        write_csv(path, table)
        written.append(path)
    return written
