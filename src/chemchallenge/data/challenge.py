"""Reading the Challenge Data layout: X_train.csv, y_train.csv, X_test.csv.

Every cell is read as text so that IDs keep their exact spelling in the submission;
column names are taken from params.yaml or detected.
"""

from __future__ import annotations

import csv
import io
import re
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


#: column names that mark a saved pandas index (``df.to_csv()`` without ``index=False``)
_INDEX_NAME = re.compile(r"^(|Unnamed: \d+|level_0)$")


def read_csv_text(path: Path, missing: str = "see data/challenge/README.md") -> pd.DataFrame:
    """Read a CSV with every cell as the exact text of the file ('' for empty cells).

    The header is read as written (no renaming of duplicates), and the file is refused
    with one message naming it, the line and the fix when it is not a comma-separated UTF-8
    table with one named column per field: a directory, undecodable bytes, a
    ``;``/tab-separated file, an unnamed or pandas-index column (``Unnamed: 0``), a
    duplicate column name, or a line with a different number of fields (a truncated line).
    Blank lines are skipped; a UTF-8 byte-order mark is dropped."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(file, f"file not found ({missing})")
    if not path.is_file():
        raise InputError(file, "is a directory, not a CSV file: give the path of the file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            file,
            f"not a readable CSV file: byte {err.start} is not UTF-8 text; save it as a UTF-8 CSV",
        ) from err
    except OSError as err:
        raise InputError(file, f"cannot be read: {err.strerror or err}") from err
    if "\x00" in text:
        raise InputError(file, "not a readable CSV file: it contains NUL bytes (a binary file?)")
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as err:
        raise InputError(file, f"not a readable CSV file: line {reader.line_num}: {err}") from err
    if not rows:
        raise InputError(file, "is empty: expected a header line and data rows")
    header = [c.strip() for c in rows[0][1]]
    data = rows[1:]
    if header and not header[-1] and all(len(r) == len(header) and not r[-1] for _, r in data):
        raise InputError(
            file,
            f"column {len(header)} has no name and no values (a comma at the end of every "
            "line?): remove the trailing commas",
        )
    _check_header_names(header, file)
    if not data:
        raise InputError(file, "has no data rows (only a header line)")
    bad = [f"line {n} ({len(r)} fields)" for n, r in data if len(r) != len(header)]
    if bad:
        raise InputError(
            file,
            f"lines with a number of fields other than the header's {len(header)} "
            "(truncated or broken lines, or a separator inside an unquoted cell)",
            bad,
        )
    return pd.DataFrame([r for _, r in data], columns=header, dtype=str)


def _check_header_names(header: list[str], file: str) -> None:
    if len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in header[0]:
                raise InputError(
                    file,
                    f"fields are separated by {name} (header {header[0]!r}): the challenge "
                    "files are comma-separated; save the file as CSV with commas",
                )
    numeric = [n for n in header if _is_number(n)]
    if header and (_is_number(header[0]) or (len(header) > 1 and len(numeric) == len(header) - 1)):
        raise InputError(
            file,
            f"the first line looks like data, not a header (column names {numeric[:4]} are "
            "numbers): add the header line (e.g. ID,SMILES or ID,<targets>) as the challenge "
            "files have",
        )
    for k, name in enumerate(header, start=1):
        if _INDEX_NAME.match(name):
            what = "has no name" if not name else f"is named {name!r}"
            raise InputError(
                file,
                f"column {k} {what}: a saved pandas index? remove that column "
                "(write the file with df.to_csv(path, index=False))",
            )
    dup = sorted({n for n in header if header.count(n) > 1})
    if dup:
        raise InputError(
            file, f"duplicate column name(s) {dup} in the header: every column needs its own name"
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_smiles(text: str) -> bool:
    if not text or text.lower() in ("smiles", "canonical_smiles", "smi"):
        return False
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text)
    return mol is not None and mol.GetNumAtoms() > 0


def check_header(
    df: pd.DataFrame, file: str, id_col: str, smiles_col: str | None, targets: list[str]
) -> None:
    """A first line that parses as data (a numeric ID column name, a SMILES column named by
    a SMILES, only numeric target names) means the file has no header: pandas would have
    silently taken a molecule as the column names and lost it."""
    what = None
    if _is_number(id_col):
        what = f"the ID column is named {id_col!r}, a number"
    elif smiles_col is not None and _is_smiles(smiles_col):
        what = f"the SMILES column is named {smiles_col!r}, a molecule"
    elif targets and all(_is_number(t) for t in targets):
        what = f"the target columns are named {targets}, numbers"
    if what:
        cols = [id_col, "SMILES"] if smiles_col is not None else [id_col, "<targets>"]
        raise InputError(
            file,
            f"the first line looks like data, not a header ({what}): add the header line "
            f"(e.g. {','.join('ID' if c == id_col else c for c in cols)}) as the challenge "
            "files have",
        )


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
