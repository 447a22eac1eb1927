package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/mlrun-go/mlrun/internal/mlflowuri"
	"github.com/mlrun-go/mlrun/internal/storegate"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
)

// DefaultBusyTimeout is how long a statement waits for a lock held by
// another connection before it fails, when Options.BusyTimeout is zero. It
// is MLflow's own value (PRAGMA busy_timeout = 20000 on every session).
const DefaultBusyTimeout = 20 * time.Second

// Options configure a Store. A nil *Options means the defaults.
type Options struct {
	// MLflowVersion is the MLflow release whose schema a NEW database gets
	// (any of schema.Versions: 2.0.0 to 3.18.0); "" means schema.Latest().
	// An existing database keeps the schema it has (detected from its
	// alembic revision; Store.MLflowVersion reports it), and the store
	// writes only what that schema's MLflow writes; but a database newer
	// than MLflowVersion, which that MLflow cannot open, is refused
	// (schema.ErrVersionMismatch). An older one is accepted: that MLflow
	// upgrades it in place when it opens it.
	MLflowVersion string

	// ArtifactRoot is the default artifact root MLflow would be started
	// with: experiments created without an explicit location get
	// <ArtifactRoot>/<experiment id>, runs <experiment location>/<run
	// id>/artifacts. "" means MLflow's client default, "./mlruns" made
	// absolute against the current directory (schema.DefaultArtifactRoot).
	// A relative path is made absolute the same way.
	ArtifactRoot string

	// BusyTimeout bounds each wait for the database lock held by another
	// connection or process (SQLite's busy_timeout). Zero means
	// DefaultBusyTimeout. A write that cannot get the lock in time, after
	// a few retries, fails with store.ErrLocked.
	BusyTimeout time.Duration

	// KeepJournalMode leaves the database in the journal mode it has
	// (a new database: MLflow's rollback journal, journal_mode=DELETE)
	// instead of switching it to WAL, and commits with synchronous=FULL.
	// Use it when something that cannot use WAL shares the file; writes are
	// then much slower and readers wait for writers.
	KeepJournalMode bool

	// SyncFull fsyncs the write-ahead log at every commit
	// (synchronous=FULL), so that a committed transaction also survives a
	// power failure or OS crash. By default (synchronous=NORMAL) commits
	// survive a crash of the process but the last ones may be rolled back
	// by a power failure; the database stays consistent either way.
	SyncFull bool

	// ReadOnly opens an existing database for reading only: nothing is
	// written to the file (not even the journal mode or a missing Default
	// experiment), and every write method fails with an error wrapping
	// store.ErrReadOnly (a kind of store.ErrInvalidState) before any check
	// of the request. Open then also works on a file the process may not
	// write. A missing file is store.ErrNotFound ("no MLflow store at
	// <path>"), and nothing is created.
	ReadOnly bool

	hooks *hooks // deterministic clock and ids, for tests
}

// hooks replace the clock and id generators in tests.
type hooks struct {
	now     func() int64
	newUUID func() string
}

// Store is an MLflow SQLite tracking database. It is safe for concurrent use
// by multiple goroutines and by multiple processes sharing the file on a
// local file system.
type Store struct {
	path         string // absolute path of the database file
	version      string // MLflow version of the schema
	revision     string // alembic revision of the schema
	schema       schema.Schema
	artifactRoot string // root that default experiment locations derive from
	readOnly     bool
	journalMode  string // journal mode in effect, e.g. "wal"
	features     features
	busyTimeout  time.Duration
	db           *sql.DB
	now          func() int64  // ms since the epoch
	newUUID      func() string // run, dataset and input ids (uuid4 hex)

	// writeSem serialises this Store's write transactions. SQLite admits
	// one writer per file at a time anyway; queueing the goroutines of
	// this process here (where a waiter wakes up as soon as the lock is
	// free, and gives up when its context ends) keeps them out of
	// SQLite's sleeping busy handler, which is left to arbitrate between
	// processes.
	writeSem chan struct{}

	// txSem bounds the transactions open at once to one less than the
	// connection pool's size. A transaction that prepares a statement not
	// yet cached (stmt) needs a second connection for a moment; with every
	// connection held by such a transaction, they would all wait forever.
	txSem chan struct{}

	// gate admits operations (each holds it for its whole duration, so
	// Close waits for the operations in flight) and checks their requests.
	gate *storegate.Gate

	// stmts caches prepared statements by SQL text.
	stmts struct {
		sync.Mutex                      // guards m
		m          map[string]*sql.Stmt // SQL text -> statement prepared on db
	}
}

