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
	vs := Versions()
	if len(vs) != 98 || vs[0] != "2.0.0" || vs[len(vs)-1] != "3.18.0" {
		t.Fatalf("Versions() = %d releases %s..%s, want the 98 from 2.0.0 to 3.18.0", len(vs), vs[0], vs[len(vs)-1])
	}
	if Latest() != "3.17.2" || !slices.Contains(vs, Latest()) {
		t.Fatalf("Latest() = %q", Latest())
	}
	for v, rev := range map[string]string{"2.0.0": "97727af70f4d", "2.9.2": "acf3f17fdcc7", "2.22.5": "0584bdc529eb",
		"3.0.1": "bda7b8c39065", "3.1.0": "6953534de441", "3.15.0": "6f8d9c3b2a1e", "3.17.2": "dc11669786a5",
		"3.18.0": "f4a9b2c7d1e6"} {
		got, err := Revision(v)
		if err != nil || got != rev {
			t.Errorf("Revision(%s) = %q, %v; want %s", v, got, err, rev)
		}
	}
	for _, v := range []string{"1.30.1", "2.22.3", "3.19.0", "x"} {
		if _, err := Revision(v); !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("Revision(%s) error = %v, want ErrUnsupportedVersion", v, err)
		}
	}
}

// TestSchemas checks the grouping of releases by head: every release of
// sql/releases.tsv belongs to exactly one schema, recorded from its newest
// release, whose revision chain ends with the head.
func TestSchemas(t *testing.T) {
	scs := Schemas()
	if len(scs) != 26 {
		t.Errorf("%d schemas, want 26", len(scs))
	}
	seen := map[string]string{}
	for _, sc := range scs {
		if sc.Releases[len(sc.Releases)-1] != sc.Version {
			t.Errorf("schema %s recorded from %s, not its newest release (%v)", sc.Revision, sc.Version, sc.Releases)
		}
		if !sc.Knows(sc.Revision) || sc.RecordedWith == "" {
			t.Errorf("schema %s: Knows(head) = false or RecordedWith %q", sc.Version, sc.RecordedWith)
		}
		for _, r := range sc.Releases {
			if prev, ok := seen[r]; ok {
				t.Errorf("release %s in schemas %s and %s", r, prev, sc.Version)
			}
			seen[r] = sc.Version
			if got, _ := Lookup(r); got.Revision != sc.Revision {
				t.Errorf("Lookup(%s) = %s, want %s", r, got.Revision, sc.Revision)
			}
		}
		if got, ok := ForRevision(sc.Revision); !ok || got.Version != sc.Version {
			t.Errorf("ForRevision(%s) = %v, %v", sc.Revision, got.Version, ok)
		}
	}
	for _, line := range strings.Split(embeddedReleases(t), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 3 && seen[f[0]] == "" {
			t.Errorf("release %s (head %s) has no schema", f[0], f[1])
		}
	}
	if len(seen) != len(Versions()) {
		t.Errorf("%d releases in schemas, Versions() has %d", len(seen), len(Versions()))
	}
	// 3.0.1 was released after 3.1.0 with a newer head.
	if a, b := mustLookup(t, "3.0.1"), mustLookup(t, "3.1.0"); a.Knows(b.Revision) != true || b.Knows(a.Revision) {
		t.Errorf("3.0.1 knows 3.1.0's head: %v; 3.1.0 knows 3.0.1's: %v", a.Knows(b.Revision), b.Knows(a.Revision))
	}
}

func mustLookup(t *testing.T, v string) Schema {
	t.Helper()
	sc, err := Lookup(v)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestSchemaDescription checks every schema's tables, columns and types
// against those of the database Create makes from it, as SQLite reports
// them (sqlite_master, PRAGMA table_info).
func TestSchemaDescription(t *testing.T) {
	for _, sc := range Schemas() {
		t.Run(sc.Version, func(t *testing.T) {
			path, _ := goCreate(t, sc.Version, "/tmp/x")
			db := openDB(t, path)
			var tables []string
			rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				tables = append(tables, n)
			}
			rows.Close()
			if !slices.Equal(sc.Tables(), tables) {
				t.Fatalf("Tables() = %v\nsqlite_master: %v", sc.Tables(), tables)
			}
			for _, table := range tables {
				rows, err := db.Query("SELECT name, type FROM pragma_table_xinfo(?)", table)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for rows.Next() {
					var n, typ string
					if err := rows.Scan(&n, &typ); err != nil {
						t.Fatal(err)
					}
					names = append(names, n)
					if got := sc.ColumnType(table, n); got != typ {
						t.Errorf("%s.%s: ColumnType %q, table_info %q", table, n, got, typ)
					}
				}
				rows.Close()
				if got := sc.Columns(table); !slices.Equal(got, names) {
					t.Errorf("Columns(%s) = %v, table_xinfo %v", table, got, names)
				}
			}
		})
	}
}

