"""Estimators behind one interface (``fit`` / ``predict`` -> per-output scores)."""
