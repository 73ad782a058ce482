"""A trained VAE seen from outside: SMILES in, latent vectors, SMILES out.

Inside, the model reads and writes Kekulé SMILES (default: explicit single and double bonds, no
aromatic atoms, so no ring ever fails kekulisation), canonical SMILES, or SELFIES (Krenn et al.,
2020: every SELFIES string decodes to a valid molecule). All are split by the shared tokenizer
(a SELFIES symbol is one bracket token). SMILES of either kind may be decoded under syntax and
valence constraints (``constrained``, generation/valence.py). With SELFIES, validity is ~1 by
construction, so judge the molecules by uniqueness, novelty, FCD and size instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import selfies as sf
import torch
from rdkit import Chem

from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.generation.beam import beam_generate
from chemchallenge.generation.vae import (
    SmilesVAE,
    build_vae,
    decode_latents,
    encode_smiles,
    sample_prior,
)
from chemchallenge.io import atomic_write

SMILES_FORMS = ("smiles", "kekule")  # written as SMILES: decodable under constraints


def kekule_smiles(smiles: str) -> str | None:
    """Kekulé SMILES (explicit single/double bonds, no aromatic atoms), None if impossible."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except Chem.KekulizeException:
        return None
    return Chem.MolToSmiles(mol, kekuleSmiles=True)


def to_model_strings(smiles: Sequence[str], representation: str) -> list[str | None]:
    """SMILES → the model's strings (None where SELFIES or Kekulé SMILES cannot encode it)."""
    if representation == "smiles":
        return list(smiles)
    if representation == "kekule":
        return [kekule_smiles(s) for s in smiles]
    out: list[str | None] = []
    for s in smiles:
        try:
            out.append(sf.encoder(s))
        except sf.EncoderError:
            out.append(None)
    return out


def to_smiles(strings: Sequence[str], representation: str) -> list[str]:
    """The model's strings → SMILES (undecodable SELFIES give an empty string)."""
    if representation in SMILES_FORMS:
        return list(strings)
    out = []
    for s in strings:
        try:
            out.append(sf.decoder(s) or "")
        except sf.DecoderError:
            out.append("")
    return out


@dataclass
class MoleculeVAE:
    model: SmilesVAE
    vocab: SmilesVocab
    max_len: int
    representation: str = "smiles"
    constrained: bool = False  # syntax-constrained SMILES decoding (grammar.py)

    @property
    def constrained_decoding(self) -> bool:
        """Whether sampling runs under the syntax+valence constraints (SMILES forms only)."""
        return self.constrained and self.representation in SMILES_FORMS

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    def encode(self, smiles: Sequence[str]) -> np.ndarray:
        """(n, latent) latent means; molecules SELFIES cannot encode map to the empty string."""
        strings = [s or "" for s in to_model_strings(smiles, self.representation)]
        return encode_smiles(self.model, self.vocab, strings, self.max_len)

    def decode(
        self,
        z: np.ndarray,
        temperature: float = 1.0,
        greedy: bool = False,
        seed: int | None = None,
        beam: int = 0,
    ) -> list[str]:
        """SMILES decoded from latent vectors: sampled at ``temperature``, arg-max
        (``greedy``), or the best of a beam search of width ``beam`` (> 0)."""
        if beam > 0:
            zt = torch.as_tensor(np.asarray(z, dtype=np.float32))
            strings = []
            for i in range(0, len(zt), 256):
                ids = beam_generate(self.model, zt[i : i + 256], self.max_len, beam)
                strings.extend(self.vocab.decode(row) for row in ids.tolist())
            return to_smiles(strings, self.representation)
        out = decode_latents(
            self.model,
            self.vocab,
            z,
            self.max_len,
            temperature,
            greedy,
            seed,
            constrained=self.constrained_decoding,
        )
        return to_smiles(out, self.representation)

    def sample(
        self,
        n: int,
        temperature: float = 1.0,
        seed: int = 0,
        greedy: bool = False,
        beam: int = 0,
    ) -> list[str]:
        """``n`` SMILES decoded from the prior z ~ N(0, I) (decoding as in :meth:`decode`)."""
        if greedy or beam > 0:
            z = torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed))
            return self.decode(z.numpy(), temperature, greedy, seed, beam)
        out = sample_prior(
            self.model, self.vocab, n, self.max_len, temperature, seed, self.constrained_decoding
        )
        return to_smiles(out, self.representation)

    def reconstruction(self, smiles: Sequence[str]) -> float:
        """Share of molecules decoded back to the same canonical SMILES (greedy, from mu)."""
        from chemchallenge.generation.metrics import canonical

        if not smiles:
            return float("nan")
        out = canonical(self.decode(self.encode(smiles), greedy=True))
        return float(np.mean([a is not None and a == b for a, b in zip(out, canonical(smiles))]))

    def save(self, path: Path) -> None:
        """Weights, vocabulary and settings in one ``torch.save`` file (written atomically)."""
        blob = {
            "state_dict": self.model.state_dict(),
            "vocab": self.vocab.to_dict(),
            "hparams": self.model.hparams,
            "max_len": self.max_len,
            "representation": self.representation,
            "constrained": self.constrained,
        }
        atomic_write(path, lambda p: torch.save(blob, p))

    @classmethod
    def load(cls, path: Path) -> MoleculeVAE:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        vocab = SmilesVocab.from_dict(blob["vocab"])
        model = build_vae(vocab, **blob["hparams"])
        model.load_state_dict(blob["state_dict"])
        return cls(
            model.eval(), vocab, blob["max_len"], blob["representation"], blob["constrained"]
        )
