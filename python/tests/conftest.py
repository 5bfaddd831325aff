"""One small lakehouse for the suite, built by Kiln's own CLI (bin/kiln), then one PySpark session on it."""

import os
import shutil
import subprocess
import tempfile

import pytest

KILN_HOME = os.environ.get("KILN_HOME") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Store A sells once a day at 10:00 for the day of the month; store B twice on even days for 1.0; two bad lines.
PIPELINE = """
datasets.py_sales {
  source { format = csv, path = "%(data)s" }
  schema = [ { name = store, type = string, nullable = false }, { name = ts, type = timestamp_ntz, nullable = false },
             { name = amount, type = double, nullable = false } ]
  event-time = ts
  derived = [ { name = sale_date, expr = "to_date(ts)" } ]
  partition-by = [sale_date]
  expectations = [ { name = amount_not_negative, expr = "amount >= 0" } ]
}
feature-sets.py_store {
  version = 1, entity = [store], source = "raw.py_sales", event-time = ts, grain = day, ttl = 2d
  features = [ { name = sales_1d, agg = count, window = 1d }, { name = amount_2d, agg = "sum(amount)", window = 2d } ]
}
training-sets.py_sales {
  events = "raw.py_sales", event-time = ts, columns = [ts, store, amount], label = "amount > 5"
  features = ["py_store:sales_1d", "py_store:amount_2d"]
}
models.py_big_sale {
  task = binary-classification, training-set = py_sales, numeric = [amount], algorithm = logistic-regression
  grids { logistic-regression { regParam = [0.0], maxIter = [50] } }
  split { train-until = "2024-01-15", validate-until = "2024-01-21" }
  metric = areaUnderROC, seed = 3
}
"""


def _csv():
    lines = ["store,ts,amount"]
    for d in range(1, 21):
        lines.append(f"A,2024-01-{d:02d} 10:00:00,{d}.0")
        if d % 2 == 0:
            lines.append(f"B,2024-01-{d:02d} 10:00:00,1.0")
            lines.append(f"B,2024-01-{d:02d} 14:00:00,1.0")
    lines += ["A,2024-01-03 11:00:00,abc", "B,2024-01-04 11:00:00,-2.0"]
    return "\n".join(lines) + "\n"


def build_lakehouse(work, extra=None):
    """The suite's lakehouse under ``work``, built by bin/kiln: ingest, materialize, training set, train, score."""
    conf_dir = os.path.join(work, "conf")
    shutil.copytree(os.path.join(KILN_HOME, "conf"), conf_dir, ignore=shutil.ignore_patterns("pipelines", "airflow"))
    os.makedirs(os.path.join(conf_dir, "pipelines"))
    data = os.path.join(work, "sales.csv")
    with open(data, "w") as f:
        f.write(_csv())
    with open(os.path.join(conf_dir, "pipelines", "py.conf"), "w") as f:
        f.write(PIPELINE % {"data": data})
    root = "file:" + os.path.join(work, "lakehouse")
    settings = {"kiln.lakehouse.root": root, "spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"}
    settings.update(extra or {})
    cli = kiln_cli(conf_dir, settings)
    cli("ingest", "py_sales")
    cli("features", "materialize")
    cli("training-set", "build", "py_sales")
    cli("train", "py_big_sale")
    cli("score", "--model", "models:/py_big_sale/1", "--from", "2024-01-15", "--to", "2024-01-20")
    return {"conf_dir": conf_dir, "settings": settings, "work": work}


def kiln_cli(conf_dir, settings):
    """Runs bin/kiln with the suite's conf dir and settings; returns its stdout, failing the test when it fails."""

    def cli(*args):
        command = [os.path.join(KILN_HOME, "bin", "kiln"), "--conf-dir", conf_dir]
        for key, value in settings.items():
            command += ["--conf", f"{key}={value}"]
        done = subprocess.run(command + list(args), capture_output=True, text=True,
                              env=dict(os.environ, KILN_DRIVER_MEMORY="2g"))
        assert done.returncode == 0, f"bin/kiln {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    return cli


@pytest.fixture(scope="session")
def lakehouse():
    work = tempfile.mkdtemp(prefix="kiln-pytest-")
    yield build_lakehouse(work)
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def kiln(lakehouse):
    """A classic session for one test module, its JVM ended when the module is done: on the embedded catalog the JVM
    holds the lakehouse's Derby metastore until it exits (test_mlflow.py runs bin/kiln afterwards)."""
    from pyspark import SparkContext

    from kiln import Kiln, session

    spark = session(conf_dir=lakehouse["conf_dir"], conf=lakehouse["settings"], master="local[2]")
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    yield Kiln(spark, conf_dir=lakehouse["conf_dir"], conf=lakehouse["settings"])
    spark.stop()
    gateway = SparkContext._gateway
    if gateway is not None:
        process = getattr(gateway, "proc", None)
        gateway.shutdown()
        if process is not None:
            process.stdin.close()  # pyspark's JVM exits when its stdin closes
            process.wait(60)
        SparkContext._gateway = None
        SparkContext._jvm = None
