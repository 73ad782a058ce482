"""The submissions registry: archiving, and recording leaderboard scores."""

from __future__ import annotations

import pandas as pd
import pytest

from chemchallenge.errors import ChemChallengeError
from chemchallenge.paths import Paths
from chemchallenge.registry import (
    REGISTRY_COLUMNS,
    append_entry,
    archive_submission,
    read_registry,
    record_score,
)


def _sub(v: int) -> pd.DataFrame:
    return pd.DataFrame({"ID": ["1", "2"], "Y": [v, 1 - v]})


def test_archive_is_deduplicated_and_logged(tmp_path) -> None:
    paths = Paths(tmp_path)
    assert list(read_registry(paths).columns) == REGISTRY_COLUMNS
    a = archive_submission(paths, _sub(0), "xgb", "micro_f1", 0.71234567, 0.01)
    assert a.parent == tmp_path / "submissions" / "history" and a.exists()
    assert archive_submission(paths, _sub(0), "xgb") == a  # identical: not archived again
    b = archive_submission(paths, _sub(1), "rf")
    reg = read_registry(paths)
    assert len(reg) == 2 and reg["file"].tolist() == [
        f"submissions/history/{a.name}",
        f"submissions/history/{b.name}",
    ]
    assert reg.loc[0, "cv_mean"] == "0.712346" and reg.loc[1, "cv_mean"] == ""


def test_record_score_by_name_prefix_and_path(tmp_path) -> None:
    paths = Paths(tmp_path)
    a = archive_submission(paths, _sub(0), "xgb")
    b = archive_submission(paths, _sub(1), "rf")
    record_score(paths, a.name, 0.61)
    record_score(paths, b.name[:-8], 0.7)  # a unique prefix
    record_score(paths, str(a), 0.62)  # a path: the later score wins
    reg = read_registry(paths)
    assert reg["leaderboard_score"].tolist() == ["0.62", "0.7"]
    assert len(reg) == 2


def test_unknown_or_ambiguous_lists_candidates(tmp_path) -> None:
    paths = Paths(tmp_path)
    a = archive_submission(paths, _sub(0), "xgb")
    archive_submission(paths, _sub(1), "xgb")
    with pytest.raises(ChemChallengeError, match=r"matches no file(.|\n)*" + a.name):
        record_score(paths, "nope.csv", 0.5)
    with pytest.raises(ChemChallengeError, match="matches several"):
        record_score(paths, a.name[:9], 0.5)  # the timestamp prefix of both files
    with pytest.raises(ChemChallengeError, match="not a finite number"):
        record_score(paths, a.name, float("nan"))


def test_rows_are_kept_and_unknown_archives_added(tmp_path) -> None:
    paths = Paths(tmp_path)
    append_entry(paths, {"file": "submissions/history/old.csv", "note": "kept", "extra": "x"})
    manual = tmp_path / "submissions" / "history" / "manual.csv"
    manual.parent.mkdir(parents=True)
    _sub(0).to_csv(manual, index=False)
    record_score(paths, "manual", 0.5)
    reg = read_registry(paths)
    assert reg["file"].tolist() == ["submissions/history/old.csv", "submissions/history/manual.csv"]
    assert reg.loc[0, "note"] == "kept" and reg.loc[1, "leaderboard_score"] == "0.5"
    assert len(reg.loc[1, "sha256"]) == 64
