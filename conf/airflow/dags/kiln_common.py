"""Shared by Kiln's DAGs: settings read when a task runs, the settings that shape the DAGs, and the
operator that submits one kiln command.

Every setting NAME is looked up, when the task runs, as the Airflow Variable ``kiln_NAME``, then the
environment variable ``KILN_NAME`` (upper case), then the default below. Variables can also come from
the environment as ``AIRFLOW_VAR_KILN_NAME``.

The settings that shape the DAGs (which tasks exist, their pool and retries) are read when the DAG files
are parsed, from the environment of the dag-processor and the scheduler only (``KILN_CATALOG_TYPE`` and
the others in ``SHAPE`` below): a change applies once the files are parsed again.

Catalog and pool: on the embedded catalog (``KILN_CATALOG_TYPE`` unset or ``embedded``, the default) the
Derby metastore admits one JVM, so every Kiln task of every Kiln DAG runs in the Airflow pool
``kiln_embedded`` of one slot: one Kiln task at a time across the daily and the retrain DAG. Create the pool
once (``scripts/airflow-up.sh`` does): ``airflow pools set kiln_embedded 1 "Kiln: embedded catalog"``;
Airflow does not start tasks of a pool that does not exist. On a shared catalog (any other type: a
PostgreSQL or Thrift metastore) the tasks run in Airflow's ``default_pool`` and independent tasks run at
the same time (up to ``KILN_MAX_ACTIVE_TASKS`` per run).
"""
from __future__ import annotations

import os
import re
import shlex
from datetime import timedelta
from pathlib import Path

from airflow.exceptions import AirflowFailException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import Variable

# conf/airflow/dags/ -> the Kiln checkout (defaults for a local install; set kiln_job_jar/kiln_conf_dir elsewhere)
KILN_HOME = Path(__file__).resolve().parents[3]

DEFAULTS = {
    "job_jar": str(KILN_HOME / "spark-jobs" / "target" / "kiln-jobs.jar"),
    "conf_dir": str(KILN_HOME / "conf"),
    "lakehouse_root": "",  # empty: kiln.lakehouse.root of the config
    "spark_master": "",  # empty: the Airflow connection kiln_spark, else local[*]
    "spark_conn_id": "kiln_spark",
    "driver_memory": "",
    "extra_conf": "",  # whitespace-separated KEY=VALUE, passed as kiln --conf (Kiln keys or spark.* settings)
    "submit_conf": "",  # whitespace-separated KEY=VALUE, passed as spark-submit --conf (driver JVM options, ...)
    "dataset": "flights",
    "ingest_source": "",  # empty: the dataset's configured source; "{ds}" is replaced by the day
    "feature_sets": "",  # empty: all feature sets
    "model": "models:/flight_delay@champion",
    "evaluate_lag_days": "0",
    "drift_reference": "",  # FROM..TO; empty: the model's training window
    "drift_trigger_retrain": "false",
    "skip_drift": "false",
    "skip_estimate": "false",
    "skip_report": "false",
}


# Read at parse time from the environment: KILN_<NAME>.
SHAPE = {
    "catalog_type": "embedded",  # kiln.lakehouse.catalog.type of the lakehouse the tasks use
    "pool": "",  # empty: kiln_embedded on the embedded catalog, default_pool on a shared one
    "max_active_tasks": "8",  # per DAG run, on a shared catalog (1 on the embedded catalog)
    "task_retries": "2",  # the jobs are idempotent: a retried task redoes or finds done what failed
    "retry_delay_seconds": "60",  # doubled for each further retry
    "daily_feature_sets": "",  # feature sets materialized as tasks of their own; empty: one task for all
    "daily_models": "",  # model URIs scored, evaluated and drift-checked each in its own tasks; empty: kiln_model
}
EMBEDDED_POOL = "kiln_embedded"


def shape(name: str) -> str:
    """A setting that shapes the DAGs, from the parsing process's environment (KILN_<NAME>), else SHAPE."""
    return os.environ.get(f"KILN_{name.upper()}", SHAPE[name]).strip()


def shared_catalog() -> bool:
    """True unless the catalog is the embedded (one-JVM) one."""
    return shape("catalog_type").lower() not in ("", "embedded")


def task_defaults() -> dict:
    """default_args of Kiln's DAGs: the pool and the retries."""
    pool = shape("pool") or ("default_pool" if shared_catalog() else EMBEDDED_POOL)
    return {
        "pool": pool,
        "retries": int(shape("task_retries")),
        "retry_delay": timedelta(seconds=int(shape("retry_delay_seconds"))),
        "retry_exponential_backoff": True,
    }


def max_active_tasks() -> int:
    return int(shape("max_active_tasks")) if shared_catalog() else 1


