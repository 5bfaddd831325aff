"""Kiln's MLflow mirror against a real `mlflow server` (3.17.2, SQLite store, local artifacts, from
scripts/setup-mlflow.sh: $KILN_MLFLOW_VENV): off means no connection; a server down during training is one warning
line and `kiln models sync` catches up (a second sync is a no-op); MLflow loads the champion and scores as Kiln did;
runs, params, metrics, candidates and aliases read back equal Kiln's tables.

Runs after test_kiln.py, whose classic session is stopped by then (bin/kiln needs the embedded catalog). The tests
run in order and share the server.
"""

import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import kiln_cli


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _venv():
    venv = os.environ.get("KILN_MLFLOW_VENV")
    assert venv, "KILN_MLFLOW_VENV (scripts/setup-mlflow.sh's venv) is not set: run the tests with bin/test"
    return venv


@pytest.fixture(scope="module")
def mlflow_server():
    work = tempfile.mkdtemp(prefix="kiln-mlflow-")
    port = _free_port()
    command = [os.path.join(_venv(), "bin", "python"), "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{work}/mlflow.db",
               "--artifacts-destination", f"{work}/artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    state = {"url": f"http://127.0.0.1:{port}", "process": None, "log": os.path.join(work, "server.log")}

    def start():
        state["process"] = subprocess.Popen(command, stdout=open(state["log"], "a"), stderr=subprocess.STDOUT, cwd=work)
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(state["url"] + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert state["process"].poll() is None and time.time() < deadline, open(state["log"]).read()[-3000:]
            time.sleep(1)

    def stop():
        state["process"].terminate()
        state["process"].wait(60)

    state["start"], state["stop"] = start, stop
    yield state
    if state["process"] and state["process"].poll() is None:
        stop()


def _cli(lakehouse, **mlflow):
    settings = dict(lakehouse["settings"])
    settings.update({f"kiln.mlflow.{k.replace('_', '-')}": v for k, v in mlflow.items()})
    return kiln_cli(lakehouse["conf_dir"], settings)


def test_1_tracking_off_connects_nowhere(lakehouse):
    accepted = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except socket.timeout:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        port = listener.getsockname()[1]
        out = _cli(lakehouse, enabled="false", tracking_uri=f"http://127.0.0.1:{port}")("train", "py_big_sale")
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert accepted == [], "the mirror is off, yet Kiln connected to the tracking URI"
    assert "MLflow" not in out, out


def test_2_a_server_down_during_training_is_one_warning_and_sync_catches_up(lakehouse, mlflow_server):
    down = _cli(lakehouse, enabled="true", tracking_uri=mlflow_server["url"])
    out = down("train", "py_big_sale")  # the server is not started yet: its port is closed
    warnings = [line for line in out.splitlines() if "warning: MLflow mirror" in line]
    assert len(warnings) == 1 and "kiln models sync" in warnings[0], out
    mlflow_server["start"]()
    first = down("models", "sync")
    assert "mirrored to MLflow: 3 run(s), 3 model version(s), 0 alias(es)" in first, first
    second = down("models", "sync")
    assert "MLflow is level with Kiln's registry: nothing to mirror" in second, second


def test_3_mlflow_loads_the_champion_and_reads_back_kilns_tables(lakehouse, mlflow_server):
    cli = _cli(lakehouse, enabled="true", tracking_uri=mlflow_server["url"])
    trained = cli("train", "py_big_sale")  # the server is up: the training itself mirrors its version
    assert "mirrored to MLflow: 1 run(s), 1 model version(s), 0 alias(es)" in trained, trained
    promoted = cli("models", "promote", "py_big_sale", "1", "--alias", "champion")
    assert "MLflow: py_big_sale@champion -> version 1" in promoted, promoted
    python = os.path.join(_venv(), "bin", "python")
    with tempfile.TemporaryDirectory() as elsewhere:
        done = subprocess.run([python, os.path.join(os.path.dirname(__file__), "mlflow_client.py"), lakehouse["conf_dir"],
                               lakehouse["settings"]["kiln.lakehouse.root"]], cwd=elsewhere, capture_output=True, text=True,
                              timeout=600, env=dict(os.environ, KILN_MLFLOW_URI=mlflow_server["url"]))
    assert done.returncode == 0, f"mlflow_client.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["champion"] == 1
    assert out["scored"] == 12 and out["max_difference"] <= 1e-12, out
    assert out["pyfunc_inputs"] == ["py_store__sales_1d", "py_store__amount_2d", "py_store__missing", "amount"]
    assert len(out["pyfunc_predictions"]) == 3 and set(out["pyfunc_predictions"]) <= {0.0, 1.0}
    assert sorted(out["versions"]) == ["1", "2", "3", "4"], out
    for version, v in out["versions"].items():
        assert v["params_equal"] and v["metrics_equal"], (version, v)
        assert v["tags"] == {"kiln.training_set_id": v["kiln_training_set_id"], "kiln.run_id": v["kiln_run_id"],
                             "kiln.version": version}, v
        assert v["candidates"] == v["kiln_candidates"] == 1 and v["candidate_params_equal"], (version, v)
        assert v["inputs"] == [v["kiln_training_set_id"]], v
    assert out["mlflow_aliases"] == {alias: str(version) for alias, version in out["aliases"].items()} == {"champion": "1"}
