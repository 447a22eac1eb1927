#!/usr/bin/env python3
"""Build the search_logged_models parity corpus for mlrun's store package.

Run it with the python of a virtualenv that has MLflow 3 installed:

    ~/.cache/mlrun/venv-3.17.2/bin/python store/search/testdata/loggedmodels/make_corpus.py [-o OUT.json]

or regenerate through the Go test:

    go test ./store/search -run TestLoggedModelParity -update

The script

  * writes the same logged models twice with real MLflow, through its
    FileStore (an mlruns directory) and its SqlAlchemyStore (SQLite), with
    identical model ids, run ids and timestamps (MLflow's uuid4 and clock
    are pinned while it writes; nothing else is patched);
  * records the models as each store reads them back: the file store's
    metrics in the order it returns them (the latest point per dataset of
    each metric file), and every row of the SQL store's
    logged_model_metrics table;
  * runs every case through each store's search_logged_models, following
    next-page tokens to the end, and records the model ids in order, the
    page sizes and the first token, or the error;
  * records what each store's filter parser returns for every filter
    string (SearchLoggedModelsUtils.parse_search_filter for the file store,
    search_logged_model_utils.parse_filter_string for the SQL store).

Python prints sets in a per-process random order; the Go test normalises
set literals inside error messages.
"""

import argparse
import hashlib
import json
import math
import os
import sqlite3
import sys
import tempfile
import uuid as _uuid_mod

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ["GIT_PYTHON_REFRESH"] = "quiet"

import logging  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import mlflow  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../internal/compat/py"))
import pin  # noqa: E402
from mlflow.entities import LoggedModelParameter, LoggedModelStatus, LoggedModelTag, Metric  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.tracking import file_store as _file_store  # noqa: E402
from mlflow.store.tracking import sqlalchemy_store as _sql_store  # noqa: E402
from mlflow.utils import search_logged_model_utils  # noqa: E402
from mlflow.utils.search_utils import SearchLoggedModelsUtils  # noqa: E402

MLFLOW_VERSION = mlflow.__version__


CLOCK, UUID, _NEXT_EXP_ID = pin.CLOCK, pin.UUID, pin.NEXT_EXP_ID


def _pin():
    pin.pin(file_store_time=True)


def hexid(kind, i):
    return hashlib.md5(f"mlrun-lm-corpus-{kind}-{i}".encode()).hexdigest()


T0 = 1_700_000_000_000

# Runs: (index, experiment).
RUNS = [(1, "A"), (2, "A"), (3, "B")]

