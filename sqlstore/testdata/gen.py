"""Make the MLflow-written SQLite fixtures of sqlstore's tests.

    python gen.py OUTDIR

Run it with the python of each pinned MLflow virtualenv (see
TestMLflowWrittenFixtures in fixtures_test.go, which runs it with
-update-fixtures):

    ~/.cache/mlrun/venv-2.22.5/bin/python gen.py .
    ~/.cache/mlrun/venv-3.17.2/bin/python gen.py .

It writes, for the running MLflow version X:

    mlflow-X.db    a tracking database created and logged by MLflow's own
                   MlflowClient (sqlite:///), in MLflow's rollback journal mode
    mlflow-X.json  what MLflow reads back from it, in the canonical dump
                   format of package compat (internal/compat/README.md): experiments,
                   runs (get_run), full metric histories
                   (get_metric_history), dataset inputs; the artifact root is
                   replaced by <ROOT>

and, for MLflow 3 (logged models, in the Default experiment):

    mlflow-X-loggedmodels.json  what MLflow reads back of them:
                   get_logged_model of each (every metric point, in MLflow's
                   order), which ids are not found (deleted), the run outputs
                   of the runs, and search_logged_models results for a few
                   filters and orders (read by loggedmodelfixture_test.go)

The artifact root is the fixed path ROOT below (no artifact is logged), so
that the database's locations do not depend on where it was generated.
Uses only mlflow and the standard library.
"""

import json
import math
import os
import sys
import warnings

warnings.simplefilter("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import (  # noqa: E402
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)

ROOT = "/tmp/mlrun-sqlstore-fixture/mlruns"
T0 = 1_700_000_000_000


def log(client, root):
    exp = client.create_experiment(
        "fixture ✓ ünïcode", tags={"team": "vision", "mlflow.note.content": "multi\nline ✓"}
    )
    client.set_experiment_tag(exp, "team", "vision-2")
    other = client.create_experiment("other", artifact_location="file:///tmp/mlrun-sqlstore-fixture/elsewhere")
    gone = client.create_experiment("deleted experiment")
    back = client.create_experiment("restored experiment")

    def run(exp_id, name, start, tags=None, user="fixture-user"):
        tags = dict(tags or {})
        tags["mlflow.user"] = user
        return client.create_run(exp_id, start_time=start, tags=tags, run_name=name).info.run_id

    # Awkward values; several values at one (timestamp, step).
    values = [0.0, -0.0, 1e-05, 0.1 + 0.2, 1e16, 1e-300, -2.5, 1.7976931348623157e308,
              5e-324, float("nan"), float("inf"), float("-inf"), math.pi]
    r = run(exp, "awkward values", T0)
    metrics = [Metric("values", v, T0 + i, i - 5) for i, v in enumerate(values)]
    metrics += [Metric(f"single/{i:02d}", v, T0, -1) for i, v in enumerate(values)]
    metrics += [Metric("same point", v, 5, 5) for v in (3.0, 7.0, -1.0)]
    client.log_batch(
        r,
        metrics=metrics,
        params=[Param("long", "p" * 6000), Param("学习率", "0.001 🎯"), Param("empty", ""),
                Param("quotes", "'single' \"double\" \\back"), Param("nested/key.x: y", "yes")],
        tags=[RunTag("long tag", "t" * 8000), RunTag("multi", "line one\nline two\n"), RunTag("émoji", "👍🏽")],
    )
    client.log_metric(r, "same point", float("nan"), timestamp=5, step=5)
    client.set_terminated(r, "FINISHED", end_time=T0 + 99_000)

    # A history logged point by point and in batches.
    h = run(exp, "history", T0 + 1)
    for i in range(30):
        client.log_metric(h, "loss", 1.0 / (i + 1), timestamp=T0 + i, step=i)
    client.log_batch(h, metrics=[Metric("acc", i / 1000, T0 + i, i) for i in range(1000)])

    for i, status in enumerate(["SCHEDULED", "FAILED", "KILLED", "FINISHED"]):
        s = run(exp, f"status {status}", T0 + 10 + i)
        client.log_batch(s, metrics=[Metric("m", float(i), 1, 0)], params=[Param("i", str(i))])
        client.set_terminated(s, status, end_time=T0 + 20 + i)

    renamed = run(exp, "before rename", T0 + 30)
    client.set_tag(renamed, "mlflow.runName", "renamed by tag")
    renamed2 = run(exp, "before update", T0 + 31)
    client.update_run(renamed2, name="прогон renamed 🏃")
    d = run(exp, "deleted run", T0 + 32)
    client.log_metric(d, "m", 1.0, timestamp=2, step=3)
    client.delete_run(d)
    rr = run(exp, "restored run", T0 + 33)
    client.delete_run(rr)
    client.restore_run(rr)
    dt = run(exp, "deleted tag", T0 + 34, tags={"keep": "1", "drop": "2"})
    client.delete_tag(dt, "drop")

    ds = run(exp, "datasets", T0 + 40)
    client.log_inputs(ds, datasets=[
        DatasetInput(Dataset("train", "a1b2c3d4", "local", '{"uri": "/data/train.csv"}',
                             '{"mlflow_colspec": [{"type": "double", "name": "x"}]}', '{"num_rows": 100}'),
                     tags=[InputTag("mlflow.data.context", "training")]),
        DatasetInput(Dataset("eval", "ffff", "http", '{"url": "https://example.com/e.csv"}'),
                     tags=[InputTag("mlflow.data.context", "evaluation"), InputTag("extra", "ü")]),
        DatasetInput(Dataset("untagged", "0", "code", "{}")),
    ])
    reuse = run(exp, "dataset reuse", T0 + 41)
    client.log_inputs(reuse, datasets=[DatasetInput(
        Dataset("train", "a1b2c3d4", "local", '{"uri": "/data/train.csv"}'),
        tags=[InputTag("mlflow.data.context", "testing")])])

    run("0", "in default", T0 + 50)
    run(other, "elsewhere", T0 + 51)
    g = run(gone, "in deleted experiment", T0 + 52)
    client.log_metric(g, "m", -1.0, timestamp=9, step=9)
    client.delete_experiment(gone)
    run(back, "in restored experiment", T0 + 53)
    client.delete_experiment(back)
    client.restore_experiment(back)


