"""A SMILES tokenizer shared by the sequence models (1D-CNN, RNN) and the VAE.

Tokens: bracket atoms (``[nH]``, ``[C@@H]``, ``[O-]``, ``[13CH3]``) as one token,
two-letter organic-subset elements (``Cl``, ``Br``), aromatic atoms, bonds, branches,
ring-closure digits and ``%nn`` ring closures, stereo marks (``/``, ``\\``) and dots.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from rdkit import Chem

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]

_PATTERN = re.compile(
    r"(\[[^\]]+\]|Br|Cl|Si|Se|se|as|Na|Li|K|Mg|Zn|Ca|Fe|Al|B|C|N|O|S|P|F|I|H|"
    r"b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%\d{2}|\d)"
)


class TokenizerError(ValueError):
    pass


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES string into tokens; ``"".join(tokenize(s)) == s`` always holds."""
    tokens = _PATTERN.findall(smiles)
    if "".join(tokens) != smiles:
        bad = _PATTERN.sub("", smiles)
        raise TokenizerError(f"cannot tokenize {smiles!r}: unexpected characters {bad!r}")
    return tokens


class SmilesVocab:
    """Token <-> index mapping with padding, begin/end and unknown tokens."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos: list[str] = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, smiles: Iterable[str], min_count: int = 1) -> SmilesVocab:
        counts = Counter(t for s in smiles for t in tokenize(s))
        return cls(sorted(t for t, c in counts.items() if c >= min_count))

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_idx(self) -> int:
        return self.stoi[PAD]

    @property
    def bos_idx(self) -> int:
        return self.stoi[BOS]

    @property
    def eos_idx(self) -> int:
        return self.stoi[EOS]

    def encode(
        self, smiles: str, max_len: int | None = None, add_bos_eos: bool = True
    ) -> list[int]:
        unk = self.stoi[UNK]
        ids = [self.stoi.get(t, unk) for t in tokenize(smiles)]
        if add_bos_eos:
            ids = [self.bos_idx, *ids, self.eos_idx]
        if max_len is not None:
            ids = ids[:max_len]
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            tok = self.itos[int(i)]
            if tok == EOS:
                break
            if tok in (PAD, BOS):
                continue
            out.append(tok)
        return "".join(out)

    def encode_batch(self, smiles: Sequence[str], max_len: int) -> np.ndarray:
        """(n, max_len) int64 array, padded with ``pad_idx`` and truncated to ``max_len``."""
        arr = np.full((len(smiles), max_len), self.pad_idx, dtype=np.int64)
        for i, s in enumerate(smiles):
            ids = self.encode(s, max_len=max_len)
            arr[i, : len(ids)] = ids
        return arr

    def to_dict(self) -> dict[str, list[str]]:
        return {"itos": self.itos}

    @classmethod
    def from_dict(cls, d: dict[str, list[str]]) -> SmilesVocab:
        return cls([t for t in d["itos"] if t not in SPECIALS])


def randomize_smiles(smiles: str, rng: np.random.Generator) -> str:
    """A random valid SMILES of the same molecule (atom order shuffled), for augmentation."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return smiles
    order = rng.permutation(mol.GetNumAtoms()).tolist()
    return Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False)
