"""dvc.yaml derived from params.yaml and the code each stage imports."""
