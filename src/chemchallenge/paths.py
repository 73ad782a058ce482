"""Where each stage reads and writes, relative to the project root (the DVC contract)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: the name under which the ensemble's predictions are read like a model's
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class Paths:
    root: Path = Path(".")

    # prepare
    @property
    def prepared(self) -> Path:
        return self.root / "data" / "prepared"

    @property
    def train(self) -> Path:
        return self.prepared / "train.parquet"

    @property
    def test(self) -> Path:
        return self.prepared / "test.parquet"

    @property
    def folds(self) -> Path:
        return self.prepared / "folds.parquet"

    @property
    def params_checked(self) -> Path:
        """Written by ``chemchallenge check`` (dvc.yaml's first stage): constant text."""
        return self.root / "data" / "params_checked.txt"

    @property
    def task(self) -> Path:
        return self.prepared / "task.json"

    @property
    def prepare_report(self) -> Path:
        return self.prepared / "prepare_report.json"

    @property
    def holdout_labels(self) -> Path:
        """Demo mode only: the hidden test labels, kept apart from X_test."""
        return self.prepared / "holdout_labels.parquet"

    # featurize
    def features(self, name: str) -> Path:
        return self.root / "data" / "features" / f"{name}.parquet"

    def leak(self, name: str) -> Path:
        """Transfer featurizers only: how well each feature alone predicts each target."""
        return self.root / "data" / "features" / f"{name}.leak.json"

    # tune / train
    def model_dir(self, model: str) -> Path:
        """``models/<model>/``; the ensemble lives apart in ``ensemble/`` so that DVC can make
        it depend on the whole ``models/`` folder."""
        if model == ENSEMBLE:
            return self.root / ENSEMBLE
        return self.root / "models" / model

    def thresholds(self, model: str) -> Path:
        """Per-target decision thresholds chosen on out-of-fold predictions (the ensemble)."""
        return self.model_dir(model) / "thresholds.json"

    @property
    def ensemble_weights(self) -> Path:
        return self.model_dir(ENSEMBLE) / "weights.json"

    def best_params(self, model: str) -> Path:
        return self.model_dir(model) / "best_params.json"

    def estimators(self, model: str) -> Path:
        """The fitted fold models, in one file (read with :mod:`chemchallenge.models.persist`)."""
        return self.model_dir(model) / "estimators.pt"

    def oof(self, model: str) -> Path:
        return self.model_dir(model) / "oof.parquet"

    def test_pred(self, model: str) -> Path:
        return self.model_dir(model) / "test.parquet"

    def metrics(self, model: str) -> Path:
        """DVC metrics: a few numbers (see :mod:`chemchallenge.scores`)."""
        return self.root / "metrics" / f"{model}.json"

    def scores(self, model: str) -> Path:
        """Everything the train (or ensemble) stage measured: per fold, per target, params."""
        return self.model_dir(model) / "scores.json"

    def curves(self, model: str) -> Path:
        """DVCLive directory of a network's learning curves (one sub-folder per fold)."""
        return self.root / "dvclive" / model

    def tuning_dir(self, model: str) -> Path:
        """Optuna figures and trials table of a tuned model."""
        return self.model_dir(model) / "tuning"

    # submit
    @property
    def submissions(self) -> Path:
        return self.root / "submissions"

    # generate
    @property
    def generated(self) -> Path:
        return self.root / "generated"

    @property
    def generation_scores(self) -> Path:
        """Everything ``generate`` measured (``metrics/generation.json`` holds a summary)."""
        return self.generated / "generation.json"

    @property
    def candidates(self) -> Path:
        """Output folder of the ``candidates`` stage (trained predictor x generated molecules)."""
        return self.root / "candidates"

    # diagnose
    @property
    def diagnostics(self) -> Path:
        """Learning curve and scaffold-split CV of the best tabular model."""
        return self.root / "diagnostics"

    # report
    @property
    def reports(self) -> Path:
        return self.root / "reports"
