"""Unit tests of the report's readers, diagnostics and sentences (no figure is drawn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemchallenge.config import build_section
from chemchallenge.errors import ConfigError
from chemchallenge.paths import Paths
from chemchallenge.report.context import Context, ReportConfig, read_curves, read_tsv_curve
from chemchallenge.report.figures_models import curves_sentence, diagnose
from chemchallenge.report.items import fmt
from chemchallenge.report.render import inline_md
from chemchallenge.report.tuning import _weights_frame
from chemchallenge.report.words import sentences
from support.params import config_with, report_config


def _tsv(path: Path, name: str, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame({"timestamp": 0, "step": np.arange(len(values)), name: values})
    df.to_csv(path, sep="\t", index=False)


def test_report_config_parses_and_rejects_unknown_keys() -> None:
    rc = report_config(tsne=False, title="T", author="A")
    assert rc.tsne is False and rc.title == "T" and rc.max_molecules_drawn > 0
    assert rc.team == "A" and rc.dpi >= 200
    rc = report_config(authors=["Ada", "Alan"])
    assert rc.team == "Ada, Alan"
    with pytest.raises(ConfigError, match="unknown key"):
        report_config(tnse=True)
    with pytest.raises(ConfigError, match=r"report.dpi: missing from params.yaml"):
        build_section(ReportConfig, {"title": "T"}, "report")


def test_read_tsv_curve_is_defensive(tmp_path: Path) -> None:
    good = tmp_path / "val_loss.tsv"
    _tsv(good, "val_loss", np.array([3.0, 2.0, 1.0]))
    df = read_tsv_curve(good)
    assert df is not None and list(df.columns) == ["step", "value"]
    assert df["value"].tolist() == [3.0, 2.0, 1.0]
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    assert read_tsv_curve(empty) is None
    assert read_tsv_curve(tmp_path / "missing.tsv") is None
    no_step = tmp_path / "no_step.tsv"
    no_step.write_text("loss\n1.0\nabc\n0.5\n")
    df = read_tsv_curve(no_step)
    assert df is not None and df["value"].tolist() == [1.0, 0.5]


def test_read_curves_per_fold_and_nested_names(tmp_path: Path) -> None:
    base = tmp_path / "dvclive" / "mlp"
    _tsv(base / "fold_0/plots/metrics/train_loss.tsv", "train_loss", np.ones(4))
    _tsv(base / "fold_0/plots/metrics/val/loss.tsv", "val/loss", np.ones(4))
    _tsv(base / "fold_1/plots/metrics/val_loss.tsv", "val_loss", np.ones(3))
    (base / "fold_x").mkdir()
    curves = read_curves(base)
    assert sorted(curves) == [0, 1]
    assert set(curves[0]) == {"train_loss", "val_loss"}
    assert read_curves(tmp_path / "absent") == {}


def _curves(val: np.ndarray, train: np.ndarray) -> dict[int, dict[str, pd.DataFrame]]:
    step = np.arange(len(val))
    return {
        0: {
            "train_loss": pd.DataFrame({"step": step, "value": train}),
            "val_loss": pd.DataFrame({"step": step, "value": val}),
        }
    }


def test_diagnose_tells_over_fitting_still_improving_instability_and_plateau() -> None:
    ep = np.arange(30.0)
    train = 1 / (1 + 0.3 * ep)
    over = diagnose(_curves(train + 0.002 * (ep - 10) ** 2 + 0.1, train))
    assert over is not None and over["verdict"] == "over-fitting"
    assert 10 <= over["best_epoch"] <= 16 and over["rise"] > 0.5
    assert "over-fitting" in curves_sentence("mlp", over)
    under = diagnose(_curves(train + 0.05, train))
    assert under is not None and under["verdict"] == "still improving"
    said = curves_sentence("mlp", under)
    assert "still falling" in said and "over-fitting" not in said.replace("not over-fitting", "")
    # oscillating around a flat level: instability, not over-fitting
    wobble = 0.5 + 0.08 * np.where(ep % 2 == 0, 1.0, -1.0)
    unstable = diagnose(_curves(wobble, train))
    assert unstable is not None and unstable["verdict"] == "unstable"
    assert "oscillates" in curves_sentence("gin", unstable)
    flat = diagnose(_curves(np.r_[np.linspace(1, 0.5, 10), np.full(20, 0.5)], train))
    assert flat is not None and flat["verdict"] == "flat"
    # validation below training loss is explained, not left as a puzzle
    below = diagnose(_curves(train * 0.8, train))
    assert below is not None and "below the training loss" in curves_sentence("cnn", below)
    assert diagnose({0: {"train_loss": pd.DataFrame({"step": [0], "value": [1.0]})}}) is None


def test_weights_frame_shapes() -> None:
    flat = _weights_frame({"rf": 0.4, "xgb": 0.6})
    assert flat is not None and flat["weight"].to_dict() == {"rf": 0.4, "xgb": 0.6}
    nested = _weights_frame({"weights": {"Y1": {"rf": 1.0}, "Y2": {"rf": 0.5, "xgb": 0.5}}})
    assert nested is not None and set(nested.columns) == {"Y1", "Y2"}
    assert _weights_frame("nonsense") is None and _weights_frame({}) is None


def test_fmt_and_inline_markup() -> None:
    assert fmt(None) == "" and fmt(float("nan")) == "–" and fmt(3) == "3"
    assert fmt(0.12345) == "0.123" and fmt(np.int64(7)) == "7" and fmt("x") == "x"
    html = str(inline_md("run `chemchallenge train` <b>now</b>"))
    assert "<code>chemchallenge train</code>" in html and "<b>" not in html


def test_sentences_without_any_output_give_only_generic_limits(tmp_path: Path) -> None:
    ctx = Context(cfg=report_config(), paths=Paths(tmp_path), featurizers={}, ad_threshold=0.35)
    words = sentences(ctx, {})
    assert words["models"] == [] and words["data"] == [] and words["summary"] == []
    assert any("ensemble" in s for s in words["limits"])
    assert any("tuned" in s for s in words["limits"])


def test_generation_table_frames_selfies_validity_and_sentences_cite_sensible(
    tmp_path: Path,
) -> None:
    from chemchallenge.report.figures_gen import _metrics_table
    from chemchallenge.report.items import Table
    from chemchallenge.report.words import generation_sentences

    gen = {
        "vae": {"validity": 1.0, "sensible": 0.77, "uniqueness": 1.0, "fcd": 20.3},
        "baseline": {"validity": 0.04, "sensible": 0.0, "uniqueness": 1.0, "fcd": 28.7},
        "floor": {"validity": 1.0, "sensible": 0.97, "uniqueness": 1.0, "fcd": 10.1},
        "info": {"representation": "selfies", "timings": {"total_s": 1.0}},
    }
    ctx = Context(
        cfg=report_config(),
        paths=Paths(tmp_path),
        featurizers={},
        ad_threshold=0.35,
        generation=gen,
    )
    facts: dict = {}
    table = _metrics_table(ctx, facts)
    assert isinstance(table, Table) and "SELFIES" in table.caption
    assert table.columns == ["metric", "vae", "baseline", "floor"]
    said = generation_sentences(ctx, facts)
    assert [s.split(":")[0] for s in said] == ["vae", "baseline", "floor"]
    assert "sensible 0.770" in said[0] and "FCD 20.3" in said[0]
    # the floor is a reference, not a bound: the VAE beats it on no metric here
    assert "not" not in said[2] and "beaten" not in said[2] and "reference" in said[2]
    gen["info"] |= {"representation": "kekule", "constrained": True}
    caption = _metrics_table(ctx, {}).caption
    assert "SELFIES" not in caption and "valence constraints" in caption


def test_context_reads_the_generation_record_and_the_candidates_stage(tmp_path: Path) -> None:
    import json

    from chemchallenge.report.context import load_context
    from chemchallenge.report.figures_gen import _candidates
    from chemchallenge.report.items import Note
    from chemchallenge.report.words import generation_sentences

    paths = Paths(tmp_path)
    paths.generated.mkdir(parents=True)
    paths.candidates.mkdir(parents=True)
    record = {"vae": {"validity": 0.9}, "info": {"seed": 0}}
    paths.generation_scores.write_text(json.dumps(record))
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "generation.json").write_text(json.dumps({"vae": {"validity": 0.1}}))
    status = {"status": "ok", "n_candidates": 3, "n_in_domain": 2, "objectives": {"y": "maximize"}}
    (paths.candidates / "guided.json").write_text(json.dumps(status))
    pd.DataFrame({"smiles": ["CCO"], "desirability": [1.0]}).to_csv(
        paths.candidates / "candidates.csv", index=False
    )
    ctx = load_context(config_with(), paths)
    assert ctx.generation == {"vae": {"validity": 0.9}, "info": {"seed": 0, "guided": status}}
    assert ctx.candidates is not None and ctx.candidates["smiles"].tolist() == ["CCO"]
    facts = {"generation": pd.DataFrame({"vae": {"validity": 0.9}})}
    said = generation_sentences(ctx, facts)
    assert said[-1].startswith("3 property-guided candidate(s), 2 within the applicability")
    skipped = {"status": "skipped: models/baseline/estimators.pt not found"}
    (paths.candidates / "guided.json").write_text(json.dumps(skipped))
    pd.DataFrame(columns=["smiles", "desirability"]).to_csv(
        paths.candidates / "candidates.csv", index=False
    )
    ctx = load_context(config_with(), paths)
    note = _candidates(ctx, None)  # type: ignore[arg-type]  # nothing is drawn
    assert isinstance(note, Note) and "skipped: models/baseline/estimators.pt" in note.text
    assert len(generation_sentences(ctx, facts)) == 1


def test_strict_mode_raises_what_is_otherwise_a_note(monkeypatch) -> None:
    from chemchallenge.report.items import Note, Section, safe

    def broken() -> None:
        raise ValueError("figure exploded")

    monkeypatch.delenv("CHEMCHALLENGE_STRICT", raising=False)
    section = Section("s", "S")
    assert safe(section, "the broken figure", broken) is None
    assert any(isinstance(i, Note) and "figure exploded" in i.text for i in section.items)
    monkeypatch.setenv("CHEMCHALLENGE_STRICT", "1")
    with pytest.raises(ValueError, match="figure exploded"):
        safe(Section("s", "S"), "the broken figure", broken)


def test_importing_the_report_leaves_matplotlib_alone() -> None:
    """The style is applied by ``report_style`` while a report is built, never at import."""
    import subprocess
    import sys

    code = (
        "import matplotlib; before = dict(matplotlib.rcParams); "
        "import chemchallenge.report.render, chemchallenge.stages.report; "
        "after = dict(matplotlib.rcParams); "
        "changed = sorted(k for k in before if before[k] != after[k]); "
        "assert not changed, changed"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_style_applies_and_restores() -> None:
    import matplotlib

    from chemchallenge.report.style import STYLE, report_style

    before = dict(matplotlib.rcParams)
    with report_style():
        assert matplotlib.get_backend().lower() == "agg"
        assert all(matplotlib.rcParams[k] == v for k, v in STYLE.items())
    assert dict(matplotlib.rcParams) == before
