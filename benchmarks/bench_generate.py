"""Generate stage: wall time and MOSES-style metrics on the demo and the ADMET challenge data.

Runs the real prepare stage, then the generate stage, in a temporary folder (nothing derived
from the challenge files is kept) and prints validity / uniqueness / novelty / FCD / ... for
the VAE, the latent GAN, the n-gram baseline and the floor (held-out real molecules).

Usage::

    python benchmarks/bench_generate.py --data demo
    python benchmarks/bench_generate.py --data admet --set vae.epochs=100 --set vae.hidden=256

``--set key=value`` overrides the ``generate`` section (dotted keys, YAML values).
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

import yaml

from chemchallenge.paths import Paths
from chemchallenge.stages import generate, prepare

TESTS = Path(__file__).resolve().parents[1] / "tests"  # support.params: params.yaml + changes
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.params import config_with  # noqa: E402

ADMET = Path(__file__).resolve().parents[2] / "shared" / "data" / "challenge-admet"
SHOW = [
    "validity",
    "size_in_range",
    "sensible",
    "unique@1000",
    "novelty",
    "internal_diversity",
    "snn",
    "scaffold_similarity",
    "fragment_similarity",
    "fcd",
    "frechet_descriptor_distance",
    "wasserstein_logP",
    "wasserstein_QED",
    "wasserstein_MW",
    "wasserstein_SA",
]


def _set(d: dict[str, Any], dotted: str) -> None:
    key, _, value = dotted.partition("=")
    *parents, last = key.split(".")
    for p in parents:
        d = d.setdefault(p, {})
    d[last] = yaml.safe_load(value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=["demo", "admet"], default="demo")
    ap.add_argument("--set", action="append", default=[], help="generate.<key>=<value>")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", default=None, help="work in this folder and keep it (outside git)")
    args = ap.parse_args()
    gen: dict[str, Any] = {}
    for s in args.set:
        _set(gen, s)
    data: dict[str, Any] = {"source": "demo"}
    if args.data == "admet":
        data = {"source": "challenge", "challenge_dir": str(ADMET)}
    cfg = config_with({"seed": args.seed, "data": data, "generate": gen})
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        paths = Paths(Path(tmp))
        with contextlib.redirect_stdout(io.StringIO()):
            prepare.run(cfg, paths)
        t0 = time.time()
        generate.run(cfg, paths)
        wall = time.time() - t0
        metrics = json.loads((paths.root / "metrics" / "generation.json").read_text())
    info = metrics.pop("info")
    print(f"data={args.data} overrides={args.set} wall={wall:.0f}s")
    print(
        json.dumps(
            {
                k: info[k]
                for k in ("corpus", "fcd", "vae_reconstruction", "interpolation", "timings")
            },
            indent=1,
        )
    )
    names = ["vae", "gan", "baseline", "floor"]
    print(f"| metric | {' | '.join(names)} |")
    print("|---|" + "---|" * len(names))
    for key in SHOW:
        if key in metrics["vae"]:
            vals = [metrics[n].get(key) for n in names]
            cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in vals]
            print(f"| {key} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
