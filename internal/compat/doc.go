// Package compat is mlrun's compatibility harness against real MLflow: it
// proves that stores written by mlrun read in Python's mlflow exactly as if
// Python had logged them, and that mlrun reads stores Python wrote. It is
// internal: test helpers for mlrun's own packages, not part of its API.
//
// Both sides dump a store into one canonical JSON format (a [Snapshot],
// described in README.md) and the dumps are compared with [Compare]:
//
//   - [Dump] reads a store through the store.Store interface (Go side);
//   - py/dump.py reads it through mlflow.MlflowClient;
//   - py/rest_dump.py reads it through `mlflow server`'s REST API;
//   - py/gen_fixtures.py logs fixtures with real MLflow.
//
// The MLflow versions come from virtualenvs made by scripts/mlflow-venvs.sh
// ([Find], [Require]); [MLflow.StartServer] and [MLflow.MigrateFileStore]
// run the server and `mlflow migrate-filestore`.
package compat
