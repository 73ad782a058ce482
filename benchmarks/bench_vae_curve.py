"""Learning curve of the generate stage's VAE: quality of prior samples every few epochs.

Trains the VAE of ``generate`` (same corpus, hold-out and hyper-parameters) and, every ``--every``
epochs, samples ``--n`` molecules from the prior with several decodings and prints, per decoding,
validity, uniqueness, novelty, the sensible fraction and FCD (first 194 valid vs the reference),
plus the greedy reconstruction rate of 200 training molecules. Nothing is kept.

Usage::

    python benchmarks/bench_vae_curve.py --data admet --epochs 70 --set representation=smiles
    python benchmarks/bench_vae_curve.py --data admet --epochs 40            # Kekulé (default)
    python benchmarks/bench_vae_curve.py --data admet --epochs 40 --set representation=selfies

``--set key=value`` overrides ``generate.vae`` (YAML values).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml

from chemchallenge.config import build_section, config_from_dict
from chemchallenge.generation import metrics as M
from chemchallenge.generation.chemistry import sensible_fraction
from chemchallenge.generation.codec import SMILES_FORMS, MoleculeVAE, to_model_strings
from chemchallenge.generation.corpus import Corpus, build_corpus
from chemchallenge.generation.fcd import embedding, frechet_from_embeddings
from chemchallenge.generation.lightning_vae import VAEParams, train_vae
from chemchallenge.generation.settings import parse_generate
from chemchallenge.io import read_parquet
from chemchallenge.paths import Paths
from chemchallenge.stages import prepare

TESTS = Path(__file__).resolve().parents[1] / "tests"  # support.params: params.yaml + changes
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.params import params_with  # noqa: E402

ADMET = Path(__file__).resolve().parents[2] / "shared" / "data" / "challenge-admet"
# name, temperature, syntax+valence-constrained (SMILES only), greedy
DECODINGS = [
    ("T1.0", 1.0, False, False),
    ("T0.7", 0.7, False, False),
    ("T0.5", 0.5, False, False),
    ("greedy", 1.0, False, True),
]
SMILES_ONLY = [("T1.0c", 1.0, True, False), ("T0.7c", 0.7, True, False)]


class SampleEvery(pl.Callback):
    """Scores prior samples of the model being trained every ``every`` epochs."""

    def __init__(self, vp: VAEParams, corpus: Corpus, every: int, n: int) -> None:
        self.vp, self.corpus, self.every, self.n = vp, corpus, every, n
        self.train = set(corpus.train)
        self.ref = embedding(corpus.reference)
        smiles = vp.representation in SMILES_FORMS
        self.decodings = DECODINGS + (SMILES_ONLY if smiles else [])
        self.t0 = time.time()

    def on_train_epoch_end(self, trainer: pl.Trainer, lit: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every:
            return
        model = lit.model
        was_training = model.training
        vae = MoleculeVAE(model.eval(), lit.vocab, self.vp.max_len, self.vp.representation)
        row: dict[str, Any] = {"epoch": epoch, "s": round(time.time() - self.t0)}
        for name, temperature, constrained, greedy in self.decodings:
            vae.constrained = constrained
            valid = [c for c in M.canonical(vae.sample(self.n, temperature, 1, greedy)) if c]
            distinct = set(valid)
            fcd = frechet_from_embeddings(self.ref[0], embedding(valid[:194])[1], self.ref[1])[0]
            row[name] = {
                "valid": round(len(valid) / self.n, 3),
                "unique": round(len(distinct) / max(1, len(valid)), 3),
                "novel": round(len(distinct - self.train) / max(1, len(distinct)), 3),
                "sensible": round(sensible_fraction(valid, self.corpus.train), 3),
                "fcd": round(fcd, 2),
            }
        row["reconstruction"] = vae.reconstruction(self.corpus.train[:200])
        model.train(was_training)
        print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=["demo", "admet"], default="demo")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--set", action="append", default=[], help="generate.vae.<key>=<value>")
    args = ap.parse_args()
    raw = {k: yaml.safe_load(v) for k, _, v in (s.partition("=") for s in args.set)}
    vp: VAEParams = build_section(VAEParams, {**raw, "epochs": args.epochs}, "generate.vae")
    data: dict[str, Any] = {"source": "demo"}
    if args.data == "admet":
        data = {"source": "challenge", "challenge_dir": str(ADMET)}
    cfg = config_from_dict(params_with({"seed": args.seed, "data": data}))
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp))
        with contextlib.redirect_stdout(io.StringIO()):
            prepare.run(cfg, paths)
        holdout = parse_generate(cfg.generate).holdout_fraction  # the stage's split
        train, test = read_parquet(paths.train), read_parquet(paths.test)
        corpus = build_corpus(train, test, [], holdout, args.seed)
    strings = [s for s in to_model_strings(corpus.train, vp.representation) if s]
    print(f"data={args.data} n_train={len(strings)} {vp}", flush=True)
    callback = SampleEvery(vp, corpus, args.every, args.n)
    train_vae(strings, vp, None, None, args.seed, False, [callback])


if __name__ == "__main__":
    main()
