"""SMILES tokenizer: lossless tokens, vocabulary, randomised SMILES."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from chemchallenge.features.tokenizer import (
    BOS,
    EOS,
    PAD,
    UNK,
    SmilesVocab,
    TokenizerError,
    randomize_smiles,
    tokenize,
)

EXAMPLES = [
    "CCO",
    "c1ccc2[nH]ccc2c1",
    "C[C@@H](N)C(=O)[O-]",
    "[13CH3]C(Cl)Br",
    "C/C=C/C(=O)O",
    "F/C=C\\F",
    "C%10CCCCC%10",
    "[Na+].[Cl-]",
    "C#N",
    "O=[N+]([O-])c1ccccc1",
]


@pytest.mark.parametrize("smiles", EXAMPLES)
def test_round_trip(smiles: str) -> None:
    assert "".join(tokenize(smiles)) == smiles


def test_special_tokens() -> None:
    assert tokenize("[C@@H](Cl)Br") == ["[C@@H]", "(", "Cl", ")", "Br"]
    assert tokenize("c1cc[nH]c1") == ["c", "1", "c", "c", "[nH]", "c", "1"]
    assert tokenize("C%12CC%12") == ["C", "%12", "C", "C", "%12"]
    assert tokenize("[O-]C(=O)[NH3+]") == ["[O-]", "C", "(", "=", "O", ")", "[NH3+]"]
    assert tokenize("F/C=C\\F") == ["F", "/", "C", "=", "C", "\\", "F"]
    assert tokenize("ClCCBr") == ["Cl", "C", "C", "Br"]


def test_untokenizable_raises() -> None:
    with pytest.raises(TokenizerError, match="unexpected"):
        tokenize("CC&C")


def test_vocab_encode_decode() -> None:
    vocab = SmilesVocab.build(EXAMPLES)
    assert vocab.itos[:4] == [PAD, BOS, EOS, UNK]
    for s in EXAMPLES:
        ids = vocab.encode(s)
        assert ids[0] == vocab.bos_idx and ids[-1] == vocab.eos_idx
        assert vocab.decode(ids) == s
    batch = vocab.encode_batch(EXAMPLES[:3], max_len=8)
    assert batch.shape == (3, 8) and batch.dtype == np.int64
    assert (batch[0, 5:] == vocab.pad_idx).all()  # "CCO" + bos/eos = 5 tokens
    again = SmilesVocab.from_dict(vocab.to_dict())
    assert again.itos == vocab.itos


def test_unknown_token() -> None:
    vocab = SmilesVocab.build(["CCO"])
    ids = vocab.encode("CCS", add_bos_eos=False)
    assert ids[-1] == vocab.stoi[UNK]
    assert vocab.decode(ids) == "CC" + UNK


@pytest.mark.parametrize("smiles", EXAMPLES)
def test_randomize_smiles_same_molecule(smiles: str) -> None:
    rng = np.random.default_rng(0)
    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    for _ in range(5):
        variant = randomize_smiles(smiles, rng)
        assert "".join(tokenize(variant)) == variant
        assert Chem.MolToSmiles(Chem.MolFromSmiles(variant)) == canonical


def test_randomize_smiles_varies_and_is_seeded() -> None:
    s = "CC(=O)Nc1ccc(O)cc1"
    a = [randomize_smiles(s, np.random.default_rng(1)) for _ in range(3)]
    assert len(set(a)) == 1  # same seed, same string
    rng = np.random.default_rng(2)
    assert len({randomize_smiles(s, rng) for _ in range(20)}) > 1