def log_logged_models(client):
    """MLflow 3 logged models in the Default experiment, from two runs."""
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus

    store = client._tracking_client.store
    r1 = client.create_run("0", start_time=T0 + 60, run_name="model trainer").info.run_id
    r2 = client.create_run("0", start_time=T0 + 61, run_name="model tuner").info.run_id
    ids = []
    specs = [
        ("ridge", "regressor", r1, {"alpha": "0.5", "solver": "svd"}, {"team": "vision", "ü": "✓"}),
        ("lasso", None, r1, {"alpha": "1"}, {}),
        ("tuned", "regressor", r2, {}, {"team": "nlp"}),
        ("doomed", "classifier", r2, {"alpha": "0"}, {}),
        ("unnamed-source", None, None, {}, {}),
    ]
    for name, typ, src, params, tags in specs:
        m = client.create_logged_model("0", name=name, source_run_id=src, params=params, tags=tags, model_type=typ)
        ids.append(m.model_id)
    ridge, lasso, tuned, doomed, _ = ids
    store.log_batch(r1, [
        Metric("rmse", 0.5, T0 + 1, 0, model_id=ridge), Metric("rmse", 0.25, T0 + 2, 1, model_id=ridge),
        Metric("rmse", float("nan"), T0 + 3, 2, model_id=ridge),
        Metric("rmse", 0.3, T0 + 4, 1, model_id=ridge, dataset_name="eval", dataset_digest="ffff"),
        Metric("r2", float("inf"), T0 + 1, 0, model_id=ridge), Metric("rmse", 0.75, T0 + 1, 0, model_id=lasso),
    ], [], [])
    store.log_batch(r2, [Metric("rmse", 0.1, T0 + 9, 3, model_id=tuned), Metric("rmse", -0.1, T0 + 9, 4, model_id=doomed)], [], [])
    store.log_outputs(r1, [LoggedModelOutput(ridge, 1), LoggedModelOutput(lasso, 0)])
    store.log_outputs(r2, [LoggedModelOutput(tuned, 3)])
    client.finalize_logged_model(ridge, LoggedModelStatus.READY)
    client.finalize_logged_model(tuned, LoggedModelStatus.FAILED)
    client.set_logged_model_tags(lasso, {"note": "multi\nline"})
    client.delete_logged_model_tag(ridge, "team")
    client.delete_logged_model(doomed)
    return ids, [r1, r2]