var _ store.Store = (*Store)(nil)

// Open opens the MLflow SQLite database at path, creating it if needed.
//
//   - A missing file, an empty (0-byte) file, or a SQLite database without
//     any table gets the schema of Options.MLflowVersion, with the Default
//     experiment, in one transaction (see package schema). The parent
//     directory is created if missing, as MLflow does.
//   - An existing database is first opened read-only and its alembic
//     revision detected (schema.Detect). A file that is not an MLflow
//     database (schema.ErrNotMLflow: not SQLite, corrupt, or other tables)
//     or whose revision is not the head of a supported MLflow release
//     (schema.ErrUnsupportedRevision) is refused, and the file is left
//     byte-for-byte unchanged.
//   - A file the process may not write (or in a directory it may not
//     write, where SQLite keeps its journal) is refused unless
//     Options.ReadOnly is set.
//
// Then, unless Options.ReadOnly or Options.KeepJournalMode, the database is
// switched to WAL (see the package documentation).
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	requested := o.MLflowVersion
	if o.MLflowVersion == "" {
		o.MLflowVersion = schema.Latest()
	}
	if _, err := schema.Revision(o.MLflowVersion); err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, store.Invalidf("sqlstore: open %q: want the path of a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	root := o.ArtifactRoot
	if root == "" {
		root = mlflowuri.DefaultLocalArtifactPath
	}
	if root, err = mlflowuri.ResolveIfLocal(root); err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: artifact root %q: %w", abs, o.ArtifactRoot, err)
	}
	s := &Store{
		path:         abs,
		artifactRoot: root,
		readOnly:     o.ReadOnly,
		gate:         storegate.New("sqlstore", abs, o.ReadOnly),
		now:          store.NowMillis,
		newUUID:      store.NewRunID,
		writeSem:     make(chan struct{}, 1),
		txSem:        make(chan struct{}, poolSize()-1),
		busyTimeout:  o.BusyTimeout,
	}
	if h := o.hooks; h != nil {
		s.now, s.newUUID = h.now, h.newUUID
	}
	s.stmts.m = map[string]*sql.Stmt{}
	if err := s.open(ctx, &o, requested); err != nil {
		if s.db != nil {
			s.db.Close()
		}
		return nil, err
	}
	return s, nil
}

