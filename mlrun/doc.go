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
// # Errors
//
// Every method returns an error rather than panic on misuse: a nil or zero
// Client or Run, a nil context, a nil image, a param value that contains
// itself. A Run remembers the first error of its logging methods:
// [Run.Err] reports it and [Run.End] returns it, so a training loop may
// log without checking every call:
//
//	for epoch := range epochs {
//		run.LogMetric(ctx, "loss", loss, mlrun.WithStep(int64(epoch)))
//	}
//	if err := run.End(ctx); err != nil { ... } // the first failed call, if any
//
// Input is checked whole before the first write: an invalid batch, a
// directory for LogArtifacts with one bad file name, a model with an
// invalid flavor or file name write nothing.
//
// # Options
//
// Every option type (Option, RunOption, MetricOption, InputOption,
// EndOption, ...) is a func(*config) error: each With* option checks its
// own arguments, and the call it is given to returns the first option's
// error before doing anything else. Options apply in order, so a later
// one wins; tag options merge their maps. A nil option is ignored. What
// one option cannot check alone (input tags, checked with their dataset;
// a run name against an mlflow.runName tag) is checked by the call.
//
// # Concurrency
//
// Client and Run are safe for concurrent use, and many processes may log
// to one store. The read-modify-writes of logging (LogTable appending
// rows, the mlflow.loggedArtifacts and mlflow.log-model.history tags) are
// atomic across goroutines and processes: tags through the store's
// store.RunTagUpdater, table files under a lock file kept next to the
// run's artifact directory, where no artifact listing shows it.
//
// # Artifacts
//
// Artifacts are written to and read from the run's artifact root through
// one writer for every backend. A local root (a file store, a SQLite
// store, an MLflow 2 server's file: URIs): every path is resolved inside
// it, symlinks included (os.Root), and one that leads outside it is
// ErrInvalidParameter; each file is written to a temporary file in its
// directory (a name the stores' stale-temp sweep recognises), fsynced,
// renamed, and the directory fsynced. A tracking server's root
// (mlflow-artifacts:, `mlflow server --serve-artifacts`): through the
// server's artifact proxy, over the REST store's transport.
// [Client.DownloadArtifacts] copies artifacts to a local directory from
// either.
// LogArtifacts and Model.Dir copy a local directory; a symlink in it that
// resolves inside it is copied as its target, and one that resolves
// outside it (or nowhere, or in a cycle) refuses the whole copy, naming
// the link, before anything is written.
//
// A SQLite store's artifacts go under its artifact root: [WithArtifactRoot]
// if given, else what MLflow 3.17.2's client uses, $_MLFLOW_SERVER_ARTIFACT_ROOT
// or ./mlruns of the current directory. To log the model of a run that has
// ended (the best run of a sweep), use [Client.LogModel]: the run's status
// and end time stay as they are.
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
// # Asynchronous logging
//
// [WithAsyncLogging] (or MLFLOW_ENABLE_ASYNC_LOGGING=true) makes a run's
// metric, param and tag calls check their input, queue it and return, as
// MLflow's synchronous=False; a goroutine writes the queue in order, in
// batches within MLflow's log-batch limits. [Run.Flush] and [Run.End]
// wait for it and return the first error of a write. A full queue makes
// a logging call wait for room, or for its ctx to end.
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
//	MLFLOW_ENABLE_ASYNC_LOGGING                   true or 1: runs log asynchronously
//	MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING          true or 1: runs log system metrics
//	MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL       seconds between samples (10)
//	MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING  samples averaged per step (1)
//	MLFLOW_SYSTEM_METRICS_NODE_ID                 system metrics are system/<id>/...
//	_MLFLOW_SERVER_ARTIFACT_ROOT  default artifact root of a SQLite store
//	                        (as MLflow 3; see WithArtifactRoot)
//	MLRUN_MODEL_LAYOUT      mlflow2 or mlflow3: how LogModel lays out
//	                        models (read once by Open; see ModelLayout)
//
// MLFLOW_EXPERIMENT_NAME and MLFLOW_EXPERIMENT_ID also choose the
// experiment Client.SearchRuns searches when given no experiment ids.
package mlrun
