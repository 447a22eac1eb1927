// Package schema creates and recognises MLflow's SQLite tracking database,
// one schema per supported MLflow release.
//
// A database made by [Create] is the database that release of MLflow makes
// on first use of a sqlite:/// tracking URI (SqlAlchemyStore start-up, which
// runs InitialBase.metadata.create_all and `alembic upgrade heads`, then
// inserts the Default experiment; the model registry store adds nothing):
//
//   - the same tables, columns, types, defaults, constraints (named and
//     unnamed), indexes, foreign keys and triggers, created from the very SQL
//     text MLflow's migrations left in sqlite_master, so that text is
//     byte-identical to a database MLflow created (MLflow's own output varies
//     between runs in the order of the CHECK clauses of "runs" and the order
//     in which indexes are created; we replay one such run);
//   - alembic_version holding the release's head revision, so MLflow accepts
//     the file without migrating it, and a later `mlflow db upgrade` finds the
//     names its migrations expect;
//   - the seed rows: experiment 0 "Default" (and, for MLflow ≥ 3.10, the
//     "default" workspace row and workspace='default').
//
// The schema files are generated from databases created by the real MLflow
// releases and compared with them by TestSchemaIdentity; see generate_test.go.
//
// Supported versions and their alembic head revisions:
//
//	MLflow 2.22.5  0584bdc529eb
//	MLflow 3.17.2  dc11669786a5
//
// A database for one version must only be used with that MLflow version or a
// newer one: MLflow 3.17.2 silently upgrades a 2.22.5 database in place when
// it opens it, while MLflow 2.22.5 refuses a 3.17.2 database ("Can't locate
// revision identified by 'dc11669786a5'").
package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mlrun-go/mlrun/sqlstore/internal/mlflowuri"
)

var (
	// ErrUnsupportedVersion is returned by [Create] and [Revision] for an MLflow
	// version this package has no schema for.
	ErrUnsupportedVersion = errors.New("unsupported MLflow version")
	// ErrNotEmpty is returned by [Create] when the database already holds
	// schema objects.
	ErrNotEmpty = errors.New("database is not empty")
	// ErrNotMLflow is returned by [Detect] for a file that is not an MLflow
	// database: not SQLite at all, corrupt, empty, or without a usable
	// alembic_version table.
	ErrNotMLflow = errors.New("not an MLflow database")
	// ErrUnsupportedRevision is returned by [Detect] (inside a *RevisionError)
	// for an MLflow database whose alembic revision is not the head of a
	// supported version.
	ErrUnsupportedRevision = errors.New("unsupported MLflow schema revision")
)

// DefaultExperimentID and DefaultExperimentName identify the experiment MLflow
// creates in every new database.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// Versions returns the supported MLflow versions, oldest first.
func Versions() []string {
	out := make([]string, len(bundles))
	for i, b := range bundles {
		out[i] = b.version
	}
	return out
}

// Latest returns the newest supported MLflow version.
func Latest() string { return bundles[len(bundles)-1].version }

// Revision returns the alembic head revision of a supported MLflow version.
func Revision(version string) (string, error) {
	b, err := lookup(version)
	if err != nil {
		return "", err
	}
	return b.revision, nil
}

// DefaultArtifactRoot returns the artifact root MLflow's client uses for a
// sqlite:/// tracking URI when none is configured: "./mlruns" made absolute
// against the current directory of the process (not the directory of the
// database), e.g. "/home/me/project/mlruns" ("file:///C:/project/mlruns" on
// Windows). This is the rule of both MLflow 2.22.5 and 3.17.2
// (mlflow/tracking/_tracking_service/utils.py, _get_sqlalchemy_store, with
// DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH = "./mlruns" from
// mlflow/store/tracking/__init__.py). Note that `mlflow server` uses other
// defaults ("mlflow-artifacts:/" when it serves artifacts); pass those
// explicitly to [Create].
func DefaultArtifactRoot() (string, error) { return mlflowuri.DefaultArtifactRoot() }

