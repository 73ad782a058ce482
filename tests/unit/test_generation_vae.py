"""SMILES VAE: encoding round trip, shapes, KL schedules, over-fitting a handful of molecules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.generation.lightning_vae import (
    VAEParams,
    kl_weight,
    reconstruction_accuracy,
    train_vae,
)
from chemchallenge.generation.vae import (
    build_vae,
    decode_latents,
    encode_smiles,
    sample_prior,
    vae_loss,
)
from chemchallenge.training.data import BucketBatchSampler, SmilesDataset

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


SMILES = [
    "CCO",
    "c1ccccc1O",
    "CC(=O)Nc1ccc(O)cc1",
    "CN1CCC[C@H]1c1cccnc1",
    "O=C(O)c1ccccc1Cl",
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
]


def test_token_round_trip_through_the_vocabulary() -> None:
    vocab = SmilesVocab.build(SMILES)
    batch = vocab.encode_batch(SMILES, max_len=40)
    assert [vocab.decode(row[1:]) for row in batch] == SMILES


@pytest.mark.parametrize("encoder", ["gru", "cnn"])
def test_forward_shapes_and_loss(encoder: str) -> None:
    vocab = SmilesVocab.build(SMILES)
    model = build_vae(vocab, embed=8, hidden=16, latent=4, encoder=encoder)
    tokens = torch.from_numpy(vocab.encode_batch(SMILES, 40))
    logits, mu, logvar = model(tokens, word_dropout=0.2)
    assert logits.shape == (len(SMILES), 39, len(vocab))
    assert mu.shape == logvar.shape == (len(SMILES), 4)
    recon, kl, acc = vae_loss(logits, tokens[:, 1:], mu, logvar, vocab.pad_idx)
    assert recon.item() > 0 and kl.item() >= 0 and 0 <= acc.item() <= 1
    z = encode_smiles(model, vocab, SMILES, 40)
    assert z.shape == (len(SMILES), 4)
    # encoding ignores padding: the same molecule alone or padded in a batch gives the same mean
    alone = encode_smiles(model, vocab, SMILES[:1], 40)
    np.testing.assert_allclose(alone[0], z[0], atol=1e-5)
    out = decode_latents(model, vocab, z, 20, temperature=1.0, seed=0)
    assert len(out) == len(SMILES) and all(isinstance(s, str) for s in out)
    assert out == decode_latents(model, vocab, z, 20, temperature=1.0, seed=0)  # seeded
    assert len(sample_prior(model, vocab, 5, 20, seed=1)) == 5


def test_kl_schedules() -> None:
    assert kl_weight(0, "linear", 10, 1.0) == 0.0
    assert kl_weight(5, "linear", 10, 0.5) == pytest.approx(0.25)
    assert kl_weight(20, "linear", 10, 0.5) == 0.5
    assert kl_weight(2.5, "cyclical", 10, 1.0) == pytest.approx(0.5)
    assert kl_weight(7, "cyclical", 10, 1.0) == 1.0
    assert kl_weight(10, "cyclical", 10, 1.0) == 0.0  # a new cycle starts
    assert kl_weight(3, "none", 10, 0.2) == 0.2
    with pytest.raises(ValueError, match="unknown KL schedule"):
        kl_weight(1, "exp", 10, 1.0)


def test_bucket_sampler_covers_every_index_once() -> None:
    """The VAE batches with the predictive nets' sampler: short with short, long with long."""
    lengths = [5, 50, 6, 49, 30, 31, 100, 101]
    batches = list(BucketBatchSampler(lengths, 2, seed=0))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert len(batches) == 4
    for b in batches:  # short with short, long with long
        assert abs(lengths[b[0]] - lengths[b[1]]) <= 4


def test_vae_overfits_a_handful_of_molecules() -> None:
    params = VAEParams(
        epochs=120,
        batch_size=len(SMILES),
        embed=32,
        hidden=128,
        latent=16,
        dropout=0.0,
        lr=5e-3,
        max_len=40,
        kl_anneal="none",
        beta_max=0.01,
    )
    det = torch.are_deterministic_algorithms_enabled()
    model, vocab = train_vae(SMILES, params, seed=0, progress=False)
    assert reconstruction_accuracy(model, vocab, SMILES, 40) >= 0.8
    assert torch.are_deterministic_algorithms_enabled() is det  # the shared context restores it


