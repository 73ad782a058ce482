"""Atom occlusion on a fitted graph estimator: exact on a linear net, skipped on others."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Batch

from chemchallenge.features.graphs import smiles_to_graph
from chemchallenge.paths import Paths
from chemchallenge.report.context import Context, ModelRun
from chemchallenge.report.interpret import _attributions
from chemchallenge.report.items import Figure, FigureStore, Note
from chemchallenge.report.occlusion import occlusion_weights
from chemchallenge.tasks import TaskSpec, TaskType
from support.params import report_config

SMILES = ["CCOc1ccccc1", "OCC(N)C(=O)O", "c1ccncc1Cl"]


class LinearGraphNet(torch.nn.Module):
    """Sum over atoms of a linear score: an atom's occlusion weight is its own score."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(dim, 1, bias=False)

    def forward(self, batch: Any) -> torch.Tensor:
        out = torch.zeros(int(batch.num_graphs), 1)
        return out.index_add(0, batch.batch, self.lin(batch.x))


class Adapter:
    def dataset(self, X: Any) -> list[tuple[Any, torch.Tensor, None]]:
        return [(smiles_to_graph(s), torch.zeros(1), None) for s in X.smiles]

    @staticmethod
    def collate(items: list[tuple[Any, torch.Tensor, None]]) -> tuple[Any, torch.Tensor]:
        return Batch.from_data_list([g for g, _, _ in items]), torch.stack([y for _, y, _ in items])


def _estimator() -> SimpleNamespace:
    torch.manual_seed(0)
    dim = smiles_to_graph("C").x.shape[1]
    return SimpleNamespace(
        net=LinearGraphNet(dim),
        adapter=Adapter(),
        task=TaskSpec(TaskType.REGRESSION, ["y"], "rmse"),
        y_mean=np.zeros(1),
        y_std=np.ones(1),
    )


def test_occlusion_weights_are_exact_on_a_linear_net() -> None:
    est = _estimator()
    g = smiles_to_graph(SMILES[0])
    with torch.no_grad():
        expected = est.net.lin(g.x)[:, 0].numpy()
    w = occlusion_weights(est, SMILES[0])
    assert w is not None and w.shape == (g.num_nodes,)
    np.testing.assert_allclose(w, expected, atol=1e-5)


def test_occlusion_skips_estimators_without_the_api() -> None:
    assert occlusion_weights(SimpleNamespace(models=[]), SMILES[0]) is None
    assert occlusion_weights(SimpleNamespace(**{**vars(_estimator()), "net": None}), "C") is None


def test_attribution_figure_from_a_saved_graph_estimator(tmp_path: Path) -> None:
    """A graph network saved as the train stage saves it (read back by the safe loader)."""
    from chemchallenge.models.base import ModelInput, build_model
    from chemchallenge.models.persist import save_estimators

    path = tmp_path / "estimators.pt"
    task = TaskSpec(TaskType.REGRESSION, ["y"], "rmse")
    est = build_model("gcn", task, {"epochs": 1, "batch_size": 4}, 0)
    est.fit(ModelInput(SMILES * 4), np.arange(12, dtype=float))
    save_estimators(path, [est])
    train = pd.DataFrame({"id": ["a", "b", "c"], "smiles": SMILES, "y": [0.0, 1.0, 2.0]})
    oof = pd.DataFrame({"id": ["a", "b", "c"], "fold": [0, 1, 2], "y": [0.1, 0.9, 2.1]})
    run = ModelRun("gcn", {}, kind="gcn", oof=oof, estimators_path=path)
    ctx = Context(report_config(attribution_molecules=2), Paths(tmp_path), {}, 0.35, train=train)
    ctx.models = [run]
    store, facts = FigureStore(tmp_path / "figures"), {}
    item = _attributions(ctx, store, facts)
    assert isinstance(item, Figure) and facts["attribution_model"] == "gcn"
    assert (tmp_path / "figures" / "atom_attribution.png").stat().st_size > 1000
    ctx.models = [ModelRun("rf", {}, kind="random_forest")]
    assert isinstance(_attributions(ctx, store, facts), Note)
