#!/usr/bin/env bash
# Creates (once) a Connect-only Python client venv: pyspark-client 4.0.1 (Spark Connect's Python client, no JVM and
# no py4j) with the versions of its dependencies pinned. The Spark Connect test (python/tests/test_connect.py) runs
# its client there. Cached outside the repo. Prints the venv path on stdout.
set -euo pipefail
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
VERSION="4.0.1"
VENV="$KILN_CACHE/venv-pyspark-client-$VERSION"
if [[ ! -x "$VENV/bin/python" || ! -f "$VENV/.complete" ]]; then
  echo "kiln: creating a Connect-only Python venv with pyspark-client==$VERSION in $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$KILN_CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "pyspark-client==$VERSION" "pandas==2.2.3" "pyarrow==19.0.1" "numpy==2.2.6" \
    "grpcio==1.67.1" "grpcio-status==1.67.1" "protobuf==5.29.5" "googleapis-common-protos==1.65.0" >&2
  touch "$VENV/.complete"
fi
echo "$VENV"
