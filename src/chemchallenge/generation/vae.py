"""A SMILES variational auto-encoder (plain ``nn.Module``; training lives in lightning_vae.py).

Encoder: token embedding → bidirectional GRU (packed, so padding is ignored; the last layer's
forward and backward states) or a 3-layer 1-D CNN with a max over the steps (``encoder="cnn"``,
about twice as fast on CPU) → ``mu`` and ``logvar`` of a diagonal Gaussian.
Latent: ``z = mu + exp(logvar / 2) * eps`` (reparameterisation trick).
Decoder: an autoregressive GRU whose input at every step is ``[embedding(token), z]`` and whose
initial state is ``tanh(W z)``; trained with teacher forcing, sampled token by token with a
temperature (``greedy=True`` takes the arg-max).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from chemchallenge.features.tokenizer import UNK, SmilesVocab
from chemchallenge.generation.valence import ValenceGrammar


class CNNEncoder(nn.Module):
    """Three 1-D convolutions over the token embeddings, then a max over the (unpadded) steps."""

    def __init__(self, embed: int, hidden: int, kernel: int = 5) -> None:
        super().__init__()
        pad = kernel // 2
        sizes = [embed, hidden, hidden, 2 * hidden]
        self.convs = nn.ModuleList(nn.Conv1d(a, b, kernel, padding=pad) for a, b in pairwise(sizes))

    def forward(self, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(1).to(emb.dtype)  # (B, 1, T): padding stays 0 at every layer
        h = emb.transpose(1, 2) * keep
        for conv in self.convs:
            h = torch.relu(conv(h)) * keep
        return h.amax(dim=2)  # ReLU >= 0, so the zeros of padding never win the max


class SmilesVAE(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        pad_idx: int,
        bos_idx: int,
        eos_idx: int,
        unk_idx: int = 3,
        embed: int = 64,
        hidden: int = 256,
        latent: int = 64,
        layers: int = 1,
        dropout: float = 0.1,
        encoder: str = "gru",
    ) -> None:
        super().__init__()
        if encoder not in ("gru", "cnn"):
            raise ValueError(f"encoder {encoder!r}: use 'gru' or 'cnn'")
        self.pad_idx, self.bos_idx, self.eos_idx, self.unk_idx = pad_idx, bos_idx, eos_idx, unk_idx
        self.latent_dim, self.layers, self.hidden = latent, layers, hidden
        rnn_dropout = dropout if layers > 1 else 0.0
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=pad_idx)
        self.emb_dropout = nn.Dropout(dropout)
        self.hparams = {
            "embed": embed,
            "hidden": hidden,
            "latent": latent,
            "layers": layers,
            "dropout": dropout,
            "encoder": encoder,
        }  # to rebuild it (codec.py)
        self.encoder_kind = encoder
        self.encoder: nn.Module = (
            nn.GRU(embed, hidden, layers, batch_first=True, bidirectional=True, dropout=rnn_dropout)
            if encoder == "gru"
            else CNNEncoder(embed, hidden)
        )
        self.to_mu = nn.Linear(2 * hidden, latent)
        self.to_logvar = nn.Linear(2 * hidden, latent)
        self.z_to_h = nn.Linear(latent, hidden * layers)
        self.decoder = nn.GRU(embed + latent, hidden, layers, batch_first=True, dropout=rnn_dropout)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, vocab_size))

    # -- encoder -------------------------------------------------------------------------
    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) token ids → ``mu``, ``logvar`` of shape (B, latent)."""
        mask = tokens != self.pad_idx
        emb = self.emb_dropout(self.embedding(tokens))
        if self.encoder_kind == "cnn":
            h = self.encoder(emb, mask)
        else:
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
            _, hn = self.encoder(packed)  # (layers * 2, B, H)
            h = torch.cat([hn[-2], hn[-1]], dim=-1)
        return self.to_mu(h), self.to_logvar(h).clamp(-10.0, 10.0)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    # -- decoder -------------------------------------------------------------------------
    def _h0(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.z_to_h(z)).view(z.size(0), self.layers, self.hidden)
        return h.transpose(0, 1).contiguous()

    def decode(self, tokens_in: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: (B, T) input ids (starting with BOS) and z → (B, T, vocab) logits."""
        emb = self.emb_dropout(self.embedding(tokens_in))
        zz = z.unsqueeze(1).expand(-1, tokens_in.size(1), -1)
        out, _ = self.decoder(torch.cat([emb, zz], dim=-1), self._h0(z))
        return self.out(out)

    def forward(
        self, tokens: torch.Tensor, word_dropout: float = 0.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns logits for ``tokens[:, 1:]``, and ``mu``, ``logvar``."""
        mu, logvar = self.encode(tokens)
        z = self.reparameterize(mu, logvar) if self.training else mu
        tokens_in = tokens[:, :-1]
        if self.training and word_dropout > 0:
            drop = torch.rand(tokens_in.shape, device=tokens.device) < word_dropout
            drop &= (tokens_in != self.pad_idx) & (tokens_in != self.bos_idx)
            tokens_in = tokens_in.masked_fill(drop, self.unk_idx)
        return self.decode(tokens_in, z), mu, logvar

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor,
        max_len: int = 100,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
        constraint: Any = None,
    ) -> torch.Tensor:
        """Decode latents token by token → (B, <= max_len) ids, BOS excluded, EOS included.

        ``constraint``: an object with ``mask() -> (B, vocab) bool`` (allowed next tokens) and
        ``update(tokens)``, e.g. :class:`~chemchallenge.generation.valence.ValenceGrammar`.
        """
        b = z.size(0)
        h = self._h0(z)
        tok = torch.full((b, 1), self.bos_idx, dtype=torch.long, device=z.device)
        done = torch.zeros(b, dtype=torch.bool, device=z.device)
        out = []
        for _ in range(max_len):
            emb = self.embedding(tok)
            o, h = self.decoder(torch.cat([emb, z.unsqueeze(1)], dim=-1), h)
            logits = self.out(o[:, -1])
            logits[:, [self.pad_idx, self.bos_idx, self.unk_idx]] = -torch.inf
            if constraint is not None:
                logits = logits.masked_fill(~constraint.mask().to(logits.device), -torch.inf)
            if greedy or temperature <= 0:
                nxt = logits.argmax(-1)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            nxt = nxt.masked_fill(done, self.pad_idx)
            if constraint is not None:
                constraint.update(nxt)
            out.append(nxt)
            done |= nxt == self.eos_idx
            if bool(done.all()):
                break
            tok = nxt.unsqueeze(1)
        return torch.stack(out, dim=1)


