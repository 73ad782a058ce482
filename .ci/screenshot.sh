#!/usr/bin/env bash
# Headless screenshots of report.html and slides.html, checked not blank (pixel variance).
#   .ci/screenshot.sh [REPORTS_DIR] [OUT_DIR]
# REPORTS_DIR defaults to reports/ when the pipeline has built it, else to a report built
# here from tiny synthetic stage outputs; OUT_DIR (the PNGs) to a temporary folder.
# Skips (exit 0) when /usr/bin/chromium is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${2:-$(mktemp -d)}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3

if [ ! -x "$chromium" ]; then
  echo "screenshot: $chromium not found: skipping the report screenshot check"
  exit 0
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
  "$python" - "$synth" <<'PY'
import sys
from pathlib import Path

from chemchallenge.paths import Paths
from chemchallenge.report.render import build
from chemchallenge.report.synthetic import make_project

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

shoot() {  # shoot HTML PNG
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$2" --window-size=1280,900 "file://$1" >/dev/null 2>&1 || true
}

shoot "$reports/report.html" "$out/report.png"
shoot "$reports/slides.html" "$out/slides.png"

"$python" - "$out/report.png" "$out/slides.png" <<'PY'
import sys

from PIL import Image, ImageStat

bad = []
for path in sys.argv[1:]:
    try:
        img = Image.open(path).convert("L")
    except (OSError, ValueError) as err:
        bad.append(f"{path}: no screenshot ({err})")
        continue
    var = ImageStat.Stat(img).var[0]
    print(f"screenshot: {path} {img.size[0]}x{img.size[1]}, pixel variance {var:.0f}")
    if var < 100:
        bad.append(f"{path}: looks blank (pixel variance {var:.0f})")
if bad:
    sys.exit("screenshot: FAILED: " + "; ".join(bad))
print("screenshot: report and slides render (not blank)")
PY
