"""A null in a free-form section stays null; an empty featurizer entry means no params."""

from support.params import config_with


def test_null_inside_free_form_section_is_kept() -> None:
    cfg = config_with({"generate": {"extra_corpus": None, "n_samples": 10}})
    assert cfg.generate["extra_corpus"] is None


def test_featurizer_without_params_is_an_empty_mapping() -> None:
    cfg = config_with({"featurize": {"featurizers": {"maccs": None}}})
    assert cfg.featurize.featurizers["maccs"] == {}
