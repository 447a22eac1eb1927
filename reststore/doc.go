// Package reststore is the store.Store backend for a team's MLflow
// tracking server: it speaks MLflow's REST API (/api/2.0/mlflow/...) over
// HTTP(S), so that the same Go code logs to `mlflow server` by changing
// only MLFLOW_TRACKING_URI to http(s)://host[:port][/prefix].
package reststore
