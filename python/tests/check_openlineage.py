"""Checks OpenLineage run events (one JSON object per line) against the OpenLineage Python client's model.

The client's classes (openlineage.client.generated) are generated from the spec's JSON schema (core 2-0-2 and
the facets' own schemas): each event is rebuilt from them strictly (an unknown or missing field fails, every
validator the classes carry runs: UUID run ids, date-times, URIs, enums), every _schemaURL must be the one the
class for that facet names, and the rebuilt event serialised again must equal the line.

    python check_openlineage.py EVENTS.jsonl   ->  "N events valid (...)" and exit 0, or the first problems and exit 1
"""
from __future__ import annotations

import json
import sys
from collections import Counter

from openlineage.client.generated import (
    base,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    parent_run,
)
from openlineage.client.serde import Serde

RUN_FACETS = {"parent": parent_run.ParentRunFacet, "errorMessage": error_message_run.ErrorMessageRunFacet}
JOB_FACETS = {"jobType": job_type_job.JobTypeJobFacet}
DATASET_FACETS = {"version": dataset_version_dataset.DatasetVersionDatasetFacet}


def facet(kind: dict, name: str, data: dict):
    if name not in kind:
        raise ValueError(f"facet '{name}' is not one this checker knows ({sorted(kind)})")
    cls = kind[name]
    fields = dict(data)
    producer = fields.pop("_producer")
    schema = fields.pop("_schemaURL")
    if schema != cls._get_schema():
        raise ValueError(f"facet '{name}': _schemaURL {schema}, the spec's class names {cls._get_schema()}")
    if cls is parent_run.ParentRunFacet:
        fields["run"] = parent_run.Run(**fields["run"])
        fields["job"] = parent_run.Job(**fields["job"])
    return cls(producer=producer, **fields)


def facets(kind: dict, data: dict | None) -> dict:
    return {name: facet(kind, name, value) for name, value in (data or {}).items()}


def dataset(cls, data: dict):
    fields = dict(data)
    fields["facets"] = facets(DATASET_FACETS, fields.get("facets"))
    return cls(**fields)


def run_event(data: dict) -> base.RunEvent:
    fields = dict(data)
    if fields.pop("schemaURL") != base.RunEvent._get_schema():
        raise ValueError(f"schemaURL {data['schemaURL']}, the spec's RunEvent is {base.RunEvent._get_schema()}")
    run = dict(fields.pop("run"))
    run["facets"] = facets(RUN_FACETS, run.get("facets"))
    job = dict(fields.pop("job"))
    job["facets"] = facets(JOB_FACETS, job.get("facets"))
    return base.RunEvent(
        eventType=base.EventType(fields.pop("eventType")),
        run=base.Run(**run),
        job=base.Job(**job),
        inputs=[dataset(base.InputDataset, d) for d in fields.pop("inputs", [])],
        outputs=[dataset(base.OutputDataset, d) for d in fields.pop("outputs", [])],
        **fields,  # eventTime, producer; anything else is not a RunEvent field and fails here
    )


def without_empty(value):
    """The serialiser leaves out empty facet maps and dataset lists: compare without them."""
    if isinstance(value, dict):
        return {k: without_empty(v) for k, v in value.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


def main(path: str) -> int:
    problems, kinds = [], Counter()
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                event = run_event(data)
                again = without_empty(json.loads(Serde.to_json(event)))
                if again != without_empty(data):
                    raise ValueError(f"serialised again it differs: {json.dumps(again, sort_keys=True)}")
                kinds[data["eventType"]] += 1
                for f in list(data["run"].get("facets", {})) + list(data["job"].get("facets", {})):
                    kinds[f] += 1
            except Exception as e:  # noqa: BLE001 - every problem is reported with its line
                problems.append(f"line {number}: {type(e).__name__}: {e}")
    if problems:
        print("\n".join(problems[:20]))
        return 1
    print(f"{sum(kinds[t] for t in ('START', 'COMPLETE', 'FAIL', 'RUNNING', 'ABORT', 'OTHER'))} events valid "
          f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
