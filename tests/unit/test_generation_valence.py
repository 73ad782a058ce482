"""Valence-aware SMILES decoding (generation/valence.py) and the Kekulé representation."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from rdkit import Chem, RDLogger

from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.generation.codec import kekule_smiles, to_model_strings, to_smiles
from chemchallenge.generation.grammar import SmilesGrammar
from chemchallenge.generation.valence import UNLIMITED, ValenceGrammar, atom_capacity

CORPUS = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "C#N",
    "FC(F)(F)Cl",
    "C[N+](C)(C)CC(=O)[O-]",
    "Oc1ccc(Br)cc1",
    "C1=CC=CN=C1",
    "CS(=O)(=O)N",
    "O=C1CCCN1",
]


@pytest.mark.parametrize(
    ("token", "capacity"),
    [
        ("C", 4),
        ("N", 3),
        ("O", 2),
        ("S", 6),
        ("Cl", 1),
        ("c", 3),
        ("[nH]", 2),
        ("[N+]", 4),
        ("[NH+]", 3),
        ("[NH3+]", 1),
        ("[O-]", 1),
        ("[C@@H]", 3),
        ("[CH2]", 2),
        ("[B-]", 4),
        ("[2H]", 1),
        ("[Na+]", UNLIMITED),
    ],
)
def test_atom_capacity_by_hand(token: str, capacity: float) -> None:
    assert atom_capacity(token) == capacity


def _vocab() -> SmilesVocab:
    return SmilesVocab.build([kekule_smiles(s) or s for s in CORPUS])


def _feed(grammar: ValenceGrammar, vocab: SmilesVocab, tokens: list[str]) -> torch.Tensor:
    for t in tokens:
        grammar.update(torch.tensor([vocab.stoi[t]]))
    return grammar.mask()[0]


def test_double_bond_needs_two_free_valences_on_both_atoms() -> None:
    vocab = _vocab()
    row = _feed(ValenceGrammar(vocab, 1, 40), vocab, ["O", "="])
    allowed = {t for t, ok in zip(vocab.itos, row.tolist()) if ok}
    assert {"C", "N", "O", "S"} <= allowed
    assert not {"F", "Cl", "Br"} & allowed  # halogens make one bond
    row = _feed(ValenceGrammar(vocab, 1, 40), vocab, ["C", "(", "F", ")", "(", "F", ")"])
    assert row[vocab.stoi["="]] and not row[vocab.stoi["#"]]  # 2 of 4 left


def test_saturated_atom_only_ends_or_closes_its_branch() -> None:
    vocab = _vocab()
    g = ValenceGrammar(vocab, 1, 40)
    row = _feed(g, vocab, ["F", "C", "(", "F", ")", "(", "F", ")", "F"])
    # the last F is saturated: nothing may bond to it
    assert not row[vocab.stoi["C"]] and not row[vocab.stoi["("]] and not row[vocab.stoi["1"]]
    assert row[vocab.eos_idx]
    cf3 = ["C", "(", "F", ")", "(", "F", ")", "(", "F", ")"]
    row = _feed(ValenceGrammar(vocab, 1, 40), vocab, cf3)  # back on the carbon: 1 bond left
    assert row[vocab.stoi["C"]] and row[vocab.stoi["Cl"]] and not row[vocab.stoi["="]]


def test_ring_closure_charges_both_atoms() -> None:
    vocab = _vocab()
    g = ValenceGrammar(vocab, 1, 40)
    row = _feed(g, vocab, ["O", "1", "C", "C", "C", "="])
    assert not row[vocab.stoi["1"]]  # O already spent 1 of 2 on the ring: no double closure
    row = _feed(ValenceGrammar(vocab, 1, 40), vocab, ["C", "1", "C", "C", "C", "="])
    assert row[vocab.stoi["1"]]  # the carbon opener can take one more


def _random_decode(grammar_cls: type, vocab: SmilesVocab, n: int = 300) -> Counter:
    """Decode uniformly random allowed tokens; count RDKit outcomes."""
    g = grammar_cls(vocab, n, 50)
    gen = torch.Generator().manual_seed(0)
    done, out = torch.zeros(n, dtype=torch.bool), []
    for _ in range(50):
        w = g.mask().float()
        w[:, [vocab.pad_idx, vocab.bos_idx, vocab.stoi["<unk>"]]] = 0
        w[:, vocab.eos_idx] *= 3
        w = torch.where(w.sum(1, keepdim=True) > 0, w, torch.ones_like(w))
        nxt = torch.multinomial(w, 1, generator=gen).squeeze(1).masked_fill(done, vocab.pad_idx)
        g.update(nxt)
        out.append(nxt)
        done |= nxt == vocab.eos_idx
    counts: Counter = Counter()
    RDLogger.DisableLog("rdApp.*")
    for row in torch.stack(out, 1).tolist():
        mol = Chem.MolFromSmiles(vocab.decode(row), sanitize=False)
        if mol is None:
            counts["syntax"] += 1
            continue
        try:
            Chem.SanitizeMol(mol)
            counts["ok"] += 1
        except Chem.AtomValenceException:
            counts["valence"] += 1
        except Exception:  # kekulisation and others
            counts["other"] += 1
    return counts


def test_valence_grammar_removes_valence_errors_of_random_decoding() -> None:
    vocab = _vocab()
    syntax_only = _random_decode(SmilesGrammar, vocab)
    with_valence = _random_decode(ValenceGrammar, vocab)
    assert syntax_only["valence"] >= 50  # random tokens break valences often...
    # ...rarely under the constraint (left: dead ends forced by length with many open rings)
    assert with_valence["valence"] <= syntax_only["valence"] / 5
    assert with_valence["ok"] > syntax_only["ok"]


def test_kekule_representation_round_trip() -> None:
    strings = to_model_strings(CORPUS, "kekule")
    assert all(s is not None and not any(ch in s for ch in "cnos") for s in strings)
    back = [Chem.CanonSmiles(s) for s in to_smiles([s or "" for s in strings], "kekule")]
    assert back == [Chem.CanonSmiles(s) for s in CORPUS]
    assert kekule_smiles("not a molecule") is None
