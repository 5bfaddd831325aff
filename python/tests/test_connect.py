"""Kiln over Spark Connect: `kiln connect-server` on the suite's lakehouse, and a Connect-only client (pyspark-client
4.0.1 in a venv of its own, $KILN_CONNECT_PYTHON) running connect_client.py from a directory outside the repository.

The server holds the embedded catalog while it runs, so this module runs before test_kiln.py opens its classic
session (pytest runs modules in name order) and stops the server when its tests are done.
"""

import json
import os
import secrets
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import KILN_HOME


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def connect_server(lakehouse):
    token = secrets.token_hex(16)
    port = _free_port()
    command = [os.path.join(KILN_HOME, "bin", "kiln"), "--conf-dir", lakehouse["conf_dir"]]
    for key, value in lakehouse["settings"].items():
        command += ["--conf", f"{key}={value}"]
    log = tempfile.NamedTemporaryFile(prefix="kiln-connect-server-", suffix=".log", delete=False)
    server = subprocess.Popen(command + ["connect-server", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, KILN_DRIVER_MEMORY="2g", KILN_CONNECT_TOKEN=token))
    deadline = time.time() + 180
    while True:
        text = open(log.name).read()
        if "[kiln] Spark Connect server on" in text:
            break
        assert server.poll() is None and time.time() < deadline, f"connect-server did not start:\n{text[-3000:]}"
        time.sleep(1)
    yield {"url": f"sc://localhost:{port}/;token={token}", "token": token, "log": log.name, "banner": text}
    server.terminate()
    server.wait(60)
    os.unlink(log.name)


def _client(url, script="connect_client.py"):
    python = os.environ.get("KILN_CONNECT_PYTHON")
    assert python, "KILN_CONNECT_PYTHON (a pyspark-client venv's python) is not set: run the tests with bin/test"
    with tempfile.TemporaryDirectory() as elsewhere:
        return subprocess.run([python, os.path.join(os.path.dirname(__file__), script)], cwd=elsewhere,
                              capture_output=True, text=True, timeout=600, env=dict(os.environ, KILN_CONNECT_URL=url))


def test_the_banner_says_how_to_connect_and_never_shows_the_token(connect_server):
    banner = connect_server["banner"]
    assert "(read-only), token from KILN_CONNECT_TOKEN" in banner and "sc://localhost:" in banner
    assert connect_server["token"] not in open(connect_server["log"]).read()


def test_a_connect_only_client_gets_features_scores_and_tables(connect_server):
    done = _client(connect_server["url"])
    assert done.returncode == 0, f"connect_client.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["session"] == "pyspark.sql.connect.session"
    assert out["training_set_rows"] == 40
    assert out["feature_columns"] == ["py_store__sales_1d", "py_store__amount_2d", "py_store__missing"]
    assert out["scored_rows"] == 12 and out["score_max_difference"] <= 1e-12
    assert out["model"]["uri"] == "models:/py_big_sale/1" and "amount" in out["model"]["inputs"]
    assert out["missing_input_error"].startswith("kiln_score: models:/py_big_sale/1: the rows to score have no column"
                                                 " 'amount'"), out
    assert not out["model"]["pipeline_loaded"], "pyspark-client 4.0.1 loads pipelines now: say so in docs/library.md"
    assert out["unknown_set_error"] == "kiln_training_set: unknown training set 'no_such_set' (known: py_sales)"
    assert out["train_error"].startswith("train needs a classic session"), out
    assert "the Kiln Spark Connect server is read-only: CreateTable is refused" in out["write_error"], out
    assert out["tables"] == {"raw.py_sales": 40, "ml.models": 1, "ml.predictions": 12}, out


def test_a_wrong_token_is_refused(connect_server):
    url = connect_server["url"].replace(connect_server["token"], "not-the-token")
    code = ("import os\nfrom pyspark.sql import SparkSession\n"
            "spark = SparkSession.builder.remote(os.environ['KILN_CONNECT_URL']).getOrCreate()\n"
            "spark.range(1).collect()\n")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    try:
        done = _client(url, f.name)
    finally:
        os.unlink(f.name)
    assert done.returncode != 0 and "Invalid authentication token" in done.stderr, done.stderr[-2000:]
