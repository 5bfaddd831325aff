"""OpenLineage events from Kiln's jobs, captured on a local HTTP endpoint: a lakehouse of its own built with
kiln.lineage.openlineage.url set (ingest -> materialize -> training set -> train -> score). Each event is checked
against the RunEvent structure of the OpenLineage spec 2-0-2 (required fields, types and enums of the run event, its
run, job and datasets, and of every facet, field by field here) and rebuilt from the OpenLineage Python client's
classes, which are generated from the spec's JSON schemas (check_openlineage.py, run with the Python of
KILN_OPENLINEAGE_PYTHON: the spec's schema file itself is not available offline); the chain of inputs and outputs is
checked against Kiln's own tables.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import build_lakehouse, kiln_cli

URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$")


@pytest.fixture(scope="module")
def captured():
    events = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            events.append(json.loads(body))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    work = tempfile.mkdtemp(prefix="kiln-openlineage-")
    parent = str(uuid.uuid4())
    lake = build_lakehouse(work, {"kiln.lineage.openlineage.url": f"http://127.0.0.1:{server.server_port}/api/v1/lineage",
                                  "kiln.lineage.openlineage.parent-run-id": parent,
                                  "kiln.lineage.openlineage.parent-job-name": "kiln_daily.train"})
    yield {"events": events, "lake": lake, "parent": parent}
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)


def _check_facets(facets, where):
    assert isinstance(facets, dict), where
    for name, facet in facets.items():
        assert URI.match(facet["_producer"]) and URI.match(facet["_schemaURL"]), (where, name, facet)
        assert "#/$defs/" in facet["_schemaURL"], (where, name, facet)


def _check_event(e):
    assert e["eventType"] in ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"), e
    datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00"))
    assert URI.match(e["producer"]), e
    assert e["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent", e
    uuid.UUID(e["run"]["runId"])
    _check_facets(e["run"].get("facets", {}), "run")
    assert isinstance(e["job"]["namespace"], str) and isinstance(e["job"]["name"], str) and e["job"]["name"], e
    _check_facets(e["job"].get("facets", {}), "job")
    for kind in ("inputs", "outputs"):
        for d in e.get(kind, []):
            assert isinstance(d["namespace"], str) and isinstance(d["name"], str), d
            _check_facets(d.get("facets", {}), kind)


def _runs(events):
    """{job name: its events} in order; of several runs of one job (training builds or reuses its training set), the
    first one, which did the work."""
    out = {}
    for e in events:
        out.setdefault(e["run"]["runId"], []).append(e)
    runs = {}
    for evs in out.values():
        runs.setdefault(evs[0]["job"]["name"], evs)
    return runs


def _datasets(event, kind):
    return {d["name"]: int(d["facets"]["version"]["datasetVersion"]) for d in event[kind] if "version" in d["facets"]}


def test_every_event_is_a_valid_run_event_and_each_job_starts_and_completes(captured):
    events = captured["events"]
    assert events, "no event arrived"
    for e in events:
        _check_event(e)
    runs = _runs(events)
    for job in ("ingest py_sales", "features materialize py_store", "training-set build py_sales",
                "train py_big_sale logistic-regression", "score models:/py_big_sale/1 2024-01-15..2024-01-20"):
        matching = [name for name in runs if name.startswith(job.split(" 2024")[0])]
        assert matching, f"no run of {job!r} among {sorted(runs)}"
        evs = runs[matching[0]]
        assert [e["eventType"] for e in evs] == ["START", "COMPLETE"], (job, evs)
        parent = evs[0]["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == captured["parent"] and parent["job"]["name"] == "kiln_daily.train", parent


def test_every_event_rebuilds_from_the_openlineage_clients_spec_classes(captured, tmp_path):
    python = os.environ.get("KILN_OPENLINEAGE_PYTHON")
    assert python, "KILN_OPENLINEAGE_PYTHON names a Python with openlineage-python (PythonIT sets it: the Airflow venv)"
    checker = os.path.join(os.path.dirname(__file__), "check_openlineage.py")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in captured["events"]))
    done = subprocess.run([python, checker, str(events)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{len(captured['events'])} events valid ("), done.stdout
    # the check can fail: an event with an unknown field in its parent facet does
    broken = json.loads(json.dumps(captured["events"][0]))
    broken["run"]["facets"]["parent"]["job"]["owner"] = "nobody"
    events.write_text(json.dumps(broken) + "\n")
    done = subprocess.run([python, checker, str(events)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "unexpected keyword argument 'owner'" in done.stdout, done.stdout + done.stderr


def test_the_chain_of_inputs_and_outputs_matches_kilns_tables(captured):
    runs = _runs(captured["events"])
    final = {name: evs[-1] for name, evs in runs.items()}
    ingest = next(e for n, e in final.items() if n.startswith("ingest py_sales"))
    materialize = next(e for n, e in final.items() if n.startswith("features materialize"))
    build = next(e for n, e in final.items() if n.startswith("training-set build"))
    train = next(e for n, e in final.items() if n.startswith("train py_big_sale"))
    score = next(e for n, e in final.items() if n.startswith("score "))
    raw = _datasets(ingest, "outputs")["raw.py_sales"]
    assert _datasets(materialize, "inputs")["raw.py_sales"] == raw
    feature_table = _datasets(materialize, "outputs")["features.py_store__v1"]
    # The training set's inputs are the raw and feature tables at the versions features.training_sets records.
    cli = kiln_cli(captured["lake"]["conf_dir"], captured["lake"]["settings"])
    recorded = json.loads(re.search(r"TS_INPUTS=(\{.*\})", cli("sql", "SELECT concat('TS_INPUTS=', to_json(inputs))"
                                                                   " FROM features.training_sets WHERE name = 'py_sales'")).group(1))
    inputs = _datasets(build, "inputs")
    assert {t: inputs[t] for t in recorded} == recorded and recorded == {"raw.py_sales": raw, "features.py_store__v1": feature_table}
    training_table = [t for t in _datasets(build, "outputs") if t.startswith("features.training__py_sales__")]
    assert len(training_table) == 1
    assert training_table[0] in _datasets(train, "inputs")
    assert "ml.models" in _datasets(train, "outputs") and "ml.training_runs" in _datasets(train, "outputs")
    assert "ml.predictions" in _datasets(score, "outputs") and "raw.py_sales" in _datasets(score, "inputs")
    assert not any(d["name"].startswith("ops.") for e in captured["events"] for d in e["inputs"] + e["outputs"])