def vae_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    pad_idx: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reconstruction (summed cross-entropy per molecule), KL per molecule, token accuracy."""
    b = targets.size(0)
    recon = (
        nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)),
            targets.reshape(-1),
            ignore_index=pad_idx,
            reduction="sum",
        )
        / b
    )
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / b
    mask = targets != pad_idx
    acc = ((logits.argmax(-1) == targets) & mask).sum() / mask.sum().clamp(min=1)
    return recon, kl, acc


def build_vae(vocab: SmilesVocab, **kwargs: int | float | str) -> SmilesVAE:
    return SmilesVAE(
        len(vocab), vocab.pad_idx, vocab.bos_idx, vocab.eos_idx, vocab.stoi[UNK], **kwargs
    )


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_smiles(
    model: SmilesVAE,
    vocab: SmilesVocab,
    smiles: Sequence[str],
    max_len: int,
    batch_size: int = 256,
) -> np.ndarray:
    """Latent means (n, latent) of SMILES (longer ones are truncated to ``max_len`` tokens)."""
    model.eval()
    dev = _device(model)
    chunks = [np.zeros((0, model.latent_dim), dtype=np.float32)]
    for i in range(0, len(smiles), batch_size):
        tokens = torch.from_numpy(vocab.encode_batch(list(smiles[i : i + batch_size]), max_len))
        mu, _ = model.encode(tokens.to(dev))
        chunks.append(mu.cpu().numpy())
    return np.concatenate(chunks)


@torch.no_grad()
def decode_latents(
    model: SmilesVAE,
    vocab: SmilesVocab,
    z: np.ndarray | torch.Tensor,
    max_len: int,
    temperature: float = 1.0,
    greedy: bool = False,
    seed: int | None = None,
    batch_size: int = 512,
    constrained: bool = False,
) -> list[str]:
    """SMILES strings decoded from latent vectors (not checked for validity); ``constrained``:
    syntax- and valence-constrained decoding (:mod:`chemchallenge.generation.valence`)."""
    model.eval()
    dev = _device(model)
    z = torch.as_tensor(np.asarray(z, dtype=np.float32)) if isinstance(z, np.ndarray) else z
    gen = None
    if seed is not None:
        gen = torch.Generator(device=dev)
        gen.manual_seed(seed)
    out: list[str] = []
    for i in range(0, z.size(0), batch_size):
        zb = z[i : i + batch_size].to(dev)
        grammar = ValenceGrammar(vocab, zb.size(0), max_len) if constrained else None
        ids = model.generate(zb, max_len, temperature, greedy, gen, grammar)
        out.extend(vocab.decode(row) for row in ids.cpu().tolist())
    return out


def sample_prior(
    model: SmilesVAE,
    vocab: SmilesVocab,
    n: int,
    max_len: int,
    temperature: float = 1.0,
    seed: int = 0,
    constrained: bool = False,
) -> list[str]:
    """``n`` SMILES decoded from z ~ N(0, I)."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.latent_dim, generator=rng)
    return decode_latents(model, vocab, z, max_len, temperature, seed=seed, constrained=constrained)
