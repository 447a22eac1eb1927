"""Times MLflow's search_runs on the store bench/searchbench made.

    python search.py --uri URI --experiment-id ID --filter F --order-by O --max-results N

Prints one JSON object with the best of --iters timings and the run ids
found, so scripts/bench.sh can check both sides return the same runs.
"""

import argparse
import json
import os
import time

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

from mlflow import MlflowClient  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--experiment-id", required=True)
    ap.add_argument("--filter", required=True)
    ap.add_argument("--order-by", required=True)
    ap.add_argument("--max-results", type=int, default=100)
    ap.add_argument("--iters", type=int, default=2)
    args = ap.parse_args()
    c = MlflowClient(tracking_uri=args.uri)
    best, ids = None, []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        runs = c.search_runs([args.experiment_id], args.filter, order_by=[args.order_by],
                             max_results=args.max_results)
        d = time.perf_counter() - t0
        best = d if best is None else min(best, d)
        ids = [r.info.run_id for r in runs]
    print(json.dumps({"search_s": best, "results": len(ids), "run_ids": ids}))


if __name__ == "__main__":
    main()
