"""Kiln's retraining: training set -> train -> gated promotion, for the model named in the run's conf.

Triggered, not scheduled: by ``kiln drift --trigger-retrain`` on a threshold breach (conf
``{model, reason, drift_run_id}``), or by hand:
``kiln airflow trigger kiln_retrain --conf model=flight_delay --conf reason=manual``.

Tasks (each one ``spark-submit`` of the Kiln job jar, one after the other; on the embedded catalog in the
pool ``kiln_embedded`` of one slot shared with kiln_flights_daily, so a retraining never overlaps a daily
run's tasks; retried like the daily DAG's tasks, see kiln_common):

* ``training_set``: ``kiln training-set build <training_set>`` (conf ``training_set``, default: the model's
  name, as in the flights example). A build from unchanged inputs is reused.
* ``train``: ``kiln train <model>``: tunes and registers a new version in ml.models.
* ``promote``: ``kiln models promote <model> latest --alias champion --if-better-than champion
  --no-fail-if-not-better``: the version just trained becomes champion only when it beats the current
  champion on the model's metric over the same validation window (or when there is no champion yet).
  A version that is not better leaves the champion as it is and the run still succeeds; the task log
  says which happened. ``latest`` is the newest registered version, which is the one the train task
  registered because runs of this DAG never overlap (max_active_runs=1).

Settings: as for kiln_flights_daily (Variables ``kiln_<name>``, else ``KILN_<NAME>``): job_jar, conf_dir,
lakehouse_root, spark_master, spark_conn_id, driver_memory, extra_conf, submit_conf.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from airflow.exceptions import AirflowFailException
from airflow.sdk import DAG

from kiln_common import KilnSubmitOperator, task_defaults

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def conf_value(context, key: str, default: str | None = None) -> str:
    conf = context["dag_run"].conf or {}
    value = str(conf.get(key) or default or "")
    if not NAME.fullmatch(value):
        raise AirflowFailException(
            f"dag run conf '{key}' must name a {key.replace('_', ' ')} (letters, digits, '_'), got '{value}';"
            " trigger with --conf model=<name>")
    return value


def training_set(context):
    return ["training-set", "build", conf_value(context, "training_set", conf_value(context, "model"))]


def train(context):
    return ["train", conf_value(context, "model")]


def promote(context):
    return ["models", "promote", conf_value(context, "model"), "latest", "--alias", "champion",
            "--if-better-than", "champion", "--no-fail-if-not-better"]


with DAG(
    dag_id="kiln_retrain",
    description="Kiln: rebuild the training set, train a new version, promote it to champion if it is better",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2001, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    # Triggered only, so unpaused from the start: a retraining asked for by drift runs without a hand unpausing it.
    is_paused_upon_creation=False,
    max_active_runs=1,
    max_active_tasks=1,
    default_args=task_defaults(),
    params={"model": "flight_delay"},
    tags=["kiln"],
) as dag:
    build = KilnSubmitOperator(task_id="training_set", command=training_set)
    fit = KilnSubmitOperator(task_id="train", command=train)
    gate = KilnSubmitOperator(task_id="promote", command=promote)
    build >> fit >> gate
