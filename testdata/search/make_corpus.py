#!/usr/bin/env python3
"""Build the search parity corpus for mlrun's store/search package.

Run it with the python of a virtualenv that has MLflow installed:

    /path/to/venv/bin/python testdata/search/make_corpus.py [-o OUT.json]

The default output is testdata/search/corpus-<mlflow version>.json next to
this script. The script

  * creates the same small tracking store twice with real MLflow, once in a
    SQLite database (sqlite:///...) and once as a file store (mlruns), with
    identical run ids, experiment ids and timestamps (MLflow's uuid4 and clock
    are pinned while the script writes, nothing else is patched);
  * writes the runs and experiments as data, for Go to load;
  * runs every case through MlflowClient.search_runs / search_experiments /
    search_registered_models / search_model_versions on both backends and
    records MLflow's answer (ids in order and next page token, or the error);
  * records what MLflow's own parser (mlflow.utils.search_utils) returns for
    filter strings, order_by clauses and page tokens.

Nothing here is random: two runs of the script with the same MLflow give the
same JSON, except for Python-set orderings inside some error messages, which
the Go test normalises.
"""

import argparse
import base64
import hashlib
import json
import math
import os
import sys
import tempfile
import uuid as _uuid_mod

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ.setdefault("MLFLOW_TRACKING_URI", "")
os.environ["GIT_PYTHON_REFRESH"] = "quiet"