// open does the work of Open; requested is the MLflow version the caller
// asked for, "" if none.
func (s *Store) open(ctx context.Context, o *Options, requested string) error {
	info, statErr := os.Stat(s.path)
	switch {
	case statErr == nil && info.IsDir():
		return fmt.Errorf("sqlstore: open %s: is a directory", s.path)
	case statErr != nil && !errors.Is(statErr, os.ErrNotExist):
		return fmt.Errorf("sqlstore: open %s: %w", s.path, statErr)
	}
	exists := statErr == nil
	if !exists && o.ReadOnly {
		return fmt.Errorf("sqlstore: open %s read-only: %w", s.path, store.NoStoreAt(s.path))
	}

	if exists && !o.ReadOnly {
		if err := checkWritable(s.path, true); err != nil {
			return fmt.Errorf("sqlstore: open %s: %w (use Options.ReadOnly to read it)", s.path, err)
		}
	}
	// Detect first, on a read-only connection, so that a file we refuse
	// is never written to.
	create := !exists || info.Size() == 0
	if !create {
		version, revision, err := s.detect(ctx, o, true)
		if isCode(err, sqliteReadOnlyRollback) && !o.ReadOnly {
			// A hot journal left by a writer that crashed (rollback
			// journal mode): only a read-write connection may roll it
			// back, which any SQLite client does on first access, and
			// which restores the last committed state.
			version, revision, err = s.detect(ctx, o, false)
		}
		if err == nil && requested != "" {
			sc, _ := schema.ForRevision(revision)
			err = schema.CheckVersion(sc, requested)
		}
		switch {
		case err == nil:
			s.version, s.revision = version, revision
		case errors.Is(err, errNoTables) && !o.ReadOnly:
			create = true
		default:
			return s.openErr(err)
		}
	}
	if o.ReadOnly {
		if create {
			return s.openErr(fmt.Errorf("%w: the file is empty (Options.ReadOnly creates no schema)", schema.ErrNotMLflow))
		}
		db, err := openDB(s.path, o, true)
		if err != nil {
			return s.openErr(err)
		}
		s.db = db
		if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&s.journalMode); err != nil {
			return s.openErr(s.mapErr(err))
		}
		return s.loadFeatures(ctx)
	}

	if create {
		if err := os.MkdirAll(filepath.Dir(s.path), 0o777); err != nil {
			return fmt.Errorf("sqlstore: open %s: %w", s.path, err)
		}
	}
	if !exists {
		if err := checkWritable(s.path, false); err != nil {
			return fmt.Errorf("sqlstore: open %s: %w", s.path, err)
		}
	}
	db, err := openDB(s.path, o, false)
	if err != nil {
		return fmt.Errorf("sqlstore: open %s: %w", s.path, err)
	}
	s.db = db
	if create {
		if err := s.create(ctx, o); err != nil {
			return err
		}
	}
	if err := s.setJournalMode(ctx, o); err != nil {
		return err
	}
	if err := s.loadFeatures(ctx); err != nil {
		return err
	}
	return s.ensureDefaultExperiment(ctx)
}

// errNoTables is returned by detect for a valid SQLite database without
// tables, which Open initialises like an empty file.
var errNoTables = errors.New("database has no tables")

// detect reads the schema version of an existing file on a read-only
// connection (mode=ro, which never writes to the file), or, with readOnly
// false, on a read-write one.
func (s *Store) detect(ctx context.Context, o *Options, readOnly bool) (version, revision string, err error) {
	db, err := openDB(s.path, o, readOnly)
	if err == nil {
		defer db.Close()
		var n int
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
		if err == nil && n == 0 {
			return "", "", errNoTables
		}
	}
	switch {
	case err == nil:
		return schema.Detect(ctx, db)
	case isCode(err, sqliteReadOnlyRollback):
		return "", "", err
	case isCode(err, sqliteNotADB) || isCode(err, sqliteCorrupt):
		return "", "", fmt.Errorf("%w: the file is not a SQLite database, or is damaged: %w", schema.ErrNotMLflow, err)
	}
	return "", "", s.mapErr(err)
}

// openErr wraps an error of Open.
func (s *Store) openErr(err error) error {
	return fmt.Errorf("sqlstore: open %s: %w", s.path, err)
}

// create initialises an empty database. Two processes creating the same
// file race; the loser finds the schema in place and detects it instead.
func (s *Store) create(ctx context.Context, o *Options) error {
	err := s.retry(ctx, func() error { return schema.Create(ctx, s.db, o.MLflowVersion, s.artifactRoot) })
	if errors.Is(err, schema.ErrNotEmpty) {
		version, revision, err := schema.Detect(ctx, s.db)
		if err == nil && o.MLflowVersion != "" {
			sc, _ := schema.ForRevision(revision)
			err = schema.CheckVersion(sc, o.MLflowVersion)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: open %s: %w", s.path, err)
		}
		s.version, s.revision = version, revision
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create MLflow %s database %s: %w", o.MLflowVersion, s.path, s.mapErr(err))
	}
	s.version = o.MLflowVersion
	s.revision, _ = schema.Revision(o.MLflowVersion)
	return nil
}