// ExperimentArtifactLocation returns the artifact_location MLflow's SQL store
// gives an experiment created without an explicit location:
// append_to_uri_path(resolve_uri_if_local(artifactRoot), experimentID). An
// empty artifactRoot means [DefaultArtifactRoot]. For example
// ("/data/mlruns", "0") gives "/data/mlruns/0", ("mlruns", "0") gives
// "<cwd>/mlruns/0" and ("s3://bucket/root", "0") gives "s3://bucket/root/0".
func ExperimentArtifactLocation(artifactRoot, experimentID string) (string, error) {
	root := artifactRoot
	if root == "" {
		root = mlflowuri.DefaultLocalArtifactPath
	}
	resolved, err := mlflowuri.ResolveIfLocal(root)
	if err != nil {
		return "", err
	}
	return mlflowuri.AppendPath(resolved, experimentID)
}

// Create initialises an empty SQLite database with the schema and seed rows
// of MLflow version (see [Versions]), in one transaction: on error nothing is
// left behind. artifactRoot is the default artifact root MLflow would have
// been started with; experiment 0 gets artifact_location
// ExperimentArtifactLocation(artifactRoot, "0"). Pass "" for MLflow's client
// default ([DefaultArtifactRoot]).
//
// Create refuses (ErrNotEmpty) a database that already holds any schema
// object; use [Detect] for existing databases. It does not create the
// artifact directory (MLflow 2.22.5 creates a local root directory when its
// store starts; MLflow 3.x creates it lazily on the first artifact).
//
// The database should be a file opened with the modernc.org/sqlite driver
// ("sqlite"); Create sets no pragma and keeps the default rollback journal, as
// MLflow does. Two processes calling Create on the same new file race: one of
// them fails with ErrNotEmpty or SQLITE_BUSY.
func Create(ctx context.Context, db *sql.DB, version, artifactRoot string) error {
	b, err := lookup(version)
	if err != nil {
		return err
	}
	location, err := ExperimentArtifactLocation(artifactRoot, DefaultExperimentID)
	if err != nil {
		return fmt.Errorf("default experiment artifact location: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit

	var names []string
	rows, err := tx.QueryContext(ctx, "SELECT type || ' ' || name FROM sqlite_master ORDER BY rowid LIMIT 6")
	if err != nil {
		return fmt.Errorf("reading sqlite_master: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading sqlite_master: %w", err)
	}
	if len(names) > 0 {
		if len(names) > 5 {
			names = append(names[:5], "...")
		}
		return fmt.Errorf("%w: it already contains %s; Create only initialises a new, empty database",
			ErrNotEmpty, strings.Join(names, ", "))
	}

	for _, s := range b.stmts {
		if _, err := tx.ExecContext(ctx, s.sql); err != nil {
			return fmt.Errorf("creating MLflow %s schema, %s %s: %w", b.version, s.kind, s.name, err)
		}
	}
	if err := insertDefaultExperiment(ctx, tx, b, location); err != nil {
		return err
	}
	return tx.Commit()
}

// insertDefaultExperiment inserts experiment 0 the way
// SqlAlchemyStore._create_default_experiment does.
func insertDefaultExperiment(ctx context.Context, tx *sql.Tx, b *bundle, location string) error {
	now := time.Now().UnixMilli()
	values := map[string]any{
		"experiment_id":     0,
		"name":              DefaultExperimentName,
		"artifact_location": location,
		"lifecycle_stage":   "active",
		"creation_time":     now,
		"last_update_time":  now,
		"workspace":         "default",
	}
	args := make([]any, len(b.expColumns))
	for i, c := range b.expColumns {
		v, ok := values[c]
		if !ok {
			return fmt.Errorf("MLflow %s schema: no value for experiments column %q", b.version, c)
		}
		args[i] = v
	}
	q := "INSERT INTO experiments (" + strings.Join(b.expColumns, ", ") + ") VALUES (?" +
		strings.Repeat(", ?", len(args)-1) + ")"
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("inserting the Default experiment: %w", err)
	}
	return nil
}

// RevisionError reports an MLflow database at an alembic revision that is not
// the head of a supported MLflow version. It matches ErrUnsupportedRevision
// with errors.Is.
type RevisionError struct {
	// Revision is the revision found in alembic_version.
	Revision string
	// UpgradeWith lists the supported MLflow versions whose
	// `mlflow db upgrade` knows Revision (it is older than their head); it is
	// empty for a revision unknown to every supported version, typically one
	// written by a newer MLflow.
	UpgradeWith []string
}

func (e *RevisionError) Error() string {
	if len(e.UpgradeWith) > 0 {
		return fmt.Sprintf("MLflow database schema is at alembic revision %s, an older schema "+
			"that mlrun does not write to; back up the database, then run "+
			"'mlflow db upgrade <database_uri>' with MLflow %s to bring it to a supported revision",
			e.Revision, strings.Join(e.UpgradeWith, " or "))
	}
	var heads []string
	for _, b := range bundles {
		heads = append(heads, b.revision+" (MLflow "+b.version+")")
	}
	return fmt.Sprintf("MLflow database schema is at alembic revision %s, which this version "+
		"of mlrun does not know (it supports %s); the database was probably written by a "+
		"newer MLflow: upgrade mlrun, or use a database created or upgraded "+
		"('mlflow db upgrade <database_uri>') with a supported MLflow release",
		e.Revision, strings.Join(heads, ", "))
}

// Is reports whether target is ErrUnsupportedRevision.
func (e *RevisionError) Is(target error) bool { return target == ErrUnsupportedRevision }

// Detect reads the alembic revision of an existing MLflow database and maps it
// to the supported MLflow version whose schema it has. It only reads.
//
// Errors: ErrNotMLflow (wrapping the driver error, if any) for a file that is
// not SQLite, is corrupt, is empty, has no alembic_version table, or has not
// exactly one revision in it; a *RevisionError (ErrUnsupportedRevision) for a
// revision that is not the head of a supported version, telling the user to
// run `mlflow db upgrade` or to upgrade mlrun.
func Detect(ctx context.Context, db *sql.DB) (version, revision string, err error) {
	var tables []string
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return "", "", fmt.Errorf("%w: cannot read the SQLite schema (the file is not a SQLite "+
			"database, or is corrupt): %w", ErrNotMLflow, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", "", fmt.Errorf("%w: %w", ErrNotMLflow, err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", "", fmt.Errorf("%w: cannot read the SQLite schema (the file is not a SQLite "+
			"database, or is corrupt): %w", ErrNotMLflow, err)
	}
	switch {
	case len(tables) == 0:
		return "", "", fmt.Errorf("%w: the database is empty (no tables)", ErrNotMLflow)
	case !slices.Contains(tables, "alembic_version") && slices.Contains(tables, "experiments"):
		return "", "", fmt.Errorf("%w: the database has MLflow-like tables but no alembic_version "+
			"table; it was not initialised by a supported MLflow release, or its initialisation "+
			"was interrupted", ErrNotMLflow)
	case !slices.Contains(tables, "alembic_version"):
		shown := tables
		if len(shown) > 5 {
			shown = append(shown[:5:5], "...")
		}
		return "", "", fmt.Errorf("%w: no alembic_version table (tables: %s)", ErrNotMLflow,
			strings.Join(shown, ", "))
	}

	var revs []string
	rows, err = db.QueryContext(ctx, "SELECT version_num FROM alembic_version")
	if err != nil {
		return "", "", fmt.Errorf("%w: reading alembic_version: %w", ErrNotMLflow, err)
	}
	for rows.Next() {
		var r sql.NullString
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return "", "", fmt.Errorf("%w: reading alembic_version: %w", ErrNotMLflow, err)
		}
		revs = append(revs, r.String)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", "", fmt.Errorf("%w: reading alembic_version: %w", ErrNotMLflow, err)
	}
	if len(revs) != 1 {
		return "", "", fmt.Errorf("%w: alembic_version holds %d revisions (%s), expected exactly one",
			ErrNotMLflow, len(revs), strings.Join(revs, ", "))
	}
	rev := revs[0]
	for _, b := range bundles {
		if b.revision == rev {
			return b.version, rev, nil
		}
	}
	e := &RevisionError{Revision: rev}
	for _, b := range bundles {
		if slices.Contains(b.chain, rev) {
			e.UpgradeWith = append(e.UpgradeWith, b.version)
		}
	}
	return "", rev, e
}
