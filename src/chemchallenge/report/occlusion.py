"""Atom occlusion on a fitted graph estimator (read only: nothing is trained).

Works with estimators that expose ``net`` (a module taking a PyG batch), ``adapter``
(with ``dataset`` and ``collate``), ``task``, ``y_mean`` and ``y_std`` — the shape of
:class:`chemchallenge.models.deep.DeepEstimator`. Anything else returns ``None``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.report import chem


def occlusion_weights(est: Any, smiles: str, output: int = 0) -> np.ndarray | None:
    """Prediction change when each atom's features are zeroed, one atom at a time."""
    needed = ("net", "adapter", "task", "y_mean", "y_std")
    if not all(hasattr(est, a) for a in needed) or est.net is None:
        return None
    import torch

    from chemchallenge.models.base import ModelInput
    from chemchallenge.models.lightning import to_outputs

    try:
        ds = est.adapter.dataset(ModelInput([smiles]))
        graph, y, extra = ds[0]
    except (AttributeError, TypeError, ValueError):
        return None
    n = int(graph.num_nodes)
    copies = []
    for i in range(-1, n):  # -1: the unmasked molecule
        g = graph.clone()
        if i >= 0:
            g.x = g.x.clone()
            g.x[i] = 0.0
        copies.append((g, y, extra))
    mean = torch.tensor(est.y_mean, dtype=torch.float32)
    std = torch.tensor(est.y_std, dtype=torch.float32)
    net = est.net.cpu().eval()
    with torch.inference_mode():
        batch, _ = est.adapter.collate(copies)
        out = to_outputs(net(batch), est.task.task_type, mean, std).numpy()
    col = out[:, min(output, out.shape[1] - 1)]
    return col[0] - col[1:]  # > 0: the atom raises the prediction


def similarity_map_png(smiles: str, weights: np.ndarray, size: int = 320) -> bytes:
    from rdkit.Chem.Draw import SimilarityMaps, rdMolDraw2D

    m = chem.mol(smiles)
    d = rdMolDraw2D.MolDraw2DCairo(size, size)
    w = [float(v) for v in weights]
    scale = max(1e-12, max(abs(v) for v in w)) if w else 1.0
    SimilarityMaps.GetSimilarityMapFromWeights(m, [v / scale for v in w], draw2d=d)
    d.FinishDrawing()
    return d.GetDrawingText()