// setJournalMode switches the database to WAL (unless KeepJournalMode) and
// records the mode in effect.
func (s *Store) setJournalMode(ctx context.Context, o *Options) error {
	var mode string
	err := s.retry(ctx, func() error { return s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode) })
	if err == nil && !o.KeepJournalMode && !strings.EqualFold(mode, "wal") {
		err = s.retry(ctx, func() error { return s.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode) })
	}
	if err != nil {
		return fmt.Errorf("sqlstore: open %s: set journal mode: %w", s.path, s.mapErr(err))
	}
	mode = strings.ToLower(mode)
	if !o.KeepJournalMode && mode != "wal" {
		return fmt.Errorf("sqlstore: open %s: PRAGMA journal_mode = WAL left the database in mode %q "+
			"(WAL needs a local file system and shared memory; use Options.KeepJournalMode)", s.path, mode)
	}
	s.journalMode = mode
	return nil
}

// loadFeatures records what the schema has, from its recorded description
// (the revision was checked to be a supported head before). A store that
// lost a creation race learns its revision here.
func (s *Store) loadFeatures(ctx context.Context) error {
	if s.revision == "" {
		version, revision, err := schema.Detect(ctx, s.db)
		if err != nil {
			return s.openErr(err)
		}
		s.version, s.revision = version, revision
	}
	sc, ok := schema.ForRevision(s.revision)
	if !ok {
		return s.openErr(fmt.Errorf("%w: revision %s", schema.ErrUnsupportedRevision, s.revision))
	}
	s.schema, s.features = sc, featuresOf(sc)
	return nil
}

// ensureDefaultExperiment recreates experiment 0 where MLflow's store would
// on start-up: MLflow 2.x when there is no experiment at all, MLflow 3.x
// whenever experiment 0 is missing (e.g. after `mlflow gc`).
func (s *Store) ensureDefaultExperiment(ctx context.Context) error {
	q := "SELECT count(*) FROM experiments WHERE experiment_id = 0"
	if s.features.mlflow2 {
		q = "SELECT count(*) FROM experiments"
	}
	var n int
	err := s.read(ctx, "open", func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, q).Scan(&n) })
	if err != nil || n > 0 {
		return err // the common case: no write lock taken
	}
	return s.write(ctx, "create the Default experiment", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil || n > 0 {
			return err
		}
		loc, err := schema.ExperimentArtifactLocation(s.artifactRoot, store.DefaultExperimentID)
		if err != nil {
			return err
		}
		now := s.now()
		cols := "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time"
		args := []any{0, store.DefaultExperimentName, loc, store.LifecycleActive, now, now}
		if s.features.experimentWorkspace {
			cols += ", workspace"
			args = append(args, defaultWorkspace)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO experiments ("+cols+") VALUES (?, ?, ?, ?, ?, ?"+
			strings.Repeat(", ?", len(args)-6)+")", args...)
		return err
	})
}

// walAutocheckpointPages is the size of the write-ahead log, in 4 KiB
// pages, at which a commit copies it into the database (SQLite's default
// is 1000). Checkpointing less often copies a page that many commits
// rewrite (the last leaf of each metric index) once instead of many times
// and costs fewer fsyncs: batch logging is about a quarter faster. The -wal
// file grows to about 40 MB while the database is in use.
const walAutocheckpointPages = 10000

// defaultWorkspace is the workspace of everything MLflow writes in
// single-tenant mode.
const defaultWorkspace = "default"

// poolSize is the number of connections of a Store's pool.
func poolSize() int { return max(4, runtime.GOMAXPROCS(0)) }

