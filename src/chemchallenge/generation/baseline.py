"""Bars to beat: a token n-gram (Markov) SMILES model, and the floor of held-out real molecules.

``NGramGenerator(order=n)`` counts, for every context of the previous ``n - 1`` tokens
(shared SMILES tokenizer, ``<bos>`` padding), the next token; sampling walks the chain with
back-off to shorter contexts for contexts never seen. It knows nothing about ring closures or
branches beyond its window, so its validity is the bar a learned model must clear.
The *floor* is a random sample of real molecules the models never saw: the best any generator
could do on the distribution metrics (FCD, scaffold/fragment similarity) at that sample size.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from chemchallenge.features.tokenizer import BOS, EOS, tokenize


class NGramGenerator:
    def __init__(self, order: int = 4) -> None:
        if order < 1:
            raise ValueError("n-gram order must be >= 1")
        self.order = order
        # counts[k][context of length k] -> Counter(next token), k = 0 .. order - 1
        self.counts: list[dict[tuple[str, ...], Counter]] = [
            defaultdict(Counter) for _ in range(order)
        ]

    def fit(self, smiles: Sequence[str]) -> NGramGenerator:
        for s in smiles:
            seq = [BOS] * (self.order - 1) + tokenize(s) + [EOS]
            for i in range(self.order - 1, len(seq)):
                for k in range(self.order):
                    ctx = tuple(seq[i - k : i]) if k else ()
                    self.counts[k][ctx][seq[i]] += 1
        self._tables: dict[tuple[int, tuple[str, ...]], tuple[list[str], np.ndarray]] = {}
        return self

    def _dist(self, history: list[str]) -> tuple[list[str], np.ndarray]:
        for k in range(self.order - 1, -1, -1):
            ctx = tuple(history[len(history) - k :]) if k else ()
            if ctx in self.counts[k]:
                key = (k, ctx)
                if key not in self._tables:
                    c = self.counts[k][ctx]
                    p = np.array(list(c.values()), dtype=float)
                    self._tables[key] = (list(c.keys()), p / p.sum())
                return self._tables[key]
        raise RuntimeError("NGramGenerator: call fit() before sample()")

    def sample(self, n: int, max_len: int = 100, seed: int = 0) -> list[str]:
        """``n`` SMILES strings (at most ``max_len`` tokens each; not checked for validity)."""
        if not self.counts[0]:
            raise RuntimeError("NGramGenerator: call fit() before sample()")
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            hist = [BOS] * (self.order - 1)
            toks: list[str] = []
            while len(toks) < max_len:
                keys, p = self._dist(hist)
                tok = keys[rng.choice(len(keys), p=p)]
                if tok == EOS:
                    break
                toks.append(tok)
                hist.append(tok)
            out.append("".join(toks))
        return out


def floor_sample(held_out: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """A random sample (without replacement) of ``n`` held-out real molecules."""
    n = min(n, len(held_out))
    idx = np.random.default_rng(seed).choice(len(held_out), n, replace=False)
    return [held_out[i] for i in sorted(idx)]
