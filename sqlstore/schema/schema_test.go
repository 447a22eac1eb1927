package schema

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestVersions(t *testing.T) {
	want := []string{"2.22.5", "3.17.2"}
	if got := Versions(); !slices.Equal(got, want) {
		t.Fatalf("Versions() = %v, want %v", got, want)
	}
	if Latest() != "3.17.2" {
		t.Fatalf("Latest() = %q", Latest())
	}
	for v, rev := range map[string]string{"2.22.5": "0584bdc529eb", "3.17.2": "dc11669786a5"} {
		got, err := Revision(v)
		if err != nil || got != rev {
			t.Errorf("Revision(%s) = %q, %v; want %s", v, got, err, rev)
		}
	}
	if _, err := Revision("2.21.0"); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("Revision(2.21.0) error = %v, want ErrUnsupportedVersion", err)
	}
	for _, b := range bundles {
		if !slices.Contains(bundles[len(bundles)-1].chain, b.revision) {
			t.Errorf("head %s of %s is not in the newest chain", b.revision, b.version)
		}
	}
}

// TestCreateVerbatim checks that the SQL text SQLite stores for every object
// Create made is byte-identical to the embedded text taken from MLflow's
// sqlite_master, and that nothing else was created.
func TestCreateVerbatim(t *testing.T) {
	for _, version := range Versions() {
		t.Run(version, func(t *testing.T) {
			b, _ := lookup(version)
			path, _ := goCreate(t, version, "/tmp/x")
			db := openDB(t, path)
			rows, err := db.Query("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[string]string{}
			for rows.Next() {
				var typ, name, sqlText string
				if err := rows.Scan(&typ, &name, &sqlText); err != nil {
					t.Fatal(err)
				}
				got[typ+" "+name] = sqlText
			}
			n := 0
			for _, s := range b.stmts {
				if s.kind == "data" {
					continue
				}
				n++
				if g := got[s.kind+" "+s.name]; g != s.sql {
					t.Errorf("%s %s: sqlite_master holds\n%s\nwant\n%s", s.kind, s.name, g, s.sql)
				}
			}
			if len(got) != n {
				t.Errorf("sqlite_master has %d objects with SQL, the schema file %d", len(got), n)
			}
		})
	}
}

func TestCreateSeedRows(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		version   string
		workspace bool
	}{{"2.22.5", false}, {"3.17.2", true}} {
		t.Run(tc.version, func(t *testing.T) {
			path, _ := goCreate(t, tc.version, "s3://b/root/")
			db := openDB(t, path)
			var id int64
			var name, loc, stage string
			err := db.QueryRowContext(ctx, "SELECT experiment_id, name, artifact_location, lifecycle_stage FROM experiments").
				Scan(&id, &name, &loc, &stage)
			if err != nil {
				t.Fatal(err)
			}
			if id != 0 || name != "Default" || loc != "s3://b/root/0" || stage != "active" {
				t.Errorf("experiment 0 = %d %q %q %q", id, name, loc, stage)
			}
			var typ string
			if err := db.QueryRowContext(ctx, "SELECT typeof(experiment_id) FROM experiments").Scan(&typ); err != nil || typ != "integer" {
				t.Errorf("experiment_id stored as %q (%v)", typ, err)
			}
			var ws int
			_ = db.QueryRowContext(ctx, "SELECT count(*) FROM workspaces WHERE name = 'default' AND description = 'Default workspace for legacy resources'").Scan(&ws)
			if tc.workspace != (ws == 1) {
				t.Errorf("default workspace rows = %d", ws)
			}
			if tc.workspace {
				var w string
				if err := db.QueryRowContext(ctx, "SELECT workspace FROM experiments").Scan(&w); err != nil || w != "default" {
					t.Errorf("experiment 0 workspace = %q, %v", w, err)
				}
			}
			v, rev, err := Detect(ctx, db)
			want, _ := Revision(tc.version)
			if err != nil || v != tc.version || rev != want {
				t.Errorf("Detect = %q, %q, %v", v, rev, err)
			}
		})
	}
}

func TestCreateRefusesNonEmpty(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	if _, err := db.Exec("CREATE TABLE mine (a)"); err != nil {
		t.Fatal(err)
	}
	err := Create(ctx, db, Latest(), "/tmp/a")
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "table mine") {
		t.Fatalf("Create on a non-empty database: %v", err)
	}
	var n int
	_ = db.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n)
	if n != 1 {
		t.Fatalf("Create left %d objects", n)
	}
	// A second Create on an MLflow database is refused too.
	db2 := openDB(t, filepath.Join(t.TempDir(), "y.db"))
	if err := Create(ctx, db2, "2.22.5", "/tmp/a"); err != nil {
		t.Fatal(err)
	}
	if err := Create(ctx, db2, "2.22.5", "/tmp/a"); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second Create: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	if err := Create(ctx, db, "9.9.9", ""); !errors.Is(err, ErrUnsupportedVersion) ||
		!strings.Contains(err.Error(), "2.22.5, 3.17.2") {
		t.Errorf("unsupported version: %v", err)
	}
	if err := Create(ctx, db, Latest(), "file://remote-host/share"); err == nil {
		t.Errorf("remote file: URI accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Create(cctx, db, Latest(), "/tmp/a"); err == nil {
		t.Errorf("Create with a cancelled context succeeded")
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Errorf("failed Create left %d objects (%v)", n, err)
	}
}

