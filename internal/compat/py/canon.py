"""Canonical dump format (version 1) shared by dump.py, rest_dump.py and gen_fixtures.py.

The format is documented in internal/compat/README.md. Both the Python side (real
MLflow) and the Go side (package compat) produce it, so two stores compare
with a plain structural diff. Everything here uses the standard library only.
"""

import hashlib
import json
import logging
import os
import pathlib
import sys
import warnings

FORMAT_VERSION = 1
ROOT_PLACEHOLDER = "<ROOT>"


def paged(fetch):
    """Yields every item of a paged MlflowClient search: fetch(token)
    returns a PagedList whose .token is the next page's, or None."""
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


def float_repr(value):
    """Return Python's repr of a metric value: 'nan', 'inf', '-0.0', '1e-05'."""
    return repr(float(value))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def normalize_root(uri, root):
    """Replace the absolute store root inside a URI or path with <ROOT>.

    Both the percent-encoded form (as in file:// URIs) and the raw path are
    replaced.
    """
    if not root or not isinstance(uri, str):
        return uri
    quoted = pathlib.Path(root).as_uri()
    uri = uri.replace(quoted, "file://" + ROOT_PLACEHOLDER)
    return uri.replace(root, ROOT_PLACEHOLDER)


def experiment(experiment_id, name, artifact_location, lifecycle_stage, tags):
    return {
        "experiment_id": str(experiment_id),
        "name": name,
        "artifact_location": artifact_location,
        "lifecycle_stage": lifecycle_stage,
        "tags": dict(sorted((tags or {}).items())),
    }


def metric_point(value, step, timestamp):
    return {"value": float_repr(value), "step": int(step), "timestamp": int(timestamp)}


def sort_history(points):
    return sorted(points, key=lambda p: (p["step"], p["timestamp"], p["value"]))


def dataset_input(name, digest, source_type, source, schema, profile, tags):
    # Absent schema/profile (None in Python, unset in REST) read as "".
    return {
        "name": name,
        "digest": digest,
        "source_type": source_type,
        "source": source,
        "schema": schema or "",
        "profile": profile or "",
        "tags": dict(sorted((tags or {}).items())),
    }


def run(info, params, tags, latest_metrics, metrics, artifacts, inputs):
    """Build a canonical run. info is a dict with the RunInfo fields."""
    end_time = info.get("end_time")
    return {
        "run_id": info["run_id"],
        "experiment_id": str(info["experiment_id"]),
        "run_name": info.get("run_name") or "",
        "status": info["status"],
        "start_time": int(info.get("start_time") or 0),
        "end_time": None if end_time is None else int(end_time),
        "lifecycle_stage": info["lifecycle_stage"],
        "user_id": info.get("user_id") or "",
        "artifact_uri": info["artifact_uri"],
        "params": dict(sorted(params.items())),
        "tags": dict(sorted(tags.items())),
        "latest_metrics": {k: float_repr(v) for k, v in sorted(latest_metrics.items())},
        "metrics": {k: sort_history(v) for k, v in sorted(metrics.items())},
        "artifacts": dict(sorted(artifacts.items())),
        "inputs": sorted(inputs, key=lambda i: (i["name"], i["digest"])),
    }


def finish(experiments, runs, root=None, warnings_=(), errors=()):
    """Assemble the dump: sort, normalise the root, attach diagnostics."""
    for e in experiments:
        e["artifact_location"] = normalize_root(e["artifact_location"], root)
    for r in runs:
        r["artifact_uri"] = normalize_root(r["artifact_uri"], root)
    return {
        "format_version": FORMAT_VERSION,
        "experiments": sorted(experiments, key=lambda e: e["experiment_id"]),
        "runs": sorted(runs, key=lambda r: r["run_id"]),
        "warnings": list(warnings_),
        "errors": list(errors),
    }


def write_empty_dirs(root, path):
    """Write the store's empty directories, one relative path per line.

    Git keeps no empty directories, but MLflow needs some (a run's metrics/,
    params/, artifacts/); fixture tests recreate the listed ones.
    """
    empty = sorted(
        os.path.relpath(dp, root).replace(os.sep, "/")
        for dp, dn, fn in os.walk(root)
        if not dn and not fn
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(d + "\n" for d in empty))


def write_json(data, path):
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class _ListHandler(logging.Handler):
    def __init__(self, recorder):
        super().__init__(level=logging.WARNING)
        self.recorder = recorder
        self.last = None

    def emit(self, record):
        # A record that propagates from "mlflow" to the root reaches this
        # handler twice in a row; count it once.
        if record is self.last:
            return
        self.last = record
        try:
            msg = record.getMessage()
        except Exception as e:  # a malformed log call must not hide the rest
            msg = f"{record.msg!r} (unformattable: {e})"
        self.recorder.add(f"log {record.levelname} {record.name}: {msg}")


class WarningRecorder:
    """Records every Python warning and every WARNING+ log record.

    Use as a context manager around everything, including `import mlflow`,
    so that import-time and store-construction warnings are caught too.
    Entries look like "FutureWarning: <message>" or
    "log WARNING mlflow.store...: <message>"; while `phase` is set (e.g. to
    "import"), entries are prefixed with "<phase>: ".
    """

    def __init__(self):
        self.entries = []
        self.phase = None
        self._catch = warnings.catch_warnings()
        self._handler = _ListHandler(self)
        self._loggers = []

    def add(self, entry):
        self.entries.append(f"{self.phase}: {entry}" if self.phase else entry)

    def __enter__(self):
        self._catch.__enter__()
        warnings.simplefilter("always")
        warnings.showwarning = self._show
        for name in ("", "mlflow"):
            lg = logging.getLogger(name)
            lg.addHandler(self._handler)
            self._loggers.append(lg)
        return self

    def _show(self, message, category, filename, lineno, file=None, line=None):
        self.add(f"{category.__name__}: {message}")

    def attach(self):
        """Re-attach the handler after mlflow (re)configures its logger."""
        lg = logging.getLogger("mlflow")
        if self._handler not in lg.handlers:
            lg.addHandler(self._handler)

    def __exit__(self, *exc):
        for lg in self._loggers:
            lg.removeHandler(self._handler)
        self._catch.__exit__(*exc)
        return False