import logging  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import mlflow  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../internal/compat/py"))
import pin  # noqa: E402
import sqlparse  # noqa: E402
from mlflow.entities import (  # noqa: E402
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    ViewType,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.tracking import file_store as _file_store  # noqa: E402
from mlflow.store.tracking import sqlalchemy_store as _sql_store  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.utils.search_utils import (  # noqa: E402
    SearchExperimentsUtils,
    SearchModelUtils,
    SearchModelVersionUtils,
    SearchUtils,
)

MLFLOW_VERSION = mlflow.__version__


# --------------------------------------------------------------------------
# Pinning ids and the clock while the stores are written.


CLOCK, UUID, _NEXT_EXP_ID = pin.CLOCK, pin.UUID, pin.NEXT_EXP_ID


def _pin():
    pin.pin(file_store_time=False)


def run_id_for(i):
    return hashlib.md5(f"mlrun-corpus-run-{i}".encode()).hexdigest()


# --------------------------------------------------------------------------
# The data. Every store gets exactly the same calls in the same order.

NAN = float("nan")
INF = float("inf")

RUN_EXPERIMENTS = [
    # name, artifact location, tags
    ("exp-a", "s3://corpus/exp-a", {"team": "ml"}),
    ("exp-b", "s3://corpus/exp-b", {"team": "ops"}),
    ("exp-c", "s3://corpus/exp-c", {}),
]

EXTRA_EXPERIMENTS = [
    # name, creation clock, tags, deleted
    ("Alpha", 1_700_000_100_000, {"team": "ml", "ünï": "Ü"}, False),
    ("alpha", 1_700_000_100_000, {"team": "ML"}, False),
    ("ALPHA_2", 1_700_000_200_000, {"team": "ops", "key with space": "v 1"}, False),
    ("beta.test", 1_700_000_300_000, {"empty": ""}, False),
    ("gamma 100%", 1_700_000_300_000, {"team": "m%l"}, False),
    ("δelta", 1_700_000_400_000, {"ünï": "ü"}, False),
    ("Δelta", 1_700_000_400_000, {}, False),
    ("e_x", 1_700_000_400_000, {"a/b": "x"}, False),
    ("deleted-one", 1_700_000_400_000, {"team": "ml"}, True),
    ("zeta", 1_700_000_400_000, {"team": "zz"}, False),
]

# Each run: experiment index, start, end, status, name, user, metrics,
# params, tags, inputs, deleted, extra ops.
# metrics: key -> list of (value, timestamp, step) in logging order.
RUNS = [
    dict(exp=0, start=1000, end=2000, status="FINISHED", name="alpha-run", user="alice",
         metrics={"acc": [(0.9, 1, 0)], "loss": [(0.5, 1, 0)], "x": [(NAN, 1, 0)],
                  "m with space": [(1.0, 1, 0)], "a/b": [(2.0, 1, 0)], "ünï": [(3.0, 1, 0)]},
         params={"lr": "0.01", "model": "LR", "p with space": "v1", "p/slash": "s1", "ünï": "Ünicode"},
         tags={"team": "ml", "ünï tag": "é", "t/s": "x/y", "tag with space": "a b"},
         inputs=[("ds-train", "d1", "train"), ("ds-eval", "d2", "eval")]),
    dict(exp=0, start=1000, end=3000, status="FAILED", name="beta-run", user="bob",
         metrics={"acc": [(0.8, 1, 0)], "loss": [(0.7, 1, 0)], "x": [(INF, 1, 0)], "neg": [(-5.5, 1, 0)]},
         params={"lr": "0.1", "model": "lr", "ünï": "ünicode"},
         tags={"team": "ML", "ünï tag": "É"},
         inputs=[("ds-train", "d1", "Train")]),
    dict(exp=0, start=2000, end=None, status="RUNNING", name="gamma-run", user="alice",
         metrics={"acc": [(0.95, 1, 0)], "x": [(-INF, 1, 0)], "hist": [(5.0, 1, 0), (2.0, 0, 1)]},
         params={"lr": "1e-3", "model": "Lr", "p with space": "v2"},
         tags={"team": "ops"},
         inputs=[("ds-eval", "d2", None)]),
    dict(exp=0, start=3000, end=4000, status="KILLED", name="delta run", user="carol",
         metrics={"acc": [(0.5, 1, 0)], "x": [(-1000.0, 1, 0)], "zero": [(0.0, 1, 0)]},
         params={"model": "RF", "lr": "0.5"},
         tags={"team": "ml", "note": "it's"},
         inputs=[]),
    dict(exp=0, start=3000, end=3500, status="FINISHED", name="delta run", user="dave",
         metrics={"x": [(0.0, 1, 0)], "loss": [(0.1, 1, 0)], "big": [(1.7976931348623157e308, 1, 0)]},
         params={"model": "a.c", "lr": "0.01"},
         tags={"note": 'say "hi"', "empty": ""},
         inputs=[("ds-other", "d3", "test")]),
    dict(exp=0, start=4000, end=5000, status="FINISHED", name="Run_1", user="alice",
         metrics={"x": [(1000.0, 1, 0)], "acc": [(0.9, 1, 0)], "big": [(INF, 1, 0)]},
         params={"model": "abc", "lr": "0.01"},
         tags={"team": "m%l", "note": "100%"},
         inputs=[]),
    dict(exp=0, start=4000, end=4500, status="FAILED", name="run%2", user="bob",
         metrics={"acc": [(0.7, 1, 0)], "x": [(5.0, 1, 0)]},
         params={"model": "a%c", "note": "line1\nline2"},
         tags={"team": "m_l"},
         inputs=[]),
    dict(exp=0, start=5000, end=None, status="SCHEDULED", name="ünïcode run", user="élodie",
         metrics={"acc": [(0.6, 1, 0)], "ünï": [(-1.0, 1, 0)]},
         params={"model": "a_c", "ünï": "ÜNICODE"},
         tags={"ünï tag": "ü", "team": "ML "},
         inputs=[("ds-train", "d1", "train")]),
    dict(exp=0, start=6000, end=7000, status="FINISHED", name="deleted-a", user="alice",
         metrics={"acc": [(0.99, 1, 0)], "x": [(7.0, 1, 0)]},
         params={"model": "LR", "lr": "0.01"},
         tags={"team": "ml"},
         inputs=[("ds-train", "d1", "train")], deleted=True),
    dict(exp=0, start=6500, end=None, status="RUNNING", name="deleted-b", user="bob",
         metrics={"acc": [(0.1, 1, 0)]},
         params={"model": "RF"},
         tags={"team": "ops"},
         inputs=[], deleted=True),
    dict(exp=0, start=7000, end=8000, status="FINISHED", name="no-name-tag", user="alice",
         metrics={"acc": [(0.85, 1, 0)]},
         params={"model": "LR"},
         tags={"team": "ml"},
         inputs=[], delete_run_name_tag=True),
    dict(exp=1, start=1500, end=2500, status="FINISHED", name="alpha-run", user="alice",
         metrics={"acc": [(0.91, 1, 0)], "loss": [(0.45, 1, 0)], "x": [(2.5, 1, 0)]},
         params={"lr": "0.02", "model": "LR", "p/slash": "s2"},
         tags={"team": "ml", "t/s": "x"},
         inputs=[("ds-train", "d1", "train")]),
    dict(exp=1, start=1500, end=None, status="RUNNING", name="b-run", user="bob",
         metrics={"acc": [(0.91, 1, 0)], "x": [(NAN, 1, 0)]},
         params={"lr": "0.02", "model": "SVM"},
         tags={"team": "ops", "ünï tag": "e"},
         inputs=[]),
    dict(exp=1, start=2500, end=2600, status="FAILED", name="c-run", user="carol",
         metrics={"loss": [(1.5, 1, 0)], "neg": [(-0.0, 1, 0)]},
         params={"model": "svm", "p with space": "V1"},
         tags={},
         inputs=[("ds-eval", "d2", "eval")]),
    dict(exp=1, start=9000, end=9100, status="KILLED", name="deleted-c", user="carol",
         metrics={"acc": [(0.3, 1, 0)]},
         params={"model": "LR"},
         tags={"team": "ml"},
         inputs=[], deleted=True),
    dict(exp=2, start=100, end=200, status="FINISHED", name="other-exp", user="zed",
         metrics={"acc": [(0.2, 1, 0)], "x": [(3.0, 1, 0)]},
         params={"model": "LR", "lr": "0.01"},
         tags={"team": "ml"},
         inputs=[("ds-train", "d1", "train")]),
    dict(exp=0, start=8000, end=9000, status="FINISHED", name="multi-step", user="alice",
         metrics={"acc": [(0.1, 5, 0), (0.2, 3, 1), (0.15, 10, 1)], "loss": [(9.0, 1, 2), (1.0, 1, 1)]},
         params={"model": "GBM", "lr": "0.001"},
         tags={"team": "ml", "mlflow.note.content": "multi"},
         inputs=[]),
    dict(exp=0, start=8000, end=None, status="RUNNING", name="UPPER", user="ALICE",
         metrics={"x": [(-0.5, 1, 0)], "acc": [(1e-10, 1, 0)]},
         params={"model": "lR", "lr": "1"},
         tags={"team": "Ml"},
         inputs=[]),
]


def build_store(uri, sql):
    """Writes the corpus store at uri with MLflow. Returns (client, ids)."""
    CLOCK.now = 1_700_000_000_000
    _NEXT_EXP_ID[0] = 1
    client = MlflowClient(tracking_uri=uri)
    # Creating the client does not create the store; touch it now so that
    # the Default experiment gets the pinned clock.
    client.search_experiments()
    exp_ids = []
    for i, (name, loc, tags) in enumerate(RUN_EXPERIMENTS):
        CLOCK.now = 1_700_000_010_000 + i
        exp_ids.append(client.create_experiment(name, artifact_location=loc, tags=tags))
    for name, clock, tags, deleted in EXTRA_EXPERIMENTS:
        CLOCK.now = clock
        eid = client.create_experiment(name, artifact_location=f"s3://corpus/{len(exp_ids)}", tags=tags)
        exp_ids.append(eid)
        if deleted:
            CLOCK.now = clock + 50_000
            client.delete_experiment(eid)
    run_ids = []
    for i, spec in enumerate(RUNS):
        rid = run_id_for(i)
        tags = dict(spec["tags"])
        tags["mlflow.user"] = spec["user"]
        CLOCK.now = 1_700_001_000_000 + i
        UUID.forced = _uuid_mod.UUID(hex=rid)
        run = client.create_run(
            exp_ids[spec["exp"]], start_time=spec["start"], tags=tags, run_name=spec["name"]
        )
        UUID.forced = None
        assert run.info.run_id == rid, (run.info.run_id, rid)
        run_ids.append(rid)
        metrics = []
        for key, hist in spec["metrics"].items():
            for value, ts, step in hist:
                metrics.append(Metric(key, value, ts, step))
        # one metric per request keeps the logging order explicit
        for m in metrics:
            client.log_batch(rid, metrics=[m])
        for k, v in spec["params"].items():
            client.log_param(rid, k, v)
        if spec["inputs"]:
            dis = []
            for name, digest, ctx in spec["inputs"]:
                ds = Dataset(name=name, digest=digest, source_type="local",
                             source=json.dumps({"uri": f"/data/{name}"}))
                itags = [InputTag(key="mlflow.data.context", value=ctx)] if ctx else []
                dis.append(DatasetInput(dataset=ds, tags=itags))
            client.log_inputs(rid, datasets=dis)
        if spec.get("delete_run_name_tag"):
            client.delete_tag(rid, "mlflow.runName")
        if spec["status"] == "SCHEDULED":
            client.update_run(rid, status="SCHEDULED")
        elif spec["status"] != "RUNNING":
            client.set_terminated(rid, status=spec["status"], end_time=spec["end"])
        if spec.get("deleted"):
            client.delete_run(rid)
    return client, exp_ids, run_ids


def build_registry(client):
    """A few registered models and versions (SQL backend only)."""
    CLOCK.now = 1_700_002_000_000
    models = [("model-a", {"stage": "prod"}), ("Model-B", {"stage": "dev", "ünï": "x"}),
              ("model_c", {})]
    for i, (name, tags) in enumerate(models):
        CLOCK.now = 1_700_002_000_000 + i * 1000
        client.create_registered_model(name, tags=tags)
    versions = [("model-a", run_id_for(0), "s3://corpus/a/1", {"v": "1"}),
                ("model-a", run_id_for(1), "s3://corpus/a/2", {"v": "2"}),
                ("model-a", run_id_for(2), "s3://corpus/a/3", {}),
                ("Model-B", run_id_for(0), "s3://corpus/b/1", {"v": "1"}),
                ("model_c", run_id_for(11), "s3://corpus/c/1", {})]
    for i, (name, rid, src, tags) in enumerate(versions):
        CLOCK.now = 1_700_003_000_000 + i * 1000
        client.create_model_version(name, src, run_id=rid, tags=tags)


# --------------------------------------------------------------------------
# Encoding answers.


def fnum(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(float(v))


def enc_error(e):
    if isinstance(e, MlflowException):
        return {"class": "MlflowException", "code": e.error_code, "message": e.message}
    return {"class": type(e).__name__, "message": str(e)}


def enc_token(tok):
    if tok is None:
        return ""
    if isinstance(tok, bytes):
        return tok.decode()
    return tok


def run_to_json(run):
    info = run.info
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
        "metrics": sorted(
            [{"key": m.key, "value": fnum(m.value), "timestamp": m.timestamp, "step": m.step}
             for m in run.data._metric_objs], key=lambda m: m["key"]),
        "params": dict(sorted(run.data.params.items())),
        "tags": dict(sorted(run.data.tags.items())),
        "inputs": [
            {"name": di.dataset.name, "digest": di.dataset.digest,
             "source_type": di.dataset.source_type, "source": di.dataset.source,
             "tags": {t.key: t.value for t in di.tags}}
            for di in run.inputs.dataset_inputs
        ],
    }


TMP = []  # the temporary directory, hidden from the corpus


def exp_to_json(e):
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location.replace(TMP[0], "<tmp>") if TMP else e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": dict(sorted(e.tags.items())),
    }