def task_suffix(name: str) -> str:
    """A feature set name or model URI as part of a task id: models:/flight_delay@champion -> flight_delay_champion."""
    suffix = re.sub(r"[^A-Za-z0-9_-]", "_", name.removeprefix("models:/")).strip("_")
    if not suffix:
        raise ValueError(f"'{name}' cannot name a task")
    return suffix


def setting(name: str) -> str:
    """The value of a Kiln setting for the running task (Variable, then environment, then default)."""
    value = Variable.get(f"kiln_{name}", default=None)
    if value is None:
        value = os.environ.get(f"KILN_{name.upper()}", DEFAULTS[name])
    return str(value).strip()


def flag(name: str) -> bool:
    value = setting(name).lower()
    if value not in ("true", "false", "1", "0", "yes", "no", ""):
        raise AirflowFailException(f"kiln_{name}: expected true or false, got '{value}'")
    return value in ("true", "1", "yes")


def key_values(name: str) -> list[str]:
    """A setting holding whitespace-separated KEY=VALUE entries (shell quoting allowed)."""
    entries = shlex.split(setting(name))
    for entry in entries:
        if "=" not in entry or entry.startswith("="):
            raise AirflowFailException(f"kiln_{name}: '{entry}' is not KEY=VALUE")
    return entries


def run_day(context) -> str:
    """The day a run processes: conf 'day' when given, else the run's logical date (yyyy-mm-dd)."""
    conf = context["dag_run"].conf or {}
    if conf.get("day"):
        return str(conf["day"])
    logical = context.get("logical_date")
    if logical is None:
        raise AirflowFailException(
            "this run has no logical date: trigger it with one (kiln airflow trigger DAG --logical-date yyyy-mm-dd)"
            " or with conf day=yyyy-mm-dd")
    return logical.strftime("%Y-%m-%d")


class KilnSubmitOperator(SparkSubmitOperator):
    """Submits one ``kiln`` command (the job jar, main class dev.kiln.jobs.KilnMain) with spark-submit.

    ``command`` builds the kiln arguments from the task's context when the task runs; it may raise
    AirflowSkipException to skip the task. Settings (jar, conf dir, lakehouse root, master, extra --conf)
    are resolved then too, so a Variable change applies to the next task that runs.
    """

    def __init__(self, *, command, **kwargs):
        super().__init__(application="", java_class="dev.kiln.jobs.KilnMain", verbose=False, **kwargs)
        self.kiln_command = command

    def execute(self, context):
        args = ["--conf-dir", setting("conf_dir")]
        if setting("lakehouse_root"):
            args += ["--conf", f"kiln.lakehouse.root={setting('lakehouse_root')}"]
        for entry in key_values("extra_conf"):
            args += ["--conf", entry]
        args += lineage_parent_conf(context["ti"])
        self.conf = dict(self.conf or {})
        for entry in key_values("submit_conf"):
            key, value = entry.split("=", 1)
            self.conf[key] = value
        self.application = setting("job_jar")
        if not Path(self.application).is_file() and "://" not in self.application:
            raise AirflowFailException(
                f"no Kiln job jar at {self.application}: build it (mvn package) or set the Variable kiln_job_jar")
        self.application_args = args + list(self.kiln_command(context))
        self._conn_id = setting("spark_conn_id")
        if setting("driver_memory"):
            self._driver_memory = setting("driver_memory")
        self.log.info("kiln %s", " ".join(self.application_args))
        return super().execute(context)

    def _get_hook(self):
        hook = super()._get_hook()
        master = setting("spark_master")
        if master:
            # The provider takes the master from the connection only; a Kiln setting overrides it here.
            hook._connection["master"] = master
        elif hook._connection["master"] == "yarn" and not _connection_exists(self._conn_id):
            hook._connection["master"] = "local[*]"
        return hook


def lineage_parent_conf(task_instance) -> list[str]:
    """kiln --conf entries naming this task's OpenLineage run as the parent of the Kiln job's run.

    The run id, job name and namespace are the ones Airflow's OpenLineage provider gives the task (its
    ``lineage_run_id``, ``lineage_job_name`` and ``lineage_job_namespace`` macros), so a lineage backend links
    the Kiln job under the Airflow task. Without the provider installed: nothing (the Kiln job has no parent).
    """
    try:
        from airflow.providers.openlineage.plugins import macros
    except ImportError:
        return []
    return ["--conf", f"kiln.lineage.openlineage.parent-run-id={macros.lineage_run_id(task_instance)}",
            "--conf", f"kiln.lineage.openlineage.parent-job-name={macros.lineage_job_name(task_instance)}",
            "--conf", f"kiln.lineage.openlineage.parent-job-namespace={macros.lineage_job_namespace()}"]


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
        return True
    except Exception:  # AirflowNotFoundException, or no connection backend
        return False
