"""Reads an mlruns directory with MLflow's own FileStore and prints a JSON
summary; used by TestMLflowReadsStore. Usage: python mlflow_read.py ROOT"""
import json
import math
import os
import sys
import warnings

warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402
from mlflow.store.tracking.file_store import FileStore  # noqa: E402


def num(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


root = sys.argv[1]
fs = FileStore(root)
out = {"version": mlflow.__version__, "experiments": {}, "runs": {}}
exps = fs.search_experiments(view_type=ViewType.ALL, max_results=50000)
for e in exps:
    out["experiments"][e.experiment_id] = {
        "name": e.name,
        "lifecycle_stage": e.lifecycle_stage,
        "artifact_location": e.artifact_location,
        "tags": dict(e.tags),
    }
    assert fs.get_experiment_by_name(e.name).experiment_id == e.experiment_id
runs = fs.search_runs([e.experiment_id for e in exps], "", ViewType.ALL, max_results=50000)
for r in runs:
    full = fs.get_run(r.info.run_id)
    hist = {
        k: [[m.timestamp, num(m.value), m.step] for m in fs.get_metric_history(r.info.run_id, k)]
        for k in full.data.metrics
    }
    out["runs"][r.info.run_id] = {
        "experiment_id": full.info.experiment_id,
        "run_name": full.info.run_name,
        "status": full.info.status,
        "lifecycle_stage": full.info.lifecycle_stage,
        "start_time": full.info.start_time,
        "end_time": full.info.end_time,
        "user_id": full.info.user_id,
        "artifact_uri": full.info.artifact_uri,
        "params": dict(full.data.params),
        "tags": dict(full.data.tags),
        "metrics": {k: num(v) for k, v in full.data.metrics.items()},
        "history": hist,
        "inputs": sorted(
            [
                [i.dataset.name, i.dataset.digest, i.dataset.source_type, i.dataset.source,
                 i.dataset.schema, i.dataset.profile, {t.key: t.value for t in i.tags}]
                for i in full.inputs.dataset_inputs
            ]
        ),
    }
summaries = fs._search_datasets([e.experiment_id for e in exps if e.lifecycle_stage == "active"])
out["dataset_summaries"] = sorted([s.experiment_id, s.name, s.digest, s.context] for s in summaries)
print(json.dumps(out, sort_keys=True))