def enc_value(v):
    if v is None:
        return {"t": "none"}
    if isinstance(v, bool):
        return {"t": "bool", "v": v}
    if isinstance(v, int):
        return {"t": "int", "v": str(v)}
    if isinstance(v, float):
        return {"t": "float", "v": fnum(v)}
    if isinstance(v, str):
        return {"t": "str", "v": v}
    if isinstance(v, (list, tuple, set)):
        return {"t": type(v).__name__, "v": [enc_value(x) for x in v]}
    return {"t": type(v).__name__, "v": repr(v)}


def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as e:  # noqa: BLE001
        return {"error": enc_error(e)}


# --------------------------------------------------------------------------
# Cases.

VIEW = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def run_filter_cases():
    """Filter strings for search_runs. Each is (filter, extra) pairs."""
    f = []
    add = f.append
    # Reference cases (mlflow-rest-search.md §2.7), adapted to the corpus keys.
    for s in [
        "metrics.acc >= 0.9", "metric.acc>=0.9", 'params."model"!="LR"',
        "metrics.`m with space` > 0", 'metrics."m with space" > 0', "params.a.b = 'c'",
        "run.status = 'RUNNING'", "status = 'RUNNING'", "params.note = \"L'Hosp\"",
        "params.note = 'it''s'", "tags.note = 'it''s'", "tags.note = \"it's\"",
        "metrics.acc < 1 and params.model = 'LR'", "metric.acc >= 0.94; metrics.loss < 1",
        "metrics.acc > 0.1 OR params.model = 'LR'", "metrics.acc > 0.1 AND (params.model = 'LR')",
        "m.acc >= 0.94", "METRICS.acc > 1", "acc >= 0.94", "attribute.experiment_id != 1",
        "metric.model = 'LR'", "params.acc = 5", "tags.acc = 5", "params.acc = LR",
        "params.acc = `LR`", "params.acc = 'LR", "attribute.status IS 'RUNNING'", "foo is null",
        "attribute.status = true", "1=1", "attribute.start_time = '1234'", "metrics.X-Y-Z = 3",
        'metrics."X-Y-Z" = 3', "attributes.status IN ('RUNNING')",
        "run_id IN ('ABC','abc','123','a1')", "attributes.status = 'FAILED'",
        "metrics.acc != 0.9", "metrics.acc >= 0.9", "tags.team != 'ml'",
        "params.model = 'LR' AND attributes.status = 'FINISHED'", "params.model LIKE 'l%'",
        "params.model ILIKE 'l%'", "params.model LIKE '%'", "datasets.name IN ('ds-train','ds-eval')",
        "datasets.name = 'ds-train' AND datasets.digest = 'd2'", "datasets.context = 'train'",
        "datasets.name IN ('DS-train')", "params.model > 'A'", "attributes.start_time LIKE 0",
        "params.model NOT LIKE 'L%'", "metrics.missing < 1", "params.missing != 'x'",
        "tags.note LIKE '%it%'", "tags.note LIKE 'it%'", "tags.note LIKE '%IT%'",
        "tags.note ILIKE '%IT%'", "tags.team = 'ML'", "attributes.run_name = 'alpha-run'",
        "attributes.`Run name` = 'alpha-run'", "tags.`mlflow.runName` = 'alpha-run'",
        "attributes.created > 3000", "attributes.Created > 3000",
    ]:
        add(s)
    # Every prefix and alias.
    for p in ["metric", "metrics", "`metrics`", "`metric`", "Metrics", "METRIC", "met", ""]:
        add(f"{p}.acc > 0.5" if p else "acc > 0.5")
    for p in ["param", "params", "parameter", "parameters", "`params`", "PARAMS", "p"]:
        add(f"{p}.model = 'LR'")
    for p in ["tag", "tags", "`tags`", "Tags", "t"]:
        add(f"{p}.team = 'ml'")
    for p in ["attribute", "attributes", "attr", "run", "`attribute`", "Attributes", "runs", ""]:
        add(f"{p}.status = 'FINISHED'" if p else "status = 'FINISHED'")
    for p in ["dataset", "datasets", "`datasets`", "Datasets"]:
        add(f"{p}.name = 'ds-train'")
    for k in ["name", "digest", "context", "source", "source_type", "Name"]:
        add(f"datasets.{k} = 'ds-train'")
    # Attribute keys.
    for k in ["run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time",
              "created", "Created", "`run name`", "`Run name`", "`Run Name`", "`RUN NAME`",
              "experiment_id", "lifecycle_stage", "name", "_status", "run_uuid", "deleted_time",
              "timestamp", "end"]:
        add(f"attributes.{k} = 'x'")
        add(f"attributes.{k} > 1000")
    add(f"attributes.run_id = '{run_id_for(0)}'")
    add(f"run_id = '{run_id_for(0).upper()}'")
    add(f"attributes.run_id != '{run_id_for(0)}'")
    add(f"attributes.run_id LIKE '{run_id_for(0)[:5]}%'")
    add(f"attributes.run_id ILIKE '{run_id_for(0)[:5].upper()}%'")
    add(f"run_id IN ('{run_id_for(0)}', '{run_id_for(3)}', '{run_id_for(8)}')")
    add(f"run_id NOT IN ('{run_id_for(0)}', '{run_id_for(3)}')")
    add(f"run_id IN ('{run_id_for(0).upper()}', '{run_id_for(3)}')")
    add(f"run_id IN (\"{run_id_for(0)}\", \"{run_id_for(1)}\")")
    add(f"run_id in ('{run_id_for(0)}')")
    add(f"run_id not in ('{run_id_for(0)}')")
    add(f"run_id IN ('{run_id_for(0)}',)")
    add(f"run_id IN ('{run_id_for(0)}')")
    add(f"run_id IN ('{run_id_for(0)}' '{run_id_for(1)}')")
    add("run_id IN ()")
    add("run_id IN (1, 2)")
    add("run_id IN ('a', 1)")
    add("run_id IN (,)")
    add("run_id IN ('a'")
    add("run_id IN 'a'")
    add("run_id = ('a')")
    add("run_id IN (('a', 'b'))")
    add("run_id IN (['a'])")
    add("run_id IN ('a' + 'b')")
    add(f"run_id NOT IN ('{run_id_for(0)}') AND status = 'FINISHED'")
    add("status IN ('FINISHED')")
    add("user_id NOT IN ('alice')")
    add("datasets.name IN ('ds-train')")
    add("datasets.name NOT IN ('ds-train')")
    add("datasets.digest IN ('d1', 'd3')")
    add("datasets.context IN ('train', 'eval')")
    add("datasets.context NOT IN ('train')")
    add("datasets.context != 'train'")
    add("datasets.name != 'ds-train'")
    add("datasets.name LIKE 'ds-%'")
    add("datasets.name ILIKE 'DS-T%'")
    add("datasets.context ILIKE 'TRAIN'")
    add("datasets.context LIKE 'T%'")
    add("datasets.name = 'ds-train' AND datasets.context = 'eval'")
    add("datasets.name > 'a'")
    add("datasets.name = 5")
    add("datasets.name IS NULL")
    # Comparators per entity type.
    comps = ["=", "!=", "<", "<=", ">", ">=", "==", "<>", "LIKE", "ILIKE", "like", "ilike", "Like",
             "NOT LIKE", "not like", "NOT ILIKE", "RLIKE", "REGEXP", "IN", "NOT IN", "in", "not in"]
    for c in comps:
        add(f"metrics.acc {c} 0.9")
        add(f"params.model {c} 'LR'")
        add(f"tags.team {c} 'ml'")
        add(f"attributes.status {c} 'FINISHED'")
        add(f"attributes.start_time {c} 3000")
        add(f"attributes.end_time {c} 3000")
        add(f"datasets.name {c} 'ds-train'")
    for c in ["IS NULL", "IS NOT NULL", "is null", "is not null", "IS  NULL", "IS NOT  NULL", "IS"]:
        for e in ["params.lr", "params.`p with space`", "tags.note", "tags.`ünï tag`",
                  "metrics.acc", "attributes.status", "status", "datasets.name", "params.missing",
                  "attributes.end_time"]:
            add(f"{e} {c}")
    add("params.lr IS NULL AND tags.team = 'ml'")
    add("tags.note IS NOT NULL AND metrics.acc > 0")
    add("params.lr IS NULL AND params.lr IS NOT NULL")
    add("params.lr = NULL")
    add("metrics.acc = NULL")
    add("params.lr IS 'x'")
    add("params.lr IS NOT 'x'")
    add("NULL IS NULL")
    add("params.lr NOT NULL")
    # Metric values and numeric literal forms.
    for v in ["0", "-0", "1", "-1", "0.5", ".5", "-.5", "1.", "1e3", "1E3", "1e-3", "1.5e2", "-1.5E-2",
              "1e308", "1.7976931348623157e308", "-1.7976931348623157e308", "1e309", "-1e309",
              "0x10", "+1", "- 1", "'1'", "\"1\"", "1e", "e5", "1.2.3", "1_000", "0.0", "00.5",
              "1000", "-1000", "5.0", "2.5", "3", "nan", "NaN", "inf", "Infinity", "true", "NULL"]:
        add(f"metrics.x = {v}")
        add(f"metrics.x > {v}")
        add(f"metrics.x < {v}")
        add(f"metrics.x != {v}")
    for v in ["0", "-5.5", "0.0", "-0.0"]:
        add(f"metrics.neg = {v}")
        add(f"metrics.neg >= {v}")
    for v in ["1e308", "1.7976931348623157e308", "1e309"]:
        add(f"metrics.big >= {v}")
        add(f"metrics.big = {v}")
        add(f"metrics.big < {v}")
    add("metrics.x >= -1e309")
    add("metrics.x <= 1e309")
    add("metrics.x >= 0 AND metrics.x <= 0")
    add("metrics.hist = 2")
    add("metrics.hist = 5")
    add("metrics.acc = 0.15")
    add("metrics.acc = 0.2")
    add("metrics.loss = 1")
    add("metrics.loss = 9")
    add("metrics.acc = 1e-10")
    add("metrics.acc = 0.0000000001")
    # Numeric attributes.
    for v in ["1000", "1000.0", "1e3", "999.5", "-1", "'1000'", "0x3E8", "3000", "1.5e3"]:
        add(f"attributes.start_time = {v}")
        add(f"attributes.start_time > {v}")
        add(f"attributes.end_time <= {v}")
    add("attributes.start_time >= 1000 AND attributes.start_time <= 4000")
    add("attributes.end_time != 2000")
    add("attributes.end_time > 0")
    # Param/tag value forms.
    for v in ["'LR'", '"LR"', "'lr'", "''", '""', "'L''R'", "'a.c'", "'a%c'", "'a_c'", "'abc'",
              "'%'", "'_'", "'__'", "'%%'", "'a%'", "'%c'", "'a\\%c'", "'a\\_c'", "'[a]bc'",
              "'a.*'", "'a|b'", "'(a)'", "'^a'", "'Ü%'", "'ü%'", "'ÜNICODE'", "'%NICODE'",
              "'ünicode'"]:
        add(f"params.model = {v}")
        add(f"params.model LIKE {v}")
        add(f"params.model ILIKE {v}")
    for v in ["'Ünicode'", "'ünicode'", "'ÜNICODE'", "'%nicode'", "'Ü%'", "'ü%'", "'_nicode'",
              "'_NICODE'"]:
        add(f"params.ünï = {v}")
        add(f"params.`ünï` LIKE {v}")
        add(f"params.`ünï` ILIKE {v}")
    for v in ["'é'", "'É'", "'e'", "'E'", "'_'", "'%'", "'ü'"]:
        add(f"tags.`ünï tag` = {v}")
        add(f"tags.`ünï tag` LIKE {v}")
        add(f"tags.`ünï tag` ILIKE {v}")
    for v in ["'line1%'", "'%line2'", "'line1_line2'", "'line1%line2'", "'%'", "'line1'"]:
        add(f"params.note LIKE {v}")
        add(f"params.note ILIKE {v}")
    add("params.note = 'line1\nline2'")
    add("tags.note LIKE '100%'")
    add("tags.note LIKE '100\\%'")
    add("tags.note = '100%'")
    add("tags.note LIKE '%\"hi\"'")
    add("tags.note = 'say \"hi\"'")
    add("tags.team LIKE 'm_l'")
    add("tags.team LIKE 'm\\_l'")
    add("tags.team LIKE 'm%l'")
    add("tags.team ILIKE 'ml'")
    add("tags.team ILIKE 'ml '")
    add("tags.team = 'ML '")
    add("tags.team LIKE 'ML_'")
    add("tags.empty = ''")
    add("tags.empty LIKE ''")
    add("tags.empty LIKE '%'")
    add("tags.empty != 'x'")
    add("tags.`mlflow.user` = 'alice'")
    add("tags.mlflow.user = 'alice'")
    add("tags.\"mlflow.user\" = 'alice'")
    add("tags.'mlflow.user' = 'alice'")
    add("tags.`mlflow.note.content` LIKE 'multi'")
    add("params.lr = '0.01'")
    add("params.lr = 0.01")
    add("params.lr > '0.01'")
    add("params.lr LIKE '0.0%'")
    add("params.lr != '0.01'")
    # Keys with spaces, slashes, unicode, quoting forms.
    for key in ["`p with space`", '"p with space"', "'p with space'", "p with space",
                "`p/slash`", '"p/slash"', "p/slash", "'p/slash'", "ünï", "`ünï`", '"ünï"',
                "`ÜNÏ`", "`p with space`.x", "`a`b`", "``", '""', "p with", "`p with space`"]:
        add(f"params.{key} = 'v1'")
        add(f"params.{key} LIKE 's%'")
    for key in ["`m with space`", '"m with space"', "`a/b`", "a/b", '"a/b"', "ünï", "`ünï`",
                "m with space", "`M WITH SPACE`"]:
        add(f"metrics.{key} > 0")
        add(f"metrics.{key} < 0")
    for key in ["`tag with space`", '"tag with space"', "`t/s`", "t/s", "`ünï tag`", '"ünï tag"',
                "ünï tag"]:
        add(f"tags.{key} = 'x/y'")
        add(f"tags.{key} != 'x'")
    # Whitespace and case forms.
    for s in ["metrics.acc>0.9", "metrics.acc >0.9", "metrics.acc> 0.9", "  metrics.acc > 0.9  ",
              "metrics.acc\t>\t0.9", "metrics.acc\n>\n0.9", "metrics . acc > 0.9",
              "metrics. acc > 0.9", "metrics .acc > 0.9", "metrics.acc > 0.9 and params.model = 'LR'",
              "metrics.acc > 0.9 AND params.model = 'LR'", "metrics.acc > 0.9 And params.model = 'LR'",
              "metrics.acc > 0.9 AND", "AND metrics.acc > 0.9", "metrics.acc > 0.9 AND AND params.model = 'LR'",
              "metrics.acc > 0.9 ANDparams.model = 'LR'", "metrics.acc > 0.9 AND\nparams.model = 'LR'",
              "metrics.acc > 0.9 && params.model = 'LR'", "metrics.acc > 0.9 AND NOT params.model = 'LR'",
              "NOT metrics.acc > 0.9", "(metrics.acc > 0.9)", "metrics.acc > 0.9 -- comment",
              "metrics.acc > 0.9 /* c */", "/* c */ metrics.acc > 0.9", "metrics.acc > 0.9;",
              "metrics.acc > 0.9 ;", ";", "  ", "\t", "\n", "AND", "and", "metrics.acc", "metrics.acc >",
              "> 0.9", "metrics.acc 0.9", "metrics.acc = = 0.9", "metrics.acc >= 0.9 >= 0.1",
              "0.9 < metrics.acc", "'LR' = params.model", "params.model = 'LR' = 'x'",
              "metrics.acc BETWEEN 0 AND 1", "params.model = 'LR' OR", "OR", "x", "metrics.",
              ".acc > 1", "metrics..acc > 1", "metrics.acc.x > 1", "params.model = 'LR' AND tags.team = 'ml' AND metrics.acc > 0.5 AND attributes.status = 'FINISHED'",
              "params.model='LR'AND tags.team='ml'", "params.model = 'LR'AND tags.team = 'ml'",
              "params.model = 'LR' AND(tags.team = 'ml')", "metrics.acc > 0.9 AND metrics.acc > 0.9",
              "params.model = \"LR\" AND params.model = 'LR'", "metrics.acc > 1 + 1",
              "metrics.acc > -0.5", "metrics.acc>-0.5", "metrics.acc=-0.5", "metrics.acc > 0.9 UNION",
              "SELECT * FROM runs", "metrics.acc > 0.9 WHERE", "WHERE metrics.acc > 0.9",
              "metrics.acc > :v", "metrics.acc > ?", "metrics.acc > $1", "metrics.acc > @x",
              "metrics.[acc] > 0.9", "[metrics].acc > 0.9", "metrics.acc::int > 1", "metrics.acc > 1::int",
              "metrics.acc AS a > 1", "metrics.acc a > 1", "params.model = 'LR' AS x",
              "params.model = CASE WHEN 1 THEN 2 END", "params.model = 'LR' ORDER BY x",
              "params.model = E'LR'", "params.model = N'LR'", "params.model = DATE '2020-01-01'",
              "params.model = $$LR$$", "params.model = 'L\\'R'", "params.model = \"L\\\"R\"",
              "params.model = 'LR' 'x'", "params.model = `LR`", "params.model = LR", "params.model = 'LR')",
              "params.model = ('LR')", "params.model IN ('LR')", "tags.team IN ('ml')",
              "metrics.acc IN (0.9)", "params.model = 'LR' AND status IN ('FINISHED')",
              "params.`model` = 'LR'", "`params`.`model` = 'LR'", "`params.model` = 'LR'",
              "\"params\".model = 'LR'", "\"params.model\" = 'LR'", "params.\"model\" = 'LR'",
              "params.model = 'LR' -- trailing", "params.model = 'LR' # trailing",
              "params.model = 'LR' #x", "metrics.acc > 0.9 AND /* x */ params.model = 'LR'",
              "metrics.ACC > 0", "metrics.Acc > 0", "PARAMS.model = 'LR'", "Params.model = 'LR'",
              "attributes.STATUS = 'FINISHED'", "attributes.status = 'finished'",
              "attributes.status LIKE 'FIN%'", "attributes.status ILIKE 'fin%'",
              "attributes.status != 'RUNNING'", "attributes.user_id = 'alice'",
              "attributes.user_id LIKE 'a%'", "attributes.user_id ILIKE 'A%'",
              "attributes.user_id ILIKE 'ÉL%'", "attributes.user_id ILIKE 'él%'",
              "attributes.artifact_uri LIKE 's3://corpus/exp-a/%'", "attributes.artifact_uri = 'x'",
              "attributes.run_name LIKE '%run%'", "attributes.run_name ILIKE '%RUN%'",
              "attributes.run_name = 'delta run'", "attributes.run_name != 'delta run'",
              "attributes.run_name = 'no-name-tag'", "attributes.run_name LIKE 'no-%'",
              "attributes.run_name LIKE 'run\\%2'", "attributes.run_name LIKE 'run%2'",
              "attributes.run_name LIKE 'Run_1'", "attributes.run_name LIKE 'run_1'",
              "attributes.run_name ILIKE 'run_1'", "attributes.run_name = 'ünïcode run'",
              "attributes.run_name ILIKE 'ÜNÏCODE RUN'", "attributes.run_name ILIKE 'ünÏcode run'",
              "attributes.run_name IN ('alpha-run')", "run_name = 'UPPER'", "run_name ILIKE 'upper'",
              "tags.`mlflow.runName` = 'no-name-tag'", "tags.`mlflow.runName` IS NULL",
              "attributes.`run name` LIKE 'alpha%'", "attributes.created >= 8000",
              "attributes.created < 1000", "attributes.start_time = 1000",
              "status = 'SCHEDULED'", "status = 'KILLED'", "status != 'FINISHED'",
              "status LIKE '%ED'", "status ILIKE '%ed'", "status = 'Finished'",
              ]:
        add(s)
    # Combined.
    add("metrics.acc > 0.5 AND params.model = 'LR' AND tags.team = 'ml'")
    add("metrics.acc > 0.5 AND datasets.context = 'train'")
    add("params.model ILIKE 'lr' AND attributes.status != 'FAILED'")
    add("metrics.x != 0 AND metrics.x > -2000")
    add("metrics.x > 0 AND metrics.x < 1e309")
    add("tags.team LIKE 'm%' AND params.lr LIKE '0.0%'")
    return f


