"""Optuna hyper-parameter tuning: search spaces from params.yaml, the CV objective, the
study's storage/sampler/pruner and the figures for the report."""
