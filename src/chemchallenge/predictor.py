"""Predict new molecules with the trained models (``chemchallenge predict``).

The predictor repeats what the pipeline did to the challenge molecules: standardise
(as in prepare), featurise with the same featurizers, impute missing values with the
training medians and keep the columns the models were trained on (as the feature store
does), then average the fold models; for ``ensemble`` the members' means are combined
with ``ensemble/weights.json``. Each prediction comes with its spread across the
fold models (and ensemble members) and with the similarity to the training set::

    predictor = load_predictor(paths, cfg)          # submit.model by default
    df = predictor.predict(["CCO", "c1ccccc1O"])    # one row per SMILES
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator

from chemchallenge.config import Config
from chemchallenge.data.challenge import check_header, detect_smiles_column, read_csv_text
from chemchallenge.data.standardize import Standardizer, parse_smiles
from chemchallenge.ensemble.weights import Combiner, combiner_from_dict
from chemchallenge.errors import InputError, MissingInputError
from chemchallenge.io import read_json, read_parquet, write_csv
from chemchallenge.models.base import ModelInput
from chemchallenge.paths import Paths
from chemchallenge.tasks import TaskSpec

#: max Tanimoto similarity to the training set (Morgan r2, 2048 bits) to count as in domain
IN_DOMAIN = 0.35
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@dataclass
class Member:
    """One trained model: its fold estimators and the feature columns they expect."""

    name: str
    features: list[str]
    estimators: list[Any]
    columns: list[str] = field(default_factory=list)


def _load_member(cfg: Config, paths: Paths, name: str) -> Member:
    from chemchallenge.models.persist import load_estimators

    path = paths.estimators(name)
    if not path.exists():
        raise MissingInputError(f"{path} not found: run train-{name} (dvc repro) first")
    mc = cfg.model(name)
    columns: list[str] = []
    if mc.features:
        from chemchallenge.features.store import load_features

        columns = load_features(paths, mc.features).names
    estimators = load_estimators(path, name)
    return Member(name, list(mc.features), list(estimators), columns)


class Predictor:
    """Scores SMILES with one model (or the ensemble); see :func:`load_predictor`."""

    def __init__(
        self,
        cfg: Config,
        paths: Paths,
        task: TaskSpec,
        members: list[Member],
        combiner: Combiner | None = None,
        name: str = "",
    ) -> None:
        self.cfg, self.paths, self.task = cfg, paths, task
        self.members, self.combiner, self.name = members, combiner, name
        self.standardizer = Standardizer(cfg.prepare.standardize)
        self._medians: dict[str, tuple[list[str], np.ndarray]] = {}
        train_smiles = read_parquet(paths.train)["smiles"].tolist()
        self._train_fps = [fp for fp in map(_fingerprint, train_smiles) if fp is not None]

    def _train_medians(self, featurizer: str) -> tuple[list[str], np.ndarray]:
        if featurizer not in self._medians:
            df = read_parquet(self.paths.features(featurizer))
            cols = [c for c in df.columns if c not in ("split", "id")]
            train = df.loc[df["split"] == "train", cols].to_numpy(np.float64)
            med = np.zeros(len(cols))
            seen = ~np.isnan(train).all(axis=0)
            med[seen] = np.nanmedian(train[:, seen], axis=0)
            self._medians[featurizer] = ([str(c) for c in cols], med)
        return self._medians[featurizer]

    def _matrix(self, member: Member, smiles: list[str], cache: dict) -> np.ndarray | None:
        """The member's feature matrix for (valid, standardised) SMILES."""
        if not member.features:
            return None
        from chemchallenge.features.compute import featurize_smiles

        blocks, names = [], []
        for f in member.features:
            if f not in cache:
                params = self.cfg.featurize.featurizers.get(f, {})
                x, cols = featurize_smiles(
                    f, params, smiles, self.cfg.featurize.n_jobs, progress=len(smiles) > 2000
                )
                train_cols, med = self._train_medians(f)
                if list(cols) != train_cols:
                    raise MissingInputError(
                        f"{self.paths.features(f)}: columns differ from featurizer {f!r} now "
                        "(params changed?): rerun featurize and train (dvc repro)"
                    )
                x = x.astype(np.float64)
                rows, where = np.nonzero(np.isnan(x))
                x[rows, where] = med[where]
                cache[f] = (x, cols)
            blocks.append(cache[f][0])
            names.append(list(cache[f][1]))
        counts: dict[str, int] = {}
        for cols in names:
            for c in cols:
                counts[c] = counts.get(c, 0) + 1
        full = [
            f"{f}:{c}" if counts[c] > 1 else c
            for f, cols in zip(member.features, names)
            for c in cols
        ]
        index = {c: i for i, c in enumerate(full)}
        missing = [c for c in member.columns if c not in index]
        if missing:
            raise MissingInputError(f"model {member.name}: feature columns {missing[:5]} unknown")
        X = np.concatenate(blocks, axis=1)
        return np.ascontiguousarray(X[:, [index[c] for c in member.columns]], dtype=np.float32)

    def _standardise(self, smiles: list[str]) -> list[str | None]:
        out: list[str | None] = []
        for s in smiles:
            mol = parse_smiles(s).mol
            try:
                out.append(None if mol is None else self.standardizer.smiles(mol))
            except Exception:  # RDKit raises assorted errors on exotic inputs
                out.append(None)
        return out

    def predict(self, smiles: list[str], in_domain: float = IN_DOMAIN) -> pd.DataFrame:
        """One row per SMILES: ``smiles``, ``standardized``, ``valid``, one column per
        output (mean over fold models / the ensemble), ``<col>_std`` (weighted spread
        across fold models and ensemble members), ``max_tanimoto`` and ``in_domain``."""
        smiles = list(smiles)
        std = self._standardise(smiles)
        valid = np.array([s is not None for s in std], dtype=bool)
        ok = [s for s in std if s is not None]
        cols = self.task.output_columns
        mean = np.full((len(smiles), len(cols)), np.nan)
        spread = np.full_like(mean, np.nan)
        sim = np.full(len(smiles), np.nan)
        if ok:
            cache: dict = {}
            per_member, all_folds = [], []
            for m in self.members:
                X = ModelInput(ok, self._matrix(m, ok, cache), m.columns or None)
                folds = np.stack([np.asarray(e.predict(X), dtype=float) for e in m.estimators])
                per_member.append(folds.mean(axis=0))
                all_folds.append(folds)
            P = np.stack(per_member, axis=1)  # (n, members, outputs)
            mean[valid] = self.combiner.predict(P) if self.combiner is not None else P[:, 0]
            spread[valid] = self._spread(all_folds)
            sim[valid] = [self._max_similarity(s) for s in ok]
        out = pd.DataFrame({"smiles": smiles, "standardized": std, "valid": valid})
        for j, c in enumerate(cols):
            out[c] = mean[:, j]
        for j, c in enumerate(cols):
            out[f"{c}_std"] = spread[:, j]
        out["max_tanimoto"] = sim
        out["in_domain"] = np.nan_to_num(sim, nan=-1.0) >= in_domain
        return out

    def _spread(self, all_folds: list[np.ndarray]) -> np.ndarray:
        """Weighted std over every fold model of every member: a member's folds share its
        ensemble weight (members a stacker uses count equally; weight 0: left out)."""
        weights = getattr(self.combiner, "weights", None)
        member_w = np.ones(len(all_folds)) if weights is None else np.asarray(weights, float)
        preds = np.concatenate(all_folds, axis=0)  # (total folds, n, outputs)
        w = np.concatenate([np.full(len(f), wm / len(f)) for f, wm in zip(all_folds, member_w)])
        w = w / w.sum()
        mu = np.tensordot(w, preds, axes=1)
        return np.sqrt(np.tensordot(w, (preds - mu) ** 2, axes=1))

    def _max_similarity(self, smiles: str) -> float:
        fp = _fingerprint(smiles)
        if fp is None or not self._train_fps:
            return float("nan")
        return float(max(DataStructs.BulkTanimotoSimilarity(fp, self._train_fps)))