// openDB opens a connection pool on the file. Every connection gets
// MLflow's session pragmas (foreign_keys, busy_timeout) and, for writers,
// BEGIN IMMEDIATE transactions and the synchronous level.
func openDB(path string, o *Options, readOnly bool) (*sql.DB, error) {
	q := []string{
		"_pragma=busy_timeout(" + fmt.Sprint(o.BusyTimeout.Milliseconds()) + ")",
		"_pragma=foreign_keys(1)",
	}
	switch {
	case readOnly && o.ReadOnly && checkWritable(path, true) == nil:
		// A read-only store in a writable place: read-write connections
		// that refuse every write (query_only). A reader of a WAL
		// database makes the -wal and -shm files; a mode=ro connection
		// leaves them behind, a read-write one removes them when the
		// last connection closes, so that reading creates nothing.
		q = append(q, "_pragma=query_only(1)")
	case readOnly:
		q = append(q, "mode=ro")
		if o.ReadOnly && immutable(path) {
			q = append(q, "immutable=1")
		}
	default:
		// Write transactions take the write lock when they begin: a
		// deferred transaction that upgrades to a writer fails at once
		// with SQLITE_BUSY (the busy handler is not called) when another
		// connection wrote in between.
		q = append(q, "_txlock=immediate")
		sync := "NORMAL"
		if o.SyncFull || o.KeepJournalMode {
			sync = "FULL"
		}
		q = append(q, "_pragma=synchronous("+sync+")",
			"_pragma=wal_autocheckpoint("+fmt.Sprint(walAutocheckpointPages)+")")
	}
	db, err := sql.Open("sqlite", fileURI(path)+"?"+strings.Join(q, "&"))
	if err != nil {
		return nil, err
	}
	n := poolSize()
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// immutable reports whether a read-only store opens the database at path
// with SQLite's immutable=1, which reads the file without any locking or
// shared-memory file: when the directory is not writable (read-only media,
// or another user's directory), where SQLite could not create the -shm
// file a reader of a WAL database needs (and fails to open the database
// otherwise), and no -wal or -journal file holds changes not yet in the
// database file (then only an ordinary read-only open sees them). SQLite
// trusts such a file not to change: a writer in another process, which
// would need write access to the directory, is not seen, and may make
// reads fail.
func immutable(path string) bool {
	if dirWritable(path) {
		return false
	}
	for _, suffix := range []string{"-wal", "-journal"} {
		if info, err := os.Stat(path + suffix); err == nil && info.Size() > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// fileURI returns the SQLite URI of a file path: "file:" followed by the
// path with the characters that URIs reserve percent-encoded.
func fileURI(path string) string {
	var b strings.Builder
	b.WriteString("file:")
	p := filepath.ToSlash(path)
	if filepath.VolumeName(path) != "" {
		b.WriteByte('/') // file:/C:/dir/x.db
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// MLflowVersion returns the MLflow release whose schema the database has:
// the one a new database was created for, else the newest release with the
// database's alembic head (Schema lists them all).
func (s *Store) MLflowVersion() string { return s.version }

// Schema returns the database's schema: its alembic head, the MLflow
// releases that share it, and its tables and columns.
func (s *Store) Schema() schema.Schema { return s.schema }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// JournalMode returns the journal mode of the database ("wal", or, with
// Options.KeepJournalMode or Options.ReadOnly, what the file has).
func (s *Store) JournalMode() string { return s.journalMode }

// Close checkpoints the write-ahead log into the database file, so that the
// -wal file is empty for readers that come later, and releases the
// connections. Operations after Close fail with store.ErrClosed; a second
// Close does nothing.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		if !s.readOnly && s.journalMode == "wal" {
			s.checkpoint()
		}
		s.stmts.Lock()
		for _, st := range s.stmts.m {
			st.Close()
		}
		s.stmts.m = nil
		s.stmts.Unlock()
		return s.db.Close()
	})
}

// checkpoint copies the write-ahead log into the database and truncates it,
// if no other connection is in the way: with other processes writing it
// gives up after a short wait (they checkpoint in turn; the last connection
// to close removes the log).
func (s *Store) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 200"); err != nil {
		return
	}
	// The pool is closed right after, so the changed busy_timeout does
	// not outlive this.
	var busy, logFrames, checkpointed int
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
}

// enter starts an operation that reads, through the store's gate
// (storegate.Gate.Enter): it fails on a nil or done ctx, after Close, or
// with the first error of the request's checks. The caller must call leave
// when done.
func (s *Store) enter(ctx context.Context, checks ...error) error {
	return s.gate.Enter(ctx, checks...)
}

