"""Dump an MLflow tracking server in the canonical format, through its REST API only.

    python rest_dump.py --url http://127.0.0.1:5000 --out dump.json [--normalize-root /abs/mlruns]

Uses /api/2.0/mlflow/experiments/search, runs/search, runs/get,
metrics/get-history and artifacts/list, and downloads every artifact file with
/get-artifact (the endpoint the UI uses). Standard library only: it does not
import mlflow, so it sees exactly what a non-Python client sees. A failed
request for one run or artifact is recorded in "errors" and the dump goes on.
"""

import argparse
import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402


class RestError(Exception):
    pass


class Client:
    def __init__(self, url, timeout=60):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _open(self, req):
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
            raise RestError(f"HTTP {e.code} {req.get_method()} {req.full_url}: {body}") from None

    def get(self, endpoint, query):
        qs = urllib.parse.urlencode(query, doseq=True)
        url = f"{self.url}{endpoint}" + (f"?{qs}" if qs else "")
        return self._open(urllib.request.Request(url, method="GET"))

    def get_json(self, endpoint, query):
        return json.loads(self.get(endpoint, query))

    def post_json(self, endpoint, body):
        req = urllib.request.Request(
            self.url + endpoint,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return json.loads(self._open(req))


API = "/api/2.0/mlflow"


def _float(v):
    # Protobuf JSON spells non-finite doubles "NaN", "Infinity", "-Infinity".
    return float(v)


def _kv(items):
    return {i["key"]: i.get("value", "") for i in items or []}


def _paged_post(client, path, body, field):
    token = None
    while True:
        req = dict(body)
        if token:
            req["page_token"] = token
        page = client.post_json(path, req)
        yield from page.get(field, [])
        token = page.get("next_page_token")
        if not token:
            return


def _history(client, run_id, key):
    points = []
    token = None
    while True:
        q = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if token:
            q["page_token"] = token
        page = client.get_json(f"{API}/metrics/get-history", q)
        for m in page.get("metrics", []):
            points.append(
                canon.metric_point(_float(m.get("value", 0)), m.get("step", 0), m.get("timestamp", 0))
            )
        token = page.get("next_page_token")
        if not token:
            return points


def _artifacts(client, run_id, errors):
    out = {}
    pending = [None]
    while pending:
        path = pending.pop()
        q = {"run_id": run_id}
        if path is not None:
            q["path"] = path
        try:
            files = []
            token = None
            while True:
                if token:
                    q["page_token"] = token
                page = client.get_json(f"{API}/artifacts/list", q)
                files.extend(page.get("files", []))
                token = page.get("next_page_token")
                if not token:
                    break
        except RestError as e:
            errors.append(f"artifacts/list {run_id} {path!r}: {e}")
            continue
        for f in files:
            if f.get("is_dir"):
                pending.append(f["path"])
                continue
            try:
                body = client.get("/get-artifact", {"path": f["path"], "run_uuid": run_id})
            except RestError as e:
                errors.append(f"get-artifact {run_id} {f['path']!r}: {e}")
                continue
            out[f["path"]] = hashlib.sha256(body).hexdigest()
            size = f.get("file_size")
            if size is not None and int(size) != len(body):
                errors.append(
                    f"artifact {run_id} {f['path']!r}: listed size {size}, downloaded {len(body)} bytes"
                )
    return out


def _info(info):
    return {
        "run_id": info.get("run_id") or info.get("run_uuid"),
        "experiment_id": info["experiment_id"],
        "run_name": info.get("run_name", ""),
        "status": info.get("status", "RUNNING"),
        "start_time": info.get("start_time", 0),
        "end_time": info.get("end_time"),
        "lifecycle_stage": info.get("lifecycle_stage", "active"),
        "user_id": info.get("user_id", ""),
        "artifact_uri": info.get("artifact_uri", ""),
    }


def _inputs(run):
    out = []
    for di in (run.get("inputs") or {}).get("dataset_inputs", []):
        d = di.get("dataset", {})
        out.append(
            canon.dataset_input(
                d.get("name", ""),
                d.get("digest", ""),
                d.get("source_type", ""),
                d.get("source", ""),
                d.get("schema"),
                d.get("profile"),
                _kv(di.get("tags")),
            )
        )
    return out


def _canon_run(client, run, errors, full=True):
    info = run["info"]
    data = run.get("data", {})
    latest = {m["key"]: _float(m.get("value", 0)) for m in data.get("metrics", [])}
    history = {}
    artifacts = {}
    if full:
        for key in latest:
            history[key] = _history(client, info["run_id"], key)
        artifacts = _artifacts(client, info["run_id"], errors)
    return canon.run(
        _info(info), _kv(data.get("params")), _kv(data.get("tags")), latest, history, artifacts, _inputs(run)
    )


def dump_rest(client, page_size=100):
    errors = []
    experiments = []
    runs = []
    exps = list(
        _paged_post(
            client,
            f"{API}/experiments/search",
            {"max_results": page_size, "view_type": "ALL"},
            "experiments",
        )
    )
    for e in exps:
        experiments.append(
            canon.experiment(
                e["experiment_id"],
                e.get("name", ""),
                e.get("artifact_location", ""),
                e.get("lifecycle_stage", ""),
                _kv(e.get("tags")),
            )
        )
        try:
            found = list(
                _paged_post(
                    client,
                    f"{API}/runs/search",
                    {
                        "experiment_ids": [e["experiment_id"]],
                        "run_view_type": "ALL",
                        "max_results": page_size,
                    },
                    "runs",
                )
            )
        except RestError as ex:
            errors.append(f"runs/search {e['experiment_id']}: {ex}")
            continue
        for sr in found:
            run_id = sr["info"]["run_id"]
            try:
                run = client.get_json(f"{API}/runs/get", {"run_id": run_id})["run"]
                full = _canon_run(client, run, errors)
            except RestError as ex:
                errors.append(f"runs/get {run_id}: {ex}")
                continue
            brief = _canon_run(client, sr, errors, full=False)
            for field, value in brief.items():
                if field not in ("metrics", "artifacts") and value != full[field]:
                    errors.append(
                        f"runs/search and runs/get disagree on {run_id} {field}: "
                        f"{value!r} != {full[field]!r}"
                    )
            runs.append(full)
    return experiments, runs, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="tracking server base URL")
    ap.add_argument("--out", required=True, help="output file, or - for stdout")
    ap.add_argument("--normalize-root", help="absolute store root to replace with <ROOT> in URIs")
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args(argv)

    client = Client(args.url)
    with canon.WarningRecorder() as rec:
        experiments, runs, errors = dump_rest(client, args.page_size)
    root = os.path.abspath(args.normalize_root) if args.normalize_root else None
    data = canon.finish(experiments, runs, root, rec.entries, errors)
    try:
        data["mlflow_version"] = client.get("/version", {}).decode().strip()
    except RestError as e:
        data["errors"].append(f"version: {e}")
    canon.write_json(data, args.out)


if __name__ == "__main__":
    main()