def _fingerprint(smiles: str) -> Any:
    mol = parse_smiles(smiles).mol
    return None if mol is None else _MORGAN.GetFingerprint(mol)


def load_predictor(paths: Paths, cfg: Config, model: str | None = None) -> Predictor:
    """The predictor of ``model`` (default ``submit.model``; ``"ensemble"`` combines its
    members with ``ensemble/weights.json``).

    Raises
    ------
    MissingInputError
        When prepare, featurize, train (or the ensemble stage) have not run yet.
    """
    from chemchallenge.inputs import load_task

    model = model or cfg.submit.model
    task = load_task(paths)
    if model == "ensemble":
        wpath = paths.ensemble_weights
        if not wpath.exists():
            raise MissingInputError(f"{wpath} not found: run the ensemble stage (dvc repro) first")
        saved = read_json(wpath)
        members = [_load_member(cfg, paths, m) for m in saved["models"]]
        return Predictor(
            cfg, paths, task, members, combiner_from_dict(saved["combiner"], task), model
        )
    return Predictor(cfg, paths, task, [_load_member(cfg, paths, model)], None, model)


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    stem = path.name.removesuffix(".csv")
    n = 1
    while (candidate := path.with_name(f"{stem}.{n}.csv")).exists():
        n += 1
    return candidate


def predict_file(
    cfg: Config,
    paths: Paths,
    input: Path,
    output: str | None = None,
    model: str | None = None,
    in_domain: float = IN_DOMAIN,
) -> Path:
    """Score the molecules of a CSV file; write ``<input stem>.predictions.csv`` (or
    ``output``), never overwriting an existing file. Returns the file written."""
    if output and Path(output).is_dir():
        raise InputError(str(output), "is a directory: give a file name for the predictions")
    df = read_csv_text(Path(input), missing="check the --input path")
    configured = cfg.data.smiles_column if cfg.data.smiles_column in df.columns else "auto"
    col = detect_smiles_column(df, configured, "", str(input))
    check_header(df, str(input), "", col, [])
    predictor = load_predictor(paths, cfg, model)
    pred = predictor.predict(df[col].tolist(), in_domain).drop(columns=["smiles"])
    clash = {c: f"{c}_input" for c in df.columns if c in pred.columns}
    result = pd.concat([df.rename(columns=clash), pred], axis=1)
    wanted = (
        Path(output) if output else Path(input).with_name(f"{Path(input).stem}.predictions.csv")
    )
    target = _free_name(wanted)
    write_csv(target, result)
    if target != wanted:
        print(f"predict: {wanted} exists; wrote {target} instead (nothing is overwritten)")
    n_bad = int((~pred["valid"]).sum())
    n_out = int((~pred["in_domain"] & pred["valid"]).sum())
    print(
        f"predict: {len(result)} molecules scored with {predictor.name} -> {target}"
        + (f"; {n_bad} invalid SMILES (NaN predictions)" if n_bad else "")
        + (f"; {n_out} outside the training domain (max Tanimoto < {in_domain})" if n_out else "")
    )
    return target
