"""Everything the report reads: stage outputs only, each one optional.

:func:`load_context` never fails on a missing output: the matching attribute stays
``None`` (or empty) and the section that needs it prints a note instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.config import Config, build_section
from chemchallenge.generation.settings import GuidedParams
from chemchallenge.models.curves import read_tsv_curve
from chemchallenge.paths import Paths
from chemchallenge.tasks import TaskSpec

#: applicability domain: a molecule is *in domain* when its max Tanimoto similarity (Morgan
#: radius 2) to the training set is at least this; the one definition the predictor, the
#: model kinds whose fitted estimators hold a message-passing net on molecule graphs
GRAPH_KINDS = ("gcn", "gin", "dmpnn", "attentivefp")


@dataclass(kw_only=True)
class ReportConfig:
    """``report:`` section of params.yaml."""

    title: str
    author: str = ""  # the team's names (``authors`` as a list also works)
    authors: list[str]
    tsne: bool
    tsne_max_points: int
    max_molecules_drawn: int
    top_features: int
    morgan_bits_drawn: int
    attribution_molecules: int
    max_similarity_queries: int
    dpi: int

    @property
    def team(self) -> str:
        names = [a for a in self.authors if a] or ([self.author] if self.author else [])
        return ", ".join(names)


@dataclass
class ModelRun:
    """One trained model's outputs (``ensemble`` included)."""

    name: str
    metrics: dict[str, Any]
    concept: str = ""
    kind: str = ""
    features: list[str] = field(default_factory=list)
    oof: pd.DataFrame | None = None
    test: pd.DataFrame | None = None
    cv_scores: pd.DataFrame | None = None
    curves: dict[int, dict[str, pd.DataFrame]] = field(default_factory=dict)
    estimators_path: Path | None = None
    best_params: dict[str, Any] | None = None
    tuning_files: dict[str, Path] = field(default_factory=dict)

    @property
    def cv_mean(self) -> float:
        return float(self.metrics.get("cv_mean", np.nan))

    @property
    def cv_std(self) -> float:
        return float(self.metrics.get("cv_std", np.nan))

    @property
    def train_mean(self) -> float:
        return float(self.metrics.get("train_mean", np.nan))

    @property
    def gib(self) -> bool:
        return bool(self.metrics.get("greater_is_better", True))

    @property
    def fair(self) -> dict[str, Any]:
        """The score under the protocol every single model is scored with (thresholds 0.5,
        or no threshold): the ensemble's nested CV at 0.5, a model's plain CV otherwise;
        ``{"mean", "std", "folds"}``."""
        nested = self.metrics.get("nested_cv_at_0.5")
        if isinstance(nested, dict) and nested.get("mean") is not None:
            return {
                "mean": float(nested["mean"]),
                "std": float(nested.get("std", np.nan)),
                "folds": list(nested.get("folds") or []),
            }
        return {
            "mean": self.cv_mean,
            "std": self.cv_std,
            "folds": list(self.metrics.get("folds") or []),
        }

    @property
    def fair_mean(self) -> float:
        return float(self.fair["mean"])

    @property
    def fair_std(self) -> float:
        return float(self.fair["std"])


