"""Times MLflow's Python client on the workload of mlrun's Go benchmarks.

    python bench.py --backend file|sqlite --calls N --batches K

Prints one JSON object: seconds per log_metric call and per log_batch of
1,000 points, with the MLflow version. The store lives in a temp dir.
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["file", "sqlite"], default="file")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--batches", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if args.backend == "file":
            uri = "file://" + os.path.join(d, "mlruns")
        else:
            uri = "sqlite:///" + os.path.join(d, "mlflow.db")
        c = MlflowClient(tracking_uri=uri)
        run = c.create_run("0")
        rid = run.info.run_id
        for i in range(20):  # warm-up
            c.log_metric(rid, "warm", float(i), timestamp=1700000000000, step=i)
        t0 = time.perf_counter()
        for i in range(args.calls):
            c.log_metric(rid, "loss", i * 0.001, timestamp=1700000000000, step=i)
        per_call = (time.perf_counter() - t0) / args.calls

        step = 0
        t0 = time.perf_counter()
        for _ in range(args.batches):
            batch = []
            for _ in range(1000):
                batch.append(Metric("loss_b", step * 0.001, 1700000000000, step))
                step += 1
            c.log_batch(rid, metrics=batch)
        per_batch = (time.perf_counter() - t0) / args.batches
    print(json.dumps({
        "mlflow": mlflow.__version__, "backend": args.backend,
        "log_metric_s": per_call, "log_batch_1000_s": per_batch,
        "calls": args.calls, "batches": args.batches,
    }))


if __name__ == "__main__":
    main()
