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
// The schema files are recorded from databases created by the real MLflow
// releases (scripts/record-schemas.sh runs each release's own
// SqlAlchemyStore, from its wheel) and compared with them by
// TestSchemaGolden and, where a virtualenv of the release is installed,
// TestSchemaIdentity; see generate_test.go and record.py.
//
// Supported versions: every MLflow release from 2.0.0 to 3.18.0. Releases
// share a schema when they share an alembic head revision ([Schemas] lists
// them: 26 heads for 98 releases); a database of one head belongs to all of
// its releases. Each schema carries the tables and columns it has
// ([Schema.HasTable], [Schema.HasColumn]), which sqlstore consults to write
// only what the database's own MLflow would.
//
// MLflow refuses a database whose revision is not exactly its own head:
// MLflow upgrades an older database in place when it opens it (a later
// release can never be used on it again), and refuses a newer one ("Can't
// locate revision identified by ..."). mlrun never migrates: it writes a
// database at the schema it has, and [CheckVersion] refuses a database newer
// than the release asked for.
package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
	"github.com/mlrun-go/mlrun/sqlstore/internal/schemafp"
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
	// ErrVersionMismatch is returned by [CheckVersion] (inside a
	// *MismatchError) for a database whose schema is newer than the MLflow
	// release asked for.
	ErrVersionMismatch = errors.New("database schema is newer than the requested MLflow release's")
)

// defaultVersion is the release a new database gets when none is asked for:
// the newest release the tests run for real in full (internal/compat/mlflow-versions.txt).
// 3.18.0 (tested as mlflow-skinny: the full mlflow 3.18.0 cannot be
// installed from PyPI yet) is created on request.
const defaultVersion = "3.17.2"

// DefaultExperimentID and DefaultExperimentName identify the experiment MLflow
// creates in every new database.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// Versions returns every supported MLflow release, oldest first.
func Versions() []string {
	var out []string
	for _, b := range bundles {
		out = append(out, b.releases...)
	}
	slices.SortFunc(out, compareVersions)
	return out
}

// Latest returns the MLflow release a new database gets by default: 3.17.2,
// the newest release whose full MLflow the tests run (3.18.0 is supported
// on request: its SQL store is tested through mlflow-skinny 3.18.0, but
// `pip install mlflow==3.18.0` does not resolve yet).
func Latest() string { return defaultVersion }

// Schema is the SQLite schema of the MLflow releases that share one alembic
// head revision.
type Schema struct {
	// Version is the release the schema was recorded from: the newest
	// of Releases.
	Version string
	// Revision is the alembic head revision.
	Revision string
	// Releases are the MLflow releases with this head, oldest first.
	Releases []string
	// RecordedWith names the SQLAlchemy and alembic versions MLflow ran
	// with when the schema was recorded.
	RecordedWith string

	b *bundle
}

func (b *bundle) schema() Schema {
	return Schema{Version: b.version, Revision: b.revision, Releases: slices.Clone(b.releases),
		RecordedWith: b.recorded, b: b}
}

// Schemas returns the supported schemas, oldest first.
func Schemas() []Schema {
	out := make([]Schema, len(bundles))
	for i, b := range bundles {
		out[i] = b.schema()
	}
	return out
}

// Lookup returns the schema of a supported MLflow release.
func Lookup(version string) (Schema, error) {
	b, err := lookup(version)
	if err != nil {
		return Schema{}, err
	}
	return b.schema(), nil
}

// ForRevision returns the schema whose head is revision.
func ForRevision(revision string) (Schema, bool) {
	for _, b := range bundles {
		if b.revision == revision {
			return b.schema(), true
		}
	}
	return Schema{}, false
}

