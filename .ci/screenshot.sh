#!/usr/bin/env bash
# Headless screenshots of reports/report.html and reports/slides.html, checked not blank.
#   .ci/screenshot.sh [REPORTS_DIR] [OUT_DIR]     (defaults: reports, a temporary folder)
# Skips (exit 0) when /usr/bin/chromium is missing or the HTML files have not been built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
reports="$(cd "${1:-$root/reports}" 2>/dev/null && pwd || true)"
out="${2:-$(mktemp -d)}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3

if [ ! -x "$chromium" ]; then
  echo "screenshot: $chromium not found: skipping the report screenshot check"
  exit 0
fi
if [ -z "$reports" ] || [ ! -f "$reports/report.html" ] || [ ! -f "$reports/slides.html" ]; then
  echo "screenshot: ${1:-reports}/report.html or slides.html not built: skipping"
  exit 0
fi
mkdir -p "$out"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

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