def run_cases():
    cases = []
    ids_all = None  # filled later

    def add(filter_string, order_by=None, view="active", exps="abc", max_results=1000,
            page_token=None, name=None):
        cases.append(dict(filter=filter_string, order_by=order_by or [], view=view, exps=exps,
                          max_results=max_results, page_token=page_token))

    for s in run_filter_cases():
        add(s)
    # View types.
    for s in ["", "metrics.acc > 0.5", "params.model = 'LR'", "tags.team = 'ml'", "status = 'KILLED'",
              "metrics.x > 0", "datasets.context = 'train'", "tags.team IS NOT NULL",
              "attributes.run_name LIKE 'deleted%'"]:
        for v in ["active", "deleted", "all"]:
            add(s, view=v)
    # Experiment scoping.
    for e in ["a", "b", "c", "ab", "bc", "", "abc"]:
        add("", exps=e)
        add("metrics.acc > 0.5", exps=e, order_by=["metrics.acc DESC"])
    # Order by.
    orders = [
        [], ["metrics.acc"], ["metrics.acc ASC"], ["metrics.acc DESC"], ["metrics.acc desc"],
        ["metrics.acc Desc"], ["metric.acc DESC"], ["metrics.x"], ["metrics.x ASC"], ["metrics.x DESC"],
        ["metrics.loss DESC"], ["metrics.big DESC"], ["metrics.big"], ["metrics.neg"], ["metrics.`m with space`"],
        ['metrics."m with space" DESC'], ["metrics.`a/b` DESC"], ["metrics.ünï"], ["metrics.`ünï` DESC"],
        ["params.model"], ["params.model DESC"], ["param.lr"], ["parameters.lr DESC"],
        ["params.`p with space`"], ['params."p with space" DESC'], ["params.ünï"], ["params.ünï DESC"],
        ["tags.team"], ["tags.team DESC"], ["tag.note"], ["tags.`ünï tag` DESC"], ["tags.`mlflow.runName`"],
        ["attributes.start_time"], ["attributes.start_time DESC"], ["start_time"], ["start_time ASC"],
        ["attribute.end_time"], ["attribute.end_time DESC"], ["end_time"], ["attr.status"],
        ["run.status DESC"], ["status"], ["attributes.run_name"], ["attributes.run_name DESC"],
        ["run_name"], ["attributes.user_id"], ["user_id DESC"], ["attributes.run_id"], ["run_id DESC"],
        ["attributes.artifact_uri DESC"], ["attributes.created"], ["created DESC"], ["Created"],
        ["attributes.`Created` DESC"], ["attributes.`run name`"], ["attributes.experiment_id"],
        ["attributes.lifecycle_stage"], ["attributes.timestamp"], ["timestamp"], ["timestamp DESC"],
        ["datasets.name"], ["dataset.digest DESC"], ["datasets.foo"], ["metrics.acc", "params.model"],
        ["params.model", "metrics.acc DESC"], ["params.model DESC", "attributes.start_time"],
        ["tags.team", "metrics.x DESC", "start_time"], ["status", "run_name DESC"],
        ["metrics.acc DESC", "metrics.loss"], ["metrics.acc", "metrics.acc DESC"],
        ["metrics.acc", "metric.acc"], ["start_time", "created"], ["params.model", "param.model"],
        ["run_name", "attributes.`run name`"], ["tags.team", "tags.`team`"], ["metrics.acc", "params.acc"],
        ["params.my_param "], ["attribute.run_id ACS"], ["metrics.A != 1"], ["`metrics.A`"],
        ["metrics.acc DESC NULLS LAST"], ["metrics.acc NULLS FIRST"], ["metrics.acc, params.model"],
        ["metrics.acc DESC ASC"], ["metrics.acc  DESC"], [" metrics.acc"], ["metrics.acc\tDESC"],
        ["metrics.acc\nDESC"], [""], [" "], ["DESC"], ["metrics"], ["metrics."], ["METRICS.acc"],
        ["m.acc"], ["acc"], ["metrics.`acc`"], ['metrics."acc"'], ["metrics.'acc'"], ["`metrics`.acc"],
        ["metrics.acc;"], ["metrics.acc -- c"], ["metrics.missing"], ["metrics.missing DESC"],
        ["params.missing"], ["tags.missing DESC", "metrics.acc"], ["metrics.`a b` DESC"],
        ["metrics.a\\ b"], ["metrics.acc DESC", "start_time ASC"], ["params.model ASC", "run_id DESC"],
        ["metrics.acc ASC", "run_id ASC"], ["metrics.X-Y"], ['metrics."X-Y" DESC'],
        ["params.model DESC", "tags.team DESC", "metrics.x", "metrics.acc DESC", "end_time"],
    ]
    for ob in orders:
        add("", order_by=ob, view="all")
    for ob in [["metrics.acc DESC"], ["params.model"], ["metrics.x"], ["start_time"]]:
        add("metrics.acc > 0.5", order_by=ob)
        add("params.model ILIKE 'lr'", order_by=ob, view="all")
    add("metrics.acc > ", order_by=["metrics.acc ACS"])
    add("metrics.acc > 0", order_by=["metrics.acc", "metrics.acc"])
    add("metrics.acc > 0 AND params.x > 'a'", order_by=["metrics.acc", "metrics.acc"])
    add("params.x > 'a'", order_by=["metrics.acc ACS"])
    add("params.x > 'a'", order_by=["datasets.name"])
    # Pagination.
    for mr in [1, 2, 3, 5, 7, 17, 18, 19, 20, 50000]:
        add("", max_results=mr, view="all", order_by=["metrics.acc DESC"])
    for mr in [0, -1, 50001, 100000]:
        add("", max_results=mr)
        add("bad filter", max_results=mr)
    for off in [1, 2, 5, 10, 17, 18, 19, 100]:
        tok = base64.b64encode(json.dumps({"offset": off}).encode()).decode()
        add("", max_results=3, view="all", page_token=tok)
        add("metrics.acc > 0.5", max_results=2, page_token=tok, order_by=["params.model"])
    for tok in ["", "e30=", base64.b64encode(b'{"offset": 0}').decode(),
                base64.b64encode(b'{"offset": "a"}').decode(), "not base64",
                base64.b64encode(b'{"offset": "3"}').decode(), base64.b64encode(b'{"offset": 3.7}').decode(),
                base64.b64encode(b'{"offset": -2}').decode(), base64.b64encode(b'[1]').decode(),
                base64.b64encode(b'{"offset": true}').decode(), base64.b64encode(b'garbage').decode(),
                "eyJvZmZzZXQiOiAyfQ", "eyJvZmZzZXQiOiAyfQ==", "eyJvZmZzZXQiOiAyfQ===",
                "eyJvZmZz ZXQiOiAyfQ==", "eyJvZmZzZXQiOiAyfQ==garbage"]:
        add("", max_results=3, view="all", page_token=tok)
        add("bad filter", max_results=3, page_token=tok)
    return cases


