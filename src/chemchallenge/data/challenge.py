"""Reading the Challenge Data layout: X_train.csv, y_train.csv, X_test.csv.

Every cell is read as text so that IDs keep their exact spelling in the submission;
column names are taken from params.yaml or detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rdkit import Chem, rdBase

from chemchallenge.config import DataConfig
from chemchallenge.errors import InputError


@dataclass
class RawChallenge:
    """The three tables as text, plus the names they came from (for messages)."""

    x_train: pd.DataFrame
    y_train: pd.DataFrame
    x_test: pd.DataFrame
    names: dict[str, str]  # role ("x_train", ...) -> file name shown in messages


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a CSV with every cell as a string ('' for empty cells)."""
    if not path.exists():
        raise InputError(str(path), "file not found (see data/challenge/README.md)")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(str(path), f"not a readable CSV file: {err}") from err
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise InputError(str(path), "has no data rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_challenge(cfg: DataConfig, root: Path = Path(".")) -> RawChallenge:
    """Read the three files from ``cfg.challenge_dir`` (relative to the project ``root``)."""
    folder = Path(cfg.challenge_dir)
    if not folder.is_absolute() and root != Path("."):
        folder = root / folder
    files = {"x_train": cfg.x_train, "y_train": cfg.y_train, "x_test": cfg.x_test}
    tables = {role: read_csv_text(folder / name) for role, name in files.items()}
    names = {role: str(folder / name) for role, name in files.items()}
    return RawChallenge(**tables, names=names)


def detect_id_column(df: pd.DataFrame, configured: str, file: str) -> str:
    if configured != "auto":
        if configured not in df.columns:
            raise InputError(
                file, f"ID column {configured!r} not found; columns: {list(df.columns)}"
            )
        return configured
    for col in df.columns:
        low = col.lower()
        if low == "id" or low.endswith("_id") or low == "identifier":
            return col
    return str(df.columns[0])


def _parse_rate(values: pd.Series) -> float:
    sample = values.head(50)
    with rdBase.BlockLogs():
        ok = sum(Chem.MolFromSmiles(v) is not None for v in sample if isinstance(v, str) and v)
    return ok / max(len(sample), 1)


def detect_smiles_column(df: pd.DataFrame, configured: str, id_col: str, file: str) -> str:
    if configured != "auto":
        if configured not in df.columns:
            raise InputError(
                file, f"SMILES column {configured!r} not found; columns: {list(df.columns)}"
            )
        return configured
    for col in df.columns:
        if col.lower() in ("smiles", "canonical_smiles", "smi"):
            return col
    candidates = [c for c in df.columns if c != id_col]
    rates = {c: _parse_rate(df[c]) for c in candidates}
    best = max(rates, key=lambda c: rates[c], default=None)
    if best is None or rates[best] < 0.5:
        raise InputError(
            file,
            "no SMILES column found (set data.smiles_column in params.yaml); "
            f"columns: {list(df.columns)}",
        )
    return best


def detect_targets(
    y: pd.DataFrame, configured: list[str] | str, id_col: str, file: str
) -> list[str]:
    if configured == "auto":
        targets = [c for c in y.columns if c != id_col]
    else:
        targets = [configured] if isinstance(configured, str) else list(configured)
        missing = [t for t in targets if t not in y.columns]
        if missing:
            raise InputError(
                file, f"target column(s) {missing} not found; columns: {list(y.columns)}"
            )
    if not targets:
        raise InputError(file, "no target column besides the ID column")
    return targets