// TestCreateAtomic makes a statement fail half-way through and checks that
// nothing was left behind.
func TestCreateAtomic(t *testing.T) {
	b, _ := lookup(Latest())
	saved := b.stmts
	t.Cleanup(func() { b.stmts = saved })
	b.stmts = append(slices.Clone(saved[:len(saved)/2]), statement{kind: "table", name: "bad", sql: "CREATE TABLE ("})
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	err := Create(context.Background(), db, Latest(), "/tmp/a")
	if err == nil || !strings.Contains(err.Error(), "table bad") {
		t.Fatalf("Create with a broken statement: %v", err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Fatalf("failed Create left %d objects (%v)", n, err)
	}
}

func TestDetect(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, 8192)
	rand.Read(random)

	withRevision := func(name, rev string) string {
		p := filepath.Join(dir, name)
		db := openDB(t, p)
		if err := Create(ctx, db, "2.22.5", "/tmp/a"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE alembic_version SET version_num = ?", rev); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exec := func(name string, stmts ...string) string {
		p := filepath.Join(dir, name)
		db := openDB(t, p)
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}

	for _, tc := range []struct {
		name    string
		path    string
		wantErr error
		msg     []string // substrings of the error
		rev     string
	}{
		{name: "fake revision", path: withRevision("fake.db", "ffffffffffff"),
			wantErr: ErrUnsupportedRevision, rev: "ffffffffffff",
			msg: []string{"ffffffffffff", "upgrade mlrun", "mlflow db upgrade", "dc11669786a5 (MLflow 3.17.2)"}},
		{name: "older revision", path: withRevision("old.db", "451aebb31d03"),
			wantErr: ErrUnsupportedRevision, rev: "451aebb31d03",
			msg: []string{"451aebb31d03", "older schema", "mlflow db upgrade", "MLflow 2.22.5 or 3.17.2"}},
		{name: "3.x revision between heads", path: withRevision("mid.db", "bf29a5ff90ea"),
			wantErr: ErrUnsupportedRevision, rev: "bf29a5ff90ea",
			msg: []string{"with MLflow 3.17.2 to"}},
		{name: "not MLflow", path: exec("plain.db", "CREATE TABLE t (a)", "INSERT INTO t VALUES (1)"),
			wantErr: ErrNotMLflow, msg: []string{"no alembic_version table (tables: t)"}},
		{name: "MLflow tables without alembic_version",
			path:    exec("noalembic.db", "CREATE TABLE experiments (experiment_id INTEGER)"),
			wantErr: ErrNotMLflow, msg: []string{"no alembic_version"}},
		{name: "empty alembic_version",
			path:    exec("emptyalembic.db", "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"),
			wantErr: ErrNotMLflow, msg: []string{"holds 0 revisions"}},
		{name: "two revisions",
			path: exec("two.db", "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
				"INSERT INTO alembic_version VALUES ('a'), ('b')"),
			wantErr: ErrNotMLflow, msg: []string{"holds 2 revisions"}},
		{name: "random bytes", path: file("random.db", random),
			wantErr: ErrNotMLflow, msg: []string{"not a SQLite database"}},
		{name: "text file", path: file("text.db", []byte(strings.Repeat("hello world\n", 100))),
			wantErr: ErrNotMLflow, msg: []string{"not a SQLite database"}},
		{name: "zero-length file", path: file("zero.db", nil),
			wantErr: ErrNotMLflow, msg: []string{"empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, rev, err := Detect(ctx, openDB(t, tc.path))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Detect = %q, %q, %v; want %v", v, rev, err, tc.wantErr)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
			if v != "" || rev != tc.rev {
				t.Errorf("Detect returned version %q revision %q", v, rev)
			}
			t.Logf("%v", err)
		})
	}

	// A zero-length file must stay zero-length: Detect only reads.
	if fi, err := os.Stat(filepath.Join(dir, "zero.db")); err != nil || fi.Size() != 0 {
		t.Errorf("zero-length file changed: %v %v", fi.Size(), err)
	}
}

// TestDetectMLflowDB checks Detect on databases the real MLflow releases
// created.
func TestDetectMLflowDB(t *testing.T) {
	for _, version := range Versions() {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "mlflow.db")
			res, _ := mlflowCreate(t, version, dir, p, testArtifactRoot, "store")
			v, rev, err := Detect(context.Background(), openDB(t, p))
			if err != nil || v != version || rev != res.Head {
				t.Fatalf("Detect = %q, %q, %v; want %s, %s", v, rev, err, version, res.Head)
			}
		})
	}
}

// BenchmarkCreate measures Create on a new database file per iteration.
func BenchmarkCreate(b *testing.B) {
	for _, version := range Versions() {
		b.Run(version, func(b *testing.B) {
			dir := b.TempDir()
			for i := 0; b.Loop(); i++ {
				db := openDB(b, filepath.Join(dir, fmt.Sprintf("b%d.db", i)))
				if err := Create(context.Background(), db, version, "/tmp/art"); err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
		})
	}
}