def experiment_cases():
    cases = []

    def add(filter_string, order_by=None, view="active", max_results=1000, page_token=None):
        cases.append(dict(filter=filter_string, order_by=order_by or [], view=view,
                          max_results=max_results, page_token=page_token))

    filters = [
        "", "name = 'Alpha'", "name = 'alpha'", "name != 'alpha'", "name LIKE 'a%'", "name LIKE 'A%'",
        "name ILIKE 'a%'", "name ILIKE 'alpha%'", "name like 'a%'", "name ilike 'a%'", "name LIKE '%a'",
        "name LIKE '%\\_%'", "name LIKE '%_%'", "name LIKE 'e_x'", "name LIKE 'e.x'", "name LIKE 'beta.%'",
        "name LIKE '%100\\%'", "name LIKE '%100%'", "name ILIKE 'δ%'", "name ILIKE 'Δ%'", "name LIKE 'δ%'",
        "name = 'δelta'", "name IN ('Alpha')", "name NOT IN ('Alpha')", "name > 'a'", "name = 5",
        "attribute.name = 'Alpha'", "attributes.name = 'Alpha'", "attr.name = 'Alpha'",
        "`attribute`.name = 'Alpha'", "tags.team = 'ml'", "tag.team = 'ml'", "tags.team != 'ml'",
        "tags.team LIKE 'm%'", "tags.team ILIKE 'ML'", "tags.team like 'm%'", "tags.team > 'a'",
        "tags.team IN ('ml')", "tags.`key with space` = 'v 1'", 'tags."key with space" LIKE \'v%\'',
        "tags.ünï = 'Ü'", "tags.`ünï` ILIKE 'ü'", "tags.`a/b` = 'x'", "tags.empty = ''", "tags.empty != 'x'",
        "tags.missing != 'x'", "tags.team IS NULL", "tags.team IS NOT NULL", "tags.team is null",
        "name IS NULL", "creation_time IS NULL", "creation_time > 1700000200000",
        "creation_time >= 1700000200000", "creation_time = 1700000100000", "creation_time != 1700000100000",
        "creation_time < 1700000010001", "creation_time > 1.5", "creation_time > '1'", "creation_time LIKE 1",
        "creation_time IN (1)", "last_update_time > 1700000400000", "last_update_time = 1700000450000",
        "attribute.creation_time <= 1700000100000", "experiment_id = '4'", "experiment_id = 4",
        "experiment_id != '4'", "experiment_id IN ('4', '5')", "experiment_id NOT IN ('4', '5', '0')",
        "experiment_id IN ('x')", "experiment_id = 'x'", "experiment_id LIKE '1%'", "experiment_id > '4'",
        "experiment_id IN ()", "experiment_id IN (4)", "lifecycle_stage = 'active'",
        "metrics.acc > 1", "params.x = 'y'", "datasets.name = 'x'", "run.name = 'Alpha'",
        "name = 'Alpha' OR name = 'alpha'", "name = 'Alpha' AND tags.team = 'ml'", "name = 'Alpha';",
        "name = Alpha", "name = \"Alpha\"", "`name` = 'Alpha'", "\"name\" = 'Alpha'", "NAME = 'Alpha'",
        "name LIKE 'a%' AND creation_time > 1700000050000", "  ", "AND", "name",
        "tags.team = 'ml' AND tags.team != 'ops'", "name = 'deleted-one'",
    ]
    for s in filters:
        add(s)
    for s in ["", "name = 'deleted-one'", "tags.team = 'ml'", "name LIKE '%e%'"]:
        for v in ["active", "deleted", "all"]:
            add(s, view=v)
    orders = [
        [], ["name"], ["name DESC"], ["name ASC"], ["attribute.name DESC"], ["creation_time"],
        ["creation_time DESC"], ["creation_time DESC", "experiment_id ASC"], ["experiment_id"],
        ["experiment_id DESC"], ["last_update_time DESC"], ["last_update_time"], ["creation_time", "name DESC"],
        ["tags.team"], ["tag.team DESC"], ["attributes.name"], ["lifecycle_stage"], ["name", "name"],
        ["creation_time ACS"], ["name "], ["metrics.x"], ["`name` DESC"], ['"name"'],
        ["experiment_id", "name"], ["timestamp"], ["creation_time", "experiment_id DESC", "name"],
    ]
    for ob in orders:
        add("", order_by=ob, view="all")
    for mr in [1, 2, 5, 13, 14, 50000]:
        add("", max_results=mr, view="all")
    for mr in [0, -1, 50001]:
        add("", max_results=mr)
    for off in [1, 5, 13, 14, 20]:
        tok = base64.b64encode(json.dumps({"offset": off}).encode()).decode()
        add("", max_results=4, view="all", page_token=tok)
    add("", max_results=4, page_token="bad")
    return cases


