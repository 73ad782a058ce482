#!/usr/bin/env bash
# Headless screenshots of every slide of slides.html and every section of report.html, each
# checked not blank (pixel variance) and the slides checked distinct (navigation works).
#   .ci/screenshot.sh [REPORTS_DIR] [OUT_DIR]
# REPORTS_DIR defaults to reports/ when the pipeline has built it, else to a report built
# here from tiny synthetic stage outputs; OUT_DIR (the PNGs) to a temporary folder.
# Fails when Chromium is missing (.ci/run installs the Debian package `chromium`);
# SCREENSHOT_OPTIONAL=1 turns that failure into a skip for local runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${2:-$(mktemp -d)}"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || echo /usr/bin/chromium)}"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3

if [ ! -x "$chromium" ]; then
  if [ "${SCREENSHOT_OPTIONAL:-0}" = 1 ]; then
    echo "screenshot: chromium not found: skipped (SCREENSHOT_OPTIONAL=1)"
    exit 0
  fi
  echo "screenshot: FAILED: chromium not found (apt-get install chromium)"
  exit 1
fi
profile="$(mktemp -d)"
synth="$(mktemp -d)"
trap 'rm -rf "$profile" "$synth"' EXIT
if [ -n "${1:-}" ]; then
  reports="$1"
elif [ -f "$root/reports/report.html" ]; then
  reports="$root/reports"
else
  echo "screenshot: no reports/report.html: building one from synthetic stage outputs"
  # the synthetic stage outputs are test data: tests/support/synthetic.py
  PYTHONPATH="$root/tests${PYTHONPATH:+:$PYTHONPATH}" "$python" - "$synth" <<'PY'
import sys
from pathlib import Path

from chemchallenge.paths import Paths
from chemchallenge.report.render import build
from support.synthetic import make_project

root = Path(sys.argv[1])
build(make_project(root, "multilabel", n=45, extras=True), Paths(root))
PY
  reports="$synth/reports"
fi
reports="$(cd "$reports" && pwd)"
for f in report.html slides.html; do
  [ -f "$reports/$f" ] || { echo "screenshot: FAILED: $reports/$f not found"; exit 1; }
done
mkdir -p "$out"

shoot() {  # shoot URL PNG [HEIGHT]
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
    --virtual-time-budget=3000 --screenshot="$2" --window-size="1280,${3:-720}" "$1" \
    >/dev/null 2>&1 || true
}

# every slide (slides.html#k opens slide k) and every section of the report
# (report.html?section=ID shows that section alone, below the header)
n_slides=$(grep -c '<section class="slide' "$reports/slides.html")
sections=$(grep -o '<section id="[a-z_]*"' "$reports/report.html" | sed 's/.*id="\(.*\)"/\1/')
for k in $(seq 1 "$n_slides"); do
  shoot "file://$reports/slides.html#$k" "$out/slide_$(printf %02d "$k").png"
done
for s in $sections; do
  shoot "file://$reports/report.html?section=$s" "$out/report_$s.png" 900
done
echo "screenshot: $n_slides slides and $(echo "$sections" | wc -w) report sections shot into $out"

"$python" - "$out" "$n_slides" $sections <<'PY'
import hashlib
import sys
from pathlib import Path

from PIL import Image, ImageStat

out, n_slides, sections = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
expected = [out / f"slide_{k:02d}.png" for k in range(1, n_slides + 1)]
expected += [out / f"report_{s}.png" for s in sections]
bad, digests = [], {}
for path in expected:
    try:
        img = Image.open(path).convert("L")
    except (OSError, ValueError) as err:
        bad.append(f"{path.name}: no screenshot ({err})")
        continue
    var = ImageStat.Stat(img).var[0]
    if var < 100:
        bad.append(f"{path.name}: looks blank (pixel variance {var:.0f})")
    if path.name.startswith("slide_"):
        digests[path.name] = hashlib.sha256(img.tobytes()).hexdigest()
distinct = len(set(digests.values()))
print(f"screenshot: {len(expected)} screenshots, {distinct} distinct slides of {n_slides}")
if n_slides and distinct < n_slides:
    bad.append(f"only {distinct} distinct slide screenshots of {n_slides}: navigation broken?")
if bad:
    sys.exit("screenshot: FAILED: " + "; ".join(bad))
print("screenshot: every slide and every report section renders (not blank)")
PY