@dataclass
class Context:
    cfg: ReportConfig
    paths: Paths
    featurizers: dict[str, dict[str, Any]]
    ad_threshold: float  # ``generate.guided.ad_threshold``: the candidates stage's domain
    task: TaskSpec | None = None
    train: pd.DataFrame | None = None
    test: pd.DataFrame | None = None
    folds: pd.DataFrame | None = None
    prepare_report: dict[str, Any] | None = None
    holdout: pd.DataFrame | None = None
    models: list[ModelRun] = field(default_factory=list)
    not_trained: list[str] = field(default_factory=list)
    ensemble: ModelRun | None = None
    ensemble_weights: Any = None
    ensemble_thresholds: dict[str, Any] | None = None
    registry: pd.DataFrame | None = None
    generation: dict[str, Any] | None = None
    generated: pd.DataFrame | None = None
    candidates: pd.DataFrame | None = None
    generation_figures: list[Path] = field(default_factory=list)
    submitted: str = ""  # ``submit.model``: the model whose predictions are submitted
    diagnostics: dict[str, Any] | None = None  # the diagnose stage's learning curve etc.
    scaffold_folds: pd.DataFrame | None = None  # its scaffold fold per training molecule
    leaks: dict[str, dict[str, Any]] = field(default_factory=dict)  # featurizer -> leak report
    source: str = ""  # ``data.source``: demo or challenge

    @property
    def prepared(self) -> bool:
        return self.task is not None and self.train is not None

    def runs(self) -> list[ModelRun]:
        """Every model with metrics, the ensemble last."""
        return self.models + ([self.ensemble] if self.ensemble is not None else [])

    def best(self) -> ModelRun | None:
        """The run with the best score under one protocol (thresholds 0.5, nested for the
        ensemble) that has OOF predictions."""
        runs = [r for r in self.runs() if r.oof is not None and np.isfinite(r.fair_mean)]
        if not runs:
            return None
        gib = runs[0].gib
        return max(runs, key=lambda r: r.fair_mean if gib else -r.fair_mean)

    def weight(self, name: str) -> float:
        """The model's total weight in the ensemble (NaN without an ensemble)."""
        w = self.ensemble_weights
        if isinstance(w, dict) and isinstance(w.get("weights"), dict):
            w = w["weights"]
        if not isinstance(w, dict) or not w:
            w = (self.ensemble.metrics.get("weights") if self.ensemble else None) or {}
        if not isinstance(w, dict) or not w:
            return np.nan
        if name in w and isinstance(w[name], int | float):
            return float(w[name])
        vals = [abs(float(d.get(name, 0.0))) for d in w.values() if isinstance(d, dict)]
        return float(sum(vals)) if vals else 0.0

    def run(self, name: str) -> ModelRun | None:
        return next((r for r in self.runs() if r.name == name), None)

    def y(self) -> np.ndarray:
        assert self.task is not None and self.train is not None
        return self.train[self.task.targets].to_numpy(dtype=float)

    @cached_property
    def fingerprints(self) -> tuple[list[Any], list[Any]]:
        """Morgan bit vectors (radius 2, 2048 bits) of the valid train and test molecules."""
        from chemchallenge.report.chem import bitvects

        train = [] if self.train is None else bitvects(self.train["smiles"])
        test = [] if self.test is None else bitvects(self.test["smiles"])
        return train, test

    def fold_of_train(self) -> np.ndarray | None:
        if self.folds is None or self.train is None:
            return None
        fold = self.folds.set_index("id")["fold"]
        return fold.reindex(self.train["id"]).to_numpy(dtype=float)

    @cached_property
    def neighbours(self) -> pd.DataFrame:
        """For (a subsample of) the training molecules: the max Tanimoto similarity to the
        other training molecules (``loo``) and to the other folds' molecules (``cv``:
        what the fold model that predicted it was trained on)."""
        return self.neighbours_under(self.fold_of_train())

    def scaffold_fold_of_train(self) -> np.ndarray | None:
        """The diagnose stage's scaffold fold of each training molecule."""
        if self.scaffold_folds is None or self.train is None:
            return None
        fold = self.scaffold_folds.set_index("id")["fold"]
        return fold.reindex(self.train["id"]).to_numpy(dtype=float)

    def neighbours_under(self, folds: np.ndarray | None) -> pd.DataFrame:
        """:attr:`neighbours` with other folds (e.g. the scaffold split's)."""
        from rdkit import DataStructs

        fps, _ = self.fingerprints
        n = len(fps)
        rng = np.random.default_rng(0)
        k = min(n, self.cfg.max_similarity_queries)
        rows = np.sort(rng.choice(n, size=k, replace=False)) if k < n else np.arange(n)
        ok = np.array([f is not None for f in fps])
        refs = [f for f in fps if f is not None]
        ref_idx = np.flatnonzero(ok)
        loo = np.full(len(rows), np.nan)
        cv = np.full(len(rows), np.nan)
        for j, i in enumerate(rows):
            if fps[i] is None or not refs:
                continue
            sim = np.asarray(DataStructs.BulkTanimotoSimilarity(fps[i], refs))
            sim[ref_idx == i] = -1.0
            loo[j] = sim.max() if len(sim) > 1 else np.nan
            if folds is not None:
                other = folds[ref_idx] != folds[i]
                cv[j] = sim[other].max() if other.any() else np.nan
        return pd.DataFrame({"row": rows, "loo": loo, "cv": cv})


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except (OSError, ValueError):
        return None


def _parquet(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def _csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path) if path.exists() else None
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None