# Models. metrics: (key, value, step, ts offset, run index, dataset name, digest), in logging order.
MODELS = [
    dict(name="m01", exp="A", type="sklearn", run=1, t=1000, status="READY",
         tags={"team": "vision", "stage": "prod"}, params={"lr": "0.01", "opt": "adam"},
         metrics=[("acc", 0.9, 0, 1100, 1, None, None), ("acc", 0.95, 1, 1200, 1, None, None),
                  ("loss", 0.3, 0, 1100, 1, None, None)]),
    dict(name="m02", exp="A", type="pytorch", run=1, t=1000, status="FAILED",
         tags={"team": "Vision"}, params={"lr": "0.1", "opt": "SGD"},
         metrics=[("acc", 0.8, 0, 1300, 1, "ds1", "d1"), ("acc", 0.7, 0, 1400, 1, "ds2", "d2")]),
    dict(name="m03", exp="A", type=None, run=None, t=2000, status=None,
         tags={}, params={"lr": "ABC"},
         metrics=[("acc", 0.6, 0, 2100, 2, "ds2", "d2"), ("acc", 0.99, 0, 2050, 2, "ds1", "d1"),
                  ("loss", 0.5, 0, 2100, 2, "ds1", "d1")]),
    dict(name="m04", exp="A", type="sklearn", run=2, t=3000, status="READY",
         tags={"team": "nlp", "note": "a_c"}, params={"lr": "a%c", "text": "multi\nline"},
         metrics=[("acc", 0.4, 0, 3100, 2, None, None), ("f1", float("nan"), 0, 3100, 2, None, None),
                  ("loss", float("inf"), 0, 3100, 2, None, None)]),
    dict(name="m05", exp="B", type="Sklearn", run=3, t=3000, status="READY",
         tags={"team": "\u00fcnicode"}, params={"lr": "\u00dcnicode"},
         metrics=[("acc", 0.95, 0, 3100, 3, None, None), ("acc", 0.5, 5, 3050, 3, None, None),
                  ("loss", float("-inf"), 0, 3100, 3, None, None)]),
    dict(name="m06", exp="B", type=None, run=3, t=4000, status="READY",
         tags={"team": "vision"}, params={},
         metrics=[("score", 1.0, 0, 4100, 3, "ds1", "d1"), ("score", 2.0, 0, 4200, 3, "ds1", "d9")]),
    dict(name="m07", exp="A", type="pyfunc", run=None, t=5000, status="FAILED",
         tags={"stage": "dev"}, params={"lr": "0.01"},
         metrics=[("acc", 0.95, 0, 5100, 1, None, None)]),
    dict(name="m08", exp="A", type="pyfunc", run=None, t=6000, status="READY", deleted=True,
         tags={"team": "vision"}, params={"lr": "0.01"},
         metrics=[("acc", 0.97, 0, 6100, 1, None, None)]),
    dict(name="m09 Mixed", exp="A", type="pyfunc", run=2, t=7000, status="READY",
         tags={"team": "NLP", "stage": "prod"}, params={"lr": "0.001"},
         metrics=[("acc", 0.85, 0, 7100, 2, "ds1", "d1")]),
    dict(name="m10", exp="A", type=None, run=None, t=7000, status=None,
         tags={}, params={},
         metrics=[("acc", 0.1, 0, 7100, 2, None, None), ("acc", 0.2, 0, 7100, 1, None, None)]),
    dict(name="m11", exp="A", type="ab", run=1, t=8000, status="READY",
         tags={"team": "nlp"}, params={"lr": "1e-3"},
         metrics=[("acc", 0.0, 0, 8100, 1, None, None), ("loss", 2.0, 3, 8100, 1, "ds2", "d2")]),
    dict(name="m12", exp="B", type=None, run=None, t=500, status="READY",
         tags={}, params={}, metrics=[]),
]


def build(store):
    """Writes the data into a store; returns {experiment letter: id}, [run ids]."""
    exp_ids = {}
    for letter in ["A", "B"]:
        CLOCK.now = T0
        exp_ids[letter] = store.create_experiment(f"lm-{letter}")
    run_ids = {}
    for i, letter in RUNS:
        CLOCK.now = T0 + 10 * i
        UUID.forced = _uuid_mod.UUID(hex=hexid("run", i))
        run = store.create_run(exp_ids[letter], user_id="u", start_time=CLOCK.now, tags=[], run_name=f"r{i}")
        run_ids[i] = run.info.run_id
    for i, spec in enumerate(MODELS):
        CLOCK.now = T0 + spec["t"]
        UUID.forced = _uuid_mod.UUID(hex=hexid("model", i))
        m = store.create_logged_model(
            experiment_id=exp_ids[spec["exp"]],
            name=spec["name"],
            source_run_id=run_ids[spec["run"]] if spec["run"] else None,
            tags=[LoggedModelTag(k, v) for k, v in spec["tags"].items()],
            params=[LoggedModelParameter(k, v) for k, v in spec["params"].items()],
            model_type=spec["type"],
        )
        for key, value, step, ts, run, dsn, dsd in spec["metrics"]:
            CLOCK.now = T0 + ts
            met = Metric(key, value, T0 + ts, step, model_id=m.model_id, dataset_name=dsn,
                         dataset_digest=dsd, run_id=run_ids[run])
            store.log_batch(run_ids[run], metrics=[met], params=[], tags=[])
        if spec.get("status"):
            CLOCK.now = T0 + spec["t"] + 50
            store.finalize_logged_model(m.model_id, LoggedModelStatus(spec["status"]))
        if spec.get("deleted"):
            store.delete_logged_model(m.model_id)
    return exp_ids, run_ids


