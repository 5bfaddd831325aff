#!/usr/bin/env bash
# Starts a local Airflow 3 for Kiln in one command: installs it once (scripts/setup-airflow.sh), migrates its
# database, creates the pool kiln_embedded (one slot: on the embedded catalog one Kiln task at a time across
# all DAGs), wires Kiln's DAG folder, the Spark connection kiln_spark and the lakehouse settings, starts the
# api-server, scheduler and dag-processor in the background and waits until they are healthy. Then prints
# the URL, the user and the files holding its generated password. Running it again while they run only
# prints that; `scripts/airflow-up.sh --stop` stops the processes it started.
#
# Environment (all optional):
#   AIRFLOW_HOME          Airflow's home: database, logs, generated password (default ~/airflow-kiln)
#   KILN_AIRFLOW_PORT     the api-server's port (default 8080); KILN_AIRFLOW_BIND its address (default 127.0.0.1)
#   KILN_LAKEHOUSE_ROOT   the lakehouse the tasks use (default <checkout>/lakehouse-data)
#   KILN_CONF_DIR         Kiln's conf directory (default <checkout>/conf)
#   KILN_JOB_JAR          the job jar (default <checkout>/spark-jobs/target/kiln-jobs.jar, built when missing)
#   KILN_SPARK_MASTER     the master of the kiln_spark connection (default local[*])
#   KILN_CATALOG_TYPE     embedded (default: the pool serializes Kiln's tasks) or the shared catalog's type
#                         (tasks in parallel); the other KILN_* settings of conf/airflow/dags/kiln_common.py
#                         and KILN_DAILY_START_DATE/KILN_DAILY_SCHEDULE are passed on as they are
#   AIRFLOW_VAR_KILN_*, AIRFLOW__*   passed on; they win over what this script would set
#   KILN_AIRFLOW_VENV     an Airflow venv to use instead of the one scripts/setup-airflow.sh makes
#   KILN_AIRFLOW_UP_TIMEOUT  seconds to wait for a healthy Airflow (default 240)
set -euo pipefail
KILN_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$HOME/airflow-kiln}"
PORT="${KILN_AIRFLOW_PORT:-8080}"
BIND="${KILN_AIRFLOW_BIND:-127.0.0.1}"
URL="http://$BIND:$PORT"
PIDS="$AIRFLOW_HOME/kiln-airflow.pids"
ENV_FILE="$AIRFLOW_HOME/kiln-airflow.env"
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
CREDENTIALS="$AIRFLOW_HOME/kiln-airflow-credentials.properties"
USER_NAME=kiln

running() { [[ -f "$PIDS" ]] && while read -r pid; do kill -0 "$pid" 2>/dev/null || return 1; done <"$PIDS"; }

if [[ "${1:-}" == "--stop" ]]; then
  [[ -f "$PIDS" ]] || { echo "kiln: no Airflow started by this script under $AIRFLOW_HOME" >&2; exit 0; }
  # Each process leads its own process group (setsid): the group holds its workers too.
  while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done <"$PIDS"
  for _ in $(seq 1 30); do
    alive=0; while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$PIDS"
    [[ $alive == 0 ]] && break; sleep 1
  done
  while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done <"$PIDS"
  rm -f "$PIDS"
  echo "kiln: Airflow under $AIRFLOW_HOME stopped" >&2
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "usage: scripts/airflow-up.sh [--stop]" >&2
  exit 2
fi

AIRFLOW_VENV="${KILN_AIRFLOW_VENV:-$("$KILN_HOME/scripts/setup-airflow.sh")}"
mkdir -p "$AIRFLOW_HOME"
chmod 700 "$AIRFLOW_HOME"

if running; then
  echo "kiln: Airflow already runs under $AIRFLOW_HOME (scripts/airflow-up.sh --stop stops it)" >&2
  URL="$(sed -n 's/^export KILN_AIRFLOW_URL=//p' "$ENV_FILE")"
else
  JOB_JAR="${KILN_JOB_JAR:-$KILN_HOME/spark-jobs/target/kiln-jobs.jar}"
  if [[ ! -f "$JOB_JAR" ]]; then
    echo "kiln: building the job jar (mvn package, tests skipped)" >&2
    (cd "$KILN_HOME" && mvn -B -q -DskipTests package) >&2
  fi
  # Secrets live in files under AIRFLOW_HOME (mode 600), never on a command line.
  old_umask="$(umask)"
  umask 077
  [[ -s "$AIRFLOW_HOME/kiln-jwt-secret" ]] || "$AIRFLOW_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))' \
    >"$AIRFLOW_HOME/kiln-jwt-secret"
  if [[ ! -s "$PASSWORDS" ]]; then
    # The simple auth manager keeps this file and generates only passwords that are missing from it.
    "$AIRFLOW_VENV/bin/python" -c 'import json, secrets, sys; print(json.dumps({sys.argv[1]: secrets.token_urlsafe(12)}))' \
      "$USER_NAME" >"$PASSWORDS"
  fi
  "$AIRFLOW_VENV/bin/python" - "$PASSWORDS" "$CREDENTIALS" "$USER_NAME" <<'EOF'
import json, sys
password = json.load(open(sys.argv[1]))[sys.argv[3]]
with open(sys.argv[2], "w") as f:
    f.write(f"username={sys.argv[3]}\npassword={password}\n")