def read_curves(folder: Path) -> dict[int, dict[str, pd.DataFrame]]:
    """``{fold: {metric name: (step, value)}}`` from ``dvclive/<model>/fold_<k>/``."""
    curves: dict[int, dict[str, pd.DataFrame]] = {}
    if not folder.is_dir():
        return curves
    for fold_dir in sorted(folder.glob("fold_*")):
        try:
            k = int(fold_dir.name.split("_", 1)[1])
        except ValueError:
            continue
        base = fold_dir / "plots" / "metrics"
        for tsv in sorted(base.rglob("*.tsv")) if base.is_dir() else []:
            df = read_tsv_curve(tsv)
            if df is not None and len(df):
                name = tsv.relative_to(base).with_suffix("").as_posix().replace("/", "_")
                curves.setdefault(k, {})[name] = df
    return curves


def _tuning_files(paths: Paths, name: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in (paths.model_dir(name) / "tuning", paths.tuning_dir(name)):
        for f in sorted(folder.glob("*")) if folder.is_dir() else []:
            if f.suffix in (".png", ".csv") and f.name not in found:
                found[f.name] = f
    return found


def load_run(cfg: Config, paths: Paths, name: str) -> ModelRun | None:
    metrics = _json(paths.scores(name))
    if not isinstance(metrics, dict):
        return None
    mc = cfg.models.get(name)
    est = paths.estimators(name)
    return ModelRun(
        name=name,
        metrics=metrics,
        concept=mc.concept
        if mc
        else ("weighted blend of the models" if name == "ensemble" else ""),
        kind=str(metrics.get("kind", mc.kind if mc else name)),
        features=list(metrics.get("features", mc.features if mc else [])),
        oof=_parquet(paths.oof(name)),
        test=_parquet(paths.test_pred(name)),
        cv_scores=_csv(paths.curves(name) / "cv_scores.csv"),
        curves=read_curves(paths.curves(name)),
        estimators_path=est if est.exists() else None,
        best_params=_json(paths.best_params(name)),
        tuning_files=_tuning_files(paths, name),
    )


def load_context(cfg: Config, paths: Paths) -> Context:
    rc = build_section(ReportConfig, cfg.report, "report")
    # only generate.guided (dvc.yaml declares that much for the report)
    guided = build_section(GuidedParams, cfg.generate.get("guided"), "generate.guided")
    ctx = Context(
        cfg=rc,
        paths=paths,
        featurizers=dict(cfg.featurize.featurizers),
        ad_threshold=guided.ad_threshold,
    )
    ctx.submitted = str(cfg.submit.model)
    task = _json(paths.task)
    if task is not None and paths.train.exists():
        ctx.task = TaskSpec.from_dict(task)
        ctx.train = pd.read_parquet(paths.train)
        ctx.test = _parquet(paths.test)
        ctx.folds = _parquet(paths.folds)
        ctx.prepare_report = _json(paths.prepare_report)
        ctx.holdout = _parquet(paths.holdout_labels)
    for name in cfg.train.models:
        run = load_run(cfg, paths, name)
        if run is None:
            ctx.not_trained.append(name)
        else:
            ctx.models.append(run)
    ctx.ensemble = load_run(cfg, paths, "ensemble")
    ens = paths.model_dir("ensemble")
    ctx.ensemble_weights = _json(ens / "weights.json")
    ctx.ensemble_thresholds = _json(ens / "thresholds.json")
    ctx.registry = _csv(paths.submissions / "registry.csv")
    ctx.generation = _json(paths.generation_scores)
    guided = _json(paths.candidates / "guided.json")  # the candidates stage's status
    if isinstance(ctx.generation, dict) and isinstance(guided, dict):
        info = ctx.generation.get("info")
        ctx.generation["info"] = {**(info if isinstance(info, dict) else {}), "guided": guided}
    diag = _json(paths.diagnostics / "diagnostics.json")
    ctx.diagnostics = diag if isinstance(diag, dict) else None
    ctx.scaffold_folds = _parquet(paths.diagnostics / "scaffold_folds.parquet")
    for name in ctx.featurizers:
        leak = _json(paths.leak(name))
        if isinstance(leak, dict) and isinstance(leak.get("endpoints"), dict):
            ctx.leaks[name] = leak
    ctx.source = str(cfg.data.source)
    ctx.generated = _csv(paths.generated / "molecules.csv")
    ctx.candidates = _csv(paths.candidates / "candidates.csv")
    gen_figs = paths.generated / "figures"
    ctx.generation_figures = sorted(gen_figs.glob("*.png")) if gen_figs.is_dir() else []
    return ctx
