package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/sqlstore/internal/schemafp"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// fingerprint returns the schema fingerprint of a database file, without
// rows and without the journal mode.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	db := rawDB(t, path)
	fp, err := schemafp.Fingerprint(ctx, db, schemafp.Options{NoRows: true})
	must(t, err)
	var keep []string
	for _, l := range strings.Split(fp, "\n") {
		if !strings.Contains(l, "journal_mode") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestOpenNewDatabase checks that Open creates the exact schema of the
// requested release (the one schema.Create makes), in WAL mode, with the
// Default experiment under the artifact root.
func TestOpenNewDatabase(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "dir", "mlflow.db") // parent directories are created
			root := t.TempDir()
			s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: root})
			must(t, err)
			if got := s.MLflowVersion(); got != v {
				t.Errorf("MLflowVersion = %q, want %q", got, v)
			}
			if got := s.JournalMode(); got != "wal" {
				t.Errorf("JournalMode = %q, want wal", got)
			}
			e, err := s.GetExperiment(ctx, "0")
			must(t, err)
			if e.Name != "Default" || e.ArtifactLocation != root+"/0" || e.LifecycleStage != "active" {
				t.Errorf("Default experiment = %+v", e)
			}
			must(t, s.Close())
			if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
				t.Errorf("-wal file left after Close: %v", err)
			}

			ref := filepath.Join(t.TempDir(), "ref.db")
			refDB := rawDB(t, ref)
			must(t, schema.Create(ctx, refDB, v, root))
			if got, want := fingerprint(t, path), fingerprint(t, ref); got != want {
				t.Errorf("schema differs from schema.Create's:\n%s", storetest.FirstDiff(got, want))
			}
			db := rawDB(t, path)
			if got := queryStrings(t, db, "PRAGMA journal_mode"); len(got) != 1 || got[0] != "wal" {
				t.Errorf("journal_mode on disk = %v, want wal", got)
			}
			rev, _ := schema.Revision(v)
			if got := queryStrings(t, db, "SELECT version_num FROM alembic_version"); len(got) != 1 || got[0] != rev {
				t.Errorf("alembic_version = %v, want %s", got, rev)
			}
		})
	}
}

// TestOpenEmptyFile checks that an existing empty file, and a SQLite
// database without tables, get the schema.
func TestOpenEmptyFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	must(t, os.WriteFile(empty, nil, 0o644))
	s := openAt(t, empty, "2.22.5")
	if s.MLflowVersion() != "2.22.5" {
		t.Errorf("version %q", s.MLflowVersion())
	}
	noTables := filepath.Join(dir, "notables.db")
	db := rawDB(t, noTables)
	_, err := db.Exec("PRAGMA user_version = 7")
	must(t, err)
	must(t, db.Close())
	s = openAt(t, noTables, "3.17.2")
	if _, err := s.GetExperiment(ctx, "0"); err != nil {
		t.Error(err)
	}
}

// TestOpenExistingKeepsVersion checks that an existing database keeps its
// release when Options.MLflowVersion names a newer one (a database newer
// than the version asked for is refused), and that only its schema's
// columns are written.
func TestOpenExistingKeepsVersion(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mlflow.db")
			s := openAt(t, path, v)
			must(t, s.Close())
			other := versions[0]
			if other == v {
				other = versions[len(versions)-1]
			}
			if other < v { // a newer database than the version asked for: refused
				_, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: other, ArtifactRoot: t.TempDir()})
				if !errors.Is(err, schema.ErrVersionMismatch) {
					t.Fatalf("Open(%s database as %s) = %v, want ErrVersionMismatch", v, other, err)
				}
				other = ""
			}
			s2, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: other, ArtifactRoot: t.TempDir()})
			must(t, err)
			defer s2.Close()
			if got := s2.MLflowVersion(); got != v {
				t.Errorf("reopened as %q, want %q", got, v)
			}
			id, err := s2.CreateExperiment(ctx, "e", "", nil)
			must(t, err)
			db := rawDB(t, path)
			ws := queryStrings(t, db, "SELECT name FROM pragma_table_info('experiments') WHERE name = 'workspace'")
			if hasWS := len(ws) == 1; hasWS != (v != "2.22.5") {
				t.Errorf("workspace column present = %v for %s", hasWS, v)
			}
			if len(ws) == 1 {
				if got := queryStrings(t, db, "SELECT workspace FROM experiments WHERE experiment_id = ?", id); len(got) != 1 || got[0] != "default" {
					t.Errorf("workspace = %v", got)
				}
			}
		})
	}
}

