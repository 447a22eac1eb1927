// Package mlrun is the user API of mlrun: log experiments, runs, params,
// metrics, tags, artifacts and dataset inputs from Go straight into an
// MLflow-compatible store (an mlruns directory or an MLflow SQLite file),
// with no server and no Python. The real `mlflow ui` opens the result.
//
// # Quick start
//
//	c, err := mlrun.Open(ctx) // MLFLOW_TRACKING_URI, or MLflow's default store
//	if err != nil { ... }
//	defer c.Close()
//	if _, err := c.SetExperiment(ctx, "ridge"); err != nil { ... }
//	run, err := c.StartRun(ctx, mlrun.WithRunName("alpha-0.1"))
//	if err != nil { ... }
//	defer run.End(ctx) // FINISHED, or FAILED if the function panics
//	run.LogParam(ctx, "alpha", 0.1)
//	run.LogMetric(ctx, "rmse", 0.42, mlrun.WithStep(1))
//
// # Tracking URI
//
// [Open] resolves the store the way MLflow does: the [WithTrackingURI]
// option, else the MLFLOW_TRACKING_URI environment variable, else MLflow's
// default since 3.7: ./mlruns when it already holds an experiment, otherwise
// sqlite:///mlflow.db. A file: URI or a plain path selects the mlruns file
// store; a sqlite: URI selects the SQLite store.
//
// # Datasets
//
// [DatasetFromRows], [DatasetFromColumns], [DatasetFromTensors],
// [DatasetFromCSV], [DatasetFromFile] and [DatasetFromSource] build the
// dataset mlflow.data's from_pandas, from_numpy and MetaDataset build from
// the same data (name, digest, source, schema, profile), for
// [Run.LogInput].
//
// # System metrics
//
// [WithSystemMetrics] (or MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true) logs
// the machine's CPU, memory, disk and network use while the run runs, as
// MLflow's SystemMetricsMonitor: system/cpu_utilization_percentage and the
// rest, every 10 s by default, until [Run.End].
//
// Figures are logged by the subpackage mlplot (gonum/plot).
//
// # Environment
//
//	MLFLOW_TRACKING_URI     the store to open
//	MLFLOW_EXPERIMENT_NAME  experiment for new runs (created if missing)
//	MLFLOW_EXPERIMENT_ID    experiment for new runs
//	MLFLOW_RUN_ID           StartRun resumes this run (once per process)
//	MLFLOW_TRACKING_USERNAME  the mlflow.user tag, else the OS user
//	MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING          true or 1: runs log system metrics
//	MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL       seconds between samples (10)
//	MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING  samples averaged per step (1)
//	MLFLOW_SYSTEM_METRICS_NODE_ID                 system metrics are system/<id>/...
package mlrun
