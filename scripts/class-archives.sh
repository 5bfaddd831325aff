#!/usr/bin/env bash
# Class-data archives (JDK AppCDS) for the short JVMs the integration tests start: every Kiln process loads
# and verifies the same ~20,000 classes of Spark, Delta, Hadoop and Hive before its first row, and on small
# data that is much of its CPU. A JVM started with -XX:SharedArchiveFile=<archive> maps them ready-made.
#   scripts/class-archives.sh OUT_DIR SPARK_HOME
# writes, for the job jar as built now (an archive is valid only for the exact jars and JDK it was made with;
# a JVM whose classpath does not match prints a CDS warning and loads classes as usual):
#   OUT_DIR/job-classpath.jsa   java -cp kiln-jobs.jar:<spark-classpath.txt> (direct launches and bin/kiln)
#   OUT_DIR/spark-submit.jsa    spark-submit drivers of the Spark distribution at SPARK_HOME
# Each archive holds the classes a `kiln ingest` of a three-row CSV loads (Spark SQL, Delta's writes and MERGE,
# Hadoop's file system, the Hive catalog client, Kiln's own): most of what any Kiln command loads. An archive
# appears only when complete (written as NAME.part, then renamed).
set -euo pipefail
KILN_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: class-archives.sh OUT_DIR SPARK_HOME}"
SPARK_DIST="${2:?usage: class-archives.sh OUT_DIR SPARK_HOME}"
JAR="$KILN_HOME/spark-jobs/target/kiln-jobs.jar"
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
SHORT=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$KILN_HOME/conf/log4j2.properties")

# Three rows, one of them unreadable (the quarantine path), with keys (the MERGE path).
mkdir -p "$work/conf/pipelines"
cp "$KILN_HOME/conf/kiln.conf" "$KILN_HOME/conf/local.conf" "$work/conf/"
printf 'id,ts,amount,shop\n1,2024-03-01 10:00:00,10.5,north\n2,2024-03-01 11:00:00,oops,north\n3,2024-03-02 09:30:00,7.25,south\n' \
  > "$work/sales.csv"
cat > "$work/conf/pipelines/sales.conf" <<CONF
datasets.sales {
  source { format = csv, path = "$work/sales.csv" }
  schema = [ { name = id, type = int, nullable = false }, { name = ts, type = timestamp },
             { name = amount, type = double }, { name = shop, type = string } ]
  event-time = ts
  derived = [ { name = sale_date, expr = "to_date(ts)" } ]
  partition-by = [sale_date]
  keys = [id]
}
CONF
SETTINGS=(--conf-dir "$work/conf" --conf spark.sql.shuffle.partitions=2 --conf spark.ui.enabled=false
  --conf spark.ui.showConsoleProgress=false)

ingest() { # ingest NAME COMMAND...: `kiln ingest sales` through COMMAND, then NAME's archive moves into place
  local name="$1" started=$SECONDS
  shift
  if ! (cd "$work" && "$@" "${SETTINGS[@]}" --conf kiln.lakehouse.root="$work/lake-$name" ingest sales) \
      > "$work/$name.log" 2>&1 || [[ ! -s "$OUT/$name.part" ]]; then
    echo "class-archives: $name: kiln ingest failed or wrote no archive; its JVMs load classes as usual" >&2
    tail -20 "$work/$name.log" >&2
    return 1
  fi
  mv "$OUT/$name.part" "$OUT/$name.jsa"
  echo "class-archives: $OUT/$name.jsa ($(du -m "$OUT/$name.jsa" | cut -f1) MB, $((SECONDS - started)) s)"
}
status=0
# bin/kiln's classpath is the one the tests' direct launches use too: kiln-jobs.jar, then spark-classpath.txt.
KILN_DRIVER_MEMORY=1g KILN_JAVA_OPTS="${SHORT[*]} -XX:ArchiveClassesAtExit=$OUT/job-classpath.part" \
  ingest job-classpath "$KILN_HOME/bin/kiln" --conf kiln.spark.master=local[2] || status=1
ingest spark-submit "$SPARK_DIST/bin/spark-submit" --master local[2] --driver-memory 1g --class dev.kiln.jobs.KilnMain \
  --driver-java-options "${SHORT[*]} -XX:ArchiveClassesAtExit=$OUT/spark-submit.part" "$JAR" || status=1
exit "$status"
