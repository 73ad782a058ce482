"""Additive per-molecule feature contributions of one fitted tabular model.

Each function returns an ``(n, d)`` matrix whose rows, plus a constant (the model's bias),
add up to the model's raw output for those molecules — so a feature's value is how far it
moved that molecule's prediction:

- XGBoost: exact TreeSHAP from the booster (``pred_contribs``), in log-odds for
  classifiers;
- random forest: path attributions (Saabas; the ``treeinterpreter`` method): along each
  tree's decision path, the change of the node mean at a split is credited to the split's
  feature, averaged over the trees. Exactly additive and cheap, a local approximation of
  TreeSHAP (it credits splits near the root less evenly); in probability of label 1 for
  classifiers;
- linear / logistic regression: coefficient × standardised feature value, the exact
  additive decomposition (log-odds for the logistic model).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: kind -> (method, unit for classifiers, unit for regression), for captions and sentences
METHODS = {
    "xgboost": ("exact TreeSHAP values from XGBoost", "log-odds", "prediction"),
    "random_forest": (
        "path attributions (Saabas) of the random forest, an additive approximation of TreeSHAP",
        "probability",
        "prediction",
    ),
    "linear": (
        "coefficient × standardised value, exact for a linear model",
        "log-odds",
        "prediction",
    ),
}


def _last_step(model: Any, X: np.ndarray) -> tuple[Any, np.ndarray]:
    """The final estimator of a pipeline and the matrix it sees."""
    if hasattr(model, "steps"):
        for _, step in model.steps[:-1]:
            X = step.transform(X)
        model = model.steps[-1][1]
    return model, X


def xgboost_contributions(model: Any, X: np.ndarray) -> np.ndarray | None:
    import xgboost as xgb

    model, Xm = _last_step(model, X)
    if not hasattr(model, "get_booster"):
        return None
    c = model.get_booster().predict(xgb.DMatrix(Xm), pred_contribs=True)
    return c[:, :-1] if c.ndim == 2 and c.shape[1] == X.shape[1] + 1 else None


def _tree_paths(tree: Any, X: np.ndarray, classification: bool) -> tuple[np.ndarray, ...]:
    """One tree's path attributions as (molecule, feature, value) triples: the change of the
    node value at each split on a molecule's path, credited to the split's feature."""
    t = tree.tree_
    val = t.value[:, 0, :]
    # classifiers: share of label 1 (the last class) in each node; regressors: node mean
    v = val[:, -1] / np.maximum(val.sum(axis=1), 1e-12) if classification else val[:, 0]
    parent = np.full(t.node_count, -1)
    for side in (t.children_left, t.children_right):
        inner = side >= 0
        parent[side[inner]] = np.flatnonzero(inner)
    path = t.decision_path(X)  # CSR (molecules × nodes), the root included
    nodes = path.indices
    rows = np.repeat(np.arange(X.shape[0]), np.diff(path.indptr))
    ok = parent[nodes] >= 0
    nodes, rows = nodes[ok], rows[ok]
    return rows, t.feature[parent[nodes]], v[nodes] - v[parent[nodes]]


def forest_contributions(model: Any, X: np.ndarray) -> np.ndarray | None:
    model, Xm = _last_step(model, X)
    trees = getattr(model, "estimators_", None)
    if not trees or not hasattr(trees[0], "tree_"):
        return None
    classification = hasattr(model, "classes_")
    if classification and list(model.classes_) != [0, 1]:
        return None  # only binary labels (label 1 = the last class)
    Xf = np.ascontiguousarray(Xm, dtype=np.float32)
    n, d = Xf.shape
    parts = [_tree_paths(t, Xf, classification) for t in trees]
    index = np.concatenate([r * d + f for r, f, _ in parts])
    total = np.bincount(index, weights=np.concatenate([w for *_, w in parts]), minlength=n * d)
    return total.reshape(n, d) / len(trees)


def forest_bias(model: Any) -> float:
    """The forest's output before any split (mean root value): contributions + bias = output."""
    model, _ = _last_step(model, np.zeros((1, 1)))
    roots = [t.tree_.value[0, 0, :] for t in model.estimators_]
    if hasattr(model, "classes_"):
        return float(np.mean([r[-1] / r.sum() for r in roots]))
    return float(np.mean([r[0] for r in roots]))


def linear_contributions(model: Any, X: np.ndarray) -> np.ndarray | None:
    model, Xm = _last_step(model, X)
    coef = getattr(model, "coef_", None)
    if coef is None:
        return None
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    if coef.shape[0] != 1 or coef.shape[1] != Xm.shape[1]:
        return None  # multi-class or multi-output: no single additive output
    return np.asarray(Xm, dtype=float) * coef[0]


EXPLAINERS = {
    "xgboost": xgboost_contributions,
    "random_forest": forest_contributions,
    "linear": linear_contributions,
}
