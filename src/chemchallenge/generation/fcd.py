"""Fréchet ChemNet Distance (Preuer et al., 2018) with the ChemNet weights of ``fcd-torch``.

``fcd-torch`` (PyPI, MIT) ships the ChemNet v0.13 weights inside the wheel, so nothing is
downloaded at run time. Only its weights, layer builder and one-hot encoder are used; the
activations and the Fréchet distance are computed here (the package's own helpers rely on
NumPy/SciPy functions deprecated in current releases).

FCD is biased upwards for small samples: compare models at equal sample sizes.
If ``fcd-torch`` is not installed, :func:`frechet_distance_between` falls back to the Fréchet
distance on standardised RDKit 2-D descriptors and says so in its returned ``name``
(``"frechet_descriptor_distance"``) — that number is *not* an FCD.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem

from chemchallenge.device import torch_device

CHEMNET_PAD = 350  # sequence length ChemNet was trained with


def chemnet_available() -> bool:
    try:
        import fcd_torch  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def load_chemnet() -> torch.nn.Module:
    import fcd_torch
    from fcd_torch.utils import load_imported_model

    weights = Path(fcd_torch.__file__).parent / "ChemNet_v0.13_pretrained.pt"
    model = load_imported_model(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(torch_device("auto")).eval()


def _canonical(smiles: Sequence[str]) -> list[str]:
    out = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s else None
        if mol is not None and mol.GetNumAtoms() > 0:
            out.append(Chem.MolToSmiles(mol))
    return out


@torch.no_grad()
def chemnet_activations(smiles: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """(n_valid, 512) penultimate ChemNet activations of the valid, canonicalised SMILES."""
    from fcd_torch.utils import get_one_hot

    model = load_chemnet()
    device = next(model.parameters()).device
    smi = _canonical(smiles)
    chunks = [np.zeros((0, 512), dtype=np.float64)]
    for i in range(0, len(smi), batch_size):
        onehot = np.stack([get_one_hot(s, CHEMNET_PAD) for s in smi[i : i + batch_size]])
        x = torch.from_numpy(onehot / onehot.shape[2]).float().transpose(1, 2).to(device)
        chunks.append(model(x).double().cpu().numpy())
    return np.concatenate(chunks)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """``|mu1 - mu2|² + tr(S1 + S2 - 2 (S1 S2)^½)`` between two Gaussians.

    ``tr((S1 S2)^½) = tr((S1^½ S2 S1^½)^½)``, computed from symmetric eigen-decompositions
    (stable for singular covariances, never complex).
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    w, v = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = root1 @ sigma2 @ root1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def _gaussian(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def descriptor_matrix(smiles: Sequence[str]) -> np.ndarray:
    """RDKit 2-D descriptors (all of ``Descriptors.descList``) of the valid SMILES."""
    from rdkit.Chem import Descriptors

    rows = []
    for s in _canonical(smiles):
        d = Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(s))
        rows.append([float(v) for v in d.values()])
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def embedding(smiles: Sequence[str]) -> tuple[str, np.ndarray]:
    """(metric name, one row per valid SMILES): ChemNet activations, else RDKit descriptors."""
    if chemnet_available():
        return "fcd", chemnet_activations(smiles)
    return "frechet_descriptor_distance", descriptor_matrix(smiles)


def frechet_from_embeddings(
    name: str,
    a: np.ndarray,
    b: np.ndarray,
    repeats: int = 1,
    size: int | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation of the Fréchet distance between ``b`` and ``repeats``
    random subsets of ``size`` rows of ``a`` (all rows, once, when ``a`` is not larger)."""
    if name != "fcd" and len(b) >= 2:  # descriptors: standardise on the reference
        mean, std = b.mean(0), b.std(0)
        std[std == 0] = 1.0
        a, b = (a - mean) / std, (b - mean) / std
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan")
    ref = _gaussian(b)
    if size is None or len(a) <= size:
        return frechet_distance(*_gaussian(a), *ref), 0.0
    rng = np.random.default_rng(seed)
    values = [
        frechet_distance(*_gaussian(a[rng.choice(len(a), size, replace=False)]), *ref)
        for _ in range(max(1, repeats))
    ]
    return float(np.mean(values)), float(np.std(values))


def frechet_distance_between(
    generated: Sequence[str], reference: Sequence[str]
) -> tuple[str, float]:
    """(name, value): FCD with ChemNet, or the named descriptor fallback; NaN under 2 valid."""
    name, a = embedding(generated)
    _, b = embedding(reference)
    return name, frechet_from_embeddings(name, a, b)[0]
