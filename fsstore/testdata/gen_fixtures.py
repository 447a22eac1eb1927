"""Writes the MLflow-made fixture stores that fsstore's tests read.

    MLFLOW_ALLOW_FILE_STORE=true python gen_fixtures.py OUTDIR

writes OUTDIR/mlruns with the installed MLflow (run it once with 2.x and once
with 3.x), then adds hand-made legacy entries that old MLflow versions wrote
(int experiment ids, run_uuid-only runs, 2-field metric lines, an empty
run_name) and stray files MLflow tolerates. Ids and times differ per run; the
tests find entities by name.
"""
import os
import sys
import warnings

warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow  # noqa: E402
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

out = os.path.abspath(sys.argv[1])
root = os.path.join(out, "mlruns")
major = int(mlflow.__version__.split(".")[0])
uri = "file://" + root
c = MlflowClient(tracking_uri=uri, registry_uri=uri)

exp = c.create_experiment("fixture", tags={"team": "core", "a/b": "nested"})
r = c.create_run(exp, run_name="full", tags={"k": "v", "mlflow.user": "alice"}, start_time=1700000000000)
rid = r.info.run_id
c.log_batch(
    rid,
    metrics=[
        Metric("loss", 0.5, 1700000000001, 0),
        Metric("loss", 0.25, 1700000000002, 1),
        Metric("loss", float("nan"), 1700000000003, 2),
        Metric("special", float("inf"), 1, -1),
        Metric("special", float("-inf"), 2, -2),
        Metric("special", -0.0, 3, -3),
        Metric("special", 1e-05, 4, -4),
        Metric("train/acc", 0.9, 5, 7),
    ],
    params=[Param("lr", "0.001"), Param("nested/p", "yes"), Param("empty", "")],
    tags=[RunTag("multi", "line1\nline2")],
)
ds = Dataset(name="ds", digest="abc123", source_type="local", source='{"uri": "/data"}',
             schema='{"mlflow_colspec": []}', profile='{"num_rows": 2}')
c.log_inputs(rid, datasets=[DatasetInput(ds, tags=[InputTag("mlflow.data.context", "training")])])
if major >= 3:
    # A dataset-linked metric: MLflow 3 writes a 5-field line.
    c.log_metric(rid, "eval_loss", 0.75, timestamp=10, step=3, dataset_name="ds", dataset_digest="abc123")
    c.log_metric(rid, "eval_loss", 0.5, timestamp=11, step=4, dataset_name="ds", dataset_digest="abc123")
    model = c.create_logged_model(exp, name="lm")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=exp)
    with mlflow.start_span(name="span"):
        pass

fin = c.create_run(exp, run_name="finished", start_time=1700000001000)
c.set_terminated(fin.info.run_id, "FINISHED", end_time=1700000002000)
gone = c.create_run(exp, run_name="deleted-run", start_time=1700000003000)
c.delete_run(gone.info.run_id)

ren = c.create_experiment("before-rename")
c.rename_experiment(ren, "renamed")
dele = c.create_experiment("deleted-exp")
c.create_run(dele, run_name="in-deleted", start_time=1700000004000)
c.delete_experiment(dele)

c.create_registered_model("registered")
c.create_model_version("registered", source="runs:/%s/model" % rid, run_id=rid)

# Legacy entries, as MLflow 1.x wrote them: an int experiment id, a run with
# only run_uuid and an int experiment_id, a 2-field metric line, an empty
# run_name with the name in the tag.
legacy = os.path.join(root, "7")
os.makedirs(legacy)
with open(os.path.join(legacy, "meta.yaml"), "w") as f:
    f.write("artifact_location: %s/7\nexperiment_id: 7\nlifecycle_stage: active\nname: legacy\n" % root)
run = os.path.join(legacy, "0123456789abcdef0123456789abcdef")
for d in ("metrics", "params", "artifacts", "tags"):
    os.makedirs(os.path.join(run, d))
with open(os.path.join(run, "meta.yaml"), "w") as f:
    f.write(
        "artifact_uri: %s/7/0123456789abcdef0123456789abcdef/artifacts\n"
        "end_time: 1500000001000\nentry_point_name: ''\nexperiment_id: 7\n"
        "lifecycle_stage: active\nname: ''\nrun_name: ''\n"
        "run_uuid: 0123456789abcdef0123456789abcdef\nsource_name: ''\nsource_type: 4\n"
        "source_version: ''\nstart_time: 1500000000000\nstatus: 3\ntags: []\nuser_id: bob\n" % root
    )
with open(os.path.join(run, "metrics", "old"), "w") as f:
    f.write("1500000000000 1.5\n1500000000001 2.5 1\n")
with open(os.path.join(run, "tags", "mlflow.runName"), "w") as f:
    f.write("legacy-run")
with open(os.path.join(root, "README.txt"), "w") as f:
    f.write("a stray file in the root\n")
with open(os.path.join(root, exp, "notes.txt"), "w") as f:
    f.write("a stray file in an experiment\n")
print(mlflow.__version__, exp, rid)