def registry_cases():
    rm = [
        "", "name = 'model-a'", "name LIKE 'model%'", "name ILIKE 'model%'", "name lIkE '%b'",
        "name != 'model-a'", "name IN ('model-a', 'model_c')", "name NOT IN ('model-a')",
        "tags.stage = 'prod'", "tag.stage != 'prod'", "tags.stage LIKE 'p%'", "tags.ünï = 'x'",
        "tags.`mlflow.prompt.is_prompt` = 'true'", "tags.`mlflow.prompt.is_prompt` = 'false'",
        "name!=something", "run_id='x'", "attributes.name = 'model-a'", "attribute.name = 'model-a'",
        "creation_timestamp > 1", "name > 'a'", "tags.stage IS NULL", "name = 'a' OR name = 'b'",
        "version_number = 1", "metrics.x > 1", "name = 5", "tags.stage IN ('prod')",
    ]
    rm_order = [[], ["name"], ["name DESC"], ["timestamp DESC"], ["last_updated_timestamp"],
                ["creation_timestamp"], ["name", "name"], ["timestamp", "last_updated_timestamp"],
                ["tags.stage"], ["name ACS"]]
    mv = [
        "", "name = 'model-a'", "name LIKE 'model%'", "version_number <= 2", "version_number = 1",
        "version_number > 1.5", "version_number IN (1)", "version_number = '1'",
        f"run_id = '{run_id_for(0)}'", f"run_id IN ('{run_id_for(0)}', '{run_id_for(1)}')",
        f"run_id NOT IN ('{run_id_for(0)}')", "run_id IN (1,2,3)", "run_id IN ()",
        "source_path = 's3://corpus/a/1'", "source_path LIKE 's3://corpus/a/%'", "source = 'x'",
        "tags.v = '1'", "tags.v != '1'", "tag.v LIKE '%'", "name IN ('model-a')", "name NOT IN ('model-a')",
        "source_path IN ('x')", "creation_timestamp > 0", "last_updated_timestamp > 0",
        "attributes.name = 'model-a'", "metrics.x > 1", "name = 'a' OR name = 'b'", "version_number IS NULL",
        "current_stage = 'None'", "name ILIKE 'MODEL%'", "tags.v IN ('1')",
    ]
    mv_order = [[], ["name"], ["version_number DESC"], ["creation_timestamp"], ["last_updated_timestamp DESC"],
                ["name DESC", "version_number"], ["run_id"], ["timestamp"], ["tags.v"], ["version_number", "version_number"]]
    return rm, rm_order, mv, mv_order


