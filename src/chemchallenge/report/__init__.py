"""Report: figures and templates built from stage outputs only."""
