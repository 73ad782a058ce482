"""Valence-aware SMILES decoding: the syntax constraint of grammar.py plus bond-order bookkeeping.

On top of :class:`~chemchallenge.generation.grammar.SmilesGrammar`, each sequence tracks the
atoms it has written and how much valence each has left (``C`` 4, ``N`` 3, ``O`` 2, ``S`` 6,
``P`` 5, halogens 1; a bracket atom ``[NH+]`` from its element, charge and hydrogens), the atom
the next bond attaches to (a stack for branches) and the bond order of open ring closures.
A token is masked out when it would exceed a valence:

- an atom, or a ring label, needs the pending bond order (1, or 2/3 after ``=``/``#``) free
  on the attach atom; ``=``/``#`` need 2/3 free; ``(`` needs 1;
- a ring label that closes a ring needs the order reserved when it was opened.

With *Kekulé* SMILES (no aromatic atoms: ``generate.vae.representation: kekule``) this removes
every valence error and, since no aromatic ring has to be kekulised, the commonest chemistry
error of small-data SMILES models. Aromatic atoms are handled leniently (``c`` 3, ``n`` 3,
``o``/``s`` 2, aromatic bonds counted as single): the constraint never rejects a molecule RDKit
accepts, but cannot rule out non-kekulisable rings.
"""

from __future__ import annotations

import math
import re

import torch

from chemchallenge.features.tokenizer import SmilesVocab
from chemchallenge.generation.grammar import SmilesGrammar

# largest usual valence of the neutral organic-subset atoms (RDKit accepts these)
VALENCE = {"B": 3, "C": 4, "N": 3, "O": 2, "P": 5, "S": 6, "F": 1, "Cl": 1, "Br": 1, "I": 1}
VALENCE |= {"Si": 4, "Se": 6, "As": 5, "H": 1}
AROMATIC = {"b": 3, "c": 3, "n": 3, "o": 2, "p": 3, "s": 2, "se": 2, "as": 3}
BOND_ORDER = {"-": 1, "/": 1, "\\": 1, ":": 1, "~": 1, "=": 2, "#": 3, "$": 4, ".": 0}
_BRACKET = re.compile(r"^\[\d*([A-Z][a-z]?|[a-z]{1,2})@*(H\d*)?([+-]+)?(\d+)?")
UNLIMITED = 8.0


def atom_capacity(token: str) -> float:
    """Bonds an atom token can make to heavy atoms (``UNLIMITED`` when unknown)."""
    if token in VALENCE:
        return float(VALENCE[token])
    if token in AROMATIC:
        return float(AROMATIC[token])
    m = _BRACKET.match(token)
    if not m:
        return UNLIMITED
    element, hydrogens, signs, digits = m.groups()
    base = AROMATIC.get(element) if element.islower() else VALENCE.get(element)
    if base is None:
        return UNLIMITED
    n_h = 0 if not hydrogens else int(hydrogens[1:] or 1)
    charge = 0
    if signs:
        charge = (int(digits) if digits else len(signs)) * (-1 if signs[0] == "-" else 1)
    symbol = element.capitalize()
    if symbol in ("C", "Si"):  # carbocation / carbanion: 3
        base -= abs(charge)
    elif symbol == "B":  # borate [B-]: 4
        base -= charge
    else:  # [N+] 4, [O+] 3, [N-] 2, [O-] 1
        base += charge
    return float(max(0, base - n_h))


class ValenceGrammar(SmilesGrammar):
    """Syntax (grammar.py) and valence constraints for a batch of sequences being decoded."""

    def __init__(self, vocab: SmilesVocab, batch: int, max_len: int) -> None:
        super().__init__(vocab, batch, max_len)
        pairs = list(zip(self.itos, self.kinds))
        self.capacity = torch.tensor(
            [atom_capacity(t) if k == "atom" else math.inf for t, k in pairs]
        )
        self.order = torch.tensor(
            [float(BOND_ORDER.get(t, 1)) if k == "bond" else 0.0 for t, k in pairs]
        )
        self.has_dot = "." in self.itos
        self.left: list[list[float]] = [[] for _ in range(batch)]  # free valence per atom
        self.cur: list[int | None] = [None] * batch  # atom the next bond attaches to
        self.stack: list[list[int | None]] = [[] for _ in range(batch)]
        self.bond = [0.0] * batch  # pending explicit bond order (0: none)
        # open ring label -> (opening atom, bond order it reserved)
        self.ring_order: list[dict[str, tuple[int, float]]] = [{} for _ in range(batch)]

    def mask(self) -> torch.Tensor:
        out = super().mask()
        for b in range(len(self.cur)):
            if out[b].all():  # the syntax fallback (nothing fits): leave it to the model
                continue
            row = out[b] & self._valence_row(b)
            if row.any():  # else a valence dead end: keep the syntax (the molecule may fail)
                out[b] = row
        return out

    def _valence_row(self, b: int) -> torch.Tensor:
        """Tokens that keep every valence of sequence ``b`` within its atoms' capacity."""
        row = torch.ones(self.vocab_size, dtype=torch.bool)
        kinds, cur = self.by_kind, self.cur[b]
        free = self.left[b][cur] if cur is not None else math.inf
        need = self.bond[b] or 1.0
        # a saturated atom on the main chain cannot close the rings still open: keep one bond
        spare = 1.0 if self.depth[b] == 0 and self.ring_order[b] and not self.has_dot else 0.0
        if "atom" in kinds:
            ids = kinds["atom"]
            row[ids] = (self.capacity[ids] >= need + spare) & bool(free >= need)
        if "bond" in kinds:
            ids = kinds["bond"]
            row[ids] = self.order[ids] <= free
        if "(" in kinds and free < 1:
            row[kinds["("]] = False
        for tok, i in self.ring_ids.items():
            if tok not in self.ring_order[b]:
                row[i] = free >= need
                continue
            opener, reserved = self.ring_order[b][tok]
            order = max(need, reserved)  # the opener pays any increase
            last = len(self.ring_order[b]) == 1
            keep = 0.0 if last or self.depth[b] > 0 or self.has_dot else 1.0
            row[i] = free >= order + keep and self.left[b][opener] >= order - reserved
        return row

    def update(self, tokens: torch.Tensor) -> None:
        for b, t in enumerate(tokens.tolist()):
            kind, tok = self.kinds[t], self.itos[t]
            cur, left = self.cur[b], self.left[b]
            order = self.bond[b] or 1.0
            if kind == "atom":
                left.append(float(self.capacity[t]))
                if cur is not None:
                    left[cur] -= order
                    left[-1] -= order
                self.cur[b], self.bond[b] = len(left) - 1, 0.0
            elif kind == "bond":  # "." (order 0) starts a new fragment: nothing to attach to
                self.bond[b] = float(self.order[t])
                if tok == ".":
                    self.cur[b] = None
            elif kind == "(":
                self.stack[b].append(cur)
            elif kind == ")":
                self.cur[b] = self.stack[b].pop() if self.stack[b] else cur
            elif kind == "ring" and cur is not None:
                rings = self.ring_order[b]
                if tok in rings:  # closing: the opener reserved its share already
                    opener, reserved = rings.pop(tok)
                    left[cur] -= max(order, reserved)
                    left[opener] -= max(0.0, order - reserved)
                else:
                    rings[tok] = (cur, order)
                    left[cur] -= order
                self.bond[b] = 0.0
        super().update(tokens)
