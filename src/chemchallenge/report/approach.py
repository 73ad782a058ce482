"""The approach: what each model sees, how it is validated, tuned and blended, and why the
submitted solution was retained — every line read from params and stage outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from chemchallenge.report.context import GRAPH_KINDS, Context, ModelRun
from chemchallenge.report.items import Note, Section, Table, safe, sig
from chemchallenge.report.ladder import paired, step, uses_thresholds

#: the methods and tools the pipeline uses, cited in the report and on the last slide
REFERENCES = [
    "RDKit: open-source cheminformatics, https://www.rdkit.org (descriptors, Morgan/ECFP "
    "fingerprints, Bemis–Murcko scaffolds).",
    "Rogers & Hahn (2010), Extended-connectivity fingerprints, J. Chem. Inf. Model. 50, 742.",
    "Breiman (2001), Random forests, Machine Learning 45, 5.",
    "Chen & Guestrin (2016), XGBoost: a scalable tree boosting system, KDD.",
    "Akiba et al. (2019), Optuna: a next-generation hyperparameter optimization framework, KDD.",
    "Kipf & Welling (2017), Semi-supervised classification with graph convolutional networks "
    "(GCN), ICLR.",
    "Xu et al. (2019), How powerful are graph neural networks? (GIN), ICLR; Hu et al. (2020), "
    "Strategies for pre-training graph neural networks (GINE), ICLR.",
    "Yang et al. (2019), Analyzing learned molecular representations for property prediction "
    "(D-MPNN; chemprop), J. Chem. Inf. Model. 59, 3370.",
    "Xiong et al. (2020), Pushing the boundaries of molecular representation for drug "
    "discovery with the graph attention mechanism (AttentiveFP), J. Med. Chem. 63, 8749.",
    "Gómez-Bombarelli et al. (2018), Automatic chemical design using a data-driven continuous "
    "representation of molecules (VAE), ACS Cent. Sci. 4, 268.",
    "Goodfellow et al. (2014), Generative adversarial nets, NeurIPS; Prykhodko et al. (2019), "
    "A de novo molecular generation method using latent vector based GANs, J. Cheminform. 11, 74.",
    "Krenn et al. (2020), Self-referencing embedded strings (SELFIES), Mach. Learn.: Sci. "
    "Technol. 1, 045024.",
    "Polykovskiy et al. (2020), Molecular Sets (MOSES): a benchmarking platform for molecular "
    "generation models, Front. Pharmacol. 11, 565644.",
    "Preuer et al. (2018), Fréchet ChemNet distance (FCD), J. Chem. Inf. Model. 58, 1736.",
    "Sheridan (2013), Time-split cross-validation as a method for estimating the goodness of "
    "prospective prediction, J. Chem. Inf. Model. 53, 783 (why random CV can be optimistic).",
    "Cawley & Talbot (2010), On over-fitting in model selection and subsequent selection bias "
    "in performance evaluation, JMLR 11, 2079 (nested CV).",
]


def short_reference(ref: str) -> str:
    """``Authors (year), Title…`` → ``Authors (year): Title`` (the first two fields)."""
    head = ref.split(": ", 1)[0] if ref.startswith("RDKit") else ref
    parts = head.split(", ")
    return ": ".join(parts[:2]) if len(parts) > 1 and "(" in parts[0] else parts[0]


def inputs_of(r: ModelRun) -> str:
    if r.features:
        return ", ".join(r.features)
    if r.kind in GRAPH_KINDS:
        return "molecular graph (atoms, bonds)"
    if "smiles" in r.kind or r.kind in ("cnn", "rnn"):
        return "SMILES tokens"
    return "–"


def tuning_text(r: ModelRun) -> str:
    bp = r.best_params if isinstance(r.best_params, dict) else {}
    if not r.metrics.get("tuned") or not bp.get("tuned", True):
        return "defaults"
    n = bp.get("n_trials")
    default, best = bp.get("default_value"), bp.get("best_value", bp.get("value"))
    s = f"{n} Optuna trials" if n is not None else "Optuna"
    if default is not None and best is not None:
        s += f" (defaults {sig(default)} → {sig(best)})"
    return s


def approach_rows(ctx: Context) -> list[list[str]]:
    rows = []
    for r in ctx.models:
        w = ctx.weight(r.name)
        rows.append(
            [
                r.name,
                r.concept or r.kind,
                inputs_of(r),
                tuning_text(r),
                "–" if not np.isfinite(w) else f"{w:.2f}",
            ]
        )
    return rows


def approach_sentences(ctx: Context, facts: dict[str, Any]) -> list[str]:
    out = []
    rep = ctx.prepare_report or {}
    sizes = rep.get("fold_sizes") or []
    if sizes:
        out.append(
            f"Validation: {len(sizes)}-fold cross-validation ({rep.get('split', '?')} split, "
            f"{min(sizes)}–{max(sizes)} molecules per fold), the same folds for every model"
            + (
                "; the networks early-stop on an inner split of the training folds "
                "(`val_fraction`, 10 % by default), never on the scored fold."
                if any(r.curves for r in ctx.models)
                else "."
            )
        )
    tuned = [r for r in ctx.models if r.metrics.get("tuned")]
    if tuned:
        out.append(
            "Tuning: "
            + "; ".join(f"{r.name} {tuning_text(r)}" for r in tuned)
            + ". The tuned CV score is selected on the same folds, so it is slightly optimistic; "
            "the nested ensemble score is not."
        )
    ens = ctx.ensemble
    if ens is not None:
        members = [(m, ctx.weight(m)) for m in ens.metrics.get("members") or []]
        used = sorted([(m, w) for m, w in members if w > 0], key=lambda t: -t[1])
        method = ens.metrics.get("method", ens.kind)
        s = f"Blend: {method} of the out-of-fold predictions"
        if used:
            s += ", non-zero weights for " + ", ".join(f"{m} {w:.2f}" for m, w in used)
        s += f" ({len(members) - len(used)} of {len(members)} members get weight 0)"
        thr = ens.metrics.get("thresholds")
        if uses_thresholds(ctx) and isinstance(thr, dict) and thr:
            s += "; decision thresholds per target: " + ", ".join(
                f"{t} {v:.2f}" for t, v in thr.items()
            )
        out.append(s + ".")
    why = retained_sentence(ctx, facts)
    if why:
        out.append(why)
    return out


def retained_sentence(ctx: Context, facts: dict[str, Any]) -> str | None:
    """Why the submitted model: its nested score against the best single model."""
    steps = facts.get("ladder") or []
    gib = facts.get("greater_is_better", True)
    sub = ctx.submitted
    if sub != "ensemble":
        r = ctx.run(sub)
        if r is None:
            return None
        return f"Submitted: {sub} (CV {sig(r.fair_mean)} ± {sig(r.fair_std)})."
    key = "ensemble_tuned" if step(steps, "ensemble_tuned") else "ensemble"
    ref = "single_tuned" if key == "ensemble_tuned" and step(steps, "single_tuned") else "single"
    e, s = step(steps, key), step(steps, ref)
    if e is None:
        return None
    text = f"Submitted: the ensemble{' with tuned thresholds' if key == 'ensemble_tuned' else ''}"
    if s is not None:
        p = paired(s, e, gib)
        if p is not None:
            text += (
                f", {sig(e.mean)} vs {sig(s.mean)} for the best single model under the same "
                f"protocol, {'better' if p.gain > 0 else 'not better'} in {p.better} of {p.n} "
                "folds"
            )
    return text + "."


def approach_section(ctx: Context, facts: dict[str, Any]) -> Section:
    sec = Section("approach", "2. The approach")
    if not ctx.models:
        sec.add(Note("No model has been trained yet: nothing to describe."))
        return sec

    def items() -> list[Any]:
        from chemchallenge.report.leak import leak_items, leak_sentences

        said = approach_sentences(ctx, facts)
        leaks = leak_items(ctx, facts)
        facts["approach"] = said + leak_sentences(ctx, facts)
        cap = (
            "What each model sees and how it was set; weight = its share of the submitted "
            "blend (– without an ensemble)."
        )
        cols = ["model", "method", "inputs", "hyper-parameters", "ensemble weight"]
        return [Table("Models and their inputs", cols, approach_rows(ctx), cap), *leaks]

    safe(sec, "the approach", items)
    return sec
