#!/usr/bin/env bash
# Run the pipeline on ../shared/data/challenge-admet in a scratch clone and check the
# submission: 486 rows, header ID,Y1,Y2,Y3, 0/1 integers, IDs of X_test in order.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
admet="$(cd "$root/../shared/data/challenge-admet" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/repo"
cd "$work/repo"
cp "$admet"/X_train.csv "$admet"/y_train.csv "$admet"/X_test.csv data/challenge/
export PATH="$root/.venv/bin:$PATH"
python - <<'PY'
import yaml
p = yaml.safe_load(open("params.yaml"))
p["data"]["source"] = "challenge"
yaml.safe_dump(p, open("params.yaml", "w"), sort_keys=False)
PY
dvc repro ${ADMET_STAGES:-submit}
dvc metrics show
python - "$admet/X_test.csv" <<'PY'
import sys
import pandas as pd
sub = pd.read_csv("submissions/submission.csv")
x = pd.read_csv(sys.argv[1])
assert list(sub.columns) == ["ID", "Y1", "Y2", "Y3"], list(sub.columns)
assert len(sub) == 486, len(sub)
assert sub["ID"].tolist() == x["ID"].tolist(), "IDs differ from X_test"
for c in ["Y1", "Y2", "Y3"]:
    assert sub[c].dtype.kind == "i" and set(sub[c].unique()) <= {0, 1}, c
print("admet check: submission format OK (486 rows, ID,Y1,Y2,Y3, 0/1)")
PY
