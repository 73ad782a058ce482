"""Build the figures and sentences, then render ``report.html`` and ``slides.html``."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup, escape

from chemchallenge.config import Config
from chemchallenge.io import write_text
from chemchallenge.paths import Paths
from chemchallenge.report.approach import REFERENCES, approach_section, short_reference
from chemchallenge.report.context import Context, load_context
from chemchallenge.report.figures_data import data_section
from chemchallenge.report.figures_errors import errors_section
from chemchallenge.report.figures_gen import generation_section, submissions_section
from chemchallenge.report.figures_models import models_section
from chemchallenge.report.interpret import interpret_section
from chemchallenge.report.items import FigureStore, Section, Table, Text
from chemchallenge.report.slides import build_slides
from chemchallenge.report.style import report_style
from chemchallenge.report.words import sentences

#: section key -> topics of :func:`words.sentences` printed at its top ("In words")
SECTION_WORDS = {
    "data": ["data"],
    "approach": ["approach"],
    "models": ["models", "overfitting"],
    "errors": ["errors", "metric"],
    "interpretation": ["interpretation"],
    "generation": ["generation"],
    "submissions": ["submissions"],
}


@dataclass
class BuildResult:
    report: Path
    slides: Path
    figures: list[Path]
    seconds: dict[str, float] = field(default_factory=dict)
    n_slides: int = 0
    slide_words: int = 0  # words on the slides (titles, bullets, tables)
    note_words: int = 0  # words in the speaker notes


def inline_md(text: Any) -> Markup:
    """Escape, then render `code` spans (the only markup sentences use)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(str(text)))))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("chemchallenge", "report/templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = inline_md
    return env


def _subtitle(ctx: Context) -> str:
    if ctx.task is None:
        return "chemchallenge report"
    t = ctx.task
    return f"{t.task_type} task · {', '.join(t.targets)} · metric {t.metric}"


def build(cfg: Config, paths: Paths) -> BuildResult:
    """Build the report in its figure style (:func:`report_style`); BLAS/OpenMP pools are
    limited to one thread (t-SNE's OpenMP threads spin on a shared machine: 8x slower with
    two threads on two busy cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), report_style():
        return _build(cfg, paths)


def _build(cfg: Config, paths: Paths) -> BuildResult:
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    ctx = load_context(cfg, paths)
    seconds["load"] = time.perf_counter() - t0
    store = FigureStore(paths.reports / "figures", ctx.cfg.dpi)
    facts: dict[str, Any] = {}
    sections: list[Section] = []
    for key, builder in (
        ("data", data_section),
        ("models", models_section),
        ("errors", errors_section),
        ("interpretation", interpret_section),
        ("generation", generation_section),
        ("submissions", submissions_section),
    ):
        t = time.perf_counter()
        sections.append(builder(ctx, store, facts))
        seconds[key] = time.perf_counter() - t
    sections.insert(1, approach_section(ctx, facts))
    for i, sec in enumerate(sections, 1):  # numbered in reading order
        sec.title = f"{i}. {sec.title.split('. ', 1)[-1]}"
    words = sentences(ctx, facts)
    words["approach"] = list(facts.get("approach") or [])
    submitted = [s for s in words["approach"] if s.startswith("Submitted")]
    words["summary"] = list(dict.fromkeys(words["summary"][:5] + submitted + words["summary"][5:]))
    for sec in sections:
        said = [s for topic in SECTION_WORDS.get(sec.key, []) for s in words[topic]]
        if said:
            sec.items.insert(0, Text("In words: " + " ".join(said)))
    model_table = next(
        (i for s in sections if s.key == "models" for i in s.items if isinstance(i, Table)), None
    )
    now = datetime.now().strftime("%Y-%m-%d %H:%M")
    title, author, subtitle = ctx.cfg.title, ctx.cfg.team, _subtitle(ctx)
    env = environment()
    t = time.perf_counter()
    report_html = env.get_template("report.html").render(
        title=title,
        author=author,
        subtitle=subtitle,
        date=now,
        summary=words["summary"],
        limits=words["limits"],
        sections=sections,
        references=REFERENCES,
    )
    deck = build_slides(
        store, words, title, subtitle, model_table, _slide_extra(ctx, store, sections, facts)
    )
    slides_html = env.get_template("slides.html").render(
        title=title, author=author, date=now, slides=deck
    )
    report_path, slides_path = paths.reports / "report.html", paths.reports / "slides.html"
    for path, html in ((report_path, report_html), (slides_path, slides_html)):
        write_text(path, html)
        path.chmod(0o644)  # mkstemp's 0600 would keep them from others' browsers
    seconds["render"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    figures = [store.folder / f"{n}.png" for n in store.by_name]
    return BuildResult(
        report_path,
        slides_path,
        figures,
        seconds,
        len(deck),
        sum(s.words_on_slide for s in deck),
        sum(s.words_in_notes for s in deck),
    )


def _slide_extra(
    ctx: Context, store: FigureStore, sections: list[Section], facts: dict[str, Any]
) -> dict[str, Any]:
    approach = next(
        (i for s in sections if s.key == "approach" for i in s.items if isinstance(i, Table)),
        None,
    )
    if approach is not None:  # model, inputs, hyper-parameters, weight
        keep = [0, 2, 3, 4]
        approach = Table(
            approach.title,
            [approach.columns[i] for i in keep],
            [[r[i] for i in keep] for r in approach.rows],
        )
    task = ""
    if ctx.task is not None:
        t = ctx.task
        task = (
            f"predict {', '.join(t.targets)} ({t.task_type}) for molecules given as SMILES, "
            f"scored by {t.metric}"
        )
    # the network to show: the most weighted one, else the first; its verdict decides nothing
    nets = [r for r in ctx.models if r.curves]
    curve = None
    if nets:
        top = max(nets, key=lambda r: np.nan_to_num(ctx.weight(r.name), nan=0.0))
        curve = f"curves_{top.name}"
    return {
        "team": ctx.cfg.team,
        "task": task,
        "approach_table": approach,
        "references": [short_reference(r) for r in REFERENCES],
        "classification": ctx.task is not None and ctx.task.task_type != "regression",
        "curve": curve,
        "effects_figures": list(facts.get("effects_figures") or []),
    }
