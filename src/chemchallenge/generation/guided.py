"""Property-guided generation: keep generated molecules that a predictor finds favourable.

A ``score_fn(smiles) -> (n, n_targets)`` array scores candidates; each target has a direction:

- ``probability``: a predicted probability, favourable when ≥ its threshold (default 0.5);
- ``maximize`` / ``minimize``: favourable when ≥ / ≤ its threshold, by default the median score
  of the training molecules (``ref_scores``): "better than the typical known molecule".

Candidates favourable on *all* targets are ranked in-domain first, then chemically sensible
(:mod:`.chemistry`) first, then by a desirability in [0, 1] (mean over targets of the
probability, or of the score's percentile among the training molecules' scores, flipped for
``minimize``). Each candidate carries an applicability-domain flag: its
largest Tanimoto similarity (Morgan r=2, 1024 bits) to the training set ≥ ``ad_threshold``
(default 0.35) — predictions far from the training data are not to be trusted.

:func:`latent_search` optionally explores the VAE latent space without gradients: a hill climb
from the latents of the most desirable training molecules, with Gaussian steps, keeping a move
when the decoded molecule is valid and more desirable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rdkit import Chem

from chemchallenge.generation.chemistry import profile_of
from chemchallenge.generation.metrics import canonical, fingerprints, max_similarity

DIRECTIONS = ("maximize", "minimize", "probability")
ScoreFn = Callable[[list[str]], np.ndarray]


@dataclass
class Objective:
    name: str
    direction: str  # maximize | minimize | probability
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"{self.name}: direction {self.direction!r} not in {DIRECTIONS}")


def thresholds(objectives: Sequence[Objective], ref_scores: np.ndarray | None) -> np.ndarray:
    out = []
    for j, o in enumerate(objectives):
        if o.threshold is not None:
            out.append(o.threshold)
        elif o.direction == "probability":
            out.append(0.5)
        elif ref_scores is not None and len(ref_scores):
            out.append(float(np.nanmedian(ref_scores[:, j])))
        else:
            raise ValueError(f"{o.name}: give a threshold or reference scores")
    return np.asarray(out, dtype=float)


def favourable(
    scores: np.ndarray, objectives: Sequence[Objective], ref_scores: np.ndarray | None = None
) -> np.ndarray:
    """(n, n_targets) booleans: is each score on the favourable side of its threshold?"""
    thr = thresholds(objectives, ref_scores)
    minimize = np.array([o.direction == "minimize" for o in objectives])
    return np.where(minimize, scores <= thr, scores >= thr)


def desirability(
    scores: np.ndarray, objectives: Sequence[Objective], ref_scores: np.ndarray | None = None
) -> np.ndarray:
    """(n,) mean per-target desirability in [0, 1] (see the module docstring)."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    cols = []
    for j, o in enumerate(objectives):
        s = scores[:, j]
        if o.direction == "probability":
            d = np.clip(s, 0.0, 1.0)
        else:
            ref = np.sort(ref_scores[:, j]) if ref_scores is not None else np.sort(s)
            d = np.searchsorted(ref, s, side="right") / max(1, len(ref))
            d = 1.0 - d if o.direction == "minimize" else d
        cols.append(d)
    return np.nan_to_num(np.mean(cols, axis=0), nan=0.0)


def select_candidates(
    smiles: Sequence[str | None],
    score_fn: ScoreFn,
    objectives: Sequence[Objective],
    train_smiles: Sequence[str],
    ref_scores: np.ndarray | None = None,
    ad_threshold: float = 0.35,
    top_k: int = 50,
    sources: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Valid, novel, distinct molecules favourable on all targets, most desirable first."""
    train = set(s for s in canonical(train_smiles) if s)
    seen: dict[str, str] = {}
    for i, s in enumerate(canonical(smiles)):
        if s and s not in train and s not in seen:
            seen[s] = sources[i] if sources is not None else ""
    cols = [o.name for o in objectives]
    if not seen:
        return pd.DataFrame(
            columns=[
                "smiles",
                "source",
                *cols,
                "desirability",
                "max_sim_train",
                "in_domain",
                "sensible",
            ]
        )
    cand = list(seen)
    scores = np.asarray(score_fn(cand), dtype=float).reshape(len(cand), len(objectives))
    df = pd.DataFrame({"smiles": cand, "source": list(seen.values())})
    for j, c in enumerate(cols):
        df[c] = scores[:, j]
    df["desirability"] = desirability(scores, objectives, ref_scores)
    df["max_sim_train"] = max_similarity(fingerprints(cand), fingerprints(list(train)))
    df["in_domain"] = df["max_sim_train"] >= ad_threshold
    profile = profile_of(tuple(s for s in canonical(train_smiles) if s))
    df["sensible"] = [profile.sensible(Chem.MolFromSmiles(s)) for s in cand]
    keep = favourable(scores, objectives, ref_scores).all(axis=1)
    order = ["in_domain", "sensible", "desirability"]
    df = df[keep].sort_values(order, ascending=False, kind="stable")
    return df.head(top_k).reset_index(drop=True)


def latent_search(
    encode_fn: Callable[[list[str]], np.ndarray],
    decode_fn: Callable[[np.ndarray], list[str]],
    score_fn: ScoreFn,
    start_smiles: Sequence[str],
    objectives: Sequence[Objective],
    ref_scores: np.ndarray | None = None,
    steps: int = 10,
    step_size: float = 0.5,
    seed: int = 0,
) -> list[str]:
    """Gradient-free hill climb in latent space; returns every valid molecule decoded."""
    rng = np.random.default_rng(seed)
    start = [s for s in canonical(start_smiles) if s]
    if not start or steps <= 0:
        return []
    z = encode_fn(start)
    best = desirability(score_fn(start), objectives, ref_scores)
    visited: list[str] = []
    for _ in range(steps):
        proposal = z + step_size * rng.standard_normal(z.shape).astype(z.dtype)
        decoded = canonical(decode_fn(proposal))
        ok = np.array([s is not None for s in decoded])
        if not ok.any():
            continue
        valid = [s for s in decoded if s is not None]
        visited.extend(valid)
        d = np.full(len(decoded), -np.inf)
        d[ok] = desirability(score_fn(valid), objectives, ref_scores)
        better = d > best
        z[better], best[better] = proposal[better], d[better]
    return visited


def prediction_columns(pred: pd.DataFrame) -> list[str]:
    """Numeric prediction columns of a predictor's output, without its extras (``valid``,
    ``<target>_std`` spreads, ``max_tanimoto``, ``in_domain``)."""
    extras = {"valid", "max_tanimoto", "in_domain"}
    return [
        c
        for c in pred.columns
        if c not in extras
        and not str(c).endswith("_std")
        and pd.api.types.is_numeric_dtype(pred[c])
        and pred[c].dtype != bool
    ]


def auto_direction(labels: pd.DataFrame, target: str, classification: bool) -> str:
    """``probability`` for classification outputs or 0/1 labels, else ``maximize``."""
    if classification:
        return "probability"
    if target in labels.columns:
        vals = labels[target].dropna().unique()
        if len(vals) and set(vals) <= {0.0, 1.0}:
            return "probability"
    return "maximize"