// Tables returns the names of the schema's tables, sorted.
func (s Schema) Tables() []string {
	if s.b == nil {
		return nil
	}
	out := make([]string, 0, len(s.b.tables))
	for t := range s.b.tables {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// HasTable reports whether the schema has the table.
func (s Schema) HasTable(table string) bool {
	_, ok := s.table(table)
	return ok
}

// Columns returns the columns of a table in order, or nil if the schema has
// no such table.
func (s Schema) Columns(table string) []string {
	cols, _ := s.table(table)
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// HasColumn reports whether the schema's table has the column.
func (s Schema) HasColumn(table, column string) bool {
	_, ok := s.column(table, column)
	return ok
}

// ColumnType returns the declared type of a column ("VARCHAR(500)",
// "TEXT", ...), or "" if the schema has no such column.
func (s Schema) ColumnType(table, column string) string {
	c, _ := s.column(table, column)
	return c.Type
}

// ColumnLength returns the length a column declares, n in VARCHAR(n) (or
// CHAR(n)), or 0 for a column without one (TEXT, INTEGER, ...) or a missing
// column.
func (s Schema) ColumnLength(table, column string) int {
	c, _ := s.column(table, column)
	t := strings.ToUpper(c.Type)
	open, closing := strings.IndexByte(t, '('), strings.IndexByte(t, ')')
	if !strings.Contains(t, "CHAR") || open < 0 || closing < open {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(t[open+1 : closing]))
	if err != nil {
		return 0
	}
	return n
}

// Knows reports whether revision is one of the schema's alembic revisions
// (its head or an older one): its MLflow releases can upgrade a database at
// that revision to their own schema.
func (s Schema) Knows(revision string) bool {
	return s.b != nil && slices.Contains(s.b.chain, revision)
}

func (s Schema) table(name string) ([]schemafp.Column, bool) {
	if s.b == nil {
		return nil, false
	}
	cols, ok := s.b.tables[name]
	return cols, ok
}

func (s Schema) column(table, column string) (schemafp.Column, bool) {
	cols, _ := s.table(table)
	for _, c := range cols {
		if c.Name == column {
			return c, true
		}
	}
	return schemafp.Column{}, false
}

// supportedRange describes the supported releases in a few words.
func supportedRange() string {
	v := Versions()
	return fmt.Sprintf("MLflow %s to %s, %d releases with %d schemas", v[0], v[len(v)-1], len(v), len(bundles))
}

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
	// UpgradeWith lists the schemas' recorded versions (see [Schema])
	// whose `mlflow db upgrade` knows Revision (it is older than their
	// head), oldest first; it is empty for a revision unknown to every
	// supported version, typically one written by a newer MLflow.
	UpgradeWith []string
}

func (e *RevisionError) Error() string {
	if len(e.UpgradeWith) > 0 {
		return fmt.Sprintf("MLflow database schema is at alembic revision %s, an intermediate "+
			"revision that is the head of no MLflow release (an interrupted migration, or a "+
			"partial downgrade); mlrun does not write to it: back up the database, then run "+
			"'mlflow db upgrade <database_uri>' with MLflow %s", e.Revision, upgradeHint(e.UpgradeWith))
	}
	return fmt.Sprintf("MLflow database schema is at alembic revision %s, which this version "+
		"of mlrun does not know (it supports %s); the database was probably written by a "+
		"newer MLflow: upgrade mlrun, or use a database created or upgraded "+
		"('mlflow db upgrade <database_uri>') with a supported MLflow release",
		e.Revision, supportedRange())
}

// upgradeHint names the oldest release of the first schema that knows a
// revision, and the newest supported one.
func upgradeHint(versions []string) string {
	if len(versions) == 1 {
		return versions[0]
	}
	return versions[0] + " (or any later release up to " + versions[len(versions)-1] + ")"
}

// Is reports whether target is ErrUnsupportedRevision.
func (e *RevisionError) Is(target error) bool { return target == ErrUnsupportedRevision }

// Detect reads the alembic revision of an existing MLflow database and maps it
// to the supported schema it has: version is the schema's recorded release,
// the newest with that head (see [ForRevision] for all of them). It only
// reads.
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

// MismatchError reports a database whose schema is newer than the MLflow
// release asked for: that release does not know its head revision and cannot
// open it. It matches ErrVersionMismatch with errors.Is.
type MismatchError struct {
	// Requested is the release asked for.
	Requested string
	// Found is the schema the database has.
	Found Schema
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("the database has the schema of MLflow %s (alembic head %s), newer than "+
		"MLflow %s, which cannot open it (\"Can't locate revision\"); mlrun does not downgrade "+
		"databases: open it without asking for a version, or read it with MLflow %s",
		releaseList(e.Found.Releases), e.Found.Revision, e.Requested, releaseList(e.Found.Releases))
}

// Is reports whether target is ErrVersionMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrVersionMismatch }

// releaseList names releases compactly: "3.15.0, 3.15.1 or 3.15.2", or
// "2.8.0 to 2.12.2 (16 releases)".
func releaseList(rs []string) string {
	switch {
	case len(rs) == 0:
		return "(none)"
	case len(rs) == 1:
		return rs[0]
	case len(rs) <= 4:
		return strings.Join(rs[:len(rs)-1], ", ") + " or " + rs[len(rs)-1]
	}
	return fmt.Sprintf("%s to %s (%d releases)", rs[0], rs[len(rs)-1], len(rs))
}

// CheckVersion reports whether a database with schema found may be used by
// MLflow release requested: nil if it is that release's schema, or an older
// one (which that release upgrades in place when it opens the database,
// while mlrun keeps writing it as it is); a *MismatchError if it is newer
// (its head unknown to requested); ErrUnsupportedVersion for an unsupported
// release.
func CheckVersion(found Schema, requested string) error {
	want, err := Lookup(requested)
	if err != nil {
		return err
	}
	if want.Knows(found.Revision) {
		return nil
	}
	return &MismatchError{Requested: requested, Found: found}
}
