"""Kiln's daily flights pipeline: ingest -> materialize features -> score -> evaluate -> drift, for one day.

The day a run processes is its logical date (the start of its daily data interval, yyyy-mm-dd), or the
dag run conf ``day`` when given. The schedule is daily at midnight UTC with ``catchup=True`` from
``start_date`` (environment KILN_DAILY_START_DATE when the file is parsed, default 2001-01-01, the first day
of the flights example): enabling the DAG, or ``airflow backfill create``, runs every missed day, one run
at a time. Environment KILN_DAILY_SCHEDULE (parse time too) replaces the cron expression, or with ``none``
leaves only triggered runs. Manual runs: ``kiln airflow trigger kiln_flights_daily --logical-date 2001-03-01``
(a logical date before the start date gets no tasks).

Tasks (each one ``spark-submit`` of the Kiln job jar; one at a time, because the embedded Derby metastore
admits one JVM):

* ``ingest``: ``kiln ingest <dataset>`` (``--source`` from kiln_ingest_source, ``{ds}`` replaced by the day).
  Re-running the same files adds nothing.
* ``materialize_features``: ``kiln features materialize [sets]``: the periods not materialized yet.
* ``score``: ``kiln score --model <model> --from D --to D`` into ml.predictions (re-scoring replaces the day).
* ``evaluate``: ``kiln evaluate --model <model>`` for the day ``D - kiln_evaluate_lag_days``. Flights carry
  their outcome (the delay) when they land in raw.flights, so the lag is 0 by default; for data whose
  outcomes arrive N days later set it to N. The evaluated day must have been scored (kiln evaluate fails
  with "no predictions ..." otherwise), so the first N days of a backfill fail this task: start the
  backfill N days earlier, or clear the task once those days are scored.
* ``drift``: ``kiln drift --model <model> --current D --no-fail-on-breach`` (a breach writes
  reports.alerts rows and does not fail the run); ``--reference`` from kiln_drift_reference (default: the
  model's training window); ``--trigger-retrain`` when kiln_drift_trigger_retrain is true; skipped when
  kiln_skip_drift is true.

Settings: Airflow Variables ``kiln_<name>``, else environment ``KILN_<NAME>``, else the default
(see kiln_common.DEFAULTS): job_jar, conf_dir, lakehouse_root, spark_master (else the Airflow connection
``kiln_spark``, else local[*]), spark_conn_id, driver_memory, extra_conf (KEY=VALUE ..., passed as kiln
``--conf``), submit_conf (KEY=VALUE ..., passed as spark-submit ``--conf``), dataset, ingest_source,
feature_sets, model, evaluate_lag_days, drift_reference, drift_trigger_retrain, skip_drift.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from kiln_common import KilnSubmitOperator, flag, run_day, setting

# Read when the DAG file is parsed, so from the environment of the dag-processor and scheduler only.
# The flights example spans 2001-01-01 .. 2001-06-30. Tasks exist only for logical dates from the start date on.
START_DATE = datetime.strptime(os.environ.get("KILN_DAILY_START_DATE", "2001-01-01"), "%Y-%m-%d").replace(tzinfo=timezone.utc)
# A cron expression (UTC) for the data intervals, or "none" for triggered runs only.
CRON = os.environ.get("KILN_DAILY_SCHEDULE", "0 0 * * *").strip()


def ingest(context):
    args = ["ingest", setting("dataset")]
    source = setting("ingest_source")
    if source:
        args += ["--source", source.replace("{ds}", run_day(context))]
    return args


def materialize_features(context):
    return ["features", "materialize", *setting("feature_sets").split()]


def score(context):
    day = run_day(context)
    return ["score", "--model", setting("model"), "--from", day, "--to", day]


def evaluate(context):
    lag = int(setting("evaluate_lag_days"))
    day = (datetime.strptime(run_day(context), "%Y-%m-%d") - timedelta(days=lag)).strftime("%Y-%m-%d")
    return ["evaluate", "--model", setting("model"), "--from", day, "--to", day]


def drift(context):
    if flag("skip_drift"):
        raise AirflowSkipException("kiln_skip_drift is true")
    args = ["drift", "--model", setting("model"), "--current", run_day(context), "--no-fail-on-breach"]
    if setting("drift_reference"):
        args += ["--reference", setting("drift_reference")]
    if flag("drift_trigger_retrain"):
        args += ["--trigger-retrain"]
    return args


with DAG(
    dag_id="kiln_flights_daily",
    description="Kiln: ingest, features, score, evaluate and drift for one day of flights",
    doc_md=__doc__,
    # Data-interval schedule: the run for day D has logical date D and starts after D ends.
    schedule=None if CRON.lower() == "none" else CronDataIntervalTimetable(CRON, timezone="UTC"),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=1,
    max_active_tasks=1,
    default_args={"retries": 0},
    tags=["kiln"],
) as dag:
    steps = [
        KilnSubmitOperator(task_id="ingest", command=ingest),
        KilnSubmitOperator(task_id="materialize_features", command=materialize_features),
        KilnSubmitOperator(task_id="score", command=score),
        KilnSubmitOperator(task_id="evaluate", command=evaluate),
        KilnSubmitOperator(task_id="drift", command=drift),
    ]
    for upstream, downstream in zip(steps, steps[1:]):
        upstream >> downstream
