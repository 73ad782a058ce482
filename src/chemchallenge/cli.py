"""``chemchallenge <stage>``: parse arguments, load the typed config, call the stage.

Nothing else reads params.yaml. Errors about the user's inputs or configuration are
printed as one clear message (exit status 2), never as a traceback; any other exception
becomes one line naming the stage (exit status 1; ``--debug`` shows the traceback), and
Ctrl-C one line saying that a rerun resumes (exit status 130).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from chemchallenge.config import Config, load_config
from chemchallenge.errors import ChemChallengeError, ConfigError
from chemchallenge.paths import Paths

#: subcommand -> (stage module, name of the positional argument or None)
STAGES: dict[str, tuple[str, str | None]] = {
    "check": ("check", None),
    "prepare": ("prepare", None),
    "featurize": ("featurize", "name"),
    "tune": ("tune", "name"),
    "train": ("train", "name"),
    "ensemble": ("ensemble", None),
    "diagnose": ("diagnose", None),
    "submit": ("submit", None),
    "generate": ("generate", None),
    "candidates": ("candidates", None),
    "report": ("report", None),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chemchallenge", description=__doc__.splitlines()[0])
    p.add_argument("--params", default="params.yaml", help="path to params.yaml")
    p.add_argument("--root", default=".", help="project root holding data/, models/, ...")
    p.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an unexpected error"
    )
    sub = p.add_subparsers(dest="command", required=True)
    for command, (_, arg) in STAGES.items():
        sp = sub.add_parser(command, help=f"run the {command} stage")
        if arg:
            sp.add_argument(arg, help="featurizer name" if command == "featurize" else "model name")
    pr = sub.add_parser("predict", help="score new molecules with the trained models")
    pr.add_argument("--input", required=True, help="CSV with a SMILES column")
    pr.add_argument("--output", default=None, help="output CSV (default: <input>.predictions.csv)")
    pr.add_argument("--model", default=None, help="model name (default: submit.model)")
    pr.add_argument(
        "--in-domain", type=float, default=0.35, help="Tanimoto threshold of the domain flag"
    )
    cm = sub.add_parser(
        "compare", help="repeated CV of two or more models on the same folds (close models)"
    )
    cm.add_argument("models", nargs="+", help="model names (models: in params.yaml)")
    cm.add_argument("--repeats", type=int, default=5, help="fold seeds (default 5)")
    dy = sub.add_parser("dvc-yaml", help="write dvc.yaml from params.yaml and the stages' code")
    dy.add_argument("--check", action="store_true", help="only check that dvc.yaml is current")
    pf = sub.add_parser("profile", help="print a profile's values as `dvc exp run` -S arguments")
    pf.add_argument("profile", help="profiles/<name>.yaml, e.g. gpu")
    rs = sub.add_parser("record-score", help="record a public leaderboard score")
    rs.add_argument("submission", help="file name (or unique prefix) in submissions/history")
    rs.add_argument("score", type=float, help="the leaderboard score shown by the site")
    return p


def _raw_params(paths: Paths) -> dict | None:
    import yaml

    path = paths.root / "params.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else None


def _dvc_yaml(cfg: Config, paths: Paths, check: bool) -> int:
    from chemchallenge.pipeline import dvcyaml

    target = paths.root / "dvc.yaml"
    raw = _raw_params(paths)
    if check:
        if dvcyaml.is_current(cfg, target, raw):
            print(f"{target}: up to date")
            return 0
        print(f"{target}: out of date with params.yaml or the code; run `chemchallenge dvc-yaml`")
        return 1
    changed = dvcyaml.write(cfg, target, raw)
    print(f"{target}: {'written' if changed else 'already up to date'}")
    return 0


def _warn_stale_dvc_yaml(cfg: Config, paths: Paths) -> None:
    """A stage run with a params.yaml that dvc.yaml does not reflect (e.g. `dvc exp run -S
    models.x.features=...`) computes the right thing now, but DVC would miss later changes of
    the inputs it does not declare: say so."""
    from chemchallenge.pipeline import dvcyaml

    target = paths.root / "dvc.yaml"
    if target.exists() and not dvcyaml.is_current(cfg, target, _raw_params(paths)):
        print(
            f"chemchallenge: warning: {target} is out of date with params.yaml or the code "
            "(models, features or imports changed): run `chemchallenge dvc-yaml`, then "
            "`dvc repro`, so that DVC tracks what each stage reads",
            file=sys.stderr,
        )


def _stage_name(args: argparse.Namespace) -> str:
    """``train-xgb``-style name of the command, for messages."""
    _, arg = STAGES.get(args.command, ("", None))
    return f"{args.command}-{getattr(args, arg)}" if arg else args.command


def _interrupted(args: argparse.Namespace) -> str:
    what = _stage_name(args)
    if args.command == "tune":
        return (
            f"chemchallenge {what}: interrupted; finished trials are kept in the study: "
            "rerun to resume"
        )
    return (
        f"chemchallenge {what}: interrupted; outputs are written atomically, so nothing "
        "half-written was left: rerun to resume"
    )


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except ChemChallengeError as err:
        print(f"chemchallenge {_stage_name(args)}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        print(
            f"chemchallenge {_stage_name(args)}: unexpected error: {type(err).__name__}: "
            f"{_one_line(err)} (rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


def _main(args: argparse.Namespace) -> int:
    # this interpreter's hash seed is already fixed; the variable reaches the processes it
    # starts (featurizer and DDP workers under spawn/forkserver), so their set/dict orders match
    os.environ.setdefault("PYTHONHASHSEED", "0")
    # idle OpenMP threads sleep instead of spinning: XGBoost/torch stay fast on 2 shared cores
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    cfg = load_config(args.params)
    root = Path(args.root)
    if not root.is_dir():
        raise ConfigError(f"--root {root}: not a directory")
    paths = Paths(root)
    if args.command in STAGES:
        _warn_stale_dvc_yaml(cfg, paths)
        module_name, arg = STAGES[args.command]
        module = importlib.import_module(f"chemchallenge.stages.{module_name}")
        extra = {arg: getattr(args, arg)} if arg else {}
        module.run(cfg, paths, **extra)
    elif args.command == "predict":
        from chemchallenge.predictor import predict_file

        predict_file(cfg, paths, Path(args.input), args.output, args.model, args.in_domain)
    elif args.command == "compare":
        from chemchallenge.stages.compare import run as compare

        compare(cfg, paths, list(args.models), args.repeats)
    elif args.command == "profile":
        from chemchallenge.profiles import check, command_line

        print(command_line(check(paths.root, args.profile, Path(args.params))))
    elif args.command == "dvc-yaml":
        return _dvc_yaml(cfg, paths, args.check)
    elif args.command == "record-score":
        from chemchallenge.registry import record_score

        record_score(paths, args.submission, args.score)
    return 0


if __name__ == "__main__":
    sys.exit(main())
