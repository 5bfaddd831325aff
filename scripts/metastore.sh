#!/usr/bin/env bash
# The Thrift Hive Metastore service for kiln.lakehouse.catalog.type = hive (conf/cluster.conf): the Spark
# distribution's own Hive 2.3 metastore classes, backed by a PostgreSQL database (scripts/setup-postgres.sh
# makes one). The schema is created on first start; no manual SQL.
#   scripts/metastore.sh start [--port 9083] [--dir DIR] [--credentials FILE]   prints thrift://host:port when up
#   scripts/metastore.sh stop [--dir DIR]
#   scripts/metastore.sh status [--dir DIR]
# --credentials: a properties file with user=, password=, url= (default: setup-postgres.sh's, database kiln).
# The database password goes into DIR/conf/hive-site.xml (mode 600, a private directory), never on the command
# line. The service listens on all interfaces (Hive 2.3 has no bind setting): keep the port private.
# SPARK_HOME: a Spark 4.0.1 distribution (default: the pyspark of scripts/setup-venv.sh).
set -euo pipefail
KILN_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
ACTION="${1:-}"; shift || true
PORT=9083
DIR="$KILN_CACHE/metastore"
CREDENTIALS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --credentials) CREDENTIALS="$2"; shift 2 ;;
    *) echo "metastore: unknown option $1" >&2; exit 2 ;;
  esac
done
PID_FILE="$DIR/metastore.pid"
running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"; }
prop() { sed -n "s/^$1=//p" "$CREDENTIALS" | head -1; }

case "$ACTION" in
  start)
    if running; then
      echo "metastore: already running (pid $(cat "$PID_FILE"), $DIR)" >&2
      echo "thrift://127.0.0.1:$(cat "$DIR/port")"
      exit 0
    fi
    [[ -n "$CREDENTIALS" ]] || CREDENTIALS="$("$KILN_HOME/scripts/setup-postgres.sh")"
    [[ -r "$CREDENTIALS" ]] || { echo "metastore: cannot read the credentials file $CREDENTIALS" >&2; exit 1; }
    if [[ -z "${SPARK_HOME:-}" ]]; then
      VENV="$("$KILN_HOME/scripts/setup-venv.sh")"
      SPARK_HOME="$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
    fi
    PG_JAR="$HOME/.m2/repository/org/postgresql/postgresql/42.7.4/postgresql-42.7.4.jar"
    [[ -f "$PG_JAR" ]] || PG_JAR="$KILN_HOME/spark-jobs/target/kiln-jobs.jar" # carries the driver too
    [[ -f "$PG_JAR" ]] || { echo "metastore: no PostgreSQL JDBC driver: build Kiln first (mvn package)" >&2; exit 1; }
    umask 077
    mkdir -p "$DIR/conf" "$DIR/warehouse"
    chmod 700 "$DIR/conf"
    cat > "$DIR/conf/hive-site.xml" <<XML
<?xml version="1.0"?>
<configuration>
  <property><name>javax.jdo.option.ConnectionURL</name><value>$(xml_escape "$(prop url)")</value></property>
  <property><name>javax.jdo.option.ConnectionDriverName</name><value>org.postgresql.Driver</value></property>
  <property><name>javax.jdo.option.ConnectionUserName</name><value>$(xml_escape "$(prop user)")</value></property>
  <property><name>javax.jdo.option.ConnectionPassword</name><value>$(xml_escape "$(prop password)")</value></property>
  <!-- Tables and columns on first use, no foreign keys: DataNucleus adds those lazily in a connection of its
       own, where they wait forever on the metastore's open transaction (PostgreSQL; autoCreateAll implies them). -->
  <property><name>datanucleus.schema.autoCreateAll</name><value>false</value></property>
  <property><name>datanucleus.schema.autoCreateTables</name><value>true</value></property>
  <property><name>datanucleus.schema.autoCreateColumns</name><value>true</value></property>
  <property><name>datanucleus.schema.autoCreateConstraints</name><value>false</value></property>
  <property><name>hive.metastore.schema.verification</name><value>false</value></property>
  <property><name>hive.metastore.try.direct.sql</name><value>false</value></property>
  <property><name>hive.metastore.warehouse.dir</name><value>file://$DIR/warehouse</value></property>
  <property><name>hive.async.log.enabled</name><value>false</value></property>
</configuration>
XML
    chmod 600 "$DIR/conf/hive-site.xml"
    echo "$PORT" > "$DIR/port"
    # Without hive.async.log.enabled=false the service dies on a missing com.lmax.disruptor class.
    HIVE_CONF_DIR="$DIR/conf" nohup java -Xmx${KILN_METASTORE_MEMORY:-512m} -XX:TieredStopAtLevel=1 \
      -Dlog4j2.configurationFile="$KILN_HOME/conf/log4j2.properties" -Dderby.stream.error.file="$DIR/derby.log" \
      -cp "$DIR/conf:$SPARK_HOME/jars/*:$PG_JAR" org.apache.hadoop.hive.metastore.HiveMetaStore -p "$PORT" \
      --hiveconf hive.async.log.enabled=false > "$DIR/metastore.log" 2>&1 < /dev/null &
    echo $! > "$PID_FILE"
    for _ in $(seq 1 180); do
      if ! running; then
        echo "metastore: the service exited; its log ($DIR/metastore.log) ends:" >&2
        tail -20 "$DIR/metastore.log" >&2
        exit 1
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        echo "metastore: up on port $PORT (pid $(cat "$PID_FILE"), log $DIR/metastore.log)" >&2
        echo "thrift://127.0.0.1:$PORT"
        exit 0
      fi
      sleep 1
    done
    echo "metastore: not listening on port $PORT after 180 s; log: $DIR/metastore.log" >&2
    exit 1
    ;;
  stop)
    if running; then
      PID="$(cat "$PID_FILE")"
      kill "$PID"
      for _ in $(seq 1 30); do kill -0 "$PID" 2>/dev/null || break; sleep 1; done
      kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
      echo "metastore: stopped (pid $PID)" >&2
    fi
    rm -f "$PID_FILE"
    ;;
  status)
    if running; then echo "running: pid $(cat "$PID_FILE"), thrift://127.0.0.1:$(cat "$DIR/port")"; else echo "stopped"; exit 3; fi
    ;;
  *)
    echo "usage: scripts/metastore.sh start|stop|status [--port N] [--dir DIR] [--credentials FILE]" >&2
    exit 2
    ;;
esac
