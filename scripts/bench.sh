#!/usr/bin/env bash
# Side-by-side speed of mlrun (Go, through the public API) and MLflow's Python
# client, on the same workload in one run: one metric per call, and batches
# of 1,000 points, on the file store and on SQLite: "sqlite" is mlrun's
# default (WAL, synchronous=NORMAL: a commit survives the process being
# killed, not a power failure), "sqlite-full" fsyncs every commit as MLflow's
# own SQLite sessions do (both against the same Python figures).
#
#   ./scripts/bench.sh            all backends
#   BACKENDS=file ./scripts/bench.sh
#   BENCH_PY_ARGS="--calls 300 --batches 10" ./scripts/bench.sh   (a shorter Python side)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/mlflow-venvs.sh)"
version=${BENCH_MLFLOW_VERSION:-${MLRUN_MLFLOW_VERSIONS##* }}
py="$MLRUN_MLFLOW_VENVS/venv-$version/bin/python"
backends=${BACKENDS:-file sqlite sqlite-full}

gojson=$(mktemp)
trap 'rm -f "$gojson"' EXIT
pattern=$(printf '%s|' $backends); pattern=${pattern%|}
go test -run='^$' -bench="^(BenchmarkLogMetric|BenchmarkLogBatch1000)$/^($pattern)$" -benchtime=2s -count=1 ./bench/ | tee "$gojson" >&2

for be in $backends; do
	pyout=$("$py" bench/py/bench.py --backend "${be%-full}" ${BENCH_PY_ARGS:-})
	go_call=$(awk -v b="BenchmarkLogMetric/$be" '$1 ~ "^"b"(-[0-9]+)?$" {print $3}' "$gojson")
	go_batch=$(awk -v b="BenchmarkLogBatch1000/$be" '$1 ~ "^"b"(-[0-9]+)?$" {print $3}' "$gojson")
	python3 - "$be" "$go_call" "$go_batch" "$pyout" <<'PY'
import json, sys
be, go_call, go_batch, py = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
pc, pb = py["log_metric_s"] * 1e9, py["log_batch_1000_s"] * 1e9
print(f"{be:11s} log_metric: mlrun {go_call/1e3:9.1f} µs  MLflow {py['mlflow']} {pc/1e3:9.1f} µs  ratio {pc/go_call:7.1f}x")
print(f"{be:11s} batch 1000: mlrun {go_batch/1e3:9.1f} µs  MLflow {py['mlflow']} {pb/1e3:9.1f} µs  ratio {pb/go_batch:7.1f}x  ({1000/(go_batch/1e9):,.0f} points/s)")
PY
done
