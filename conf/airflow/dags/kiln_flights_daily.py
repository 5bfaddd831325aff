"""Kiln's daily flights pipeline: ingest -> materialize features -> score -> estimate -> evaluate -> drift -> report, for one day.

The day a run processes is its logical date (the start of its daily data interval, yyyy-mm-dd), or the
dag run conf ``day`` when given. The schedule is daily at midnight UTC with ``catchup=True`` from
``start_date`` (environment KILN_DAILY_START_DATE when the file is parsed, default 2001-01-01, the first day
of the flights example): enabling the DAG, or ``airflow backfill create``, runs every missed day, one run
at a time. Environment KILN_DAILY_SCHEDULE (parse time too) replaces the cron expression, or with ``none``
leaves only triggered runs. Manual runs: ``kiln airflow trigger kiln_flights_daily --logical-date 2001-03-01``
(a logical date before the start date gets no tasks).

Tasks (each one ``spark-submit`` of the Kiln job jar). On the embedded catalog they run one at a time, in
the pool ``kiln_embedded`` of one slot shared with kiln_retrain, because the Derby metastore admits one JVM;
on a shared catalog (``KILN_CATALOG_TYPE``, see kiln_common) independent tasks run at the same time: with
``KILN_DAILY_FEATURE_SETS=a b`` the feature sets are materialized by tasks ``materialize__a`` and
``materialize__b`` at once, and with ``KILN_DAILY_MODELS=<uri> <uri>`` each model gets its own
``score__<model>`` -> ``estimate__<model>`` -> ``evaluate__<model>`` -> ``drift__<model>`` -> ``report__<model>`` chain,
so one model is evaluated while another is scored. Without them there is one ``materialize_features`` task and one
``score`` -> ``estimate`` -> ``evaluate`` -> ``drift`` -> ``report`` chain for kiln_model. Every task is retried (``KILN_TASK_RETRIES``, default 2): the jobs are
idempotent.

* ``ingest``: ``kiln ingest <dataset>`` (``--source`` from kiln_ingest_source, ``{ds}`` replaced by the day).
  Re-running the same files adds nothing.
* ``materialize_features``: ``kiln features materialize [sets]``: the periods not materialized yet.
* ``score``: ``kiln score --model <model> --from D --to D`` into ml.predictions (re-scoring replaces the day).
* ``estimate``: ``kiln estimate --model <model> --from D --to D --no-fail-on-breach``: the day's performance
  estimated from its scores before any outcome exists, into reports.performance_estimate (an estimate below
  its floor writes reports.alerts rows and does not fail the run); skipped when kiln_skip_estimate is true.
* ``evaluate``: ``kiln evaluate --model <model>`` for the day ``D - kiln_evaluate_lag_days``. Flights carry
  their outcome (the delay) when they land in raw.flights, so the lag is 0 by default; for data whose
  outcomes arrive N days later set it to N. The evaluated day must have been scored (kiln evaluate fails
  with "no predictions ..." otherwise), so the first N days of a backfill fail this task: start the
  backfill N days earlier, or clear the task once those days are scored.
* ``drift``: ``kiln drift --model <model> --current D --no-fail-on-breach`` (a breach writes
  reports.alerts rows and does not fail the run); ``--reference`` from kiln_drift_reference (default: the
  model's training window); ``--trigger-retrain`` when kiln_drift_trigger_retrain is true; skipped when
  kiln_skip_drift is true.
* ``report``: ``kiln report --model <model> --from D --to D``, the last task: the day's HTML report (model card,
  curves, calibration, slices, estimate vs realized, drift with each input's distributions, alerts) under
  ``<root>/reports/html/<model>/<version>/``, listed in reports.html_reports. It runs when drift or the estimate
  was skipped (and shows what the tables hold); skipped when kiln_skip_report is true.

Settings: Airflow Variables ``kiln_<name>``, else environment ``KILN_<NAME>``, else the default
(see kiln_common.DEFAULTS): job_jar, conf_dir, lakehouse_root, spark_master (else the Airflow connection
``kiln_spark``, else local[*]), spark_conn_id, driver_memory, extra_conf (KEY=VALUE ..., passed as kiln
``--conf``), submit_conf (KEY=VALUE ..., passed as spark-submit ``--conf``), dataset, ingest_source,
feature_sets, model, evaluate_lag_days, drift_reference, drift_trigger_retrain, skip_drift, skip_estimate, skip_report.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.exceptions import AirflowSkipException
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from kiln_common import KilnSubmitOperator, flag, max_active_tasks, run_day, setting, shape, task_defaults, task_suffix

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


def materialize_features(context, sets: list[str] | None = None):
    return ["features", "materialize", *(sets if sets is not None else setting("feature_sets").split())]


def score(context, model: str | None = None):
    day = run_day(context)
    return ["score", "--model", model or setting("model"), "--from", day, "--to", day]


def estimate(context, model: str | None = None):
    if flag("skip_estimate"):
        raise AirflowSkipException("kiln_skip_estimate is true")
    day = run_day(context)
    return ["estimate", "--model", model or setting("model"), "--from", day, "--to", day, "--no-fail-on-breach"]


def evaluate(context, model: str | None = None):
    lag = int(setting("evaluate_lag_days"))
    day = (datetime.strptime(run_day(context), "%Y-%m-%d") - timedelta(days=lag)).strftime("%Y-%m-%d")
    return ["evaluate", "--model", model or setting("model"), "--from", day, "--to", day]


def drift(context, model: str | None = None):
    if flag("skip_drift"):
        raise AirflowSkipException("kiln_skip_drift is true")
    args = ["drift", "--model", model or setting("model"), "--current", run_day(context), "--no-fail-on-breach"]
    if setting("drift_reference"):
        args += ["--reference", setting("drift_reference")]
    if flag("drift_trigger_retrain"):
        args += ["--trigger-retrain"]
    return args


def report(context, model: str | None = None):
    if flag("skip_report"):
        raise AirflowSkipException("kiln_skip_report is true")
    day = run_day(context)
    return ["report", "--model", model or setting("model"), "--from", day, "--to", day]


with DAG(
    dag_id="kiln_flights_daily",
    description="Kiln: ingest, features, score, estimate, evaluate, drift and the HTML report for one day of flights",
    doc_md=__doc__,
    # Data-interval schedule: the run for day D has logical date D and starts after D ends.
    schedule=None if CRON.lower() == "none" else CronDataIntervalTimetable(CRON, timezone="UTC"),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=1,
    max_active_tasks=max_active_tasks(),
    default_args=task_defaults(),
    tags=["kiln"],
) as dag:
    load = KilnSubmitOperator(task_id="ingest", command=ingest)
    feature_sets = shape("daily_feature_sets").split()
    if feature_sets:
        materialized = [KilnSubmitOperator(task_id=f"materialize__{task_suffix(s)}",
                                           command=lambda context, s=s: materialize_features(context, [s]))
                        for s in feature_sets]
    else:
        materialized = [KilnSubmitOperator(task_id="materialize_features", command=materialize_features)]
    load >> materialized
    models = shape("daily_models").split()
    chains = [(f"__{task_suffix(m)}", m) for m in models] if models else [("", None)]
    for suffix, model in chains:
        scored = KilnSubmitOperator(task_id=f"score{suffix}", command=lambda context, m=model: score(context, m))
        estimated = KilnSubmitOperator(task_id=f"estimate{suffix}", command=lambda context, m=model: estimate(context, m))
        evaluated = KilnSubmitOperator(task_id=f"evaluate{suffix}", command=lambda context, m=model: evaluate(context, m))
        checked = KilnSubmitOperator(task_id=f"drift{suffix}", command=lambda context, m=model: drift(context, m))
        # After drift, and also when drift or the estimate was skipped (not when a task before it failed).
        reported = KilnSubmitOperator(task_id=f"report{suffix}", command=lambda context, m=model: report(context, m),
                                      trigger_rule="none_failed")
        materialized >> scored
        scored >> estimated >> evaluated >> checked >> reported
