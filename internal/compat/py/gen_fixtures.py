"""Log a representative store with real MLflow and dump it, as a test fixture.

    MLFLOW_ALLOW_FILE_STORE=true <venv>/bin/python gen_fixtures.py --out DIR

writes DIR/mlruns (an MLflow file store logged by the running MLflow version
through MlflowClient), DIR/expected.json (its canonical dump, made with
dump.py's code, with the store root replaced by <ROOT>) and DIR/root.txt (the
absolute root the store was written at: MLflow records it in every
artifact_location and artifact_uri, so a test that copies the store elsewhere
replaces it in the meta.yaml files) and DIR/empty-dirs.txt (the empty
directories of the store, one per line, which git does not keep). DIR must not exist or be empty. The Go
side reads DIR/mlruns with fsstore and must dump exactly expected.json.
"""

import argparse
import json
import math
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402
import dump  # noqa: E402

T0 = 1_700_000_000_000  # fixed timestamps keep fixtures readable and stable

YAML_LOOKALIKES = ["yes", "1:20", "0x1F", "2024-01-01", "", "null", "~", "012", "1e3", "'q'"]

# Strings a YAML emitter must quote, escape or fold (the same list as
# yamlTricky in internal/compat/readsgo_test.go). PyYAML itself does not round-trip
# every one (U+0085 NEL comes back as a space): the fixture records what
# MLflow really reads.
YAML_TRICKY = [
    "😀 emoji ✓", "tab\there", "key: value", "# not a comment", "- not a list", "[a, b]", "{a: b}",
    "'single' and \"double\"", "trailing space ", " leading space", "line\nbreak", "two\n\nbreaks\n",
    "cr\rlf", "ls\u2028ps\u2029", "nel\u0085", "bom\ufeff", "bell\x07", "@at", "`tick", "!tag", "&anchor",
    "*alias", "|block", ">folded", "%percent", "back\\slash", "?q", "a: b # c", "---", "...",
    "a long name with spaces " * 8 + "end",
    "x" * 120,
]