def fnum(v):
    if v is None:
        return None
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(float(v))


def enc_error(e):
    if isinstance(e, MlflowException):
        return {"class": "MlflowException", "code": e.error_code, "message": e.message}
    return {"class": type(e).__name__, "message": str(e)}


def model_json(m, metrics):
    return {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "model_type": m.model_type,
        "source_run_id": m.source_run_id,
        "status": m.status.value if hasattr(m.status, "value") else str(m.status),
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "tags": dict(m.tags or {}),
        "params": dict(m.params or {}),
        "metrics": metrics,
    }


def metric_json(key, value, ts, step, run_id, dsn, dsd):
    return {"key": key, "value": fnum(value), "timestamp": ts, "step": step, "run_id": run_id,
            "dataset_name": dsn, "dataset_digest": dsd}


def read_models(store, exp_ids, db=None):
    """The models of the store as it reads them (deleted ones left out)."""
    out = []
    for letter in ["A", "B"]:
        page = store.search_logged_models([exp_ids[letter]], max_results=1000)
        for m in page:
            if db is None:
                mets = [metric_json(x.key, x.value, x.timestamp, x.step, x.run_id, x.dataset_name,
                                    x.dataset_digest) for x in (m.metrics or [])]
            else:
                rows = db.execute(
                    "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, "
                    "dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id = ? "
                    "ORDER BY rowid", (m.model_id,)).fetchall()
                mets = [metric_json(*r) for r in rows]
            out.append(model_json(m, mets))
    out.sort(key=lambda d: d["name"])
    return out


# --------------------------------------------------------------------------
# Cases.


