"""The Python face of ``dev.kiln.api.Kiln``: thin calls through py4j, Kiln's errors as KilnError."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

T = TypeVar("T")

_KILN_PACKAGES = ("dev.kiln.",)


class KilnError(Exception):
    """An error Kiln reported: an unknown name, a bad reference, a refused session, a failed job.

    ``java_class`` names the Java exception (``dev.kiln.lakehouse.KilnException``, ``...ConfigException``).
    """

    def __init__(self, message: str, java_class: str = ""):
        super().__init__(message)
        self.java_class = java_class


def _call(fn: Callable[[], T]) -> T:
    """Runs a JVM call; an exception thrown by Kiln (or caused by it) becomes a KilnError with Kiln's message."""
    from py4j.protocol import Py4JJavaError

    try:
        return fn()
    except Py4JJavaError as e:
        error = e.java_exception
        seen = 0
        while error is not None and seen < 10:
            name = error.getClass().getName()
            if name.startswith(_KILN_PACKAGES):
                raise KilnError(str(error.getMessage()), name) from None
            error = error.getCause()
            seen += 1
        raise


def _is_remote(spark) -> bool:
    """Whether ``spark`` is a Spark Connect session (pyspark-client, ``SparkSession.builder.remote``): no JVM here."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _remote_call(fn: Callable[[], T]) -> T:
    """Runs a Spark Connect call; an error Kiln raised on the server becomes a KilnError with Kiln's message."""
    from pyspark.errors import PySparkException

    try:
        return fn()
    except PySparkException as e:
        text = str(e)
        for kiln_class in ("dev.kiln.lakehouse.config.ConfigException", "dev.kiln.lakehouse.KilnException"):
            if kiln_class in text or kiln_class in str(getattr(e, "_classes", None) or ""):
                message = text.split(kiln_class, 1)[-1].lstrip(":) ").splitlines()[0]
                raise KilnError(message, kiln_class) from None
        raise


def _sql_literal(value) -> str:
    if isinstance(value, (list, tuple)):
        return "array(" + ", ".join(_sql_literal(v) for v in value) + ")"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _classic_only(verb: str, instead: str) -> KilnError:
    return KilnError(f"{verb} needs a classic session (pyspark with a JVM: kiln.session()) or the CLI ({instead}); over"
                     " Spark Connect Kiln reads features, training sets, models, scores and reports, and writes nothing")


@dataclass(frozen=True)
class TrainingSetInfo:
    """A built training set's registry row: what it was built from."""

    id: str
    name: str
    table: str
    label_column: str
    event_time: str
    feature_refs: List[str]
    inputs: Dict[str, int]
    row_count: int
    reused: bool


@dataclass(frozen=True)
class KilnModel:
    """A registered model version with its pipeline loaded (a pyspark ``PipelineModel``) and what it reads."""

    uri: str
    name: str
    version: int
    task: str
    algorithm: str
    metric: str
    metrics: Dict[str, float]
    training_set_id: str
    feature_refs: List[str]
    inputs: List[str]
    pipeline: object


# The Spark line Kiln's jar is built for (Spark 4.0.1, Scala 2.13): pyspark of another line cannot load it.
SUPPORTED_PYSPARK = ("4.0",)


def _check_pyspark() -> None:
    import pyspark

    version = pyspark.__version__
    if not any(version == v or version.startswith(v + ".") for v in SUPPORTED_PYSPARK):
        raise KilnError(f"Kiln runs on pyspark {' or '.join(v + '.x' for v in SUPPORTED_PYSPARK)} (its jar is built for"
                        f" Spark 4.0.1); this Python has pyspark {version}")


def _default_jar() -> str:
    """The job jar: $KILN_JOBS_JAR, else the one installed with this package, else $KILN_HOME's build."""
    candidates = []
    if os.environ.get("KILN_JOBS_JAR"):
        candidates.append(os.environ["KILN_JOBS_JAR"])
    candidates.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jars", "kiln-jobs.jar"))
    if os.environ.get("KILN_HOME"):
        candidates.append(os.path.join(os.environ["KILN_HOME"], "spark-jobs", "target", "kiln-jobs.jar"))
    for jar in candidates:
        if os.path.isfile(jar):
            return jar
    raise KilnError("the Kiln job jar is not at " + " nor ".join(candidates) + ": build Kiln (mvn -DskipTests package)"
                    " before pip install ./python, or set KILN_JOBS_JAR")


