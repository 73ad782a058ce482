"""Search-space parsing from params.yaml and its error messages."""

from __future__ import annotations

import optuna
import pytest

from chemchallenge.errors import ConfigError
from chemchallenge.tuning.space import default_point, parse_search_space, suggest_params

SPACE = {
    "max_depth": {"type": "int", "low": 2, "high": 8},
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "subsample": {"type": "float", "low": 0.5, "high": 1.0, "step": 0.1},
    "n_estimators": {"type": "int", "low": 100, "high": 500, "step": 100},
    "booster": {"type": "categorical", "choices": ["gbtree", "dart"]},
}


def test_parse_and_suggest() -> None:
    space = parse_search_space("xgb", SPACE)
    assert set(space) == set(SPACE)
    assert space["learning_rate"].log and space["n_estimators"].step == 100
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        p = suggest_params(trial, space)
        assert 2 <= p["max_depth"] <= 8 and isinstance(p["max_depth"], int)
        assert 0.01 <= p["learning_rate"] <= 0.3
        assert p["n_estimators"] % 100 == 0
        assert p["booster"] in ("gbtree", "dart")
        study.tell(trial, 0.0)


def test_default_point_keeps_values_inside_the_space() -> None:
    space = parse_search_space("xgb", SPACE)
    params = {"max_depth": 6, "learning_rate": 0.5, "booster": "gbtree", "other": 1}
    assert default_point(space, params) == {"max_depth": 6, "booster": "gbtree"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "integer", "low": 1, "high": 2}, r"\.type"),
        ({"type": "int", "high": 2}, r"\.low: required"),
        ({"type": "int", "low": 1.5, "high": 2}, r"\.low: expected an integer"),
        ({"type": "float", "low": 1, "high": 1}, r": low .* smaller"),
        ({"type": "float", "low": 0, "high": 1, "log": True}, r": log: true needs low > 0"),
        ({"type": "float", "low": 0.1, "high": 1, "log": "yes"}, r"\.log"),
        ({"type": "float", "low": 0.1, "high": 1, "log": True, "step": 0.1}, r": step and log"),
        ({"type": "int", "low": 1, "high": 9, "step": 0}, r"\.step"),
        ({"type": "categorical", "choices": []}, r"\.choices"),
        ({"type": "categorical", "choices": [[1]]}, r"\.choices"),
        ({"type": "categorical", "choices": [1], "low": 0}, r": unknown key\(s\) \['low'\]"),
        ([1, 2], r": expected a mapping"),
    ],
)
def test_errors_name_the_parameter(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"models\.xgb\.search_space\.p" + message):
        parse_search_space("xgb", {"p": spec})


def test_empty_space_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"models\.rf\.search_space: empty"):
        parse_search_space("rf", {})


def test_figures_when_every_trial_ties(tmp_path) -> None:
    """A study whose trials all score the same (e.g. a tiny data set) still gets its history
    figure, and a note instead of fANOVA's 'zero total variance' error."""
    from chemchallenge.tuning.figures import write_figures

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: 0.5 + 0 * t.suggest_float("x", 0, 1), n_trials=4)
    notes = write_figures(study, tmp_path)
    assert (tmp_path / "history.png").exists()
    assert not (tmp_path / "importance.png").exists()
    assert any("all 4 completed trials scored 0.5" in n for n in notes), notes
