#!/usr/bin/env bash
# Fetches the flights demo data (npm package vega-datasets) into a cache outside the repo.
# Prints the directory holding flights-3m.parquet and airports.csv on stdout.
set -euo pipefail
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
VERSION="3.2.1"
DEST="$KILN_CACHE/data/vega-datasets-$VERSION"
if [[ ! -f "$DEST/.complete" ]]; then
  echo "kiln: fetching vega-datasets@$VERSION with npm pack into $DEST" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "vega-datasets@$VERSION" >/dev/null 2>&1)
  tarball="$(ls "$tmp"/vega-datasets-*.tgz)"
  mkdir -p "$tmp/x"
  tar -xzf "$tarball" -C "$tmp/x" package/data/flights-3m.parquet package/data/airports.csv
  rm -rf "$DEST" && mkdir -p "$DEST"
  mv "$tmp/x/package/data/flights-3m.parquet" "$tmp/x/package/data/airports.csv" "$DEST/"
  touch "$DEST/.complete"
fi
echo "$DEST"