def test_augmentation_draws_variants_with_its_probability() -> None:
    """``augment``: the share of accesses that give a random SMILES instead of the given one,
    from a pool drawn up front (the shared SMILES dataset); seeded."""
    from chemchallenge.generation.lightning_vae import _dataset

    vocab = SmilesVocab.build([*SMILES, *"0123456789"])
    params = VAEParams(epochs=4, max_len=60, augment=0.5)

    def draws(seed: int) -> list[list[int]]:
        ds = _dataset(SMILES, vocab, params, seed)
        return [ds[i][0].tolist() for _ in range(100) for i in range(len(SMILES))]

    ids = draws(0)
    given = [vocab.encode(s, max_len=60) for s in SMILES] * 100
    share = np.mean([a != list(b) for a, b in zip(ids, given, strict=True)])
    assert 0.3 < share < 0.55  # 0.5 minus variants that equal the given string (CCO...)
    assert ids == draws(0)
    plain = _dataset(SMILES, vocab, VAEParams(max_len=60), 0)
    assert isinstance(plain, SmilesDataset) and len(plain.pool[0]) == 1


def test_selfies_codec_round_trip_and_always_valid_samples(tmp_path: Path) -> None:
    from rdkit import Chem

    from chemchallenge.generation.codec import MoleculeVAE, to_model_strings, to_smiles
    from chemchallenge.generation.metrics import canonical, validity

    strings = to_model_strings(SMILES, "selfies")
    assert all(s and s.startswith("[") for s in strings)
    assert canonical(to_smiles(strings, "selfies")) == canonical(SMILES)
    vocab = SmilesVocab.build(strings)  # a SELFIES symbol is one bracket token
    assert all(vocab.decode(vocab.encode(s)[1:]) == s for s in strings)
    vae = MoleculeVAE(build_vae(vocab, embed=8, hidden=16, latent=4), vocab, 60, "selfies")
    out = vae.sample(30, seed=0)
    assert validity([s for s in out if s]) == 1.0  # SELFIES decode to valid molecules
    vae.save(tmp_path / "vae.pt")
    again = MoleculeVAE.load(tmp_path / "vae.pt")
    assert again.representation == "selfies" and again.sample(30, seed=0) == out
    assert Chem.MolFromSmiles(to_smiles(["[C][C][O]"], "selfies")[0]) is not None


def test_syntax_constrained_decoding_closes_branches_and_rings() -> None:
    import re

    from chemchallenge.generation.codec import MoleculeVAE

    vocab = SmilesVocab.build([*SMILES, "C1CC2CCC2C1", "CC(C)(C)C#N"])
    torch.manual_seed(0)
    vae = MoleculeVAE(build_vae(vocab, embed=8, hidden=16, latent=4), vocab, 40, constrained=True)
    out = vae.sample(50, temperature=1.5, seed=0)  # an untrained model: syntax from the mask
    for s in out:
        assert s and s.count("(") == s.count(")"), s
        assert "()" not in s and not re.search(r"[=#\-(]$", s), s
        for label in set(re.findall(r"\d", re.sub(r"\[[^\]]*\]", "", s))):
            assert re.sub(r"\[[^\]]*\]", "", s).count(label) % 2 == 0, s


def test_greedy_and_beam_decoding() -> None:
    from chemchallenge.generation.beam import beam_generate
    from chemchallenge.generation.codec import MoleculeVAE

    vocab = SmilesVocab.build(SMILES)
    torch.manual_seed(0)
    model = build_vae(vocab, embed=8, hidden=16, latent=4).eval()
    vae = MoleculeVAE(model, vocab, 30)
    z = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    assert vae.decode(z, greedy=True) == vae.decode(z, greedy=True)  # deterministic
    # width 1 is greedy decoding
    assert vae.decode(z, beam=1) == vae.decode(z, greedy=True)
    ids = beam_generate(model, torch.from_numpy(z), 30, width=4)
    assert ids.shape[0] == 6 and ids.shape[1] <= 30
    assert len(vae.sample(5, seed=1, beam=3)) == 5

    def logp(tokens: list[int], zz: torch.Tensor) -> float:
        seq = torch.tensor([[vocab.bos_idx, *tokens]])
        lp = torch.log_softmax(model.decode(seq[:, :-1], zz.unsqueeze(0)), dim=-1)
        return float(lp[0, torch.arange(len(tokens)), seq[0, 1:]].sum()) / len(tokens)

    # the beam's pick is at least as likely (per token) as the greedy string
    for i in range(6):
        zi = torch.from_numpy(z[i])
        greedy = vocab.encode(vae.decode(z[i : i + 1], greedy=True)[0])[1:]
        beam = vocab.encode(vae.decode(z[i : i + 1], beam=4)[0])[1:]
        if greedy[-1] == beam[-1] == vocab.eos_idx:
            assert logp(beam, zi) >= logp(greedy, zi) - 1e-5