def catalog_conf(conf_dir: Optional[str] = None, env: Optional[str] = None,
                 conf: Optional[Dict[str, str]] = None, jar: Optional[str] = None) -> Dict[str, str]:
    """The Spark settings that let a session see Kiln's catalog, as ``kiln catalog-conf`` prints them."""
    import pyspark

    _check_pyspark()
    jar = jar or _default_jar()
    spark_jars = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    command = ["java", "-cp", jar + os.pathsep + spark_jars, "dev.kiln.jobs.KilnMain"]
    if conf_dir:
        command += ["--conf-dir", conf_dir]
    if env:
        command += ["--env", env]
    for key, value in (conf or {}).items():
        command += ["--conf", f"{key}={value}"]
    command.append("catalog-conf")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("kiln:")]
        raise KilnError(lines[-1] if lines else done.stderr.strip()[-500:])
    out = {}
    for line in done.stdout.splitlines():
        if line.startswith("--conf "):
            key, _, value = line[len("--conf "):].partition("=")
            out[key] = value
    return out


def session(conf_dir: Optional[str] = None, env: Optional[str] = None, conf: Optional[Dict[str, str]] = None,
            jar: Optional[str] = None, app_name: str = "kiln-python", master: Optional[str] = None):
    """A SparkSession with the Kiln job jar and Kiln's catalog settings (and UTC, as Kiln's jobs run)."""
    from pyspark.sql import SparkSession

    jar = jar or _default_jar()
    builder = SparkSession.builder.appName(app_name).config("spark.jars", jar) \
        .config("spark.sql.session.timeZone", "UTC")
    if master:
        builder = builder.master(master)
    for key, value in catalog_conf(conf_dir, env, conf, jar).items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()


