"""Prints the shape of the DAGs in a folder as Airflow parses them: one line 'SHAPE <json>' with, per DAG,
max_active_tasks and each task's pool, retries and upstream task ids, and the import errors.
Used by AirflowIT with the settings that shape Kiln's DAGs in the environment."""
import json
import sys

from airflow.models.dagbag import DagBag

sys.path.insert(0, sys.argv[1])  # the dag-processor puts the DAG folder on the path for kiln_common
bag = DagBag(sys.argv[1], include_examples=False)
shape = {"import_errors": {path: error.strip().splitlines()[-1] for path, error in bag.import_errors.items()}}
for dag_id, dag in sorted(bag.dags.items()):
    shape[dag_id] = {
        "max_active_tasks": dag.max_active_tasks,
        "tasks": {t.task_id: {"pool": t.pool, "retries": int(t.retries), "upstream": sorted(t.upstream_task_ids)}
                  for t in dag.tasks},
    }
print("SHAPE " + json.dumps(shape, sort_keys=True))
