// Package sqlstore is a store.Store backed by an MLflow SQLite tracking
// database: the file MLflow itself uses for a sqlite:///path.db tracking
// URI (MlflowClient, `mlflow ui`, `mlflow server`), in the schema of any
// MLflow release from 2.0.0 to 3.18.0 (package schema: 26 schemas, one per
// alembic head). What mlrun writes reads in MLflow as if MLflow had logged
// it, and mlrun reads what MLflow wrote.
//
// # Schemas
//
// The store consults the recorded description of the database's schema
// (schema.Schema: its tables and columns, schemacaps.go) and writes only
// what that release's SqlAlchemyStore writes: no workspace column before
// MLflow 3.10, no storage_location before 2.8, no alias rows before 2.3, no
// dataset inputs before 2.4, no logged models before 3.0. An operation the
// schema lacks fails with store.ErrInvalidState naming the release that
// introduced it, and a value longer than its column declares (params before
// 2.8, run tags before 2.17, experiment tags before 3.16, model version tags
// before 3.0.1) is store.ErrInvalidParameter, as that release's validation
// had the column's length as its limit. The deliberate behaviour below is
// checked against 2.22.5 and 3.17.2; other releases are checked for
// reading and writing runs, metrics and the registry (versions_test.go).
//
// # Opening
//
// [Open] creates the schema in a missing or empty file (Options.MLflowVersion,
// default the newest supported release) and otherwise detects the release
// from the file's alembic revision, on a read-only connection, before
// anything is written: a file that is not an MLflow database, is damaged,
// or is at a revision mlrun does not know is refused and left unchanged.
// Only the columns and tables of the detected schema are written. mlrun
// never migrates a schema; `mlflow db upgrade` does.
//
// # Semantics
//
// Every operation follows MLflow's SqlAlchemyStore (mlflow/store/tracking/
// sqlalchemy_store.py of the supported releases), with the error kinds of
// the store package:
//
//   - experiment ids are SQLite rowids (the largest id plus one); the
//     default artifact location is <root>/<id>, a run's artifact_uri is
//     <experiment location>/<run id>/artifacts; run ids are uuid4 hex;
//   - runs get status, source_type UNKNOWN and empty source columns as
//     create_run writes them, and the mlflow.runName tag is kept equal to
//     runs.name;
//   - metric values are stored as MLflow stores them: NaN as 0 with
//     is_nan = 1, ±Inf as ±1.7976931348623157e308 (which is what reads
//     back), and -0.0 reads back as 0.0 because SQLite stores an integral
//     REAL as an integer. A point whose key, timestamp, step and stored
//     value equal a stored one is the same row (the table's primary key)
//     and is dropped, as MLflow drops it;
//   - latest_metrics holds, per run and key, the point with the greatest
//     (step, timestamp, stored value), replaced only by a strictly greater
//     one, as _update_latest_metrics_if_necessary maintains it: a NaN counts
//     as 0 there (MLflow's file store compares NaN as Python does; see
//     store.Supersedes). LogBatch finds each key's newest point of the
//     batch in Go and writes one conditional upsert per key and batch;
//   - params are immutable (same value: no-op; another value:
//     store.ErrInvalidParameter with MLflow's message), tags are upserts;
//   - deleting or restoring an experiment does the same to every one of
//     its runs, deleted_time included;
//   - datasets are shared per experiment by (name, digest), and linked to
//     a run once, with their input tags;
//   - searches (filter strings, order_by, page tokens, view types) are
//     checked and translated to SQL by package store/search, which follows
//     MLflow 3.17.2's SQL store: metric clauses read latest_metrics, a NaN
//     metric satisfies only !=, run_name filters the mlflow.runName tag,
//     LIKE is case-sensitive, and the next page token is set when more
//     results follow.
//
// MLflow 3 schemas (3.17.2) also hold logged models (store.LoggedModels,
// loggedmodel.go): the logged_models, logged_model_params,
// logged_model_tags and logged_model_metrics rows and the run outputs in
// inputs that MLflow 3.17.2's SQL store writes, with its rules where they
// differ from its file store's (every metric point is kept and read back,
// a model param is never overwritten, searches run as MLflow's SQL). A
// 2.22.5 schema has no logged models: HasLoggedModels reports false and
// those methods fail with store.ErrInvalidState, so mlrun logs models
// there in the MLflow 2 layout.
//
// These rules are checked row by row against MLflow itself: the tests run
// the same calls through MlflowClient and through mlrun and compare the
// two databases, and MLflow reads what mlrun wrote (and mlrun what MLflow
// wrote) identically.
//
// Where mlrun differs from MLflow's SQL store it is stricter, never looser:
// a LogBatch is one transaction (MLflow commits params, metrics and tags
// separately); GetMetricHistory returns a metric's points in logging order
// (MLflow 3 sorts them by timestamp, step and value; MLflow 2.22.5 returns
// them in index order); logging to a deleted run or creating a run in a
// deleted experiment is store.ErrInvalidState (MLflow:
// INVALID_PARAMETER_VALUE), and restoring an active or deleting a deleted
// experiment is store.ErrInvalidState (MLflow: RESOURCE_DOES_NOT_EXIST), as
// in mlrun's file store. On MLflow 2.22.5 schemas mlrun also keeps to
// MLflow 3's behaviour where 2.22.5 fails or mixes experiments: 2.22.5
// rejects (after committing its params) a batch holding two points that
// are the same stored row, such as +Inf and 1.7976931348623157e308 at one
// step and timestamp, or a NaN point equal to a stored one, where mlrun
// drops the duplicate; and 2.22.5 links a run to a dataset of the same
// name and digest recorded in another experiment, where mlrun records the
// dataset in the run's experiment.
//
// # Journal mode and durability
//
// MLflow keeps SQLite's default rollback journal and commits with
// synchronous=FULL (two or more fsyncs per transaction, readers blocked
// while a writer commits). [Open] switches the database to WAL
// (journal_mode=WAL, which is persistent in the file) and commits with
// synchronous=NORMAL:
//
//   - a committed transaction survives a crash or SIGKILL of the process at
//     any point; a power failure or OS crash may roll back the last
//     transactions, but never corrupts the database (Options.SyncFull makes
//     every commit durable, at the cost of an fsync per transaction);
//   - readers (mlrun, MLflow, `mlflow ui`) never wait for a writer, and a
//     LogBatch costs no fsync, only checkpoints do; a commit checkpoints
//     the log when it reaches 10,000 pages (about 40 MB), so the -wal file
//     grows to that size while the database is in use;
//   - MLflow (any SQLite client) opens a WAL database transparently, while
//     mlrun writes and after; it needs write access to the directory for the
//     -wal and -shm files, even to read;
//   - Close checkpoints the log into the database (PRAGMA
//     wal_checkpoint(TRUNCATE)) when no other connection is in the way; the
//     last connection to close removes the -wal and -shm files.
//
// Options.KeepJournalMode keeps the file's journal mode (a new file: the
// rollback journal) with synchronous=FULL, for a file something that cannot
// use WAL shares.
//
// # Concurrency
//
// A Store is safe for concurrent use by goroutines, and any number of
// processes (mlrun or MLflow) may use the file at once. SQLite admits one
// writer at a time: every write is a transaction begun with BEGIN
// IMMEDIATE (it takes the write lock at once, so it never fails half-way
// for a lock), the goroutines of a Store queue for it in Go, other
// processes wait in SQLite for up to Options.BusyTimeout (default 20 s, as
// MLflow), and a transaction that still finds the database busy is retried
// with jittered exponential backoff until that time is spent, when it
// fails with store.ErrLocked. Reads run in read transactions and see one
// consistent snapshot.
//
// # File systems
//
// SQLite's locking and WAL's shared memory need a local file system. Do not
// put the database on NFS, SMB or other network file systems (nor on a
// file system shared between a container and its host through a virtual
// file system without POSIX locks): locks may not work, so concurrent
// writers can corrupt the file, and WAL may not open at all. Use an MLflow
// tracking server for shared setups, as MLflow recommends.
//
// # Read-only files
//
// Open refuses a file the process may not write (or whose directory it may
// not write, where SQLite keeps its journal) with an error saying so;
// Options.ReadOnly opens such a file for reading, without writing anything
// to it, and every write then fails with store.ErrReadOnly (a kind of
// store.ErrInvalidState). A read-only store never creates the database: a
// missing file is store.ErrNotFound ("no MLflow store at <path>").
//
// SQLite's readers of a WAL database (which mlrun leaves its databases in)
// need a -shm file next to it: in a writable directory SQLite creates it
// (and an empty -wal), for a read-only store as for MLflow. Where the
// directory is not writable (read-only media, another user's directory)
// and no -wal or -journal file holds changes not yet in the file, a
// read-only store opens the file with SQLite's immutable=1 instead, which
// needs no other file: a writer in another process is then not seen.
package sqlstore
