"""Syntax-constrained SMILES decoding: forbid tokens that would break the SMILES *syntax*.

While sampling, each sequence tracks its open branches and open ring-closure labels; tokens that
would make the string unparsable whatever follows are masked out before sampling:

- ``)`` only inside a branch and not right after ``(`` or a bond symbol;
- ``(`` only after an atom, a ring label or ``)``;
- a ring label only after an atom (or a bond symbol / another label), at most 9 open at once,
  closed at least two atoms after it was opened (``C1C1`` would bond two bonded atoms);
- a bond symbol only after an atom, a ring label or ``(``;
- ``<eos>`` only when every branch and ring is closed and the string ends on an atom,
  ring label or ``)``;
- any token only if what it leaves open can still be closed within ``max_len`` tokens.

Valence and aromaticity are *not* constrained (RDKit still rejects e.g. pentavalent carbons or
non-kekulisable rings), so validity stays a meaningful metric; the constraint removes the
syntax errors (unclosed rings and branches) that dominate small-data models. The decoder's
probabilities are renormalised over the allowed tokens (as in syntax-directed decoders, e.g.
Dai et al., 2018); set ``generate.vae.constrained: false`` to sample without it.
"""

from __future__ import annotations

import torch

from chemchallenge.features.tokenizer import BOS, EOS, PAD, UNK, SmilesVocab

BONDS = {"-", "=", "#", "/", "\\", ":", "~", "."}


def _kind(token: str) -> str:
    if token in (PAD, BOS, UNK):
        return "special"
    if token == EOS:
        return "eos"
    if token in ("(", ")"):
        return token
    if token in BONDS:
        return "bond"
    if token.isdigit() or (token.startswith("%") and token[1:].isdigit()):
        return "ring"
    return "atom"


class SmilesGrammar:
    """Per-sequence syntax state for a batch, and the mask of allowed next tokens."""

    def __init__(self, vocab: SmilesVocab, batch: int, max_len: int) -> None:
        self.itos = vocab.itos
        self.kinds = [_kind(t) for t in vocab.itos]
        self.max_len = max_len
        self.step = 0
        self.depth = [0] * batch
        self.rings: list[dict[str, int]] = [{} for _ in range(batch)]  # label -> atom index
        self.atoms = [0] * batch
        self.prev = ["start"] * batch  # kind of the previous token
        n = len(vocab)
        idx = {k: [i for i, kk in enumerate(self.kinds) if kk == k] for k in set(self.kinds)}
        self.by_kind = {k: torch.tensor(v, dtype=torch.long) for k, v in idx.items()}
        self.ring_ids = {self.itos[i]: i for i in idx.get("ring", [])}
        self.vocab_size = n

    @staticmethod
    def _need(depth: int, rings: dict[str, int], atoms: int, prev: str) -> int:
        """Fewest tokens that close everything: atoms, ring labels, ``)``s, then ``<eos>``."""
        n_atoms = 1 if prev in ("start", "(", "bond") or (prev == ")" and rings) else 0
        if rings:
            n_atoms = max(n_atoms, *(opened + 2 - atoms for opened in rings.values()))
        return n_atoms + len(rings) + depth + 1

    def mask(self) -> torch.Tensor:
        """(batch, vocab) booleans: True where the token is allowed next."""
        out = torch.zeros(len(self.depth), self.vocab_size, dtype=torch.bool)
        left = self.max_len - self.step - 1  # tokens still possible after this one
        need = self._need
        for b, (depth, rings, prev) in enumerate(zip(self.depth, self.rings, self.prev)):
            row, atom = out[b], self.atoms[b]
            atomish = prev in ("atom", "ring", ")")
            if need(depth, rings, atom + 1, "atom") <= left:
                row[self.by_kind["atom"]] = True
            if (atomish or prev == "(") and "bond" in self.by_kind:
                row[self.by_kind["bond"]] = need(depth, rings, atom, "bond") <= left
            if atomish and "(" in self.by_kind:
                row[self.by_kind["("]] = need(depth + 1, rings, atom, "(") <= left
            if depth > 0 and atomish and ")" in self.by_kind:
                row[self.by_kind[")"]] = need(depth - 1, rings, atom, ")") <= left
            if prev in ("atom", "ring", "bond"):
                for tok, i in self.ring_ids.items():
                    if tok in rings:  # close: not on the opening atom nor its neighbour
                        rest = {k: v for k, v in rings.items() if k != tok}
                        ok = atom >= rings[tok] + 2 and need(depth, rest, atom, "ring") <= left
                    else:
                        opened = {**rings, tok: atom}
                        ok = prev != "bond" and len(rings) < 9
                        ok = ok and need(depth, opened, atom, "ring") <= left
                    row[i] = ok
            if atomish and depth == 0 and not rings:
                row[self.by_kind["eos"]] = True
            if not row.any():  # nothing fits: let the model decide
                row[:] = True
        return out

    def update(self, tokens: torch.Tensor) -> None:
        """Advance every sequence by its sampled token."""
        self.step += 1
        for b, t in enumerate(tokens.tolist()):
            kind = self.kinds[t]
            if kind == "(":
                self.depth[b] += 1
            elif kind == ")":
                self.depth[b] = max(0, self.depth[b] - 1)
            elif kind == "ring":
                tok = self.itos[t]
                if tok in self.rings[b]:
                    del self.rings[b][tok]
                else:
                    self.rings[b][tok] = self.atoms[b]
            elif kind == "atom":
                self.atoms[b] += 1
            if kind != "special":
                self.prev[b] = kind
