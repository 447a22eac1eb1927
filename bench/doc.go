// Package bench holds mlrun's side-by-side benchmarks against MLflow's
// Python client: the Go half is the Benchmark functions in this package's
// tests (through the public mlrun API, as a user logs), the Python half is
// py/bench.py, and scripts/bench.sh runs both in one go and prints ratios.
package bench