def generate(client, root):
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag

    def run_in(exp_id, name, offset, tags=None):
        return client.create_run(exp_id, start_time=T0 + offset, tags=tags or {}, run_name=name).info.run_id

    # Experiments: tagged and unicode, renamed, deleted+restored, deleted.
    exp = client.create_experiment(
        "fixture ünïcødé ✓",
        tags={"team": "mlrun", "unicode": "värde 日本 ✓", "nested/key": "v", "yes": "no"},
    )
    client.set_experiment_tag(exp, "mlflow.note.content", "An experiment *description*.")
    renamed = client.create_experiment("fixture-old-name")
    client.rename_experiment(renamed, "2024-01-01")
    restored = client.create_experiment("fixture-restored")
    client.delete_experiment(restored)
    client.restore_experiment(restored)
    deleted = client.create_experiment("fixture-deleted", tags={"gone": "yes"})
    gone = run_in(deleted, "run-in-deleted-exp", 1)
    client.log_param(gone, "p", "1")
    client.log_metric(gone, "m", 1.0, timestamp=T0, step=0)
    client.set_terminated(gone, "FINISHED", end_time=T0 + 10)
    client.delete_experiment(deleted)

    # Runs in every status; names that YAML would read as other types.
    statuses = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
    for i, status in enumerate(statuses):
        rid = run_in(exp, YAML_LOOKALIKES[i] or None, 100 + i, tags={"mlflow.user": YAML_LOOKALIKES[i + 5]})
        client.log_metric(rid, "status_index", float(i), timestamp=T0 + 100 + i, step=0)
        if status == "SCHEDULED":
            client.update_run(rid, status="SCHEDULED")
        elif status != "RUNNING":
            client.set_terminated(rid, status, end_time=T0 + 200 + i)

    # A deleted run, and a deleted-then-restored one.
    d = run_in(exp, "deleted-run", 300)
    client.log_param(d, "p", "x")
    client.set_terminated(d, "FINISHED", end_time=T0 + 301)
    client.delete_run(d)
    r = run_in(exp, "restored-run", 310)
    client.set_terminated(r, "FINISHED", end_time=T0 + 311)
    client.delete_run(r)
    client.restore_run(r)

    # Nested runs.
    parent = run_in(exp, "parent", 400)
    for k in range(2):
        child = run_in(exp, f"child-{k}", 401 + k, tags={"mlflow.parentRunId": parent})
        client.log_metric(child, "loss", 1.0 / (k + 1), timestamp=T0 + 410, step=k)
        client.set_terminated(child, "FINISHED", end_time=T0 + 420 + k)
    client.set_terminated(parent, "FINISHED", end_time=T0 + 430)

    # The rich run: params, tags, metrics, datasets, artifacts.
    rich = run_in(exp, "rich ✓", 500, tags={"mlflow.note.content": "run description"})
    params = {
        "lr": "0.001",
        "ünïcødé_ключ 日本": "värde ünïcødé 日本語 ✓",
        "path/to/key": "slash",
        "key with spaces": "value with spaces",
        "long": ("0123456789abcdefghij" * 300)[:6000],
        "multi": "line one\nline two",
    }
    for i, v in enumerate(YAML_LOOKALIKES):
        params[f"yaml_{i}"] = v
    client.log_batch(rich, params=[Param(k, v) for k, v in params.items()])
    tags = {"tag/with/slash": "v", "tag_ünï": "日本 ✓", "empty": "", "yaml": "~"}
    client.log_batch(rich, tags=[RunTag(k, v) for k, v in tags.items()])
    special = {
        "nan": float("nan"),
        "inf": math.inf,
        "neg_inf": -math.inf,
        "neg_zero": -0.0,
        "tiny": 1e-05,
        "big": 1e16,
        "pi": math.pi,
        "third": 1 / 3,
        "int_like": 3.0,
        "métrique/ünï code": 0.5,
    }
    client.log_batch(rich, metrics=[Metric(k, v, T0 + 500, 0) for k, v in special.items()])
    for step in range(-3, 4):
        client.log_metric(rich, "loss", 1.0 / (step + 10), timestamp=T0 + 600 + step, step=step)
    # Same step and timestamp: the largest value is "latest"; NaN never wins.
    for v in (0.25, float("nan"), 0.75, 0.5):
        client.log_metric(rich, "tie", v, timestamp=T0 + 700, step=1)
    client.log_metric(rich, "late_step", 2.0, timestamp=T0 + 800, step=5)
    client.log_metric(rich, "late_step", 1.0, timestamp=T0 + 900, step=2)

    ds_train = Dataset(
        name="train_data",
        digest="a1b2c3d4",
        source_type="local",
        source=json.dumps({"uri": "/data/train.csv"}),
        schema=json.dumps({"mlflow_colspec": [{"type": "double", "name": "x"}]}),
        profile=json.dumps({"num_rows": 3}),
    )
    ds_eval = Dataset(name="eval", digest="ffff", source_type="code", source="{}")
    client.log_inputs(
        rich,
        [
            DatasetInput(ds_train, [InputTag("mlflow.data.context", "training")]),
            DatasetInput(ds_eval, [InputTag("mlflow.data.context", "eval")]),
        ],
    )

    src = tempfile.mkdtemp(prefix="mlrun-fixture-src-")
    with open(os.path.join(src, "model.txt"), "w") as f:
        f.write("weights\n")
    os.makedirs(os.path.join(src, "tree", "sub"))
    for rel, body in (("tree/a.txt", "a"), ("tree/sub/b.bin", "\x00\x01b"), ("tree/sub/ünï.txt", "✓")):
        with open(os.path.join(src, rel), "w", encoding="utf-8") as f:
            f.write(body)
    client.log_artifact(rich, os.path.join(src, "model.txt"))
    client.log_artifact(rich, os.path.join(src, "model.txt"), "deep/er/dir")
    client.log_artifacts(rich, os.path.join(src, "tree"), "tree")
    client.log_text(rich, "hello ünïcødé ✓\n", "notes/readme.md")
    client.log_dict(rich, {"a": 1, "b": [1, 2], "c": {"d": None}}, "config/params.json")
    client.log_dict(rich, {"a": 1, "b": [1, 2]}, "config/params.yaml")
    client.log_table(rich, {"x": [1, 2], "y": ["a", "b"]}, "tables/table.json")
    import numpy as np

    img = np.zeros((4, 4, 3), dtype=np.uint8)
    img[1:3, 1:3] = [255, 0, 0]
    client.log_image(rich, img, "images/square.png")
    client.set_terminated(rich, "FINISHED", end_time=T0 + 999)
    shutil.rmtree(src)

    # YAML-hostile names: experiments, runs, users, dataset fields, input tags.
    tricky = client.create_experiment("tricky: names # here ")
    for i, name in enumerate(YAML_TRICKY):
        if i < 6:
            client.create_experiment("exp " + name)
        user = "O'Brien: \"dev\" #1 " if i % 3 == 0 else None
        rid = run_in(tricky, name, 2000 + i, tags={"mlflow.user": user} if user else {})
        client.set_tag(rid, "name", name)
        ds = Dataset(
            name=f"ds:{i}'\"#",
            digest=f"d{i}",
            source_type="local",
            source=json.dumps({"uri": name}),
            schema='{"mlflow_colspec": [{"type": "string", "name": "a column name with spaces"}, '
            '{"type": "long", "name": "b"}]}',
            profile='{\n  "num_rows": 3,\n  "note": "✓ profile with spaces that is long enough to be '
            'folded by the emitter"\n}',
        )
        client.log_inputs(
            rid,
            [DatasetInput(ds, [InputTag("mlflow.data.context", name), InputTag("extra", name)])],
        )
        if i % 2 == 0:
            client.set_terminated(rid, "FINISHED", end_time=T0 + 2100 + i)
    client.log_param(rid, "crlf", "a\r\nb")
    client.set_experiment_tag(tricky, "cr", "x\ry")

    # A run of the Default experiment, with a dataset shared with the rich run.
    other = run_in("0", "default-exp-run", 1000)
    client.log_inputs(other, [DatasetInput(ds_train, [InputTag("mlflow.data.context", "training")])])
    client.set_terminated(other, "KILLED", end_time=T0 + 1001)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="fixture directory to create")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"gen_fixtures: {out} exists and is not empty")
    os.makedirs(out, exist_ok=True)
    root = os.path.join(out, "mlruns")

    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri="file://" + root)
    generate(client, root)

    with canon.WarningRecorder() as rec:
        rec.attach()
        reader = MlflowClient(tracking_uri="file://" + root)
        experiments, runs, errors = dump.dump_client(reader)
    if errors:
        sys.exit("gen_fixtures: dumping the fixture failed:\n" + "\n".join(errors))
    data = canon.finish(experiments, runs, root, rec.entries, errors)
    data["mlflow_version"] = mlflow.__version__
    canon.write_json(data, os.path.join(out, "expected.json"))
    with open(os.path.join(out, "root.txt"), "w", encoding="utf-8") as f:
        f.write(root)
    canon.write_empty_dirs(root, os.path.join(out, "empty-dirs.txt"))
    print(f"gen_fixtures: wrote {out} with MLflow {mlflow.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