// enterWrite is enter for an operation that writes: it also fails on a
// store opened with Options.ReadOnly, before the request's checks.
func (s *Store) enterWrite(ctx context.Context, checks ...error) error {
	return s.gate.EnterWrite(ctx, checks...)
}

func (s *Store) leave() { s.gate.Leave() }

// stmt returns the prepared statement for query, preparing it once.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmts.Lock()
	defer s.stmts.Unlock()
	if st, ok := s.stmts.m[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts.m[query] = st
	return st, nil
}

// txStmt returns the prepared statement for query, bound to tx.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// write runs fn in a write transaction (BEGIN IMMEDIATE) and commits it.
// An error of fn rolls the transaction back and is returned as it is,
// unless the database was busy, in which case the whole transaction is
// retried (see retry).
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSem }()
	err := s.retry(ctx, func() error { return s.runTx(ctx, nil, fn) })
	if err != nil {
		return s.opErr(op, err)
	}
	return nil
}

// read runs fn in a read transaction, which sees one consistent snapshot of
// the database.
func (s *Store) read(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	err := s.retry(ctx, func() error { return s.runTx(ctx, &sql.TxOptions{ReadOnly: true}, fn) })
	if err != nil {
		return s.opErr(op, err)
	}
	return nil
}

func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	select {
	case s.txSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.txSem }()
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// opErr returns err for operation op: store errors as they are, driver
// errors mapped (see mapErr) and prefixed with the operation.
func (s *Store) opErr(op string, err error) error {
	var se *store.Error
	if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, kind := range []error{store.ErrNotFound, store.ErrAlreadyExists, store.ErrInvalidParameter, store.ErrInvalidState} {
		if errors.Is(err, kind) {
			return err
		}
	}
	return fmt.Errorf("sqlstore: %s: %w", op, s.mapErr(err))
}

// SQLite result codes the store handles (sqlite3.h).
const (
	sqliteBusy              = 5
	sqliteLocked            = 6
	sqliteReadOnly          = 8
	sqliteCorrupt           = 11
	sqliteCantOpen          = 14
	sqliteConstraint        = 19
	sqliteNotADB            = 26
	sqliteReadOnlyRollback  = 8 | 3<<8 // SQLITE_READONLY_ROLLBACK
	sqliteReadOnlyDirectory = 8 | 6<<8 // SQLITE_READONLY_DIRECTORY
	sqliteConstraintPK      = 19 | 6<<8
	sqliteConstraintUnique  = 19 | 8<<8
)

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isCode reports whether err has the SQLite result code c: an extended code
// matches exactly, a primary code matches every extended code it has.
func isCode(err error, c int) bool {
	got := sqliteCode(err)
	if got == 0 {
		return false
	}
	if c > 0xff {
		return got == c
	}
	return got&0xff == c
}

// isBusy reports whether err means the database was locked by another
// connection.
func isBusy(err error) bool { return isCode(err, sqliteBusy) || isCode(err, sqliteLocked) }

// mapErr turns driver errors into errors of the store's kinds where one
// applies: a lock not obtained in time is store.ErrLocked, a damaged file
// store.ErrCorrupt; the file being read-only gets a clear message.
func (s *Store) mapErr(err error) error {
	switch {
	case isBusy(err):
		return store.Errorf(store.ErrLocked, "database %s is locked by another connection; gave up after waiting (busy timeout): %w", s.path, err)
	case isCode(err, sqliteCorrupt) || isCode(err, sqliteNotADB):
		return store.Errorf(store.ErrCorrupt, "database file %s is damaged: %w", s.path, err)
	case isCode(err, sqliteReadOnlyDirectory):
		return fmt.Errorf("the directory of database %s is not writable, and SQLite must create its -wal and -shm "+
			"(or journal) files there, even to read a WAL database: %w", s.path, err)
	case isCode(err, sqliteReadOnly):
		return fmt.Errorf("database %s is read-only (file, directory or mount not writable): %w", s.path, err)
	case isCode(err, sqliteCantOpen):
		return fmt.Errorf("cannot open database %s or its journal (check that the file and its directory are writable): %w", s.path, err)
	}
	return err
}