def parse_only_filters():
    """Filter strings for the parser corpus: every run filter, plus generated combinations."""
    out = list(dict.fromkeys(run_filter_cases()))
    prefixes = ["", "metrics.", "param.", "tags.", "attributes.", "run.", "datasets.", "`metrics`.",
                "foo.", "parameters."]
    keys = ["acc", "`a b`", '"a b"', "'a b'", "a.b", "status", "start_time", "run_id", "context",
            "`Run name`", "a-b", "1a"]
    ops = ["=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "like", "==", "<>", "IS",
           "NOT LIKE", "~", "!"]
    vals = ["1", "-1.5", "'s'", '"s"', "`s`", "s", "('a', 'b')", "('a')", "()", "(1)", "NULL", "1e3",
            ".5", "'it''s'", "''", "'%a_'", "TRUE"]
    i = 0
    for p in prefixes:
        for k in keys:
            for o in ops:
                v = vals[i % len(vals)]
                i += 1
                out.append(f"{p}{k} {o} {v}")
    for p in prefixes:
        for k in keys[:6]:
            for v in vals:
                out.append(f"{p}{k} = {v}")
            for nul in ["IS NULL", "IS NOT NULL"]:
                out.append(f"{p}{k} {nul}")
    return list(dict.fromkeys(out))


def parse_only_orders():
    out = []
    prefixes = ["", "metrics.", "metric.", "params.", "parameter.", "tags.", "tag.",
                "attributes.", "attribute.", "attr.", "run.", "datasets.", "foo.", "`metrics`.", "METRICS."]
    keys = ["acc", "`a b`", '"a b"', "'a b'", "a.b", "status", "start_time", "end_time", "run_id",
            "run_name", "user_id", "artifact_uri", "created", "Created", "`Run name`", "name", "digest",
            "experiment_id", "timestamp", "ünï", "a-b", "creation_time", "last_update_time"]
    dirs = ["", " ASC", " DESC", " asc", " desc", " Desc", " ACS", " ASC DESC", "  DESC", " NULLS LAST",
            " DESC NULLS LAST", ",", " x", ";"]
    i = 0
    for p in prefixes:
        for k in keys:
            out.append(p + k)
            out.append(p + k + dirs[i % len(dirs)])
            i += 1
    out += ["", " ", "timestamp", "timestamp DESC", "timestamp  asc", "metrics.acc -- x",
            "metrics.`a`b` DESC", 'metrics."a b DESC', "metrics.a\\ b", "metrics.'a' DESC",
            "metrics.acc /* x */", "(metrics.acc)", "metrics.acc + 1", "1", "'x'", "metrics.acc DESC, x"]
    return list(dict.fromkeys(out))


