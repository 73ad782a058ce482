"""Stage `prepare`: validate the challenge files, standardise molecules, detect the task,
write fixed CV folds and a JSON report of everything found."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from chemchallenge.config import Config
from chemchallenge.data.challenge import (
    RawChallenge,
    check_header,
    detect_id_column,
    detect_smiles_column,
    detect_targets,
    read_challenge,
)
from chemchallenge.data.demo import load_demo
from chemchallenge.data.molecules import (
    HUGE_MOLECULE,
    SLOW_ON_HUGE,
    merge_duplicates,
    overlap,
    standardize_column,
)
from chemchallenge.data.splits import SPLIT_FOR_TASK, make_folds
from chemchallenge.data.standardize import Standardizer
from chemchallenge.data.validate import Findings, check_ids, check_xy_match, parse_targets
from chemchallenge.errors import ConfigError, InputError
from chemchallenge.io import write_json, write_parquet
from chemchallenge.metrics import get_metric
from chemchallenge.paths import Paths
from chemchallenge.tasks import DEFAULT_METRIC, TaskSpec, TaskType, detect_task


def _class_order(values: pd.Series) -> list[str]:
    uniq = sorted({str(v) for v in values.dropna()})
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


def run(cfg: Config, paths: Paths) -> None:
    t0 = time.time()
    if cfg.data.source == "demo":
        raw, holdout = load_demo()
    else:
        raw, holdout = read_challenge(cfg.data, paths.root), None
    found = Findings()
    task, train, test = _validate(cfg, raw, found)
    folds = make_folds(
        _label_matrix(train, task),
        list(train["smiles"]),
        task.task_type,
        cfg.prepare.cv.split,
        cfg.prepare.cv.n_folds,
        cfg.seed,
    )
    write_parquet(paths.train, train)
    write_parquet(paths.test, test)
    write_parquet(paths.folds, pd.DataFrame({"id": train["id"], "fold": folds}))
    write_json(paths.task, task.to_dict())
    if holdout is not None:
        write_parquet(paths.holdout_labels, holdout)
    elif paths.holdout_labels.exists():
        paths.holdout_labels.unlink()
    report = _report(cfg, raw, task, train, test, folds, found, time.time() - t0)
    write_json(paths.prepare_report, report)
    _print_summary(report)


def _validate(
    cfg: Config, raw: RawChallenge, found: Findings
) -> tuple[TaskSpec, pd.DataFrame, pd.DataFrame]:
    n = raw.names
    id_x = detect_id_column(raw.x_train, cfg.data.id_column, n["x_train"])
    id_y = detect_id_column(raw.y_train, cfg.data.id_column, n["y_train"])
    id_t = detect_id_column(raw.x_test, cfg.data.id_column, n["x_test"])
    smi_x = detect_smiles_column(raw.x_train, cfg.data.smiles_column, id_x, n["x_train"])
    smi_t = detect_smiles_column(raw.x_test, cfg.data.smiles_column, id_t, n["x_test"])
    targets = detect_targets(raw.y_train, cfg.data.targets, id_y, n["y_train"])
    left_out = [c for c in raw.y_train.columns if c != id_y and c not in targets]
    if left_out:
        found.warn(
            n["y_train"],
            "targets_left_out",
            f"columns {left_out} are not in data.targets: the submission will not have them "
            "(the site may expect every column of y_train)",
        )
    check_header(raw.x_train, n["x_train"], id_x, smi_x, [])
    check_header(raw.x_test, n["x_test"], id_t, smi_t, [])
    check_header(raw.y_train, n["y_train"], id_y, None, targets)
    for df, col, role in (
        (raw.x_train, id_x, "x_train"),
        (raw.y_train, id_y, "y_train"),
        (raw.x_test, id_t, "x_test"),
    ):
        check_ids(df, col, n[role], found)
    found.raise_if_errors()
    # IDs keep their exact spelling (the submission echoes X_test's IDs as written)
    check_xy_match(raw.x_train[id_x], raw.y_train[id_y], n["x_train"], n["y_train"], found)
    found.raise_if_errors()
    task_type = (
        detect_task(raw.y_train[targets].replace("", None))
        if cfg.data.task == "auto"
        else TaskType(cfg.data.task)
    )
    if cfg.data.task == "auto" and task_type in (TaskType.REGRESSION, TaskType.MULTICLASS):
        _almost_binary(raw.y_train, targets, id_y, n["y_train"], found)
        found.raise_if_errors()
    check_task_targets(task_type, targets, cfg.data.task, n["y_train"])
    labels = parse_targets(raw.y_train, targets, id_y, task_type, n["y_train"], found)
    found.raise_if_errors()
    metric = DEFAULT_METRIC[task_type] if cfg.data.metric == "auto" else cfg.data.metric
    try:
        get_metric(metric, task_type)
    except ConfigError as err:
        raise ConfigError(f"data.metric: {err}") from err

    std = Standardizer(cfg.prepare.standardize)
    mols = standardize_column(
        raw.x_train[id_x], raw.x_train[smi_x], std, n["x_train"], found, dropped=True
    )
    train = mols.merge(labels, on="id", how="left", validate="one_to_one")
    train = train[train[targets].notna().any(axis=1) & train["valid"]]
    if train.empty:
        raise InputError(
            n["x_train"],
            f"no valid labelled training molecule left (is {smi_x!r} the SMILES column? "
            "see data.smiles_column)",
        )
    train = merge_duplicates(train, targets, task_type, cfg.prepare.conflicts, n["x_train"], found)
    classes: list[str] = []
    if task_type == TaskType.MULTICLASS:
        classes = _class_order(train[targets[0]])
        index = {c: float(i) for i, c in enumerate(classes)}
        train[targets[0]] = train[targets[0]].map(lambda v: index.get(str(v), np.nan))
    train[targets] = train[targets].astype(float)
    train["valid"] = True
    test = standardize_column(
        raw.x_test[id_t], raw.x_test[smi_t], std, n["x_test"], found, dropped=False
    )
    if not test["valid"].any():
        raise InputError(
            n["x_test"],
            f"no valid SMILES at all in column {smi_t!r}: every prediction would be the same "
            "fallback; is it the SMILES column? (see data.smiles_column)",
        )
    overlap(train, test, n["x_test"], found)
    _warn_huge(train, n["x_train"], found)
    _warn_huge(test, n["x_test"], found)
    task = TaskSpec(task_type, targets, metric, id_column=id_t, classes=classes)
    return task, train.reset_index(drop=True), test


def _almost_binary(
    y: pd.DataFrame, targets: list[str], id_col: str, file: str, found: Findings
) -> None:
    """Labels that are 0/1 but for a few cells are a classification task with typos: the
    task would silently become regression (float predictions for a 0/1 challenge), so each
    odd cell is an error unless ``data.task`` says what the labels are."""
    values = y[targets].apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    known = values.notna()
    binary = values.isin([0.0, 1.0])
    n_known, n_binary = int(known.sum().sum()), int(binary.sum().sum())
    if n_known and n_binary < n_known and n_binary >= 0.95 * n_known:
        odd = known & ~binary
        cells = [
            f"ID {y.loc[i, id_col]} column {t!r}: {y.loc[i, t].strip()!r}"
            for t in targets
            for i in odd.index[odd[t].to_numpy()]
        ]
        found.error(
            file,
            "almost_binary",
            f"labels are 0/1 except in {len(cells)} cell(s): a classification task with a typo? "
            "fix the cell(s), or set data.task if they are meant (regression or multiclass)",
            cells,
        )


def _warn_huge(mols: pd.DataFrame, file: str, found: Findings) -> None:
    """Very large molecules featurise slowly; the costliest descriptors are skipped."""
    from rdkit import Chem, rdBase

    huge = []
    with rdBase.BlockLogs():
        for i, s in zip(mols["id"], mols["smiles"], strict=True):
            mol = Chem.MolFromSmiles(s) if isinstance(s, str) and len(s) > HUGE_MOLECULE else None
            if mol is not None and mol.GetNumHeavyAtoms() > HUGE_MOLECULE:
                huge.append(f"{i} ({mol.GetNumHeavyAtoms()} heavy atoms)")
    if huge:
        found.warn(
            file,
            "huge_molecule",
            f"{len(huge)} molecules have more than {HUGE_MOLECULE} heavy atoms: featurizing "
            f"them is slow, and the descriptors {sorted(SLOW_ON_HUGE)} are skipped for them",
            huge,
        )


def check_task_targets(task: TaskType, targets: list[str], configured: str, file: str) -> None:
    """The task type must fit the number of target columns (stratification, metric and the
    submission's value domain depend on it)."""
    how = "data.task" if configured != "auto" else "the detected task"
    if task == TaskType.BINARY and len(targets) != 1:
        raise InputError(
            file,
            f"{how} is binary but there are {len(targets)} target columns {targets}: "
            "set data.task: multilabel (or data.targets to the one target)",
        )
    if task == TaskType.MULTILABEL and len(targets) < 2:
        raise InputError(
            file,
            f"{how} is multilabel but there is one target column {targets}: set data.task: binary",
        )
    if task == TaskType.MULTICLASS and len(targets) != 1:
        raise InputError(
            file,
            f"{how} is multiclass but there are {len(targets)} target columns {targets}: "
            "multiclass needs one target column (data.targets)",
        )


def _label_matrix(train: pd.DataFrame, task: TaskSpec) -> np.ndarray:
    return train[task.targets].to_numpy(dtype=float)


def _label_stats(train: pd.DataFrame, task: TaskSpec) -> dict[str, dict[str, float]]:
    stats = {}
    for t in task.targets:
        v = train[t].dropna()
        d: dict[str, float] = {"n": len(v), "missing": int(train[t].isna().sum())}
        if task.task_type == TaskType.REGRESSION:
            d.update(
                mean=float(v.mean()), std=float(v.std()), min=float(v.min()), max=float(v.max())
            )
        elif task.task_type == TaskType.MULTICLASS:
            d.update({f"share_{c}": float((v == i).mean()) for i, c in enumerate(task.classes)})
        else:
            d["positive_rate"] = float(v.mean())
        stats[t] = d
    return stats


def _report(
    cfg: Config,
    raw: RawChallenge,
    task: TaskSpec,
    train: pd.DataFrame,
    test: pd.DataFrame,
    folds: np.ndarray,
    found: Findings,
    seconds: float,
) -> dict:
    counts = {f.check: len(f.rows) for f in found.items}
    return {
        "source": cfg.data.source,
        "files": raw.names,
        "task": task.to_dict(),
        "split": SPLIT_FOR_TASK[task.task_type]
        if cfg.prepare.cv.split == "auto"
        else cfg.prepare.cv.split,
        "counts": {
            "x_train_rows": len(raw.x_train),
            "x_test_rows": len(raw.x_test),
            "train_molecules": len(train),
            "test_molecules": len(test),
            "invalid_test": int((~test["valid"]).sum()),
            **counts,
        },
        "labels": _label_stats(train, task),
        "fold_sizes": np.bincount(folds).tolist(),
        "findings": found.to_list(),
        "seconds": round(seconds, 2),
    }


def _print_summary(report: dict) -> None:
    c = report["counts"]
    t = report["task"]
    print(
        f"prepare: {t['task_type']} task, targets {t['targets']}, metric {t['metric']}; "
        f"{c['train_molecules']} train / {c['test_molecules']} test molecules; "
        f"folds {report['fold_sizes']} ({report['split']})"
    )
    for f in report["findings"]:
        shown = ", ".join(f["rows"][:5]) + (" ..." if len(f["rows"]) > 5 else "")
        print(f"  {f['level']}: {f['file']}: {f['message']}" + (f" [{shown}]" if shown else ""))
