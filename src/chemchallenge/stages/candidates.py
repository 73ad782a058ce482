"""Stage ``candidates``: property-guided generation — the trained predictor x the generators.

The trained predictor (``submit.model``: a model of ``models/`` or the ``ensemble/``, see
:func:`chemchallenge.predictor.load_predictor`) scores the valid VAE and GAN molecules of
``generated/molecules.csv`` and the molecules of a hill climb in the latent space of
``generated/vae.pt`` (:func:`chemchallenge.generation.guided.latent_search`, from the training
molecules it finds most desirable); :func:`~chemchallenge.generation.guided.select_candidates`
keeps the novel ones favourable on every target (``generate.guided`` in params.yaml).

Apart from the ``generate`` stage so that a model change does not retrain the generators. The
corpus (training molecules, targets) is the generate stage's, rebuilt from
``data/prepared/{train,test}.parquet`` (:func:`~chemchallenge.generation.corpus.generation_corpus`).

Writes ``candidates/candidates.csv`` (smiles, source, one column per predicted output,
desirability, max_sim_train, in_domain, sensible; most desirable first) and
``candidates/guided.json`` (``status``: ``ok``, ``disabled`` or ``skipped: <why>``; with ``ok``
also n_candidates, n_in_domain, objectives, model). Both are always written: without a trained
predictor, or with ``generate.enabled`` or ``generate.guided.enabled`` false, the CSV has its
columns and no rows.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.device import cpu_threads
from chemchallenge.errors import MissingInputError
from chemchallenge.generation.codec import MoleculeVAE
from chemchallenge.generation.corpus import generation_corpus
from chemchallenge.generation.guided import (
    Objective,
    auto_direction,
    desirability,
    latent_search,
    prediction_columns,
    select_candidates,
)
from chemchallenge.generation.settings import GenerateConfig, parse_generate
from chemchallenge.io import read_json, write_csv, write_json
from chemchallenge.paths import Paths

log = logging.getLogger(__name__)

#: the columns of ``candidates.csv`` around the predicted outputs'
LEADING, TRAILING = ["smiles", "source"], ["desirability", "max_sim_train", "in_domain", "sensible"]


def run(cfg: Config, paths: Paths) -> None:
    gc = parse_generate(cfg.generate)
    if not (gc.enabled and gc.guided.enabled):
        _write(paths, _empty(paths), {"status": "disabled"})
        return
    with cpu_threads(gc.threads):
        cand, record = _guided(cfg, gc, paths)
    _write(paths, cand, record)
    log.info("candidates: %s", record)


def _write(paths: Paths, cand: pd.DataFrame, record: dict[str, Any]) -> None:
    write_csv(paths.candidates / "candidates.csv", cand)
    write_json(paths.candidates / "guided.json", record)


def _empty(paths: Paths) -> pd.DataFrame:
    """No candidates: the columns only (the outputs' when the task is known)."""
    outputs: list[str] = []
    if paths.task.exists():
        from chemchallenge.tasks import TaskSpec

        outputs = list(TaskSpec.from_dict(read_json(paths.task)).output_columns)
    return pd.DataFrame(columns=[*LEADING, *outputs, *TRAILING])


def _generated(paths: Paths) -> tuple[MoleculeVAE, pd.DataFrame]:
    """The generate stage's VAE and molecules."""
    vae_path, mol_path = paths.generated / "vae.pt", paths.generated / "molecules.csv"
    for p in (vae_path, mol_path):
        if not p.exists():
            raise MissingInputError(f"{p} not found: run the generate stage (dvc repro) first")
    molecules = pd.read_csv(mol_path)
    molecules["valid"] = molecules["valid"].astype(str).str.lower().isin(["true", "1"])
    return MoleculeVAE.load(vae_path), molecules


def _guided(cfg: Config, gc: GenerateConfig, paths: Paths) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        from chemchallenge.predictor import load_predictor

        predictor = load_predictor(paths, cfg)
    except (ImportError, MissingInputError) as err:
        log.info("candidates: property-guided generation skipped (no trained predictor: %s)", err)
        return _empty(paths), {"status": f"skipped: {err}"}
    vae, molecules = _generated(paths)
    seed = gc.seed_or(cfg.seed)
    corpus = generation_corpus(paths, gc, cfg.seed)
    train_smiles = [s for s, sub in zip(corpus.train, corpus.subset) if sub == "train"]
    ref = predictor.predict(train_smiles)
    task = getattr(predictor, "task", None)
    names = list(task.output_columns) if task is not None else prediction_columns(ref)
    classification = bool(getattr(task, "is_classification", False))

    def score(smiles: list[str]) -> np.ndarray:
        return predictor.predict(smiles)[names].to_numpy(dtype=float)

    objectives = [
        Objective(
            n,
            gc.guided.directions.get(n) or auto_direction(corpus.labels, n, classification),
            gc.guided.thresholds.get(n),
        )
        for n in names
    ]
    ref_scores = ref[names].to_numpy(dtype=float)
    gen = molecules[molecules["valid"] & molecules["source"].isin(["vae", "gan"])]
    smiles, sources = gen["smiles"].astype(str).tolist(), gen["source"].tolist()
    if gc.guided.latent_steps > 0:
        order = np.argsort(-desirability(ref_scores, objectives, ref_scores), kind="stable")
        starts = [train_smiles[i] for i in order[: gc.guided.latent_starts]]
        found = latent_search(
            vae.encode,
            lambda z: vae.decode(z, greedy=True),
            score,
            starts,
            objectives,
            ref_scores,
            gc.guided.latent_steps,
            gc.guided.step_size,
            seed,
        )
        smiles, sources = smiles + found, sources + ["latent_search"] * len(found)
    cand = select_candidates(
        smiles,
        score,
        objectives,
        corpus.train,
        ref_scores,
        gc.guided.ad_threshold,
        gc.guided.top_k,
        sources,
    )
    return cand, {
        "status": "ok",
        "n_candidates": len(cand),
        "n_in_domain": int(cand["in_domain"].sum()) if len(cand) else 0,
        "objectives": {o.name: o.direction for o in objectives},
        "model": getattr(predictor, "name", None),
    }
