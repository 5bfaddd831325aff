"""Kiln over Spark Connect from a Connect-only client (pyspark-client: no JVM, no py4j), run by test_connect.py.

    KILN_CONNECT_URL=sc://localhost:<port>/;token=<token> python connect_client.py

Checks what it can on its own (asserts) and prints one JSON line of results for the test to check too.
"""

import importlib.util
import json
import os

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from kiln import Kiln, KilnError

# A Connect-only client: no py4j (so no JVM gateway) and no classic pyspark core in this process.
assert importlib.util.find_spec("py4j") is None, "py4j is installed: this is not a Connect-only client"
assert importlib.util.find_spec("pyspark.core") is None, "pyspark.core is installed: this is not pyspark-client"

spark = SparkSession.builder.remote(os.environ["KILN_CONNECT_URL"]).getOrCreate()
kiln = Kiln(spark)
out = {"session": type(spark).__module__}

# Historical features for the training set's own events equal the training set's rows, row for row.
info = kiln.training_set_info("py_sales")
built = kiln.training_set("py_sales")
features = [c for c in built.columns if c.startswith("py_store__")]
events = built.drop(*features)
again = kiln.get_historical_features(events, info.feature_refs, event_time=info.event_time).select(*built.columns)
key = ["store", "ts", "amount"]
left = sorted(tuple(r) for r in built.orderBy(*key).collect())
right = sorted(tuple(r) for r in again.orderBy(*key).collect())
assert left == right, f"features over Connect differ from the training set:\n{left[:5]}\n{right[:5]}"
out["training_set_rows"] = len(left)
out["feature_columns"] = features

# Scores for the scored days equal what `kiln score` wrote to ml.predictions for that version.
model = kiln.load_model("models:/py_big_sale/1")
out["model"] = {"uri": model.uri, "version": model.version, "inputs": model.inputs,
                "pipeline_loaded": model.pipeline is not None}
to_score = kiln.table("raw.py_sales").where("ts >= timestamp_ntz'2024-01-15 00:00:00'").select("store", "ts", "amount")
scored = kiln.score(to_score, model.uri).select("store", "ts", F.col("score").alias("scored"))
written = kiln.predictions().where("model_name = 'py_big_sale' AND model_version = 1").select("store", "ts", "score")
pairs = written.join(scored, ["store", "ts"], "full_outer").collect()
out["scored_rows"] = len(pairs)
out["score_max_difference"] = max(abs(r["score"] - r["scored"]) for r in pairs)
assert all(r["score"] is not None and r["scored"] is not None for r in pairs), pairs

# A frame that lacks a column the model reads gets Kiln's one line naming it.
try:
    kiln.score(to_score.drop("amount"), model.uri).collect()
    raise AssertionError("scoring without 'amount' did not fail")
except KilnError as e:
    out["missing_input_error"] = str(e)

# Kiln's errors arrive as KilnError with Kiln's message; the verbs that write name the classic session.
try:
    kiln.training_set("no_such_set")
    raise AssertionError("an unknown training set did not fail")
except KilnError as e:
    out["unknown_set_error"] = str(e)
try:
    kiln.train("py_big_sale")
    raise AssertionError("train over Connect did not fail")
except KilnError as e:
    out["train_error"] = str(e)

# The server is read-only: a write is refused with its one line.
try:
    spark.sql("CREATE TABLE default.connect_write_test (x INT) USING delta")
    raise AssertionError("a write went through the read-only server")
except AssertionError:
    raise
except Exception as e:
    out["write_error"] = str(e).splitlines()[0]

out["tables"] = {name: kiln.table(name).count() for name in ("raw.py_sales", "ml.models", "ml.predictions")}
spark.stop()
print(json.dumps(out))
