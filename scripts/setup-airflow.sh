#!/usr/bin/env bash
# Creates (once) the Python virtualenv that carries a real Apache Airflow 3 for Kiln's DAGs and the
# Airflow integration test: apache-airflow, the Apache Spark provider (SparkSubmitOperator) and
# pyspark (spark-submit for the tasks). Cached outside the repo so clean clones on the same machine
# reuse it. Prints the venv path on stdout; progress goes to stderr.
set -euo pipefail
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
AIRFLOW_VERSION="3.1.8"
SPARK_PROVIDER_VERSION="6.3.4"
# Airflow's OpenLineage provider: the DAGs pass its run id of each task to the Kiln job as the parent run.
OPENLINEAGE_PROVIDER_VERSION="2.20.3"
PYSPARK_VERSION="4.0.1"
# No Airflow constraints file is at hand, so the pins that matter are here: the Spark provider pulls in
# pyspark-client, which shares pyspark's package directory and must be the same version; Airflow 3.1
# is built and tested on SQLAlchemy 2.0.
PINS=("apache-airflow==$AIRFLOW_VERSION" "apache-airflow-providers-apache-spark==$SPARK_PROVIDER_VERSION"
  "apache-airflow-providers-openlineage==$OPENLINEAGE_PROVIDER_VERSION" "pyspark==$PYSPARK_VERSION"
  "pyspark-client==$PYSPARK_VERSION" "sqlalchemy[asyncio]>=2.0,<2.1")
VENV="$KILN_CACHE/venv-airflow-$AIRFLOW_VERSION"
# The marker holds the pins the venv was made with: changing a pin here makes a new one.
if [[ ! -x "$VENV/bin/airflow" || "$(cat "$VENV/.complete" 2>/dev/null)" != "${PINS[*]}" ]]; then
  echo "kiln: creating Python venv with apache-airflow==$AIRFLOW_VERSION in $VENV (a few minutes)" >&2
  rm -rf "$VENV"
  mkdir -p "$KILN_CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip >&2
  "$VENV/bin/pip" install --quiet "${PINS[@]}" >&2
  "$VENV/bin/airflow" version >/dev/null 2>&1
  echo "${PINS[*]}" > "$VENV/.complete"
fi
echo "$VENV"
