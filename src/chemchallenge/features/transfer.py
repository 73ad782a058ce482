"""Transfer features: predictions of pretrained ADMET models (``admet_ai``).

The ``admet-ai`` package (MIT; install with ``pip install -e ".[transfer]"``) ships two
chemprop v2 ensembles (5 multi-task D-MPNNs each) trained on 41 public TDC ADMET datasets:
CYP inhibition and substrates, P-gp, hERG, AMES, Tox21, BBB, HIA, bioavailability,
Caco-2 and PAMPA permeability, clearance, half-life, VDss, PPBR, LD50, solubility
(AqSolDB), lipophilicity (AstraZeneca), hydration free energy (FreeSolv). Their predicted
values for a molecule become its features: knowledge learnt from other public datasets,
transferred to the challenge's molecules (``admet_ai`` in params.yaml)::

    featurize:
      featurizers:
        admet_ai: {physchem: false, exclude: ["Solubility_*", "Lipophilicity_*"]}

**Risk: a pretrained model may have been trained on the very molecules it is asked
about.** AqSolDB merges the Huuskonen set that the demo is built from, so
``Solubility_AqSolDB`` alone predicts the demo's holdout almost perfectly: that is
memory, not knowledge. ``exclude`` drops such endpoints, and the featurize stage writes,
for every kept endpoint, how well it alone predicts each target
(``data/features/<name>.leak.json``, :func:`leak_report`); an endpoint that alone predicts
a target suspiciously well is printed as a suspected leak.

``physchem`` (default ``false``): admet-ai also returns 11 RDKit physico-chemical values
(molecular weight, Crippen logP, HBA/HBD, Lipinski count, QED, stereocentres, TPSA, PAINS,
BRENK and NIH alert counts). They carry no transferred knowledge and, but for the alert
counts, duplicate ``rdkit2d``; ``physchem: true`` keeps them.

Inference runs the 10 models on batches of molecular graphs built once (no Lightning
trainer, no DrugBank percentiles); the numbers equal ``ADMETModel.predict``'s. The models
are loaded once per process. ``admet_ai`` is imported only when this featurizer is built, so
the rest of the project works without the package.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from rdkit import Chem

from chemchallenge.errors import ConfigError
from chemchallenge.features.base import BatchedFeaturizer, register

#: admet-ai's physico-chemical columns, in its order (``admet_ai.physchem``).
PHYSCHEM = [
    "molecular_weight",
    "logP",
    "hydrogen_bond_acceptors",
    "hydrogen_bond_donors",
    "Lipinski",
    "QED",
    "stereo_centers",
    "tpsa",
    "PAINS_alert",
    "BRENK_alert",
    "NIH_alert",
]
#: cross-validated R² of a linear fit (regression) or oriented ROC AUC (classification) of one
#: endpoint alone on a target from which the leak report names it a suspected leak
LEAK_THRESHOLD = 0.9
INSTALL_HINT = (
    "the admet_ai featurizer needs the admet-ai package: "
    'pip install -e ".[transfer]" (or pip install admet-ai==2.0.1)'
)

_MODELS: dict[str, Any] = {}


def _folders() -> list[Any]:
    try:
        from admet_ai.constants import DEFAULT_MODELS_DIR
    except ImportError as err:
        raise ConfigError(INSTALL_HINT) from err
    return [
        f
        for f in sorted(p for p in DEFAULT_MODELS_DIR.iterdir() if p.is_dir())
        if any(f.glob("**/*.pt"))
    ]


def _endpoints() -> list[str]:
    """The endpoint names, read from the checkpoints without building the networks (what
    ``chemchallenge check`` needs, in a fraction of the time of :func:`_load`)."""
    if _MODELS:
        return [t for tasks in _MODELS["tasks"] for t in tasks]
    if "endpoints" not in _NAMES:
        from chemprop.models.utils import load_output_columns

        _NAMES["endpoints"] = [
            str(t) for f in _folders() for t in load_output_columns(sorted(f.glob("**/*.pt"))[0])
        ]
    return list(_NAMES["endpoints"])


_NAMES: dict[str, list[str]] = {}


def _load() -> dict[str, Any]:
    """admet-ai's model ensembles, loaded once: ``{"tasks": [[...], ...], "models": [[...]]}``."""
    if not _MODELS:
        try:
            from admet_ai.constants import DEFAULT_MODELS_DIR
            from chemprop.models import load_model
            from chemprop.models.utils import load_output_columns
        except ImportError as err:
            raise ConfigError(INSTALL_HINT) from err
        tasks, models = [], []
        for folder in sorted(p for p in DEFAULT_MODELS_DIR.iterdir() if p.is_dir()):
            files = sorted(folder.glob("**/*.pt"))
            if not files:
                continue
            ensemble = [load_model(f, multicomponent=False) for f in files]
            for m in ensemble:
                m.eval()
            tasks.append([str(t) for t in load_output_columns(files[0])])
            models.append(ensemble)
        _MODELS.update(tasks=tasks, models=models)
    return _MODELS


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