// badFile is a file Open must refuse without changing it.
type badFile struct {
	name string
	make func(t *testing.T, path string)
	kind error // what the error must match
}

var badFiles = []badFile{
	{"unknown revision", func(t *testing.T, path string) {
		mlflowDB(t, path, "3.17.2")
		execRaw(t, path, "UPDATE alembic_version SET version_num = 'ffffffffffff'")
	}, schema.ErrUnsupportedRevision},
	{"older revision", func(t *testing.T, path string) {
		mlflowDB(t, path, "2.22.5")
		execRaw(t, path, "UPDATE alembic_version SET version_num = '89d4b8295536'")
	}, schema.ErrUnsupportedRevision},
	{"non-MLflow SQLite", func(t *testing.T, path string) {
		execRaw(t, path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO notes (body) VALUES ('hello')")
	}, schema.ErrNotMLflow},
	{"MLflow tables without alembic_version", func(t *testing.T, path string) {
		mlflowDB(t, path, "3.17.2")
		execRaw(t, path, "DROP TABLE alembic_version")
	}, schema.ErrNotMLflow},
	{"text file", func(t *testing.T, path string) {
		must(t, os.WriteFile(path, []byte("experiment,run\n1,2\n"), 0o644))
	}, schema.ErrNotMLflow},
	{"random bytes", func(t *testing.T, path string) {
		b := make([]byte, 8192)
		for i := range b {
			b[i] = byte(i*7919 + i/13)
		}
		must(t, os.WriteFile(path, b, 0o644))
	}, schema.ErrNotMLflow},
	{"damaged schema page", func(t *testing.T, path string) {
		mlflowDB(t, path, "3.17.2")
		b, err := os.ReadFile(path)
		must(t, err)
		for i := 100; i < 4096; i++ { // page 1 after the header: sqlite_master
			b[i] = 0xA5
		}
		must(t, os.WriteFile(path, b, 0o644))
	}, schema.ErrNotMLflow},
	{"truncated", func(t *testing.T, path string) {
		mlflowDB(t, path, "3.17.2")
		b, err := os.ReadFile(path)
		must(t, err)
		must(t, os.WriteFile(path, b[:4096+512], 0o644))
	}, schema.ErrNotMLflow},
}

// mlflowDB makes an MLflow database with schema.Create, in the rollback
// journal mode MLflow uses.
func mlflowDB(t *testing.T, path, version string) {
	t.Helper()
	db := rawDB(t, path)
	must(t, schema.Create(ctx, db, version, "/tmp/artifacts"))
	must(t, db.Close())
}

func execRaw(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db := rawDB(t, path)
	for _, q := range stmts {
		_, err := db.Exec(q)
		must(t, err)
	}
	must(t, db.Close())
}

// TestOpenRefusesBadFiles checks that files from an unknown MLflow
// revision, non-MLflow and damaged files are refused with a clear error and
// left byte-for-byte unchanged, with no journal or WAL file created.
func TestOpenRefusesBadFiles(t *testing.T) {
	for _, bf := range badFiles {
		t.Run(bf.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "mlflow.db")
			bf.make(t, path)
			before := dirState(t, dir)
			for _, opts := range []*sqlstore.Options{nil, {ReadOnly: true}, {KeepJournalMode: true}} {
				s, err := sqlstore.Open(ctx, path, opts)
				if err == nil {
					s.Close()
					t.Fatalf("Open(%+v) accepted the file", opts)
				}
				if !errors.Is(err, bf.kind) {
					t.Errorf("Open(%+v) = %v, want %v", opts, err, bf.kind)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error does not name the file: %v", err)
				}
				t.Logf("%v", err)
			}
			if after := dirState(t, dir); after != before {
				t.Errorf("directory changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestOpenMissingReadOnly checks that Options.ReadOnly does not create a
// file.
func TestOpenMissingReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := sqlstore.Open(ctx, path, &sqlstore.Options{ReadOnly: true})
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no MLflow store at "+path) {
		t.Errorf("Open(missing, ReadOnly) = %v, want ErrNotFound (and ErrNotExist) saying \"no MLflow store at %s\"", err, path)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file created: %v", err)
	}
}

// TestReadOnlyOption checks Options.ReadOnly on a writable file: reads
// work, writes fail with ErrInvalidState, and the file is not changed.
func TestReadOnlyOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s := openAt(t, path, "3.17.2")
	r := createRun(t, s, "0", "r")
	must(t, s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1, Timestamp: 1}}, nil, nil))
	must(t, s.Close())
	before := fileHash(t, path)
	ro, err := sqlstore.Open(ctx, path, &sqlstore.Options{ReadOnly: true})
	must(t, err)
	got, err := ro.GetRun(ctx, r.Info.RunID)
	must(t, err)
	if m, ok := got.Metric("m"); !ok || m.Value != 1 {
		t.Errorf("metric = %+v", got.Data.Metrics)
	}
	for name, err := range map[string]error{
		"CreateExperiment": func() error { _, err := ro.CreateExperiment(ctx, "x", "", nil); return err }(),
		"LogBatch":         ro.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 2}}, nil, nil),
		"DeleteRun":        ro.DeleteRun(ctx, r.Info.RunID),
	} {
		if !errors.Is(err, store.ErrInvalidState) {
			t.Errorf("%s on a read-only store = %v, want ErrInvalidState", name, err)
		}
	}
	must(t, ro.Close())
	if after := fileHash(t, path); after != before {
		t.Error("read-only store changed the file")
	}
}

