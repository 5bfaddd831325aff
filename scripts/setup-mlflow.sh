#!/usr/bin/env bash
# Creates (once) the Python venv with MLflow 3.17.2 (the tracking server and client the MLflow test uses), its pyspark
# taken from the pyspark 4.0.1 venv of scripts/setup-venv.sh (a .pth file, not a second download). Cached outside
# the repo. Prints the venv path on stdout.
set -euo pipefail
KILN_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
VERSION="3.17.2"
VENV="$KILN_CACHE/venv-mlflow-$VERSION"
PYSPARK_VENV="$("$KILN_HOME/scripts/setup-venv.sh")"
if [[ ! -x "$VENV/bin/mlflow" || ! -f "$VENV/.complete" ]]; then
  echo "kiln: creating Python venv with mlflow==$VERSION in $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$KILN_CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "mlflow==$VERSION" >&2
  touch "$VENV/.complete"
fi
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
base="$("$PYSPARK_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$base" > "$site/zz_kiln_pyspark.pth"
echo "$VENV"