def filter_strings():
    f = []

    def add(*xs):
        for x in xs:
            if x not in f:
                f.append(x)

    add("", "name = 'm01'", "name = \"m01\"", "name != 'm01'", "name LIKE 'm0%'", "name like 'm0%'",
        "name ILIKE 'M0_'", "name LIKE 'M0%'", "name ILIKE '%mixed'", "name LIKE '%Mixed'",
        "name LIKE 'm__'", "name > 'm05'", "name < 'm03'", "name >= 'm10'", "name IN ('m01', 'm02')",
        "name NOT IN ('m01', 'm02')", "name in ('m01')", "name IN ('m01')", "name IN 'm01'",
        "name IN ()", "name IN (1, 2)", "name IN ('m01', 2)", "name = ('m01')", "name = 5",
        "name = m01", "name = `m01`", "`name` = 'm01'", "\"name\" = 'm01'", "attributes.name = 'm01'",
        "attribute.name = 'm01'", "attr.name = 'm01'", "run.name = 'm01'", "Attributes.name = 'm01'",
        "attributes.`name` = 'm01'", "attributes.\"name\" = 'm01'",
        "model_id = 'x'", "model_id != 'x'", "model_id LIKE 'm-%'",
        "model_type = 'sklearn'", "model_type != 'sklearn'", "model_type ILIKE 'sklearn'",
        "model_type LIKE 'sk%'", "model_type IN ('sklearn', 'pyfunc')", "model_type NOT IN ('sklearn')",
        "model_type IS NULL", "model_type IS NOT NULL",
        "status = 'READY'", "status != 'READY'", "status = 'FAILED'", "status LIKE 'READ%'",
        "status IN ('READY', 'PENDING')", "status = '2'", "status = 2", "status > 'P'",
        "source_run_id = 'x'", "source_run_id != 'x'", "source_run_id LIKE '%'",
        "creation_timestamp > 1700000002000", "creation_timestamp >= 1700000003000",
        "creation_timestamp = 1700000001000", "creation_timestamp != 1700000001000",
        "creation_timestamp < 1700000002000.5", "creation_timestamp <= 1.7e12",
        "creation_time > 1700000002000", "attributes.creation_time > 1700000002000",
        "attributes.creation_timestamp > 1700000002000",
        "last_updated_timestamp > 1700000005000", "last_updated_time > 1700000005000",
        "attributes.last_updated_timestamp > 1700000005000",
        "creation_timestamp > '1700000002000'", "creation_timestamp LIKE 1", "creation_timestamp IN (1)",
        "creation_timestamp_ms > 1700000002000", "last_updated_timestamp_ms > 0",
        "experiment_id = '1'", "lifecycle_stage = 'active'", "artifact_location LIKE '%'",
        "status_message = 'x'", "foo = 'x'", "tags = 'x'",
        "metrics.acc > 0.9", "metrics.acc >= 0.95", "metrics.acc = 0.95", "metrics.acc != 0.95",
        "metrics.acc < 0.5", "metrics.acc <= 0", "metrics.acc = 0", "metrics.acc != 0",
        "metrics.acc > -1", "metrics.acc > 0.6", "metrics.acc < 0.61", "metrics.acc = 0.2",
        "metrics.acc = 0.1", "metrics.acc = 0.5", "metrics.acc = 0.99", "metrics.acc = 0.6",
        "metrics.acc > 1e-1", "metrics.acc > .5", "metrics.acc > 1", "metrics.acc > 0 AND metrics.acc < 1",
        "metrics.loss > 1e308", "metrics.loss < -1e308", "metrics.loss = 1.7976931348623157e308",
        "metrics.loss > 1.7976931348623157e308", "metrics.loss >= 1.7976931348623157e308",
        "metrics.loss != 0.3", "metrics.score >= 2", "metrics.score = 1",
        "metrics.missing > 0", "metrics.missing != 0",
        "metrics.acc > '0.5'", "metrics.acc = 'x'", "metrics.acc LIKE 0", "metrics.acc IN (1)",
        "metrics.acc IS NULL", "metrics.acc > nan", "metrics.acc > inf", "metrics.acc == 0.95",
        "metrics.acc <> 0.95", "metrics.`acc` > 0.9", "metrics.\"acc\" > 0.9", "`metrics`.acc > 0.9",
        "metric.acc > 0.9", "METRICS.acc > 0.9", "m.acc > 0.9", "metrics.acc>0.9", "metrics.acc > -0.5",
        "params.lr = '0.01'", "params.lr = \"0.01\"", "params.lr != '0.01'", "params.lr LIKE '0.%'",
        "params.lr LIKE 'a_c'", "params.lr LIKE 'a%c'", "params.lr ILIKE 'abc'", "params.lr LIKE 'abc'",
        "params.lr = 'abc'", "params.lr ILIKE '\u00fcnicode'", "params.lr ILIKE '\u00dcNICODE'",
        "params.lr LIKE '%'", "params.lr IN ('0.01', 'ABC')", "params.lr NOT IN ('0.01')",
        "params.lr IS NULL", "params.lr IS NOT NULL", "params.missing IS NULL",
        "params.lr = 0.01", "params.lr = 1", "params.lr > '0'", "params.text LIKE 'multi%'",
        "params.text LIKE 'multi_line'", "params.text LIKE '%line'", "params.text = 'multi\nline'",
        "param.lr = '0.01'", "parameter.lr = '0.01'", "parameters.lr = '0.01'", "params.`lr` = '0.01'",
        "params.\"lr\" = '0.01'", "params.lr = '0.01' AND tags.team = 'vision'",
        "tags.team = 'vision'", "tags.team != 'vision'", "tags.team ILIKE 'vision'", "tags.team LIKE 'V%'",
        "tags.team IN ('nlp', 'NLP')", "tags.team NOT IN ('nlp')", "tags.team IS NULL",
        "tags.team IS NOT NULL", "tags.note = 'a_c'", "tags.note LIKE 'a\\_c'", "tags.stage = 'prod'",
        "tag.team = 'vision'", "tags.`team` = 'vision'", "tags.team = vision", "tags.team = 5",
        "tags.team LIKE '%'", "tags.missing != 'x'", "tags.team ILIKE '\u00dcNICODE'",
        "datasets.name = 'm01'", "datasets.name = 'ds1'", "datasets.digest = 'd1'",
        "datasets.context = 'train'", "datasets.name IN ('m01', 'm02')", "datasets.foo = 'x'",
        "dataset.name = 'm01'",
        "name = 'm01' OR name = 'm02'", "name = 'm01' or name = 'm02'", "name = 'm01' and status = 'READY'",
        "name = 'm01' AND status = 'READY'", "name = 'm01' And model_type = 'sklearn'",
        "(name = 'm01')", "name = 'm01' AND (status = 'READY')", "NOT name = 'm01'", "name = 'm01';",
        "name = 'm01'; name = 'm02'", "name", "name =", "= 'm01'", "1 = 1", "'m01' = name", "name = 'm01' AND",
        "AND name = 'm01'", "name = 'm01' AND AND status = 'READY'", "name = 'm01' name = 'm02'",
        "name = 'm01", "name = 'it''s'", "name = 'a\\'b'", "name LIKE 'm0%' AND metrics.acc > 0.5",
        "metrics.acc > 0.5 AND tags.team = 'vision' AND params.lr LIKE '0%'",
        "tags.team = 'vision' AND metrics.acc IS NULL", "metrics.acc > 0.5 AND params.lr IS NULL",
        "params.lr IS NULL AND metrics.acc > 0.5", "name = 'none' AND params.lr IS NULL",
        "name = 'none' AND creation_time > 0", "name = 'none' AND last_updated_time > 0",
        "model_type > 'a'", "model_type < 'z'", "source_run_id > ''",
        "name LIKE '%%'", "name LIKE ''", "name = ''", "name ILIKE 'M%' AND name NOT IN ('m01')",
        "status NOT IN ('READY')", "status ILIKE 'ready'", "status = 'READY' AND model_type IS NULL",
        "params.lr REGEXP 'a'", "name RLIKE 'm'", "name NOT LIKE 'm0%'", "name IS 'm01'",
        "metrics.acc BETWEEN 0 AND 1", "metrics.acc", "metrics.acc > 0.5 OR metrics.loss > 0",
        "last_updated_timestamp IS NULL", "metrics.f1 != 0", "metrics.f1 = 0", "metrics.f1 > -1", "creation_timestamp = null", "name = NULL", "name = TRUE",
        "name LIKE 'm1%' AND name LIKE '%1'", "datasets.name LIKE 'm%'",
        )
    return f