// TestReadOnlyFile checks a database file the process may not write: Open
// refuses it with an error that says so and leaves it unchanged, and
// Options.ReadOnly reads it, also in a directory the process may not write
// (creating nothing there). Permission bits do not bind root, so under
// root the test re-executes itself as user nobody.
func TestReadOnlyFile(t *testing.T) {
	if os.Getenv("SQLSTORE_READONLY_CHILD") != "" {
		readOnlyChild(t, os.Getenv("SQLSTORE_READONLY_CHILD"))
		return
	}
	// Directories other users may enter (t.TempDir's parent is 0700).
	base := publicTempDir(t)
	for _, tc := range []struct {
		name    string
		dirMode os.FileMode
		want    string
	}{
		{"file read-only", 0o777, "database file is read-only"},
		{"directory read-only", 0o755, "is not writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			must(t, os.Mkdir(dir, 0o755))
			path := filepath.Join(dir, "mlflow.db")
			s := openAt(t, path, "3.17.2")
			createRun(t, s, "0", "ro")
			must(t, s.Close())
			must(t, os.Chmod(path, 0o444))
			must(t, os.Chmod(dir, tc.dirMode))
			before := fileHash(t, path)
			if os.Geteuid() == 0 {
				runAsNobody(t, path+"|"+tc.want)
			} else {
				readOnlyChild(t, path+"|"+tc.want)
			}
			if after := fileHash(t, path); after != before {
				t.Error("the database file changed")
			}
			entries, err := os.ReadDir(dir)
			must(t, err)
			for _, e := range entries {
				// A WAL reader may leave an empty -wal and a -shm file
				// in a directory it may write.
				n := e.Name()
				if n != "mlflow.db" && (tc.dirMode == 0o755 || n != "mlflow.db-wal" && n != "mlflow.db-shm") {
					t.Errorf("unexpected file %s", n)
				}
			}
		})
	}
}

// readOnlyChild is the part of TestReadOnlyFile that runs as a user that
// may not write the file.
func readOnlyChild(t *testing.T, arg string) {
	path, want, _ := strings.Cut(arg, "|")
	_, err := sqlstore.Open(context.Background(), path, nil)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Options.ReadOnly") {
		t.Fatalf("Open(read-only file) = %v, want an error containing %q", err, want)
	}
	t.Logf("Open: %v", err)
	// In a writable directory SQLite creates the -shm file a reader of a
	// WAL database needs; in a read-only one the store opens the file
	// immutable.
	s, err := sqlstore.Open(context.Background(), path, &sqlstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(ReadOnly): %v", err)
	}
	defer s.Close()
	p, err := s.SearchRuns(context.Background(), store.RunQuery{ExperimentIDs: []string{"0"}})
	if err != nil || len(p.Runs) != 1 {
		t.Fatalf("SearchRuns = %v, %v", p, err)
	}
}

