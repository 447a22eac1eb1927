"""Write and read, with real MLflow, the stores of the archive round-trip tests.

    python archive_gen.py gen --tracking-uri URI [--full] [--cwd DIR]
    python archive_gen.py view --tracking-uri URI --out FILE

gen adds to the store at URI, through MlflowClient, a model registry (a
registered model with four versions: Production, Staging and Archived ones
with tags and aliases, one deleted; and an empty model) and, with MLflow 3, logged
models (READY with params, tags, metrics on and off a dataset, artifacts and
a run output; FAILED; deleted) with a version registered from one. With
--full it first logs gen_fixtures.py's whole fixture into the store (for a
SQLite store MLflow writes itself); --cwd is the working directory, where
MLflow puts a SQLite store's default artifact root (./mlruns).

view writes, in one process, what MlflowClient reads of the store:
{"snapshot": dump.py's canonical dump (page size 7), "registry":
registry_dump.py's dump, "models": the logged models of every experiment
(search_logged_models, paged; their artifacts downloaded and hashed) and
every run's outputs (none with MLflow 2)}.
"""

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402

T0 = 1_700_000_000_000


def gen(client, full):
    import mlflow
    from mlflow.entities import ViewType

    if full:
        import gen_fixtures

        gen_fixtures.generate(client, None)
    exp = client.get_experiment_by_name("fixture ünïcødé ✓")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"], run_view_type=ViewType.ACTIVE_ONLY)
    r1, r2, r3 = (r.info.run_id for r in runs[:3])
    art3 = client.get_run(r3).info.artifact_uri

    name = "reg ✓ model"
    client.create_registered_model(name, tags={"team": "ml", "ünï": "✓"}, description="a registered model ✓")
    v1 = client.create_model_version(name, f"runs:/{r1}/model", run_id=r1, tags={"v": "1"}, description="first ✓")
    v2 = client.create_model_version(name, f"runs:/{r2}/model", run_id=r2)
    v3 = client.create_model_version(name, art3 + "/model", run_id=r3)
    client.transition_model_version_stage(name, v1.version, "Production")
    client.transition_model_version_stage(name, v2.version, "Staging")
    client.transition_model_version_stage(name, v3.version, "Archived")
    client.set_registered_model_alias(name, "champion", v1.version)
    client.set_registered_model_alias(name, "challenger", v2.version)
    client.set_model_version_tag(name, v2.version, "validated", "yes")
    v4 = client.create_model_version(name, f"runs:/{r1}/other", run_id=r1)
    client.delete_model_version(name, v4.version)
    client.create_registered_model("empty model")

    if int(mlflow.__version__.split(".")[0]) < 3:
        return
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus

    producer = client.create_run(exp.experiment_id, start_time=T0 + 5000, run_name="model producer").info.run_id
    lm = client.create_logged_model(exp.experiment_id, name="lm-ready", source_run_id=producer,
                                    tags={"t": "v ✓"}, params={"p": "1", "q": "ünï"}, model_type="regressor")
    src = tempfile.mkdtemp(prefix="mlrun-archive-lm-")
    os.makedirs(os.path.join(src, "sub"))
    with open(os.path.join(src, "weights.bin"), "wb") as f:
        f.write(b"\x00\x01weights")
    with open(os.path.join(src, "sub", "readme.txt"), "w", encoding="utf-8") as f:
        f.write("a model ✓\n")
    client.log_model_artifacts(lm.model_id, src)
    client.log_metric(producer, "acc", 0.9, timestamp=T0 + 5001, step=3, model_id=lm.model_id)
    # Step 0: MLflow's FileStore reads the step of a run's dataset-linked
    # metric line (5 fields) as 0 whatever it is (mlrun and the SQL store
    # read the step written), which would make the file and SQL views
    # differ for reasons of MLflow's own.
    client.log_metric(producer, "acc_ds", 0.8, timestamp=T0 + 5002, step=0, model_id=lm.model_id,
                      dataset_name="train_data", dataset_digest="a1b2c3d4")
    client.finalize_logged_model(lm.model_id, LoggedModelStatus.READY)
    failed = client.create_logged_model(exp.experiment_id, name="lm-failed", source_run_id=producer)
    client.finalize_logged_model(failed.model_id, LoggedModelStatus.FAILED)
    gone = client.create_logged_model(exp.experiment_id, name="lm-deleted")
    client.delete_logged_model(gone.model_id)
    client.log_outputs(producer, [LoggedModelOutput(lm.model_id, 3)])
    client.set_terminated(producer, "FINISHED", end_time=T0 + 5010)
    client.create_model_version("reg ✓ model", f"models:/{lm.model_id}", run_id=producer, model_id=lm.model_id)


