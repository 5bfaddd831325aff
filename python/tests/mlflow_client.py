"""Reads back what Kiln mirrored into MLflow, run by test_mlflow.py in the MLflow venv (mlflow 3.17.2 and pyspark):

    KILN_MLFLOW_URI=http://127.0.0.1:<port> python mlflow_client.py <conf dir> <lakehouse root>

Loads the champion with mlflow.spark and mlflow.pyfunc and scores the scored window's events with it, beside
Kiln's ml.predictions; reads runs, params, metrics and aliases through MLflow's client beside Kiln's tables. Prints one
JSON line.
"""

import json
import os
import sys

import mlflow
import mlflow.pyfunc
import mlflow.spark
from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F

from kiln import Kiln, session

conf_dir, root = sys.argv[1], sys.argv[2]
settings = {"kiln.lakehouse.root": root, "spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"}
spark = session(conf_dir=conf_dir, conf=settings, master="local[2]")
kiln = Kiln(spark, conf_dir=conf_dir, conf=settings)
mlflow.set_tracking_uri(os.environ["KILN_MLFLOW_URI"])
client = mlflow.MlflowClient()
out = {}

# The champion, loaded by MLflow, scores the scored days' events as Kiln did (ml.predictions).
champion = client.get_model_version_by_alias("py_big_sale", "champion")
out["champion"] = int(champion.version)
model = mlflow.spark.load_model("models:/py_big_sale@champion")
rows = kiln.training_set("py_sales").where("ts >= timestamp_ntz'2024-01-15 00:00:00'")
scored = model.transform(rows).select("store", "ts", vector_to_array("probability")[1].alias("mlflow_score"))
written = kiln.predictions().where(f"model_name = 'py_big_sale' AND model_version = {champion.version}").select("store", "ts", "score")
pairs = written.join(scored, ["store", "ts"], "full_outer").collect()
out["scored"] = len(pairs)
out["max_difference"] = max(abs(r["score"] - r["mlflow_score"]) for r in pairs)
pyfunc = mlflow.pyfunc.load_model("models:/py_big_sale@champion")
names = pyfunc.metadata.get_input_schema().input_names()
out["pyfunc_inputs"] = names
out["pyfunc_predictions"] = [float(x) for x in pyfunc.predict(rows.select(*names).limit(3).toPandas())]

# Runs, params, metrics, candidates and aliases, through MLflow, beside Kiln's tables.
experiment = client.get_experiment_by_name("kiln")
out["versions"] = {}
for m in kiln.models().where("name = 'py_big_sale'").collect():
    version = client.get_model_version("py_big_sale", str(m["version"]))
    run = client.get_run(version.run_id)
    candidates = client.search_runs([experiment.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run.info.run_id}'")
    kiln_candidates = kiln.training_runs().where(f"model_name = 'py_big_sale' AND model_version = {m['version']}").collect()
    out["versions"][str(m["version"])] = {
        "params_equal": run.data.params == dict(m["params"]),
        "metrics_equal": all(run.data.metrics[k] == v for k, v in dict(m["metrics"]).items()),
        "tags": {k: run.data.tags.get(k) for k in ("kiln.training_set_id", "kiln.run_id", "kiln.version")},
        "kiln_training_set_id": m["training_set_id"], "kiln_run_id": m["run_id"],
        "candidates": len(candidates), "kiln_candidates": len(kiln_candidates),
        "candidate_params_equal": sorted(json.dumps(c.data.params, sort_keys=True) for c in candidates)
        == sorted(json.dumps(dict(c["params"]), sort_keys=True) for c in kiln_candidates),
        "inputs": [d.dataset.digest for d in run.inputs.dataset_inputs],
    }
out["aliases"] = {a["alias"]: a["version"] for a in kiln.table("ml.model_aliases").where("name = 'py_big_sale'").collect()}
out["mlflow_aliases"] = dict(client.get_registered_model("py_big_sale").aliases)
spark.stop()
print(json.dumps(out))
