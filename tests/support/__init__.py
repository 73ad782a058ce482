"""Helpers the tests and benchmarks share (test data, not part of the package)."""