def _sha256_tree(path):
    out = {}
    if os.path.isfile(path):
        return {os.path.basename(path): canon.sha256_file(path)}
    for dirpath, _, files in os.walk(path):
        for fn in files:
            p = os.path.join(dirpath, fn)
            out[os.path.relpath(p, path).replace(os.sep, "/")] = canon.sha256_file(p)
    return out


def dump_models(client):
    import mlflow
    from mlflow.entities import ViewType

    out = {"models": {}, "outputs": {}}
    if int(mlflow.__version__.split(".")[0]) < 3:
        return out
    exps = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in exps]
    token, models = None, []
    while True:
        page = client.search_logged_models(experiment_ids=ids, max_results=2, page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            break
    for m in models:
        with tempfile.TemporaryDirectory() as d:
            local = mlflow.artifacts.download_artifacts(f"models:/{m.model_id}", dst_path=d)
            arts = _sha256_tree(local)
        out["models"][m.model_id] = {
            "experiment_id": m.experiment_id, "name": m.name, "artifact_location": m.artifact_location,
            "model_type": m.model_type, "source_run_id": m.source_run_id, "status": str(m.status),
            "status_message": m.status_message, "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp, "tags": dict(sorted((m.tags or {}).items())),
            "params": dict(sorted((m.params or {}).items())),
            "metrics": sorted([[x.key, canon.float_repr(x.value), x.step, x.timestamp, x.run_id,
                                x.dataset_name or "", x.dataset_digest or ""] for x in (m.metrics or [])]),
            "artifacts": arts,
        }
    for e in exps:
        for r in client.search_runs([e.experiment_id], run_view_type=ViewType.ALL):
            run = client.get_run(r.info.run_id)
            outs = getattr(run, "outputs", None)
            if outs and outs.model_outputs:
                out["outputs"][r.info.run_id] = sorted([[o.model_id, o.step] for o in outs.model_outputs])
    return out


def view(uri, out):
    import mlflow
    from mlflow import MlflowClient

    import dump
    import registry_dump

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with canon.WarningRecorder() as rec:
        rec.attach()
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiments, runs, errors = dump.dump_client(client, 7)
        snapshot = canon.finish(experiments, runs, None, rec.entries, errors)
        snapshot["mlflow_version"] = mlflow.__version__
        models = dump_models(client)
    with tempfile.TemporaryDirectory() as d:
        reg_out = os.path.join(d, "registry.json")
        argv = sys.argv
        sys.argv = ["registry_dump.py", "--uri", uri, "--out", reg_out]
        try:
            registry_dump.main()
        finally:
            sys.argv = argv
        with open(reg_out, encoding="utf-8") as f:
            registry = json.load(f)
    canon.write_json({"snapshot": snapshot, "registry": registry, "models": models}, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["gen", "view"])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--cwd")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.cwd:
        os.chdir(a.cwd)
    if a.mode == "view":
        view(a.tracking_uri, a.out)
        return
    import warnings

    warnings.simplefilter("ignore")
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(a.tracking_uri)
    mlflow.set_registry_uri(a.tracking_uri)
    client = MlflowClient(tracking_uri=a.tracking_uri, registry_uri=a.tracking_uri)
    gen(client, a.full)


if __name__ == "__main__":
    main()