def generated_filters():
    """Every identifier with every comparator and value, for the parsers."""
    idents = ["name", "attributes.name", "model_type", "status", "creation_time", "creation_timestamp",
              "last_updated_timestamp", "last_updated_time", "metrics.acc", "metric.acc", "params.lr",
              "param.lr", "tags.team", "datasets.name", "dataset.digest", "`params`.lr", "params.`a b`",
              "params.\"lr\"", "foo", "experiment_id"]
    ops = ["=", "!=", "<", ">=", "LIKE", "ilike", "IN", "NOT IN", "<>", "==", "IS", "IS NOT"]
    values = ["'x'", "\"x\"", "5", "-1.5", "('a', 'b')", "()", "x", "`x`", "NULL", "('a')", "(1, 'a')"]
    out = []
    for i in idents:
        for o in ops:
            for v in values:
                out.append(f"{i} {o} {v}")
    return out


ORDER_BYS = [
    None, [], [{"field_name": "name"}], [{"field_name": "name", "ascending": False}],
    [{"field_name": "creation_timestamp"}], [{"field_name": "creation_timestamp", "ascending": False}],
    [{"field_name": "creation_time"}], [{"field_name": "creation_time", "ascending": False}],
    [{"field_name": "last_updated_timestamp"}], [{"field_name": "last_updated_timestamp", "ascending": False}],
    [{"field_name": "last_updated_time"}], [{"field_name": "model_id"}], [{"field_name": "model_id", "ascending": False}],
    [{"field_name": "status"}], [{"field_name": "status", "ascending": False}],
    [{"field_name": "model_type"}], [{"field_name": "model_type", "ascending": False}],
    [{"field_name": "source_run_id"}], [{"field_name": "source_run_id", "ascending": False}],
    [{"field_name": "metrics.acc"}], [{"field_name": "metrics.acc", "ascending": False}],
    [{"field_name": "metrics.loss"}], [{"field_name": "metrics.loss", "ascending": False}],
    [{"field_name": "metrics.score", "dataset_name": "ds1"}],
    [{"field_name": "metrics.score", "dataset_name": "ds1", "dataset_digest": "d1"}],
    [{"field_name": "metrics.score", "dataset_digest": "d9"}],
    [{"field_name": "metrics.acc", "dataset_name": "ds1"}],
    [{"field_name": "metrics.acc", "dataset_name": "ds2", "ascending": False}],
    [{"field_name": "metrics.missing"}], [{"field_name": "metrics."}],
    [{"field_name": "params.lr"}], [{"field_name": "tags.team"}], [{"field_name": "metric.acc"}],
    [{"field_name": "foo"}], [{"field_name": " name "}], [{"field_name": "name "}],
    [{"field_name": "experiment_id"}], [{"field_name": "creation_timestamp_ms"}],
    [{"field_name": ""}], [{"field_name": "tags"}],
    [{"field_name": "status"}, {"field_name": "name", "ascending": False}],
    [{"field_name": "creation_timestamp", "ascending": True}, {"field_name": "name"}],
    [{"field_name": "metrics.acc", "ascending": False}, {"field_name": "name"}],
    [{"field_name": "name"}, {"field_name": "name", "ascending": False}],
    [{"field_name": "model_id", "ascending": False}, {"field_name": "creation_timestamp"}],
]

