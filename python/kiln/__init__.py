"""Kiln from PySpark.

The ``kiln`` package drives Kiln's Java library API (``dev.kiln.api.Kiln``) through the SparkSession's JVM: the job
jar (``spark-jobs/target/kiln-jobs.jar``) must be on ``spark.jars`` and the session must be started with Kiln's
catalog settings. :func:`session` starts such a session; :class:`Kiln` opens Kiln on it.

    from kiln import Kiln, session
    spark = session(conf_dir="conf")
    kiln = Kiln(spark, conf_dir="conf")
    rows = kiln.get_historical_features(events, ["origin_delay_stats:avg_delay_7d"])

Errors that Kiln reports arrive as :class:`KilnError` with Kiln's own message, not as a py4j stack trace.
"""

from kiln._api import Kiln, KilnError, KilnModel, TrainingSetInfo, session, catalog_conf

__all__ = ["Kiln", "KilnError", "KilnModel", "TrainingSetInfo", "session", "catalog_conf"]
__version__ = "0.1.0"