class Kiln:
    """Kiln on a SparkSession: ``Kiln(spark)``, then the verbs below. The session stays the caller's.

    On a classic session (``kiln.session()``) every verb runs in the session's JVM. On a Spark Connect session
    (``SparkSession.builder.remote("sc://localhost:15002/;token=...")`` against ``kiln connect-server``) the read verbs
    run on the server through Kiln's SQL functions, with the server's configuration: ``get_historical_features``,
    ``training_set``, ``training_set_info``, ``score``, ``load_model`` and the tables; the verbs that write
    (``materialize``, ``build_training_set``, ``train``, ``report``) need a classic session or the CLI.
    """

    def __init__(self, spark, conf_dir: Optional[str] = None, env: Optional[str] = None,
                 conf: Optional[Dict[str, str]] = None):
        _check_pyspark()
        self._spark = spark
        self._remote = _is_remote(spark)
        if self._remote:
            if conf_dir or env or conf:
                raise KilnError("over Spark Connect the server's configuration applies (kiln connect-server --conf-dir ..."
                                " --env ... --conf ...): leave conf_dir, env and conf out of Kiln(spark)")
            self._j = None
            self._views = 0
            return
        jvm = spark._jvm
        overrides = jvm.java.util.HashMap()
        for key, value in (conf or {}).items():
            overrides.put(key, str(value))
        self._j = _call(lambda: jvm.dev.kiln.api.Kiln.open(spark._jsparkSession, conf_dir, env, overrides))

    def _df(self, jdf):
        from pyspark.sql import DataFrame

        return DataFrame(jdf, self._spark)

    def _function(self, name: str, *args):
        """``SELECT * FROM <name>(args)`` over Spark Connect: one of Kiln's SQL functions, run on the server."""
        query = f"SELECT * FROM {name}(" + ", ".join(_sql_literal(a) for a in args) + ")"
        return _remote_call(lambda: self._spark.sql(query))

    def _view(self, df) -> str:
        """A temporary view of ``df`` in the Connect session, for a SQL function to read by name. It lives as long as the
        session: the frame a function returns is planned again at each action and reads it then."""
        import uuid

        name = f"kiln_rows_{uuid.uuid4().hex[:12]}"
        _remote_call(lambda: df.createOrReplaceTempView(name))
        return name

    def _list(self, items: Sequence[str]):
        out = self._spark._jvm.java.util.ArrayList()
        for item in items:
            out.add(item)
        return out

    # ------------------------------------------------------------------ features

    def get_historical_features(self, entity_df, features: Sequence[str], event_time: Optional[str] = None):
        """Point-in-time features for entity rows, Feast-style: columns ``<set>__<feature>`` and ``<set>__missing``.

        ``event_time`` names the rows' timestamp column; by default the one timestamp (or date) column they have.
        """
        if event_time is None:
            times = [f.name for f in entity_df.schema.fields
                     if f.dataType.typeName() in ("timestamp", "timestamp_ntz", "date")]
            if len(times) != 1:
                raise KilnError(f"name the event time column (event_time=...): the entity rows have {len(times)}"
                                f" timestamp columns {times}")
            event_time = times[0]
        if self._remote:
            return self._function("kiln_historical_features", self._view(entity_df), event_time, list(features))
        return self._df(_call(lambda: self._j.historicalFeatures(entity_df._jdf, event_time, self._list(features))))

    def materialize(self, feature_sets: Optional[Sequence[str]] = None) -> List[str]:
        """Materializes the feature sets' new periods (all sets by default); returns one summary line per set."""
        if self._remote:
            raise _classic_only("materialize", "bin/kiln features materialize")
        result = _call(lambda: self._j.materialize(self._list(feature_sets or [])))
        return [str(v.summary()) for v in result]

    def feature_catalog(self):
        if self._remote:
            return self.table("features.catalog").orderBy("feature_set", "version", "feature")
        return self._df(_call(lambda: self._j.featureCatalog()))

    # ------------------------------------------------------------------ training sets

    def training_set(self, name: str):
        """The rows of the newest build of a training set, as a DataFrame."""
        if self._remote:
            return self._function("kiln_training_set", name)
        return self._df(_call(lambda: self._j.rows(self._j.trainingSet(name))))

    def training_set_info(self, name: str) -> TrainingSetInfo:
        if self._remote:
            self._function("kiln_training_set", name)  # Kiln's errors for an unknown or unbuilt set
            row = self.table("features.training_sets").where(f"name = {_sql_literal(name)}") \
                .orderBy("created_at", ascending=False).limit(1).collect()[0]
            return TrainingSetInfo(id=row["id"], name=row["name"], table=row["table_name"], label_column=row["label_column"],
                                   event_time=row["event_time"], feature_refs=list(row["feature_refs"]),
                                   inputs=dict(row["inputs"]), row_count=int(row["row_count"]), reused=True)
        return _info(_call(lambda: self._j.trainingSet(name)))

    def build_training_set(self, name: str) -> TrainingSetInfo:
        """Builds (or, over unchanged inputs, reuses) a declared training set."""
        if self._remote:
            raise _classic_only("build_training_set", "bin/kiln training-set build " + name)
        return _info(_call(lambda: self._j.buildTrainingSet(name)))

    # ------------------------------------------------------------------ models

    def train(self, model: str) -> str:
        """Trains and registers a new version of a declared model; returns its URI (models:/name/version)."""
        if self._remote:
            raise _classic_only("train", "bin/kiln train " + model)
        return str(_call(lambda: self._j.train(model)).uri())

    def load_model(self, uri: str) -> KilnModel:
        """A registered model by URI (models:/name/version or models:/name@alias) with its pipeline loaded.

        Over Spark Connect the pipeline is loaded through pyspark's Connect ML support, which needs the server to read
        the artifact path (a shared file system or object store); where it cannot, ``pipeline`` is None and
        ``score`` still works (it runs on the server)."""
        if self._remote:
            return self._remote_model(uri)
        loaded = _call(lambda: self._j.loadModel(uri))
        from pyspark.ml import PipelineModel  # needs numpy
        v = loaded.version()
        return KilnModel(
            uri=str(v.uri()), name=str(v.name()), version=int(v.version()), task=str(v.task()),
            algorithm=str(v.algorithm()), metric=str(v.metric()),
            metrics={str(k): float(x) for k, x in dict(v.metrics()).items()},
            training_set_id=str(v.trainingSetId()), feature_refs=[str(r) for r in v.featureRefs()],
            inputs=[str(c) for c in loaded.signature().inputs()],
            pipeline=PipelineModel._from_java(loaded.pipeline()))

    def score(self, df, uri: str):
        """Scores rows with a registered model, writing nothing: ml.predictions' columns for those rows."""
        if self._remote:
            return self._function("kiln_score", self._view(df), uri)
        return self._df(_call(lambda: self._j.score(df._jdf, uri)))

    # ------------------------------------------------------------------ tables

    def table(self, name: str):
        """Any Kiln table by name (raw.flights, features.catalog, ml.predictions, reports.drift, ...)."""
        if self._remote:
            return _remote_call(lambda: self._spark.table(name))
        return self._df(_call(lambda: self._j.table(name)))

    def predictions(self):
        """ml.predictions."""
        if self._remote:
            return self.table("ml.predictions")
        return self._df(_call(lambda: self._j.predictions()))

    def models(self):
        """ml.models."""
        if self._remote:
            return self.table("ml.models")
        return self._df(_call(lambda: self._j.models()))

    def training_runs(self):
        """ml.training_runs: every grid point of every training (params, validation metrics, fit time, the one chosen)."""
        if self._remote:
            return self.table("ml.training_runs")
        return self._df(_call(lambda: self._j.trainingRuns()))

    def evaluation_report(self):
        """reports.evaluation."""
        if self._remote:
            return self.table("reports.evaluation")
        return self._df(_call(lambda: self._j.evaluationReport()))

    def drift_report(self):
        """reports.drift."""
        if self._remote:
            return self.table("reports.drift")
        return self._df(_call(lambda: self._j.driftReport()))

    def data_profile(self):
        """reports.data_profile."""
        if self._remote:
            return self.table("reports.data_profile")
        return self._df(_call(lambda: self._j.dataProfile()))

    def alerts(self):
        """reports.alerts."""
        if self._remote:
            return self.table("reports.alerts")
        return self._df(_call(lambda: self._j.alerts()))

    def report(self, uri: str, date_from: str, date_to: str) -> str:
        """Writes the self-contained HTML report of a model version and a day range (yyyy-mm-dd, both included)
        from Kiln's tables; returns its path (<root>/reports/html/<model>/<version>/<from>_<to>.html)."""
        if self._remote:
            raise _classic_only("report", f"bin/kiln report --model {uri} --from {date_from} --to {date_to}")
        local_date = self._spark._jvm.java.time.LocalDate
        return str(_call(lambda: self._j.report(uri, local_date.parse(date_from), local_date.parse(date_to))).path())

    def html_reports(self):
        """reports.html_reports: the HTML reports written, one row per model version and window."""
        if self._remote:
            return self.table("reports.html_reports")
        return self._df(_call(lambda: self._j.htmlReports()))

    def runs(self):
        """ops.job_runs."""
        if self._remote:
            return self.table("ops.job_runs")
        return self._df(_call(lambda: self._j.runs()))


    def _remote_model(self, uri: str) -> KilnModel:
        row = self._function("kiln_model", uri).collect()[0]
        pipeline = None
        try:
            from pyspark.ml import PipelineModel

            pipeline = PipelineModel.load(row["artifact_path"])
        except Exception:  # pyspark's Connect ML cannot load every stage (or reach the path): scoring stays server-side
            pipeline = None
        return KilnModel(
            uri=row["uri"], name=row["name"], version=int(row["version"]), task=row["task"], algorithm=row["algorithm"],
            metric=row["metric"], metrics={k: float(v) for k, v in dict(row["metrics"]).items()},
            training_set_id=row["training_set_id"], feature_refs=list(row["feature_refs"]),
            inputs=list(row["signature"]), pipeline=pipeline)


def _info(j) -> TrainingSetInfo:
    return TrainingSetInfo(
        id=str(j.id()), name=str(j.name()), table=str(j.table().toString()), label_column=str(j.labelColumn()),
        event_time=str(j.eventTime()), feature_refs=[str(r) for r in j.featureRefs()],
        inputs={str(k): int(v) for k, v in dict(j.inputs()).items()}, row_count=int(j.rowCount()), reused=bool(j.reused()))
