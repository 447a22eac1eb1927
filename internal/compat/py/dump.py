"""Dump an MLflow tracking store in the canonical format, through MlflowClient.

    python dump.py --tracking-uri file:///abs/mlruns --out dump.json [--normalize-root /abs/mlruns]

Reads everything the Python client can see: experiments (ViewType.ALL), runs of
every experiment (ViewType.ALL, paged), each run through get_run, the full
history of every metric, every artifact (listed recursively, downloaded and
hashed) and the run's dataset inputs. Every Python warning and every WARNING+
log record is recorded in "warnings"; a failure to read one run or artifact is
recorded in "errors" and the dump goes on. Uses mlflow's own dependencies only.
"""

import argparse
import os
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402


def _run_info(info):
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "lifecycle_stage": info.lifecycle_stage,
        "user_id": info.user_id,
        "artifact_uri": info.artifact_uri,
    }


def _inputs(run):
    inputs = getattr(run, "inputs", None)
    out = []
    for di in (inputs.dataset_inputs if inputs else None) or []:
        d = di.dataset
        out.append(
            canon.dataset_input(
                d.name,
                d.digest,
                d.source_type,
                d.source,
                d.schema,
                d.profile,
                {t.key: t.value for t in di.tags or []},
            )
        )
    return out


def _artifacts(client, run_id, scratch, errors):
    """Return {relative path: sha256} for every artifact file of the run."""
    out = {}
    pending = [None]
    while pending:
        path = pending.pop()
        try:
            listing = client.list_artifacts(run_id, path)
        except Exception as e:
            errors.append(f"list_artifacts {run_id} {path!r}: {type(e).__name__}: {e}")
            continue
        for fi in listing:
            if fi.is_dir:
                pending.append(fi.path)
                continue
            try:
                dst = tempfile.mkdtemp(dir=scratch)
                local = client.download_artifacts(run_id, fi.path, dst)
                out[fi.path] = canon.sha256_file(local)
                size = os.path.getsize(local)
                if fi.file_size is not None and fi.file_size != size:
                    errors.append(
                        f"artifact {run_id} {fi.path!r}: listed size {fi.file_size}, "
                        f"downloaded {size} bytes"
                    )
            except Exception as e:
                errors.append(f"download_artifacts {run_id} {fi.path!r}: {type(e).__name__}: {e}")
    return out


def _canon_run(client, run, scratch, errors, with_history=True):
    data = run.data
    history = {}
    if with_history:
        for key in data.metrics:
            history[key] = [
                canon.metric_point(m.value, m.step, m.timestamp)
                for m in client.get_metric_history(run.info.run_id, key)
            ]
    artifacts = _artifacts(client, run.info.run_id, scratch, errors) if with_history else {}
    return canon.run(
        _run_info(run.info),
        dict(data.params),
        dict(data.tags),
        dict(data.metrics),
        history,
        artifacts,
        _inputs(run),
    )


def dump_client(client, page_size=100):
    """Dump everything MlflowClient can read. Returns (experiments, runs, errors)."""
    with tempfile.TemporaryDirectory(prefix="mlrun-dump-") as scratch:
        return _dump_client(client, page_size, scratch)


def _dump_client(client, page_size, scratch):
    from mlflow.entities import ViewType

    errors = []
    experiments = []
    runs = []
    exps = list(
        canon.paged(
            lambda tok: client.search_experiments(
                view_type=ViewType.ALL, max_results=page_size, page_token=tok
            )
        )
    )
    for e in exps:
        experiments.append(
            canon.experiment(e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.tags)
        )
        try:
            found = list(
                canon.paged(
                    lambda tok, eid=e.experiment_id: client.search_runs(
                        [eid], run_view_type=ViewType.ALL, max_results=page_size, page_token=tok
                    )
                )
            )
        except Exception as ex:
            errors.append(f"search_runs {e.experiment_id}: {type(ex).__name__}: {ex}")
            continue
        for sr in found:
            run_id = sr.info.run_id
            try:
                run = client.get_run(run_id)
                full = _canon_run(client, run, scratch, errors)
            except Exception as ex:
                errors.append(f"get_run {run_id}: {type(ex).__name__}: {ex}")
                traceback.print_exc(file=sys.stderr)
                continue
            # search_runs must describe the run exactly as get_run does.
            brief = _canon_run(client, sr, scratch, errors, with_history=False)
            for field, value in brief.items():
                if field not in ("metrics", "artifacts") and value != full[field]:
                    errors.append(
                        f"search_runs and get_run disagree on {run_id} {field}: "
                        f"{value!r} != {full[field]!r}"
                    )
            runs.append(full)
    return experiments, runs, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--out", required=True, help="output file, or - for stdout")
    ap.add_argument("--normalize-root", help="absolute store root to replace with <ROOT> in URIs")
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args(argv)

    with canon.WarningRecorder() as rec:
        rec.phase = "import"
        import mlflow
        from mlflow import MlflowClient

        rec.phase = None
        rec.attach()
        client = MlflowClient(tracking_uri=args.tracking_uri)
        experiments, runs, errors = dump_client(client, args.page_size)
    root = os.path.abspath(args.normalize_root) if args.normalize_root else None
    data = canon.finish(experiments, runs, root, rec.entries, errors)
    data["mlflow_version"] = mlflow.__version__
    canon.write_json(data, args.out)


if __name__ == "__main__":
    main()
