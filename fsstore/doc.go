// Package fsstore is a store.Store backed by an MLflow file store: an
// mlruns directory that MLflow's own FileStore (mlflow ui, MlflowClient,
// mlflow migrate-filestore) reads and writes too, in MLflow 2.x and 3.x.
//
// # Layout
//
// The on-disk format is MLflow's, byte for byte where MLflow is
// deterministic:
//
//	<root>/.trash/<exp_id>/...             deleted experiments
//	<root>/<exp_id>/meta.yaml              experiment (18-digit random ids; "0" is Default)
//	<root>/<exp_id>/tags/<key>             experiment tags, raw values
//	<root>/<exp_id>/datasets/<md5>/meta.yaml
//	<root>/<exp_id>/<run_id>/meta.yaml     run (uuid4 hex ids)
//	<root>/<exp_id>/<run_id>/metrics/<key> "<ts> <value> <step>\n" per point
//	<root>/<exp_id>/<run_id>/params/<key>  raw value, no newline
//	<root>/<exp_id>/<run_id>/tags/<key>    raw value, no newline
//	<root>/<exp_id>/<run_id>/artifacts/
//	<root>/<exp_id>/<run_id>/inputs/<md5>/meta.yaml
//
// Keys containing "/" become nested files. YAML is emitted as PyYAML's
// safe_dump(default_flow_style=False, allow_unicode=True, sort_keys=True)
// by internal/pyyaml; metric values are spelled as Python's str(float) by
// internal/pyfloat. Run meta.yaml files carry run_uuid next to run_id so
// that MLflow 2.x reads them (MLflow 3 dropped the key and ignores it).
//
// Reading is tolerant of everything MLflow versions wrote: int experiment
// ids, missing run_uuid or run_id, missing deleted_time, 2-, 3- and 5-field
// metric lines, an empty run_name (the mlflow.runName tag is used), extra
// keys (workspace, trace_location, ...), and non-run folders (tags,
// datasets, traces, models) in experiment directories. A meta.yaml that
// cannot be parsed or lacks a key MLflow requires is reported as
// store.ErrCorrupt, naming the file.
//
// # Concurrency and crash safety
//
// MLflow's FileStore takes no locks and writes files in place. fsstore is
// safe for many goroutines and many processes on one store, survives being
// killed at any point, and never shows MLflow readers a state they reject:
//
//   - Every meta.yaml, param and tag file is replaced atomically
//     (internal/atomicfile): a complete temporary file is renamed over
//     it. Temporary files are named ".<name>.tmp-<pid>-<random>" and live
//     next to meta.yaml (experiment and run directories, where MLflow
//     ignores files) or, for param and tag files, in the run directory,
//     never inside metrics/, params/ or tags/, where MLflow would take any
//     file for a key. Open removes those left by crashed processes.
//   - Durability: meta.yaml files are fsynced (file, rename, directory),
//     as are new metric files and new directories, so that even a power
//     failure cannot leave the empty meta.yaml or metric files MLflow
//     rejects. Metric appends, params and tags are not fsynced (MLflow
//     fsyncs nothing): a power failure may lose the latest of them, or
//     leave a param or tag empty, but never garbles a line. Everything
//     returned as done survives a crash of the process. Options.NoSync
//     turns all fsyncs off.
//   - Metric points are appended to a file opened with O_APPEND, so that
//     a line is whole or absent. The lines of one call go in few write(2)
//     calls, as safe as one per line: on a local file system concurrent
//     appends never interleave within one write(2), and the kernel cuts a
//     write short (when the process is killed, or the disk is full) only
//     at a page boundary, which no write crosses but in its first line.
//     (So, as with one write per line, a kill can only tear a line that
//     straddles a page boundary, if it comes while that line is being
//     copied; seen on tmpfs. The line was never acknowledged. Readers
//     skip it if it does not parse (MLflow fails on it) and take it for
//     a point if it does (as MLflow does). Before a process first appends
//     to a metric file, of a run or of a logged model, and whenever the
//     file grew behind its back, it checks that the file ends with '\n',
//     and if not cuts the torn line off, under the run's (or model's)
//     lock, so that new lines are never glued to it.) A metric file is
//     never empty: a new file is created with its first lines by
//     hard-linking a complete temporary file (MLflow rejects empty metric
//     files). Appends are not fsynced. The metric files last appended to
//     are kept open (a bounded number per Store, closed by Close), each
//     use checked by a stat that the path still names the open file;
//     every append also stats the run's meta.yaml, so a run deleted or
//     removed by another process is refused.
//   - New experiment, run, dataset and input directories become visible
//     complete, by rename. A run directory without meta.yaml breaks
//     MLflow's dataset listing (_search_datasets), and one without
//     metrics/, params/, artifacts/ is "not found" for get_run, so a
//     directory cannot be built in place. It is built in
//     <root>/.mlrun-staging.trash/ instead: MLflow's FileStore skips every
//     root directory whose name ends in ".trash" (_get_active_experiments),
//     migrate-filestore reads only all-digit root directories, the model
//     registry reads only models/, and the folder is on the same file
//     system as the store, so the final rename is atomic. (Building inside
//     the experiment directory under a temporary name would be listed as a
//     run; building in .trash would be listed as a deleted experiment.)
//   - Locks are flock(2) locks on lock FILES, placed where MLflow ignores
//     them: <root>/.mlrun.lock (MLflow lists only directories in the root)
//     serializes experiment creation and renames (so a name is unique even
//     across processes), experiment deletion and restoration, and the
//     publication of new runs; <run>/.mlrun.lock (next to meta.yaml)
//     serializes read-modify-write of the run's meta.yaml and the
//     check-then-write of params. Lock waits are bounded by
//     Options.LockTimeout and fail with store.ErrLocked. Lock order is
//     root, then run.
//   - Reads take no lock: a reader sees each file whole (writes are
//     renames or whole-line appends), as MLflow's readers do.
//
// # Read-only stores
//
// Options.ReadOnly opens a store on read-only media, or one the process may
// not write (another user's, an archive), as MLflow reads it: Open creates
// nothing and takes no lock (MLflow-written stores have no lock files, and
// a lock file cannot be created there), and every write method fails with
// store.ErrReadOnly before touching anything. A missing root is
// store.ErrNotFound ("no MLflow store at <root>").
//
// fsstore is for local file systems: flock and rename are not reliable
// over NFS.
package fsstore