// TestSchemaFeatures pins the schema facts sqlstore depends on, release by
// release (the MLflow migrations that introduced them).
func TestSchemaFeatures(t *testing.T) {
	for _, tc := range []struct {
		version                                     string
		aliases, inputs, storage, logged, workspace bool
		paramLen, tagLen, expTagLen                 int
	}{
		{"2.0.0", false, false, false, false, false, 500, 5000, 5000},
		{"2.3.0", true, false, false, false, false, 500, 5000, 5000},
		{"2.4.0", true, true, false, false, false, 500, 5000, 5000},
		{"2.7.1", true, true, false, false, false, 500, 5000, 5000},
		{"2.8.0", true, true, true, false, false, 8000, 5000, 5000},
		{"2.16.2", true, true, true, false, false, 8000, 5000, 5000},
		{"2.17.0", true, true, true, false, false, 8000, 8000, 5000},
		{"2.22.5", true, true, true, false, false, 8000, 8000, 5000},
		{"3.0.0", true, true, true, true, false, 8000, 8000, 5000},
		{"3.9.0", true, true, true, true, false, 8000, 8000, 5000},
		{"3.10.0", true, true, true, true, true, 8000, 8000, 5000},
		{"3.15.2", true, true, true, true, true, 8000, 8000, 5000},
		{"3.16.0", true, true, true, true, true, 8000, 8000, 0},
		{"3.18.0", true, true, true, true, true, 8000, 8000, 0},
	} {
		sc := mustLookup(t, tc.version)
		got := []any{sc.HasTable("registered_model_aliases"), sc.HasTable("inputs") && sc.HasTable("datasets"),
			sc.HasColumn("model_versions", "storage_location"), sc.HasTable("logged_models"),
			sc.HasColumn("experiments", "workspace"), sc.ColumnLength("params", "value"),
			sc.ColumnLength("tags", "value"), sc.ColumnLength("experiment_tags", "value")}
		want := []any{tc.aliases, tc.inputs, tc.storage, tc.logged, tc.workspace, tc.paramLen, tc.tagLen, tc.expTagLen}
		if !slices.Equal(got, want) {
			t.Errorf("MLflow %s: aliases, inputs, storage_location, logged models, workspace, lengths = %v, want %v",
				tc.version, got, want)
		}
	}
}

// TestCheckVersion: a database of the release's schema or an older one may
// be used as that release (which upgrades older ones itself); a newer one
// is a *MismatchError naming both.
func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		db, requested string
		ok            bool
	}{
		{"3.15.0", "3.15.2", true},
		{"2.0.0", "3.17.2", true},
		{"2.22.5", "3.1.0", true},
		{"3.17.2", "2.22.5", false},
		{"3.18.0", "3.17.2", false},
		{"3.0.1", "3.1.0", false}, // 3.0.1's head came after 3.1.0's
		{"3.1.0", "3.0.1", true},
	} {
		err := CheckVersion(mustLookup(t, tc.db), tc.requested)
		if tc.ok {
			if err != nil {
				t.Errorf("CheckVersion(%s, %s) = %v", tc.db, tc.requested, err)
			}
			continue
		}
		var me *MismatchError
		if !errors.Is(err, ErrVersionMismatch) || !errors.As(err, &me) || me.Requested != tc.requested {
			t.Fatalf("CheckVersion(%s, %s) = %v, want a MismatchError", tc.db, tc.requested, err)
		}
		rev, _ := Revision(tc.db)
		for _, s := range []string{tc.db, tc.requested, rev, "newer"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %q", err, s)
			}
		}
	}
	if err := CheckVersion(mustLookup(t, "3.17.2"), "9.9.9"); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("CheckVersion(..., 9.9.9) = %v", err)
	}
}

// TestCreateVerbatim checks that the SQL text SQLite stores for every object
// Create made is byte-identical to the embedded text taken from MLflow's
// sqlite_master, and that nothing else was created.
func TestCreateVerbatim(t *testing.T) {
	for _, sc := range Schemas() {
		version := sc.Version
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
	}{{"2.0.0", false}, {"2.22.5", false}, {"3.9.0", false}, {"3.10.0", true}, {"3.17.2", true}, {"3.18.0", true}} {
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
			want := mustLookup(t, tc.version)
			if err != nil || v != want.Version || rev != want.Revision {
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
		!strings.Contains(err.Error(), "MLflow 2.0.0 to 3.18.0") {
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
			msg: []string{"ffffffffffff", "upgrade mlrun", "mlflow db upgrade", "newer MLflow", "MLflow 2.0.0 to 3.18.0"}},
		{name: "revision of 1.x", path: withRevision("old.db", "451aebb31d03"),
			wantErr: ErrUnsupportedRevision, rev: "451aebb31d03",
			msg: []string{"451aebb31d03", "intermediate", "mlflow db upgrade", "MLflow 2.2.2 (or any later release up to 3.18.0)"}},
		{name: "3.x revision between heads", path: withRevision("mid.db", "400f98739977"),
			wantErr: ErrUnsupportedRevision, rev: "400f98739977",
			msg: []string{"with MLflow 3.1.0 (or any later"}},
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
// created by a client with no artifact root (TestSchemaIdentity checks it
// on the stores' databases of every installed release).
func TestDetectMLflowDB(t *testing.T) {
	for _, version := range pinnedVersions() {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "mlflow.db")
			res, _ := mlflowCreate(t, version, dir, p, "", "client")
			v, rev, err := Detect(context.Background(), openDB(t, p))
			sc := mustLookup(t, version)
			if err != nil || v != sc.Version || rev != res.Head {
				t.Fatalf("Detect = %q, %q, %v; want %s, %s", v, rev, err, sc.Version, res.Head)
			}
		})
	}
}

// BenchmarkCreate measures Create on a new database file per iteration.
func BenchmarkCreate(b *testing.B) {
	for _, sc := range Schemas() {
		version := sc.Version
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
