#!/usr/bin/env bash
# Renders a study's report.html in headless Chromium (Debian's `chromium` package) and saves
# a full-page screenshot beside it, to look at: docs/check-report.sh results/quickstart
# Needs no network: the report is one self-contained file.
set -euo pipefail
dir="${1:?usage: docs/check-report.sh RESULTS_FOLDER}"
report="$(cd "$dir" && pwd)/report.html"
[ -f "$report" ] || { echo "no report.html in $dir" >&2; exit 2; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1280,6000 \
  --screenshot="$dir/report.png" "file://$report" 2>/dev/null
echo "wrote $dir/report.png"