// publicTempDir returns a new temporary directory that every user may
// enter, removed at the end of the test.
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sqlstore-test-")
	must(t, err)
	t.Cleanup(func() {
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(dir)
	})
	must(t, os.Chmod(dir, 0o755))
	return dir
}

// runAsNobody re-executes this test as user nobody (uid 65534), with a copy
// of the test binary it may execute.
func runAsNobody(t *testing.T, arg string) {
	t.Helper()
	exe, err := os.Executable()
	must(t, err)
	bin := filepath.Join(publicTempDir(t), "sqlstore.test")
	copyFile(t, exe, bin)
	must(t, os.Chmod(bin, 0o755))
	cmd := exec.Command(bin, "-test.run=^TestReadOnlyFile$", "-test.v")
	cmd.Env = append(os.Environ(), "SQLSTORE_READONLY_CHILD="+arg, "HOME=/tmp")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "Open") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// TestOpenRecreatesDefaultExperiment checks that a missing experiment 0 is
// recreated as MLflow's store does on start-up (MLflow 3: whenever it is
// missing; MLflow 2: when there is no experiment).
func TestOpenRecreatesDefaultExperiment(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mlflow.db")
			s := openAt(t, path, v)
			_, err := s.CreateExperiment(ctx, "other", "", nil)
			must(t, err)
			must(t, s.Close())
			execRaw(t, path, "DELETE FROM experiments WHERE experiment_id = 0")
			s = openAt(t, path, v)
			_, err = s.GetExperiment(ctx, "0")
			if v == "2.22.5" {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("2.22.5 with another experiment: GetExperiment(0) = %v, want not found", err)
				}
			} else if err != nil {
				t.Errorf("GetExperiment(0) = %v", err)
			}
		})
	}
}

// TestWriteErrorNamesDatabase checks that a busy database surfaces as
// store.ErrLocked after the busy timeout.
func TestBusyTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{BusyTimeout: 300e6})
	must(t, err)
	defer s.Close()
	r := createRun(t, s, "0", "busy")
	// Hold the write lock from another connection.
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	must(t, err)
	defer db.Close()
	tx, err := db.Begin()
	must(t, err)
	defer tx.Rollback()
	err = s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil)
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("LogBatch on a locked database = %v, want ErrLocked", err)
	}
	t.Log(err)
	// Reads still work in WAL mode.
	if _, err := s.GetRun(ctx, r.Info.RunID); err != nil {
		t.Errorf("GetRun while locked: %v", err)
	}
	must(t, tx.Rollback())
	must(t, s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil))
}

// TestConcurrentOpen has goroutines open the same new file at once (each
// with its own connections, as separate processes would): all must
// succeed, and the database must get one schema and one Default
// experiment.
func TestConcurrentOpen(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new.db")
			const n = 8
			errs := make([]error, n)
			stores := make([]*sqlstore.Store, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					stores[i], errs[i] = sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: "/tmp/a"})
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("opener %d: %v", i, err)
					continue
				}
				if stores[i].MLflowVersion() != v {
					t.Errorf("opener %d sees MLflow %q", i, stores[i].MLflowVersion())
				}
				defer stores[i].Close()
			}
			if t.Failed() {
				return
			}
			p, err := stores[0].SearchExperiments(ctx, store.ExperimentQuery{ViewType: store.AllViews})
			must(t, err)
			if len(p.Experiments) != 1 || p.Experiments[0].ID != "0" {
				t.Errorf("experiments after concurrent opens: %+v", p.Experiments)
			}
		})
	}
}

// TestOpenNilContext checks that Open refuses a nil context, creating
// nothing, rather than panicking (every method does too: storetest's
// NilContext).
func TestOpenNilContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlflow.db")
	var nilCtx context.Context
	if _, err := sqlstore.Open(nilCtx, path, nil); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("Open(nil ctx) = %v, want ErrInvalidParameter", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Open(nil ctx) created the file: %v", err)
	}
}
