"""RDKit helpers of the report: fingerprints, similarities, scaffolds, molecule images."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold

_GEN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def mol(smiles: Any) -> Chem.Mol | None:
    if not isinstance(smiles, str) or not smiles:
        return None
    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(smiles)


def bitvects(smiles: Iterable[Any]) -> list[Any]:
    """ECFP4 bit vectors; ``None`` for a SMILES RDKit cannot read."""
    out = []
    for s in smiles:
        m = mol(s)
        out.append(None if m is None else _GEN.GetFingerprint(m))
    return out


def to_matrix(fps: Sequence[Any]) -> np.ndarray:
    """(n, 2048) uint8 matrix of the non-missing bit vectors."""
    rows = []
    for fp in fps:
        arr = np.zeros(fp.GetNumBits(), dtype=np.uint8)
        DataStructs.ConvertToNumpyArray(fp, arr)
        rows.append(arr)
    return np.array(rows, dtype=np.uint8).reshape(len(rows), -1)


def max_similarity(queries: Sequence[Any], refs: Sequence[Any]) -> np.ndarray:
    """Max Tanimoto similarity of each query to ``refs`` (NaN for missing queries)."""
    refs = [r for r in refs if r is not None]
    out = np.full(len(queries), np.nan)
    if not refs:
        return out
    for i, q in enumerate(queries):
        if q is not None:
            out[i] = max(DataStructs.BulkTanimotoSimilarity(q, refs))
    return out


def tanimoto_matrix(fps: Sequence[Any]) -> np.ndarray:
    n = len(fps)
    sim = np.zeros((n, n))
    for i in range(n):
        sim[i] = DataStructs.BulkTanimotoSimilarity(fps[i], list(fps))
    return sim


def scaffold(smiles: Any) -> str | None:
    """Bemis–Murcko scaffold SMILES ('' for acyclic molecules), ``None`` if unreadable."""
    m = mol(smiles)
    if m is None:
        return None
    try:
        return MurckoScaffold.MurckoScaffoldSmiles(mol=m)
    except (ValueError, RuntimeError):
        return None


def png_bytes(image: Any) -> bytes:
    """PNG bytes of what RDKit's drawing functions return (PNG bytes or a PIL image)."""
    if isinstance(image, bytes | bytearray):
        return bytes(image)
    if hasattr(image, "data") and isinstance(image.data, bytes):  # IPython Image
        return image.data
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def grid_png(smiles: Sequence[str], legends: Sequence[str], per_row: int = 4) -> bytes | None:
    """A grid image of the molecules (unreadable ones skipped), PNG bytes."""
    from rdkit.Chem import Draw

    pairs = [(m, lg) for m, lg in ((mol(s), lg) for s, lg in zip(smiles, legends)) if m]
    if not pairs:
        return None
    img = Draw.MolsToGridImage(
        [m for m, _ in pairs],
        molsPerRow=min(per_row, len(pairs)),
        subImgSize=(260, 220),
        legends=[lg for _, lg in pairs],
        returnPNG=True,
    )
    return png_bytes(img)


def png_array(data: bytes) -> np.ndarray:
    """Decode PNG bytes into an image array for ``imshow``."""
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(data), format="png")


def morgan_bit_examples(
    smiles: Sequence[str], bits: Sequence[int], radius: int, n_bits: int, limit: int = 3000
) -> dict[int, tuple[Chem.Mol, dict[int, Any]]]:
    """For each bit, one molecule that sets it and the generator's bit info map."""
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    wanted = set(bits)
    found: dict[int, tuple[Chem.Mol, dict[int, Any]]] = {}
    for s in smiles[:limit]:
        m = mol(s)
        if m is None:
            continue
        ao = rdFingerprintGenerator.AdditionalOutput()
        ao.AllocateBitInfoMap()
        gen.GetFingerprint(m, additionalOutput=ao)
        info = ao.GetBitInfoMap()
        for b in wanted & set(info):
            found[b] = (m, {b: list(info[b])})
        wanted -= set(found)
        if not wanted:
            break
    return found


def draw_morgan_bit(m: Chem.Mol, bit: int, info: dict[int, Any]) -> bytes | None:
    from rdkit.Chem import Draw

    try:
        img = Draw.DrawMorganBit(m, bit, info, useSVG=False)
    except (ValueError, RuntimeError, KeyError):
        return None
    return png_bytes(img)