def dump_logged_models(client, ids, runs):
    """What MlflowClient reads of the logged models."""
    def lm(m):
        return {
            "model_id": m.model_id, "experiment_id": m.experiment_id, "name": m.name,
            "artifact_location": normalize(m.artifact_location), "model_type": m.model_type or "",
            "source_run_id": m.source_run_id or "", "status": str(m.status), "status_message": m.status_message or "",
            "creation_timestamp": m.creation_timestamp, "last_updated_timestamp": m.last_updated_timestamp,
            "tags": dict(sorted((m.tags or {}).items())), "params": dict(sorted((m.params or {}).items())),
            "metrics": [[x.key, repr(float(x.value)), x.timestamp, x.step, x.run_id, x.dataset_name or "", x.dataset_digest or ""]
                        for x in (m.metrics or [])],
        }

    models, missing = {}, []
    for mid in ids:
        try:
            models[mid] = lm(client.get_logged_model(mid))
        except Exception:
            missing.append(mid)
    searches = []
    for f, ob in [("", None), ("metrics.rmse < 0.3", None), ("params.alpha = '1'", None), ("status = '2'", None),
                  ("", [{"field_name": "metrics.rmse", "ascending": True}]), ("", [{"field_name": "name", "ascending": True}]),
                  ("name LIKE '%o%'", [{"field_name": "model_type", "ascending": False}])]:
        found = list(paged(lambda t: client.search_logged_models(["0"], filter_string=f or None, order_by=ob, max_results=2, page_token=t)))
        searches.append({"filter": f, "order_by": ob or [], "ids": [m.model_id for m in found]})
    outputs = {r: [[o.model_id, o.step] for o in client.get_run(r).outputs.model_outputs] for r in runs}
    return {"models": models, "missing": missing, "outputs": outputs, "searches": searches}


def paged(fetch):
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


def normalize(uri):
    if isinstance(uri, str):
        uri = uri.replace("file://" + ROOT, "file://<ROOT>").replace(ROOT, "<ROOT>")
    return uri


def dump(client):
    """The canonical dump (internal/compat/README.md) of what MlflowClient reads."""
    experiments, runs = [], []
    for e in paged(lambda t: client.search_experiments(view_type=ViewType.ALL, max_results=100, page_token=t)):
        experiments.append({
            "experiment_id": e.experiment_id, "name": e.name,
            "artifact_location": normalize(e.artifact_location),
            "lifecycle_stage": e.lifecycle_stage, "tags": dict(sorted(e.tags.items())),
        })
        for found in paged(lambda t, eid=e.experiment_id: client.search_runs(
                [eid], run_view_type=ViewType.ALL, max_results=100, page_token=t)):
            r = client.get_run(found.info.run_id)
            info, data = r.info, r.data
            history = {}
            for key in data.metrics:
                pts = [{"value": repr(float(m.value)), "step": m.step, "timestamp": m.timestamp}
                       for m in client.get_metric_history(info.run_id, key)]
                history[key] = sorted(pts, key=lambda p: (p["step"], p["timestamp"], p["value"]))
            inputs = []
            for di in r.inputs.dataset_inputs:
                d = di.dataset
                inputs.append({"name": d.name, "digest": d.digest, "source_type": d.source_type,
                               "source": d.source, "schema": d.schema or "", "profile": d.profile or "",
                               "tags": dict(sorted((t.key, t.value) for t in di.tags))})
            runs.append({
                "run_id": info.run_id, "experiment_id": info.experiment_id,
                "run_name": info.run_name or "", "status": info.status,
                "start_time": info.start_time, "end_time": info.end_time,
                "lifecycle_stage": info.lifecycle_stage, "user_id": info.user_id or "",
                "artifact_uri": normalize(info.artifact_uri),
                "params": dict(sorted(data.params.items())), "tags": dict(sorted(data.tags.items())),
                "latest_metrics": {k: repr(float(v)) for k, v in sorted(data.metrics.items())},
                "metrics": dict(sorted(history.items())), "artifacts": {},
                "inputs": sorted(inputs, key=lambda i: (i["name"], i["digest"])),
            })
    return {
        "format_version": 1,
        "experiments": sorted(experiments, key=lambda e: e["experiment_id"]),
        "runs": sorted(runs, key=lambda r: r["run_id"]),
        "mlflow_version": mlflow.__version__,
        "warnings": [], "errors": [],
    }


def main():
    out = os.path.abspath(sys.argv[1])
    db = os.path.join(out, f"mlflow-{mlflow.__version__}.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = ROOT  # the root MlflowClient's store uses (3.x)
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore("sqlite:///" + db, ROOT)  # creates the schema and experiment 0
    store.engine.dispose()
    client = MlflowClient("sqlite:///" + db)
    client._tracking_client.store.artifact_root_uri = ROOT  # 2.22.5 reads no environment variable
    log(client, ROOT)
    lm = None
    if int(mlflow.__version__.split(".")[0]) >= 3:
        ids, runs = log_logged_models(client)
        lm = dump_logged_models(client, ids, runs)
    with open(os.path.join(out, f"mlflow-{mlflow.__version__}.json"), "w", encoding="utf-8") as f:
        json.dump(dump(client), f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    if lm is not None:
        with open(os.path.join(out, f"mlflow-{mlflow.__version__}-loggedmodels.json"), "w", encoding="utf-8") as f:
            json.dump(lm, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
