"""Every network, trained the way the pipeline trains it (Lightning, inner validation split,
early stopping, best epoch), learns a learnable target: on held-out molecules it beats the
mean predictor by a wide margin. A constant or broken net fails here, not only in CV."""

from __future__ import annotations

import datamol as dm
import numpy as np
import pytest
from rdkit import Chem

from chemchallenge.models.base import ModelInput, build_model
from chemchallenge.models.deep import NET_DEFAULTS
from chemchallenge.tasks import TaskSpec, TaskType

pytestmark = pytest.mark.usefixtures("one_thread")

N_TRAIN, N_TEST = 160, 60
TASK = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")


@pytest.fixture(scope="module")
def toy() -> tuple[ModelInput, np.ndarray, ModelInput, np.ndarray]:
    """Molecules of the demo set; target: heavy atoms + 2 x aromatic atoms (standardised)."""
    parsed = [(s, Chem.MolFromSmiles(s)) for s in dm.data.solubility()["smiles"]]
    smiles, mols = zip(*[(s, m) for s, m in parsed if m is not None][: N_TRAIN + N_TEST])
    y = np.array(
        [m.GetNumHeavyAtoms() + 2 * sum(a.GetIsAromatic() for a in m.GetAtoms()) for m in mols],
        dtype=float,
    )
    y = ((y - y.mean()) / y.std()).reshape(-1, 1)
    counts = np.array(
        [
            [m.GetNumHeavyAtoms(), m.GetNumBonds(), Chem.rdMolDescriptors.CalcNumRings(m)]
            for m in mols
        ],
        dtype=float,
    )  # features for the MLP: informative, not exact
    x = ModelInput(list(smiles), counts, ["heavy", "bonds", "rings"])
    train, test = np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_TEST)
    return x.subset(train), y[train], x.subset(test), y[test]


PARAMS = {
    "mlp": {"epochs": 60, "hidden": [32]},
    "smiles_cnn": {"epochs": 40, "augment": 2, "tta": 0},
    "smiles_rnn": {"epochs": 25, "augment": 2, "tta": 0, "hidden": 32},
    "gcn": {"epochs": 60, "pool": "sum"},
    "gin": {"epochs": 40, "pool": "sum"},
    "dmpnn": {"epochs": 40, "hidden": 64},
    "attentivefp": {"epochs": 40},
}


def test_every_kind_is_covered() -> None:
    assert set(PARAMS) == set(NET_DEFAULTS)


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_beats_the_mean_predictor(kind: str, toy) -> None:
    x_train, y_train, x_test, y_test = toy
    params = {"batch_size": 32, "lr": 3e-3, "patience": 10, "dropout": 0.0, **PARAMS[kind]}
    model = build_model(kind, TASK, params, seed=0)
    inner = np.arange(N_TRAIN) % 8 == 0  # as cross-validation does: an inner validation split
    model.fit(
        x_train.subset(np.flatnonzero(~inner)),
        y_train[~inner],
        x_train.subset(np.flatnonzero(inner)),
        y_train[inner],
    )
    rmse = float(np.sqrt(np.mean((model.predict(x_test) - y_test) ** 2)))
    mean_rmse = float(np.sqrt(np.mean((y_train.mean() - y_test) ** 2)))
    assert rmse < 0.7 * mean_rmse, f"{kind}: held-out RMSE {rmse:.3f} vs mean {mean_rmse:.3f}"