def _check_settings(
    physchem: Any = False,
    exclude: Any = None,
    batch_size: Any = 256,
    leak_threshold: Any = LEAK_THRESHOLD,
) -> None:
    if not isinstance(physchem, bool):
        raise ConfigError(f"admet_ai: physchem must be true or false, got {physchem!r}")
    exclude = [] if exclude is None else exclude
    if isinstance(exclude, str) or not all(isinstance(p, str) for p in exclude):
        # params.yaml's "auto" never gets here: the config resolves it (features/overlap.py)
        raise ConfigError(
            f"admet_ai: exclude must be 'auto' or a list of names/patterns: {exclude!r}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"admet_ai: batch_size must be a positive integer: {batch_size!r}")
    if isinstance(leak_threshold, bool) or not isinstance(leak_threshold, int | float):
        raise ConfigError(f"admet_ai: leak_threshold must be a number: {leak_threshold!r}")


class AdmetAI(BatchedFeaturizer):
    """Predictions of admet-ai's pretrained ADMET models as one float32 vector.

    Parameters
    ----------
    physchem
        Keep admet-ai's 11 RDKit physico-chemical columns (default: drop them).
    exclude
        Endpoint names or shell-style patterns (case-insensitive: ``"Solubility_*"``)
        to drop; each must match at least one column. params.yaml's ``"auto"`` is resolved
        by the config from ``data.source`` (:mod:`chemchallenge.features.overlap`).
    batch_size
        Molecules per forward pass.
    leak_threshold
        The leak report (featurize stage) names an endpoint as a suspected leak when it
        alone reaches this cross-validated R² (regression) or oriented ROC AUC
        (classification) with a target.
    """

    #: a transfer featurizer: the featurize stage writes a leak report beside its output
    transfer = True

    #: the settings' types, checked without loading admet-ai (``chemchallenge check``); the
    #: ``exclude`` patterns are matched against the endpoints when the featurizer is built
    check_settings = staticmethod(_check_settings)

    def __init__(
        self,
        physchem: bool = False,
        exclude: Sequence[str] | None = None,
        batch_size: int = 256,
        leak_threshold: float = LEAK_THRESHOLD,
    ) -> None:
        self.check_settings(physchem, exclude, batch_size, leak_threshold)
        exclude = [] if exclude is None else exclude
        self.leak_threshold = float(leak_threshold)
        self.endpoints = _endpoints()  # the networks are loaded when featurizing
        every = PHYSCHEM + self.endpoints
        unknown = [p for p in exclude if not any(_matches(n, p) for n in every)]
        if unknown:
            raise ConfigError(
                f"admet_ai: exclude {unknown} matches no admet-ai column; columns: {every}"
            )
        self.physchem = physchem
        self.exclude = list(exclude)
        self.batch_size = batch_size
        candidates = (PHYSCHEM if physchem else []) + self.endpoints
        self._names = [n for n in candidates if not any(_matches(n, p) for p in exclude)]
        if not self._names:
            raise ConfigError("admet_ai: exclude drops every column")
        position = {n: i for i, n in enumerate(PHYSCHEM + self.endpoints)}
        self._index = np.array([position[n] for n in self._names])

    def featurize_many(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        """Features of many molecules at once (batched inference): ``(len(mols), d)``."""
        import torch
        from chemprop.data import MoleculeDatapoint, MoleculeDataset, build_dataloader

        n = len(mols)
        out = np.empty((n, len(PHYSCHEM) + len(self.endpoints)), dtype=np.float64)
        if n == 0:
            return out[:, self._index].astype(np.float32)
        if self.physchem:
            from admet_ai.physchem import PHYSCHEM_PROPERTY_TO_FUNCTION

            fns = [PHYSCHEM_PROPERTY_TO_FUNCTION[p] for p in PHYSCHEM]
            out[:, : len(PHYSCHEM)] = [[fn(m) for fn in fns] for m in mols]
        else:
            out[:, : len(PHYSCHEM)] = np.nan
        dataset = MoleculeDataset([MoleculeDatapoint(mol=m) for m in mols])
        dataset.cache = True  # molecular graphs built once for the 10 models
        loader = build_dataloader(dataset, batch_size=self.batch_size, shuffle=False)
        loaded = _load()
        col = len(PHYSCHEM)
        with torch.inference_mode():
            for tasks, ensemble in zip(loaded["tasks"], loaded["models"]):
                total = np.zeros((n, len(tasks)))
                for model in ensemble:
                    start = 0
                    for batch in loader:
                        pred = model(batch.bmg, batch.V_d, batch.X_d).double().numpy()
                        total[start : start + len(pred)] += pred.reshape(len(pred), -1)
                        start += len(pred)
                out[:, col : col + len(tasks)] = total / len(ensemble)
                col += len(tasks)
        with np.errstate(invalid="ignore"):
            out[~np.isfinite(out)] = np.nan
        return out[:, self._index].astype(np.float32)

    def __repr__(self) -> str:
        return f"AdmetAI({len(self._names)} columns, exclude={self.exclude})"


@register("admet_ai")
def admet_ai(
    physchem: bool = False,
    exclude: list[str] | None = None,
    batch_size: int = 256,
    leak_threshold: float = LEAK_THRESHOLD,
) -> AdmetAI:
    """admet-ai's predicted ADMET endpoints (and optionally its physico-chemical values)."""
    return AdmetAI(physchem, exclude, batch_size, leak_threshold)


admet_ai.check_settings = _check_settings  # type: ignore[attr-defined]  (chemchallenge check)


# ---------------------------------------------------------------------------------------
# leak detector


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    value = float(spearmanr(x, y).statistic)
    return 0.0 if math.isnan(value) else value


def _single_feature_rmse(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """Cross-validated RMSE of ``y ≈ a + b·x`` (a, b fitted on the training folds)."""
    sq = np.empty_like(y)
    for f in np.unique(folds):
        fit, held = folds != f, folds == f
        xf, yf = x[fit], y[fit]
        var = xf.var()
        b = 0.0 if var == 0 else float(np.mean((xf - xf.mean()) * (yf - yf.mean())) / var)
        a = yf.mean() - b * xf.mean()
        sq[held] = (y[held] - (a + b * x[held])) ** 2
    return float(np.sqrt(sq.mean()))


def _auc(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, x))


def leak_report(
    x: np.ndarray,
    names: Sequence[str],
    y: np.ndarray,
    targets: Sequence[str],
    classification: bool,
    folds: np.ndarray | None = None,
    threshold: float = LEAK_THRESHOLD,
) -> dict[str, Any]:
    """How well each feature alone predicts each target: a leak detector for transfer features.

    Parameters
    ----------
    x
        ``(n, d)`` feature matrix of the training molecules (NaN allowed).
    names
        The ``d`` feature names.
    y
        ``(n, t)`` labels (NaN where missing); classification labels are 0/1 (or class codes).
    targets
        The ``t`` target names.
    classification
        Score by ROC AUC (oriented: ``max(AUC, 1 - AUC)``) instead of a linear fit's RMSE.
    folds
        Fold of each row for the cross-validated single-feature fit (regression);
        ``None``: 5 folds in row order modulo 5.
    threshold
        An endpoint is a suspected leak for a target when, alone, it reaches this
        cross-validated R² of a linear fit (regression; its RMSE is ``cv_rmse``) or this
        oriented ROC AUC (classification). ``|Spearman|`` is reported too but not used:
        an endpoint driven by the same physics (plasma protein binding and solubility both
        follow lipophilicity: |Spearman| 0.91, R² 0.76 on the demo) ranks well without
        predicting the values.

    Returns
    -------
    dict
        ``{"threshold", "criterion", "endpoints": {name: {target: {...}}}, "suspected":
        [{"endpoint", "target", ...}], "baseline": {target: {...}}}``; ``suspected`` is
        sorted from the strongest.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    n = len(x)
    folds = np.arange(n) % 5 if folds is None else np.asarray(folds)
    endpoints: dict[str, dict[str, dict[str, float]]] = {}
    suspected: list[dict[str, Any]] = []
    baseline: dict[str, dict[str, float]] = {}
    for j, target in enumerate(targets):
        labelled = ~np.isnan(y[:, j])
        yt = y[labelled, j]
        if classification:
            baseline[target] = {"auc": 0.5, "n": int(labelled.sum())}
        else:
            baseline[target] = {"rmse_mean": float(yt.std()), "n": int(labelled.sum())}
    for i, name in enumerate(names):
        per: dict[str, dict[str, float]] = {}
        for j, target in enumerate(targets):
            ok = ~np.isnan(y[:, j]) & ~np.isnan(x[:, i])
            xi, yj = x[ok, i], y[ok, j]
            if len(xi) < 10:
                continue
            rho = _spearman(xi, yj)
            entry: dict[str, float] = {"spearman": round(rho, 4)}
            if classification:
                classes = np.unique(yj)
                if len(classes) <= 2:
                    auc = _auc(xi, yj == classes[-1])
                else:  # multi-class: the best one-vs-rest AUC
                    auc = max(_auc(xi, yj == c) for c in classes)
                auc = max(auc, 1 - auc) if not math.isnan(auc) else auc
                entry["auc"] = round(auc, 4)
                score, flagged = auc, auc >= threshold
            else:
                rmse = _single_feature_rmse(xi, yj, folds[ok])
                r2 = 1 - rmse**2 / yj.var() if yj.var() > 0 else 0.0
                entry["cv_rmse"], entry["cv_r2"] = round(rmse, 4), round(r2, 4)
                score, flagged = r2, r2 >= threshold
            per[target] = entry
            if flagged:
                suspected.append({"endpoint": name, "target": target, **entry, "score": score})
        endpoints[name] = per
    suspected.sort(key=lambda s: -s["score"])
    for s in suspected:
        s["score"] = round(s["score"], 4)
    return {
        "threshold": threshold,
        "criterion": "oriented ROC AUC" if classification else "cross-validated R2",
        "baseline": baseline,
        "endpoints": endpoints,
        "suspected": suspected,
    }
