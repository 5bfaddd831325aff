#!/usr/bin/env bash
# Fetches the chart libraries that HTML reports inline (vega, vega-lite, vega-embed: BSD-3-Clause) with npm pack
# into a cache outside the repo, and prints the directory holding their minified builds, licenses and the
# Vega-Lite JSON schema. The reports module's build copies them into the jar (reports/pom.xml), so a report
# needs no network when it is written or opened.
set -euo pipefail
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
VEGA=6.4.0
VEGA_LITE=6.5.0
VEGA_EMBED=7.3.0
DEST="$KILN_CACHE/vega/vega-$VEGA-lite-$VEGA_LITE-embed-$VEGA_EMBED"
if [[ ! -f "$DEST/.complete" ]]; then
  echo "kiln: fetching vega@$VEGA, vega-lite@$VEGA_LITE and vega-embed@$VEGA_EMBED with npm pack into $DEST" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "vega@$VEGA" "vega-lite@$VEGA_LITE" "vega-embed@$VEGA_EMBED" >/dev/null 2>&1)
  mkdir -p "$tmp/out"
  for name in vega vega-lite vega-embed; do
    mkdir -p "$tmp/$name"
    tar -xzf "$tmp/$name"-[0-9]*.tgz -C "$tmp/$name" package/LICENSE "package/build/$name.min.js"
    mv "$tmp/$name/package/build/$name.min.js" "$tmp/out/"
    mv "$tmp/$name/package/LICENSE" "$tmp/out/$name.LICENSE"
  done
  tar -xzf "$tmp"/vega-lite-[0-9]*.tgz -C "$tmp/vega-lite" package/build/vega-lite-schema.json
  mv "$tmp/vega-lite/package/build/vega-lite-schema.json" "$tmp/out/"
  rm -rf "$DEST" && mkdir -p "$(dirname "$DEST")" && mv "$tmp/out" "$DEST"
  touch "$DEST/.complete"
fi
echo "$DEST"
