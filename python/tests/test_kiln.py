"""Kiln from PySpark against a lakehouse that the CLI built (see conftest.py)."""

import pytest
from pyspark.sql import functions as F

from kiln import KilnError


def _feature_columns(df, info):
    sets = {ref.split("@")[0] for ref in info.feature_refs}
    return [c for c in df.columns if any(c.startswith(s + "__") for s in sets)]


def test_historical_features_equal_the_training_set_the_cli_built(kiln):
    info = kiln.training_set_info("py_sales")
    built = kiln.training_set("py_sales")
    assert built.count() == info.row_count == 40
    events = built.drop(*_feature_columns(built, info))
    again = kiln.get_historical_features(events, info.feature_refs)
    assert sorted(again.columns) == sorted(built.columns)
    again = again.select(*built.columns)
    assert again.count() == built.count()
    assert again.exceptAll(built).count() == 0
    assert built.exceptAll(again).count() == 0


def test_historical_features_have_the_known_values(kiln):
    events = kiln._spark.sql("SELECT 'A' AS store, timestamp_ntz'2024-01-05 10:00:00' AS ts"
                             " UNION ALL SELECT 'B', timestamp_ntz'2024-01-05 00:00:00'")
    rows = {r["store"]: r for r in kiln.get_historical_features(events, ["py_store:sales_1d", "py_store:amount_2d"]).collect()}
    assert rows["A"]["py_store__sales_1d"] == 1 and rows["A"]["py_store__amount_2d"] == 7.0
    assert rows["B"]["py_store__sales_1d"] == 2 and rows["B"]["py_store__missing"] is False


def test_score_equals_the_predictions_the_cli_wrote(kiln):
    model = kiln.load_model("models:/py_big_sale/1")
    assert model.version == 1 and "amount" in model.inputs and model.metrics["areaUnderROC"] == 1.0
    events = kiln.table("raw.py_sales").where("ts >= timestamp_ntz'2024-01-15 00:00:00'")
    scored = kiln.score(events, model.uri).select("store", "ts", F.col("score").alias("scored"))
    written = kiln.predictions().where("model_name = 'py_big_sale' AND model_version = 1").select("store", "ts", "score")
    assert written.count() == 12
    joined = written.join(scored, ["store", "ts"], "full_outer")
    assert joined.count() == 12
    assert joined.where("scored IS NULL OR score IS NULL OR scored <> score").count() == 0


def test_every_grid_point_is_in_training_runs(kiln):
    runs = kiln.training_runs().where("model_name = 'py_big_sale' AND model_version = 1").collect()
    assert len(runs) == 1 and runs[0]["chosen"] and runs[0]["params"] == {"maxIter": "50", "regParam": "0.0"}
    assert runs[0]["metrics"]["areaUnderROC"] == kiln.load_model("models:/py_big_sale/1").metrics["areaUnderROC"]


def test_the_loaded_pipeline_is_a_pyspark_model(kiln):
    model = kiln.load_model("models:/py_big_sale/1")
    rows = kiln.get_historical_features(kiln.table("raw.py_sales").limit(3), model.feature_refs, event_time="ts")
    assert model.pipeline.transform(rows).select("probability").count() == 3


def test_kiln_errors_arrive_as_python_exceptions_with_kilns_message(kiln):
    with pytest.raises(KilnError) as e:
        kiln.training_set("no_such_set")
    assert "unknown training set 'no_such_set'" in str(e.value) and "py_sales" in str(e.value)
    assert "py4j" not in str(e.value) and "at dev.kiln" not in str(e.value)
    with pytest.raises(KilnError, match="must look like set:feature"):
        kiln.get_historical_features(kiln.table("raw.py_sales"), ["not a reference"], event_time="ts")
    with pytest.raises(KilnError, match="models:/"):
        kiln.load_model("py_big_sale")


def test_report_tables_are_dataframes(kiln):
    jobs = {r["job"] for r in kiln.runs().select("job").collect()}
    assert {"ingest py_sales", "training-set build py_sales", "train py_big_sale logistic-regression"} <= jobs
    assert kiln.feature_catalog().where("feature_set = 'py_store'").count() == 2
    assert kiln.models().count() == 1


def test_report_writes_one_html_file_listed_in_a_table(kiln):
    path = kiln.report("models:/py_big_sale/1", "2024-01-15", "2024-01-20")
    assert path.endswith("/reports/html/py_big_sale/1/2024-01-15_2024-01-20.html")
    with open(path[len("file:"):] if path.startswith("file:") else path, encoding="utf-8") as f:
        html = f.read()
    assert "<title>Kiln report: models:/py_big_sale/1, 2024-01-15 .. 2024-01-20</title>" in html
    assert "No evaluation of this version for this window" in html  # the fixture scores but does not evaluate
    listed = kiln.html_reports().where("model_name = 'py_big_sale'").collect()
    assert [(r["model_version"], r["path"], r["bytes"]) for r in listed] == [(1, path, len(html.encode("utf-8")))]
    with pytest.raises(KilnError, match="the report's window is empty"):
        kiln.report("models:/py_big_sale/1", "2024-01-20", "2024-01-15")


def test_an_unsupported_pyspark_is_a_clear_error(monkeypatch):
    import pyspark

    from kiln import _api

    monkeypatch.setattr(pyspark, "__version__", "3.5.1")
    with pytest.raises(KilnError, match=r"Kiln runs on pyspark 4\.0\.x .*this Python has pyspark 3\.5\.1"):
        _api._check_pyspark()
    monkeypatch.setattr(pyspark, "__version__", "4.0.1")
    _api._check_pyspark()


def test_the_job_jar_is_found_beside_the_installed_package(monkeypatch):
    import os

    from kiln import _api

    monkeypatch.delenv("KILN_JOBS_JAR", raising=False)
    monkeypatch.delenv("KILN_HOME", raising=False)
    packaged = os.path.join(os.path.dirname(os.path.abspath(_api.__file__)), "jars", "kiln-jobs.jar")
    assert _api._default_jar() == packaged
    monkeypatch.setenv("KILN_JOBS_JAR", "/no/such.jar")
    assert _api._default_jar() == packaged
