#!/usr/bin/env bash
# A headless browser for the HTML report's test: Debian's chromium (apt-get install where missing) and the
# npm package puppeteer-core, which drives it, in a cache outside the repo. Prints two lines on stdout: the
# chromium executable, then the node_modules directory holding puppeteer-core. Progress goes to stderr.
# Idempotent; safe to run at once from several processes.
set -euo pipefail
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
PUPPETEER=24.43.1 # the newest puppeteer-core that runs on Node 18-21 (25 needs Node 22)
DEST="$KILN_CACHE/node/puppeteer-core-$PUPPETEER"
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
mkdir -p "$KILN_CACHE/node"
exec 9>"$KILN_CACHE/node/.lock"
flock 9
if ! command -v chromium >/dev/null 2>&1; then
  echo "setup-browser: installing chromium (apt-get install chromium)" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
if [[ ! -f "$DEST/.complete" ]]; then
  echo "setup-browser: npm install puppeteer-core@$PUPPETEER into $DEST" >&2
  rm -rf "$DEST" && mkdir -p "$DEST"
  (cd "$DEST" && npm install --silent --no-audit --no-fund --ignore-scripts "puppeteer-core@$PUPPETEER" >&2)
  touch "$DEST/.complete"
fi
command -v chromium
echo "$DEST/node_modules"
