"""Times MLflow's Python client logging metric points to an MLflow server.

    python rest.py --uri http://127.0.0.1:5000 --mode batch|async [--keys 10 --steps 10000]

The workload is the one of reststore's TestRESTBench: for each step, one
point of each key (key m<i>, value i + step/1000). --mode batch sends it
with MlflowClient().log_batch in batches of 1,000 points; --mode async logs
every point with mlflow.log_metric(..., synchronous=False) and then waits
for MLflow's asynchronous queue (mlflow.flush_async_logging). The run is
created before the clock starts and ended after it stops.

Prints one JSON object: the MLflow version, the run id, the points logged,
and the wall-clock and CPU (process_time: every thread) seconds of the
logging.
"""

import argparse
import json
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric


def points(keys, steps):
    names = ["m%d" % i for i in range(keys)]
    for step in range(steps):
        for i, k in enumerate(names):
            yield k, i + step / 1000, step


def log_batch(uri, keys, steps):
    c = MlflowClient(tracking_uri=uri)
    rid = c.create_run("0").info.run_id
    t0, c0 = time.perf_counter(), time.process_time()
    batch = []
    for k, v, step in points(keys, steps):
        batch.append(Metric(k, v, int(time.time() * 1000), step))
        if len(batch) == 1000:
            c.log_batch(rid, metrics=batch)
            batch = []
    if batch:
        c.log_batch(rid, metrics=batch)
    t1, c1 = time.perf_counter(), time.process_time()
    c.set_terminated(rid)
    return rid, t1 - t0, c1 - c0


def log_async(uri, keys, steps):
    mlflow.set_tracking_uri(uri)
    run = mlflow.start_run()
    t0, c0 = time.perf_counter(), time.process_time()
    for k, v, step in points(keys, steps):
        mlflow.log_metric(k, v, step=step, synchronous=False)
    mlflow.flush_async_logging()
    t1, c1 = time.perf_counter(), time.process_time()
    mlflow.end_run()
    return run.info.run_id, t1 - t0, c1 - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--mode", choices=["batch", "async"], required=True)
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--steps", type=int, default=10000)
    args = ap.parse_args()
    f = log_batch if args.mode == "batch" else log_async
    rid, wall, cpu = f(args.uri, args.keys, args.steps)
    print(json.dumps({
        "mlflow": mlflow.__version__, "mode": args.mode, "run_id": rid,
        "points": args.keys * args.steps, "seconds": wall, "cpu_seconds": cpu,
    }))


if __name__ == "__main__":
    main()
