"""Write a small model registry with real MLflow, for testdata/registry/.

    MLFLOW_ALLOW_FILE_STORE=true python registry_gen.py --out DIR

Creates DIR/mlruns (file store) with one run holding a model artifact, and a
registry: models with tags and unicode descriptions, versions in every stage
(archived by archive_existing_versions), aliases, a deleted version and a
renamed model. DIR/root.txt records the store root. Then dumps it with
registry_dump.py's logic to DIR/expected.json (root replaced by <ROOT>).
"""

import argparse
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    root = os.path.join(out, "mlruns")
    os.makedirs(out, exist_ok=True)
    uri = "file://" + root

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = c.create_experiment("registry-fixture")
    run = c.create_run(exp, run_name="trainer")
    rid = run.info.run_id
    art = run.info.artifact_uri
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "model"))
        with open(os.path.join(d, "model", "MLmodel"), "w") as f:
            f.write("flavors:\n  gojson:\n    data: weights.json\nrun_id: %s\n" % rid)
        with open(os.path.join(d, "model", "weights.json"), "w") as f:
            f.write("[1, 2, 3]")
        c.log_artifacts(rid, os.path.join(d, "model"), "model")
    c.set_terminated(rid)
    src = art + "/model"

    c.create_registered_model("ridge", tags={"team": "ml", "task": "regression"},
                              description="Ridge regression — ünïcödé ✓")
    for i in range(5):
        c.create_model_version("ridge", src, run_id=rid, tags={"i": str(i)},
                               description=f"version {i + 1}")
    c.transition_model_version_stage("ridge", "1", "Production")
    c.transition_model_version_stage("ridge", "2", "production", archive_existing_versions=True)
    c.transition_model_version_stage("ridge", "3", "Staging")
    c.transition_model_version_stage("ridge", "4", "Archived")
    c.delete_model_version("ridge", "5")
    c.create_model_version("ridge", src, run_id=rid)  # version 6: never reuses 5
    c.set_registered_model_alias("ridge", "champion", "2")
    c.set_registered_model_alias("ridge", "challenger", "3")
    c.set_model_version_tag("ridge", "2", "validated", "yes")
    c.update_model_version("ridge", "3", "candidate: 日本語")

    c.create_registered_model("old-name", description=None)
    c.create_model_version("old-name", src, run_id=rid)
    c.set_registered_model_tag("old-name", "owner", "bob")
    c.rename_registered_model("old-name", "new.name")
    c.set_registered_model_alias("new.name", "prod_1", "1")

    c.create_registered_model("empty model")
    c.update_registered_model("empty model", "no versions yet")
    c.create_registered_model("doomed")
    c.delete_registered_model("doomed")

    with open(os.path.join(out, "root.txt"), "w") as f:
        f.write(root)
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.check_call([sys.executable, os.path.join(here, "registry_dump.py"), "--uri", uri,
                           "--out", os.path.join(out, "expected.json"), "--normalize-root", root])


if __name__ == "__main__":
    main()