EOF
  spark_conn="{\"conn_type\": \"spark\", \"host\": \"${KILN_SPARK_MASTER:-local[*]}\"}"
  q() { printf '%q' "$1"; }
  {
    echo "# Written by scripts/airflow-up.sh: source it to use the airflow CLI with this Airflow."
    echo "export AIRFLOW_HOME=$(q "$AIRFLOW_HOME")"
    echo "export KILN_AIRFLOW_URL=$URL"
    echo "export PATH=$(q "$AIRFLOW_VENV/bin"):\"\$PATH\""
    echo "export AIRFLOW__CORE__DAGS_FOLDER=$(q "${AIRFLOW__CORE__DAGS_FOLDER:-$KILN_HOME/conf/airflow/dags}")"
    echo "export AIRFLOW__CORE__LOAD_EXAMPLES=$(q "${AIRFLOW__CORE__LOAD_EXAMPLES:-False}")"
    echo "export AIRFLOW__CORE__EXECUTOR=$(q "${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}")"
    echo "export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=$(q "$USER_NAME:admin")"
    echo "export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=$(q "${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-$URL/execution/}")"
    echo "export AIRFLOW__API_AUTH__JWT_SECRET=\"\$(cat $(q "$AIRFLOW_HOME/kiln-jwt-secret"))\""
    echo "export AIRFLOW__API__SECRET_KEY=\"\$AIRFLOW__API_AUTH__JWT_SECRET\""
    # The Spark connection the tasks submit through (kiln_spark_master, a Variable, overrides its master).
    echo "export AIRFLOW_CONN_KILN_SPARK=$(q "${AIRFLOW_CONN_KILN_SPARK:-$spark_conn}")"
    echo "export AIRFLOW_VAR_KILN_JOB_JAR=$(q "${AIRFLOW_VAR_KILN_JOB_JAR:-$JOB_JAR}")"
    echo "export AIRFLOW_VAR_KILN_CONF_DIR=$(q "${AIRFLOW_VAR_KILN_CONF_DIR:-${KILN_CONF_DIR:-$KILN_HOME/conf}}")"
    echo "export AIRFLOW_VAR_KILN_LAKEHOUSE_ROOT=$(q "${AIRFLOW_VAR_KILN_LAKEHOUSE_ROOT:-${KILN_LAKEHOUSE_ROOT:-$KILN_HOME/lakehouse-data}}")"
    echo "export AIRFLOW_VAR_KILN_SUBMIT_CONF=$(q "${AIRFLOW_VAR_KILN_SUBMIT_CONF:-spark.driver.extraJavaOptions=-Dlog4j2.configurationFile=$KILN_HOME/conf/log4j2.properties}")"
    echo "export KILN_CATALOG_TYPE=$(q "${KILN_CATALOG_TYPE:-embedded}")"
  } >"$ENV_FILE"
  umask "$old_umask"
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  cd "$AIRFLOW_HOME"
  airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log" >&2; exit 1; }
  airflow pools set kiln_embedded 1 "Kiln on the embedded catalog: one Kiln task at a time" >"$AIRFLOW_HOME/pools.log" 2>&1 \
    || { cat "$AIRFLOW_HOME/pools.log" >&2; exit 1; }
  : >"$PIDS"
  for cmd in "api-server --port $PORT --host $BIND" scheduler dag-processor; do
    name="${cmd%% *}"
    # shellcheck disable=SC2086
    setsid nohup airflow $cmd >"$AIRFLOW_HOME/$name.log" 2>&1 </dev/null &
    echo $! >>"$PIDS"
  done
fi

"$AIRFLOW_VENV/bin/python" - "$URL" "${KILN_AIRFLOW_UP_TIMEOUT:-240}" "$PIDS" <<'EOF' || { tail -n 40 "$AIRFLOW_HOME"/*.log >&2; exit 1; }
import json, os, sys, time, urllib.request
url, timeout, pids = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline, last = time.time() + timeout, ""
while time.time() < deadline:
    for pid in open(pids).read().split():
        try:
            os.kill(int(pid), 0)
        except OSError:
            sys.exit(f"kiln: an Airflow process ({pid}) exited; its log is under the Airflow home")
    try:
        health = json.load(urllib.request.urlopen(url + "/api/v2/monitor/health", timeout=5))
        if all(health.get(p, {}).get("status") == "healthy" for p in ("metadatabase", "scheduler", "dag_processor")):
            sys.exit(0)
        last = json.dumps(health)
    except Exception as e:  # not listening yet
        last = str(e)
    time.sleep(1)
sys.exit(f"kiln: Airflow at {url} not healthy after {timeout:.0f} s: {last}")
EOF

cat <<EOF
kiln: Airflow for Kiln is up at $URL
  user         $USER_NAME (password in $PASSWORDS)
  kiln CLI     export KILN_AIRFLOW_URL=$URL KILN_AIRFLOW_CREDENTIALS_FILE=$CREDENTIALS
  airflow CLI  source $ENV_FILE
  DAGs         $(sed -n 's/^export AIRFLOW__CORE__DAGS_FOLDER=//p' "$ENV_FILE") (new DAGs but kiln_retrain start paused
               unless AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False: airflow dags unpause kiln_flights_daily)
  catalog      $(sed -n 's/^export KILN_CATALOG_TYPE=//p' "$ENV_FILE"); logs in $AIRFLOW_HOME; stop: scripts/airflow-up.sh --stop
EOF
