#!/usr/bin/env bash
# Creates (once) the Python virtualenv that carries a real Spark 4.0.1 distribution
# (pyspark: spark-submit, spark-sql, standalone master/worker). Cached outside the repo
# so that clean clones on the same machine reuse it. Prints the venv path on stdout.
set -euo pipefail
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
PYSPARK_VERSION="4.0.1"
VENV="$KILN_CACHE/venv-pyspark-$PYSPARK_VERSION"
if [[ ! -x "$VENV/bin/spark-submit" || ! -f "$VENV/.complete" ]]; then
  echo "kiln: creating Python venv with pyspark==$PYSPARK_VERSION in $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$KILN_CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "pyspark==$PYSPARK_VERSION" >&2
  touch "$VENV/.complete"
fi
# pytest for the Python package's tests (PythonIT) and numpy, which pyspark.ml imports; added to venvs made
# before they were needed.
if ! "$VENV/bin/python" -c "import numpy, pytest" >/dev/null 2>&1; then
  echo "kiln: installing pytest and numpy into $VENV" >&2
  "$VENV/bin/pip" install --quiet "pytest==8.3.5" "numpy==2.2.6" >&2
fi
echo "$VENV"