DATASETS = [
    None, [{"dataset_name": "ds1"}], [{"dataset_name": "ds1", "dataset_digest": "d1"}],
    [{"dataset_name": "ds2"}], [{"dataset_name": "ds1", "dataset_digest": "d9"}],
    [{"dataset_name": "ds1"}, {"dataset_name": "ds2"}], [{"dataset_name": "nope"}],
    [{"dataset_digest": "d1"}], [{"dataset_name": ""}],
]


def cases(exp_ids):
    A, B = exp_ids["A"], exp_ids["B"]
    out = []
    for f in filter_strings():
        out.append({"experiment_ids": [A, B], "filter": f})
    for f in ["name = 'm01'", "metrics.acc > 0.5", "params.lr IS NULL", "creation_time > 0",
              "datasets.digest = 'd1'", "metrics.acc LIKE 0", "name > 'm'"]:
        out.append({"experiment_ids": ["999"], "filter": f})
        out.append({"experiment_ids": [B], "filter": f})
    for ob in ORDER_BYS:
        out.append({"experiment_ids": [A, B], "order_by": ob})
    for ob in [[{"field_name": "metrics.acc"}], [{"field_name": "model_type"}], [{"field_name": "last_updated_time"}]]:
        out.append({"experiment_ids": [B], "filter": "name = 'm12'", "order_by": ob})
        out.append({"experiment_ids": ["999"], "order_by": ob})
    for ds in DATASETS:
        for f in ["", "metrics.acc > 0.5", "metrics.acc < 0.75", "metrics.score > 1.5", "name LIKE 'm%'",
                  "metrics.loss > 0", "metrics.acc LIKE 1"]:
            out.append({"experiment_ids": [A, B], "filter": f, "datasets": ds})
    for mr in [1, 2, 3, 5, 11, -1, -3]:
        out.append({"experiment_ids": [A, B], "max_results": mr})
        out.append({"experiment_ids": [A, B], "max_results": mr, "order_by": [{"field_name": "name"}],
                    "filter": "name != 'm05'"})
    out.append({"experiment_ids": [B, A]})
    out.append({"experiment_ids": [A, A]})
    out.append({"experiment_ids": []})
    for tok in ["eyJvZmZzZXQiOiAxfQ==", "eyJvZmZzZXQiOiAwfQ==", "not base64", "e30=", "eyJvZmZzZXQiOiAiMiJ9",
                "eyJvZmZzZXQiOiAxMDB9", "W10=", "bnVsbA==", "e30"]:
        out.append({"experiment_ids": [A, B], "max_results": 3, "page_token": tok, "one_page": True})
    return out


