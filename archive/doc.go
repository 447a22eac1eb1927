// Package archive moves MLflow tracking data between stores: it exports
// a store (an mlruns directory or an MLflow SQLite database) to an archive
// file, imports an archive into a store of either kind, converts stores
// into one another (several merged into one), and removes deleted
// entities as `mlflow gc` does. Sync (and SyncArchive) push runs logged
// offline to an MLflow tracking server, where run ids cannot be chosen:
// see Sync and SourceRunIDTag. The mlrun command (cmd/mlrun: export,
// import, convert, sync, gc) is a thin layer over it.
//
// What moves: experiments (with their tags and lifecycle stage), runs
// (info, params, tags, dataset inputs, model outputs, the full history of
// every metric with its timestamps and steps), run artifacts, MLflow 3
// logged models (tags, params, metric points, artifacts) and the model
// registry (registered models, versions with their numbers, stages,
// aliases and tags). Run ids, names, times, statuses, logged model ids and
// version numbers are kept. What MLflow itself does not show is not
// moved: deleted logged models and deleted model versions.
//
// # Mapping
//
// Run ids are global (uuid4) and kept. Experiment ids belong to a store:
// an imported experiment is matched by name (MLflow's names are unique),
// else created with the id it had if that id is free (and an integer, in
// a SQLite store), else with a new id; the Default experiment "0" is
// matched by name like any other. Runs and logged models keep their ids
// and move under the mapped experiment. Artifacts go to the destination's
// default layout (<experiment location>/<run id>/artifacts, ...), and the
// run's artifact_uri says so; a model version's source or storage
// location that pointed into the source store's artifacts is rewritten to
// the same place in the destination. Merging stores with disjoint run ids
// gives their union; importing the same data again changes nothing; an
// entity with the same id and other content (a conflict) is reported and
// never overwritten.
//
// # Safety
//
// An import reads its input twice: first to check all of it (checksums,
// format, structure, and every entity against the destination, writing
// nothing), then to write. Any error found in the first pass leaves the
// destination unchanged. Each entity is written complete or not at all
// (store.Importer). Archive members are never extracted as links, and no
// file is written outside the artifact directory of its run or model
// (os.Root). Memory stays flat however large the store: entities stream
// one by one, metric histories in chunks.
//
// # Archive format (version 1)
//
// A gzip-compressed tar stream of regular files, each with its SHA-256 in
// a PAX header record (MLRUN.sha256):
//
//	mlrun-archive.json                  format, format_version, mlrun_version, created, source kind
//	records/000001.jsonl                entity records, one JSON object a line, at most ~1 MiB a member
//	artifacts/runs/<run id>/<path>      a run's artifact file, after the run's records
//	artifacts/models/<model id>/<path>  a logged model's artifact file
//	records/000002.jsonl                ...
//	SHA256SUMS                          "<sha256>  <member>" for every member before it (sha256sum -c)
//	manifest.json                       format_version, counts of every kind, members, SHA-256 of SHA256SUMS
//
// Records come in the order of an entity stream: every experiment, then
// each run (a "run" record, its history in "metrics" records of at most
// 1,000 [timestamp, value, step] points, key by key, a "run_end" record
// with the count of points, then its artifact files), each logged model
// (metric points inline, then its files), each registered model followed
// by its versions. Metric values are JSON numbers, or "NaN", "Infinity",
// "-Infinity". A reader refuses an archive that is truncated, whose
// content does not match a checksum, of another format version, with an
// unknown field or member, or whose counts do not match its manifest.
package archive
