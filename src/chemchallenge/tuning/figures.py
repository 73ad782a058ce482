"""Tuning figures for the report: optimisation history, parameter importance, parallel
coordinates (``optuna.visualization.matplotlib``), and the trials table."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.trial import TrialState

from chemchallenge.io import write_csv


def _save(ax: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = ax.figure if hasattr(ax, "figure") else ax[0].figure  # type: ignore[index]
    fig.set_size_inches(8, 5)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def varying_params(study: optuna.Study) -> list[str]:
    """Parameters that take more than one value among the completed trials."""
    values: dict[str, set[str]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        for k, v in t.params.items():
            values.setdefault(k, set()).add(repr(v))
    return sorted(k for k, v in values.items() if len(v) > 1)


def write_trials(study: optuna.Study, path: Path) -> None:
    df = study.trials_dataframe(multi_index=False)
    write_csv(path, df)


def write_figures(study: optuna.Study, out_dir: Path, seed: int = 0) -> list[str]:
    """Write ``history.png``, ``importance.png`` and ``parallel.png`` into ``out_dir``.

    Returns
    -------
    list of str
        Notes on figures that were skipped and why.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    from optuna.visualization import matplotlib as ovm

    notes: list[str] = []
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varying = varying_params(study)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning of the matplotlib backend
        if complete:
            _save(ovm.plot_optimization_history(study), out_dir / "history.png")
        else:
            notes.append("history.png skipped: no completed trial")
        values = {t.value for t in complete}
        if len(complete) >= 2 and varying and len(values) > 1:
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
            _save(
                ovm.plot_param_importances(study, evaluator=evaluator, params=varying),
                out_dir / "importance.png",
            )
        elif len(values) == 1 and len(complete) >= 2:
            notes.append(
                f"importance.png skipped: all {len(complete)} completed trials scored "
                f"{next(iter(values))}: no parameter made a difference"
            )
        else:
            notes.append(
                "importance.png skipped: needs at least 2 completed trials and 1 varying "
                f"parameter (got {len(complete)} completed, varying {varying})"
            )
        if complete and varying:
            _save(ovm.plot_parallel_coordinate(study, params=varying), out_dir / "parallel.png")
        else:
            notes.append("parallel.png skipped: no completed trial with a varying parameter")
    return notes