def page_tokens():
    toks = ["", "e30=", "eyJvZmZzZXQiOiAyfQ==", "eyJvZmZzZXQiOiAyfQ", "eyJvZmZzZXQiOiAyfQ=",
            "eyJvZmZzZXQiOiAyfQ===", "eyJvZmZz\nZXQiOiAyfQ==", "eyJvZmZz ZXQiOiAyfQ==",
            "eyJvZmZzZXQiOiAyfQ==garbage", "eyJvZmZzZXQiOiAyfQ==eyJ9", "not base64", "!!!!", "====",
            "a", "ab", "abc", "abcd", "YQ==", "YWI=", "YWJj", "-_-_", "e30", "bnVsbA==", "MQ==", "W10=",
            "IjEi", "eyJvZmZzZXQiOiBudWxsfQ=="]
    for payload in [b'{"offset": 1}', b'{"offset": 0}', b'{"offset": "5"}', b'{"offset": " 5 "}',
                    b'{"offset": "+5"}', b'{"offset": "1_0"}', b'{"offset": "5.0"}', b'{"offset": 5.9}',
                    b'{"offset": -3}', b'{"offset": "-3"}', b'{"offset": true}', b'{"offset": false}',
                    b'{"offset": []}', b'{"offset": [1]}', b'{"offset": {}}', b'{"offset": "abc"}',
                    b'{"offset": ""}', b'{"offset": null}', b'{"Offset": 3}', b'{"offset": 3, "x": 1}',
                    b'{"x": 1, "offset": 4}', b'{"offset": 1e2}', b'{"offset": 12345678901234567890}',
                    b'{"offset":7}', b' {"offset": 8} ', b'{"offset": 9}\n', b'[]', b'"x"', b'3', b'null',
                    b'{', b'\xff\xfe', "{\"offset\": \"\u0661\u0662\"}".encode(), b'{"a": "\xc3\xa9", "b": 1}',
                    b'{"offset": 1, "offset": 0}', b'{"offset": NaN}', b'{"offset": Infinity}']:
        toks.append(base64.b64encode(payload).decode())
    return toks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), f"corpus-{MLFLOW_VERSION}.json"))
    args = ap.parse_args()

    args.out = os.path.abspath(args.out)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="mlrun-corpus-"))
    TMP.append(tmp)
    # The SQL store's default artifact root is ./mlruns: keep it out of the tree.
    os.chdir(tmp)
    sql_uri = f"sqlite:///{tmp}/mlflow.db"
    file_uri = f"file://{tmp}/mlruns"

    # Pin ids and the clock before either store exists, so that the Default
    # experiment gets the pinned clock too.
    _pin()
    sql_client, sql_exp_ids, run_ids = build_store(sql_uri, sql=True)
    file_client, file_exp_ids, _ = build_store(file_uri, sql=False)
    assert sql_exp_ids == file_exp_ids, (sql_exp_ids, file_exp_ids)
    reg_client = MlflowClient(tracking_uri=sql_uri, registry_uri=sql_uri)
    build_registry(reg_client)

    exp_letter = {"a": sql_exp_ids[0], "b": sql_exp_ids[1], "c": sql_exp_ids[2]}

    # The runs as data: the file store's view (true NaN and ±Inf), checked
    # against the SQL store's view.
    runs = []
    for rid in run_ids:
        frun = run_to_json(file_client.get_run(rid))
        srun = run_to_json(sql_client.get_run(rid))
        for m in srun["metrics"]:
            if m["value"] == repr(1.7976931348623157e308):
                fm = next(x for x in frun["metrics"] if x["key"] == m["key"])
                if fm["value"] == "Infinity":
                    m["value"] = "Infinity"
            if m["value"] == repr(-1.7976931348623157e308):
                fm = next(x for x in frun["metrics"] if x["key"] == m["key"])
                if fm["value"] == "-Infinity":
                    m["value"] = "-Infinity"
        fr, sr = dict(frun), dict(srun)
        for d in (fr, sr):
            d["inputs"] = sorted(d["inputs"], key=lambda i: (i["name"], i["digest"]))
        if fr != sr:
            print("run differs between backends:", rid, file=sys.stderr)
            print(" file:", fr, file=sys.stderr)
            print(" sql: ", sr, file=sys.stderr)
        runs.append(srun | {"metrics": frun["metrics"]})

    experiments = [exp_to_json(e) for e in sql_client.search_experiments(view_type=ViewType.ALL)]
    experiments.sort(key=lambda e: int(e["experiment_id"]))

    def do_search_runs(client, c):
        res = client.search_runs(
            [exp_letter[x] for x in c["exps"]], filter_string=c["filter"], run_view_type=VIEW[c["view"]],
            max_results=c["max_results"], order_by=c["order_by"] or None, page_token=c["page_token"])
        return {"run_ids": [r.info.run_id for r in res], "next_page_token": enc_token(res.token)}

    out_runs = []
    for i, c in enumerate(run_cases()):
        rec = dict(c)
        rec["experiment_ids"] = [exp_letter[x] for x in c["exps"]]
        del rec["exps"]
        rec["sql"] = attempt(lambda: do_search_runs(sql_client, c))
        frec = attempt(lambda: do_search_runs(file_client, c))
        # null means the file store answered as the SQL store did
        rec["file"] = None if frec == rec["sql"] else frec
        out_runs.append(rec)

    name_by_id = {e["experiment_id"]: e["name"] for e in experiments}

    def do_search_exps(client, c):
        res = client.search_experiments(
            view_type=VIEW[c["view"]], max_results=c["max_results"], filter_string=c["filter"],
            order_by=c["order_by"] or None, page_token=c["page_token"])
        return {"names": [e.name for e in res], "experiment_ids": [e.experiment_id for e in res],
                "next_page_token": enc_token(res.token)}

    out_exps = []
    for c in experiment_cases():
        rec = dict(c)
        rec["sql"] = attempt(lambda: do_search_exps(sql_client, c))
        frec = attempt(lambda: do_search_exps(file_client, c))
        rec["file"] = None if frec == rec["sql"] else frec
        out_exps.append(rec)

    rm, rm_order, mv, mv_order = registry_cases()
    out_reg = []
    for s in rm:
        out_reg.append({"kind": "registered_model", "filter": s, "order_by": [],
                        "sql": attempt(lambda: [m.name for m in reg_client.search_registered_models(s)])})
    for ob in rm_order:
        out_reg.append({"kind": "registered_model", "filter": "", "order_by": ob,
                        "sql": attempt(lambda: [m.name for m in reg_client.search_registered_models(order_by=ob)])})
    for s in mv:
        out_reg.append({"kind": "model_version", "filter": s, "order_by": [],
                        "sql": attempt(lambda: [f"{m.name}/{m.version}" for m in reg_client.search_model_versions(s)])})
    for ob in mv_order:
        out_reg.append({"kind": "model_version", "filter": "", "order_by": ob,
                        "sql": attempt(lambda: [f"{m.name}/{m.version}" for m in reg_client.search_model_versions(order_by=ob)])})

    def enc_parsed(parsed):
        return [{"type": p["type"], "key": p["key"], "comparator": p["comparator"], "value": enc_value(p["value"])}
                for p in parsed]

    parse_cases = []
    for s in parse_only_filters():
        parse_cases.append({"kind": "run", "filter": s,
                            "result": attempt(lambda: enc_parsed(SearchUtils.parse_search_filter(s)))})
    exp_filters = [c["filter"] for c in experiment_cases()] + [
        p.replace("metrics.", "tags.").replace("params.", "attribute.") for p in parse_only_filters()[:400]]
    for s in dict.fromkeys(exp_filters):
        parse_cases.append({"kind": "experiment", "filter": s,
                            "result": attempt(lambda: enc_parsed(SearchExperimentsUtils.parse_search_filter(s)))})
    for s in rm:
        parse_cases.append({"kind": "registered_model", "filter": s,
                            "result": attempt(lambda: enc_parsed(SearchModelUtils.parse_search_filter(s)))})
    for s in mv:
        parse_cases.append({"kind": "model_version", "filter": s,
                            "result": attempt(lambda: enc_parsed(SearchModelVersionUtils.parse_search_filter(s)))})

    order_cases = []
    for s in parse_only_orders():
        order_cases.append({"kind": "run", "order_by": s,
                            "result": attempt(lambda: list(SearchUtils.parse_order_by_for_search_runs(s)))})
        order_cases.append({"kind": "experiment", "order_by": s,
                            "result": attempt(lambda: list(SearchExperimentsUtils.parse_order_by_for_search_experiments(s)))})

    token_cases = []
    for t in page_tokens():
        token_cases.append({"token": t, "result": attempt(lambda: SearchUtils.parse_start_offset_from_page_token(t))})
    for off in [1, 2, 10, 1000, 50000, 123456789]:
        token_cases.append({"create": off, "token": SearchUtils.create_page_token(off).decode()})

    corpus = {
        "mlflow_version": MLFLOW_VERSION,
        "sqlparse_version": sqlparse.__version__,
        "python": sys.version.split()[0],
        "experiments": experiments,
        "runs": runs,
        "run_cases": out_runs,
        "experiment_cases": out_exps,
        "registry_cases": out_reg,
        "parse_cases": parse_cases,
        "order_by_cases": order_cases,
        "page_token_cases": token_cases,
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        # One record per line keeps the file small and its diffs readable.
        fh.write("{\n")
        items = list(corpus.items())
        for i, (k, v) in enumerate(items):
            fh.write(json.dumps(k) + ": ")
            if isinstance(v, list):
                fh.write("[\n")
                fh.write(",\n".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in v))
                fh.write("\n]")
            else:
                fh.write(json.dumps(v, ensure_ascii=False))
            fh.write(",\n" if i < len(items) - 1 else "\n")
        fh.write("}\n")
    print(f"wrote {args.out}: {len(runs)} runs, {len(out_runs)} run cases, {len(out_exps)} experiment "
          f"cases, {len(out_reg)} registry cases, {len(parse_cases)} parse cases, "
          f"{len(order_cases)} order_by cases, {len(token_cases)} token cases", file=sys.stderr)


if __name__ == "__main__":
    main()
