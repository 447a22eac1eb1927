// Package reststore is the store.Store backend for a team's MLflow
// tracking server: it speaks MLflow's REST API (/api/2.0/mlflow/...) over
// HTTP(S), so that the same Go code logs to `mlflow server` by changing
// only MLFLOW_TRACKING_URI to http(s)://host[:port][/prefix]. It also
// implements store.Registry and, on MLflow 3 servers, store.LoggedModels
// (HasLoggedModels asks GET /version once). Artifacts go through package
// artifactrepo, at the artifact URI the server gives each run.
//
// # Validation and errors
//
// Every call checks its arguments with the store package's rules, as the
// file and SQLite backends do, before sending anything. MLflow's error
// answers ({"error_code": ..., "message": ...}) become *Error values that
// match the store kinds with errors.Is: RESOURCE_DOES_NOT_EXIST is
// store.ErrNotFound, RESOURCE_ALREADY_EXISTS store.ErrAlreadyExists,
// INVALID_PARAMETER_VALUE store.ErrInvalidParameter (but a write to a
// deleted run or experiment, which MLflow reports with that code, is
// store.ErrInvalidState), INVALID_STATE store.ErrInvalidState. Where the
// server accepts what the store contract refuses, the store checks first
// (RestoreExperiment of an active experiment; finalizing, tagging or
// deleting a deleted logged model; linking an output the run already has).
//
// # Transport
//
// Authentication, TLS, timeouts and retries follow MLflow's Python client
// and its environment variables (internal/mlflowhttp):
// MLFLOW_TRACKING_USERNAME and _PASSWORD (Basic; ~/.mlflow/credentials as
// fallback), MLFLOW_TRACKING_TOKEN (Bearer), MLFLOW_TRACKING_INSECURE_TLS,
// MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH,
// MLFLOW_HTTP_REQUEST_TIMEOUT (120 s an attempt), _MAX_RETRIES (7),
// _BACKOFF_FACTOR (2 s) and _BACKOFF_JITTER (1 s), honouring Retry-After
// on 413, 429 and 503. A cancelled context stops a call at once, also
// during a backoff wait.
//
// # Retry policy
//
// MLflow's client retries every request, POST included. mlrun retries a
// request after a failure only when a repeat cannot change the outcome:
//
//   - Every request is retried when the server cannot have processed it:
//     the connection failed before the whole request was sent (refused,
//     reset while sending), or the server answered 429 or 503.
//   - Idempotent requests are also retried after a failure that may have
//     followed processing (a reset or timeout after sending, 408, 500
//     INTERNAL_ERROR, 502, 504): every GET and search; runs/update,
//     runs/delete and restore, set-tag calls, log-inputs, runs/outputs,
//     finalizing a logged model, registry updates, transitions, aliases
//     and tags; artifact uploads (a PUT of the same bytes); and
//     runs/log-batch. A log-batch is idempotent on MLflow's SQL store: a
//     metric point is its primary key (run, key, timestamp, step, value,
//     is_nan) and SqlAlchemyStore._log_metrics skips rows already stored,
//     a param logged again with the same value is accepted, and tags are
//     overwritten. So every point of a LogBatch that returned nil is
//     stored exactly once, even when its first answer was lost (proven by
//     this package's fault tests against real servers). On a server with
//     a file store backend a repeated batch would duplicate its points.
//   - Creations and other calls whose repeat would differ are not retried
//     once the request may have been processed: experiments/create,
//     runs/create, experiments/update (rename), experiments/delete and
//     restore, runs/delete-tag, registered-models/create, rename and
//     delete, model-versions/create and delete, logged-models create,
//     delete, delete-tag and params. Their error is returned; the caller
//     can look the entity up. They are sent on a new connection each, so
//     that a pooled connection the server closed while idle cannot make a
//     request that never arrived look possibly processed.
//
// # Differences from mlrun's local backends
//
// The server is MLflow's SQL store, with its behaviours (see
// storetest.Options and storetest.RegistryOptions, which the conformance
// tests set for it): metrics as storetest.SQLMetrics; GetMetricHistory ordered
// by (timestamp, step, value), not in logging order; a logged model's
// metric points are metrics of their run too (MLflow's API logs them with
// log-batch); MLflow 2 on SQLite compares a NaN as 0 in metric filters; on
// PostgreSQL experiment names are at most 256 characters, a logged-model
// filter comparing status with a string is an error, and concurrent
// transitions with archive_existing_versions can leave several versions in
// the stage; model-version sources are checked against their runs and the
// storage location is the server's to resolve.
package reststore
