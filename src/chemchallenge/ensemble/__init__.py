"""Combining trained models: simplex weights, top-k means and stacking fitted on
out-of-fold predictions, per-target decision thresholds, and nested CV to score them.

Member predictions are stacked into ``P`` of shape (n_rows, n_models, n_outputs) in the
model-output contract of :class:`~chemchallenge.tasks.TaskSpec`.
"""

from chemchallenge.ensemble.weights import Combiner, combiner_from_dict, make_fit

__all__ = ["Combiner", "combiner_from_dict", "make_fit"]
