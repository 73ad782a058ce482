"""Which module implements each model kind (``models.<name>.kind`` in params.yaml).

:func:`chemchallenge.models.base.build_model` imports only the module of the kind it
builds, and dvc.yaml makes ``train-<model>`` depend on that module's code only, so that a
change in the graph networks does not retrain the tree models, and the reverse.
"""

from __future__ import annotations

TABULAR = "chemchallenge.models.tabular"
DEEP = "chemchallenge.models.deep"

#: kind -> module that registers it
KIND_MODULES: dict[str, str] = {
    "decision_tree": TABULAR,
    "random_forest": TABULAR,
    "xgboost": TABULAR,
    "catboost": TABULAR,
    "knn": TABULAR,
    "linear": TABULAR,
    "mlp": DEEP,
    "smiles_cnn": DEEP,
    "smiles_rnn": DEEP,
    "gcn": DEEP,
    "gin": DEEP,
    "dmpnn": DEEP,
    "attentivefp": DEEP,
}
