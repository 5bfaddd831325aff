"""Kiln from PySpark, on the lakehouse that `bin/kiln demo` built (run from the repository root):

    mvn -DskipTests package && pip install ./python
    python python/examples/historical_features.py

From elsewhere, KILN_CONF_DIR names the conf directory and KILN_LAKEHOUSE_ROOT the lakehouse.
"""

import os

from kiln import Kiln, KilnError, session

conf_dir = os.environ.get("KILN_CONF_DIR", "conf")
spark = session(conf_dir=conf_dir)
kiln = Kiln(spark, conf_dir=conf_dir)

# Point-in-time features for any entity rows: here, three flights of June.
flights = kiln.table("raw.flights").where("flight_date = DATE'2001-06-15'").select("origin", "destination", "date").limit(3)
features = kiln.get_historical_features(flights, ["origin_delay_stats:avg_delay_7d", "route_delay_stats:flights_7d"])
features.show(truncate=False)

# The training set the CLI built, and its lineage.
info = kiln.training_set_info("flight_delay")
print(f"training set {info.id}: {info.row_count:,} rows, features {info.feature_refs[:3]}..., inputs {info.inputs}")

# The champion, loaded, and scores for the same flights (nothing is written): the rows need only what the model
# reads (the entity keys origin and destination, the event time date, and distance).
model = kiln.load_model("models:/flight_delay@champion")
print(f"{model.uri} ({model.algorithm}): {model.metric} {model.metrics[model.metric]:.4f}")
to_score = kiln.table("raw.flights").where("flight_date = DATE'2001-06-15'").select("origin", "destination", "date", "distance").limit(3)
kiln.score(to_score, model.uri).select("origin", "destination", "date", "score", "predicted_label").show()

# The reports, as DataFrames.
kiln.evaluation_report().where("slice = 'overall'").select("metric", "value").show()

try:
    kiln.training_set("no_such_set")
except KilnError as e:
    print("as expected:", e)
spark.stop()