def attempt(fn):
    try:
        return {"ok": fn()}
    except Exception as e:  # noqa: BLE001
        return {"error": enc_error(e)}


def run_case(store, c):
    def go():
        ids, pages, first_token = [], [], None
        token = c.get("page_token")
        for _ in range(100):
            page = store.search_logged_models(
                experiment_ids=list(c["experiment_ids"]), filter_string=c.get("filter") or None,
                datasets=c.get("datasets"), max_results=c.get("max_results"), order_by=c.get("order_by"),
                page_token=token)
            ids.extend(m.model_id for m in page)
            pages.append(len(page))
            token = page.token.decode() if isinstance(page.token, bytes) else page.token
            if first_token is None:
                first_token = token or ""
            if not token or c.get("one_page"):
                break
        return {"ids": ids, "pages": pages, "token": first_token}

    return attempt(go)


def parse_file(f):
    return [{"type": x["type"], "key": x["key"], "comparator": x["comparator"], "value": repr(x["value"])}
            for x in SearchLoggedModelsUtils.parse_search_filter(f)]


def parse_sql(f):
    return [{"type": x.entity.type.value, "key": x.entity.key, "comparator": x.op, "value": repr(x.value)}
            for x in search_logged_model_utils.parse_filter_string(f)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               f"corpus-{MLFLOW_VERSION}.json"))
    args = ap.parse_args()
    _pin()
    tmp = tempfile.mkdtemp(prefix="mlrun-lm-corpus-")
    fstore = _file_store.FileStore(os.path.join(tmp, "mlruns"), os.path.join(tmp, "fart"))
    db_path = os.path.join(tmp, "mlflow.db")
    sstore = _sql_store.SqlAlchemyStore("sqlite:///" + db_path, os.path.join(tmp, "sart"))
    fexp, _ = build(fstore)
    sexp, _ = build(sstore)
    assert fexp == sexp, (fexp, sexp)
    db = sqlite3.connect(db_path)
    out = {
        "mlflow_version": MLFLOW_VERSION,
        "experiments": fexp,
        "file_models": read_models(fstore, fexp),
        "sql_models": read_models(sstore, sexp, db),
        "parse_cases": [],
        "search_cases": [],
    }
    for f in filter_strings() + generated_filters():
        if not f:
            continue
        out["parse_cases"].append({"filter": f, "file": attempt(lambda: parse_file(f)),
                                   "sql": attempt(lambda: parse_sql(f))})
    for c in cases(fexp):
        rec = dict(c)
        rec["file"] = run_case(fstore, c)
        rec["sql"] = run_case(sstore, c)
        out["search_cases"].append(rec)
    with open(args.o, "w") as fh:
        json.dump(out, fh, indent=1, ensure_ascii=False, sort_keys=False)
        fh.write("\n")


if __name__ == "__main__":
    main()
