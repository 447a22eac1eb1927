package schemafp

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

func TestNormalizeSQL(t *testing.T) {
	a := "CREATE TABLE \"runs\" (\n\tid INTEGER NOT NULL, \n\ts VARCHAR(9), \n\t" +
		"CONSTRAINT pk PRIMARY KEY (id), \n\tCONSTRAINT b CHECK (s IN ('x, y', 'z')), \n\t" +
		"CONSTRAINT a CHECK (s != '  two  spaces'), \n\tCHECK (id > 0)\n)"
	b := "CREATE TABLE \"runs\" (\n\tid INTEGER NOT NULL, \n\ts VARCHAR(9), \n\t" +
		"CONSTRAINT a CHECK (s != '  two  spaces'), \n\tCHECK (id > 0), \n\t" +
		"CONSTRAINT pk PRIMARY KEY (id), \n\tCONSTRAINT b CHECK (s IN ('x, y', 'z'))\n)"
	if NormalizeSQL(a) != NormalizeSQL(b) {
		t.Fatalf("constraint order matters:\n%s\n%s", NormalizeSQL(a), NormalizeSQL(b))
	}
	want := `CREATE TABLE "runs" (id INTEGER NOT NULL, s VARCHAR(9), CHECK (id > 0), ` +
		`CONSTRAINT a CHECK (s != '  two  spaces'), CONSTRAINT b CHECK (s IN ('x, y', 'z')), ` +
		`CONSTRAINT pk PRIMARY KEY (id))`
	if got := NormalizeSQL(a); got != want {
		t.Fatalf("NormalizeSQL = %s\nwant          %s", got, want)
	}
	// Column order is significant.
	c := "CREATE TABLE t (b INT, a INT)"
	if NormalizeSQL(c) == NormalizeSQL("CREATE TABLE t (a INT, b INT)") {
		t.Fatal("column order ignored")
	}
	if got := NormalizeSQL("CREATE INDEX  i\n ON t (a)"); got != "CREATE INDEX i ON t (a)" {
		t.Fatalf("index: %q", got)
	}
}

func TestFingerprint(t *testing.T) {
	ctx := context.Background()
	mk := func(stmts ...string) string {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		fp, err := Fingerprint(ctx, db, Options{Mask: map[string][]string{"p": {"t"}}})
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	p := "CREATE TABLE p (id INTEGER PRIMARY KEY, t BIGINT, UNIQUE (t))"
	a := mk(p, "CREATE TABLE c (x, y, FOREIGN KEY (x) REFERENCES p (id) ON DELETE CASCADE, FOREIGN KEY (y) REFERENCES p (id))",
		"CREATE INDEX i1 ON c (x)", "CREATE INDEX i2 ON c (y)", "INSERT INTO p VALUES (1, 100)")
	b := mk(p, "CREATE TABLE c (x, y, FOREIGN KEY (y) REFERENCES p (id), FOREIGN KEY (x) REFERENCES p (id) ON DELETE CASCADE)",
		"CREATE INDEX i2 ON c (y)", "CREATE INDEX i1 ON c (x)", "INSERT INTO p VALUES (1, 200)")
	if a != b {
		t.Fatalf("index creation order, FK order or masked values matter:\n%s\n---\n%s", a, b)
	}
	for _, want := range []string{"fk -> \"p\" on_update=\"NO ACTION\" on_delete=\"CASCADE\" match=\"NONE\": \"x\"=\"id\"",
		"index \"sqlite_autoindex_p_1\" unique=1 origin=\"u\"", "row (1, <masked>)", "pragma encoding = \"UTF-8\""} {
		if !strings.Contains(a, want) {
			t.Errorf("fingerprint lacks %q:\n%s", want, a)
		}
	}
	if mk(p, "CREATE TABLE c (x INTEGER)") == mk(p, "CREATE TABLE c (x TEXT)") {
		t.Error("column type ignored")
	}
}

func TestColumns(t *testing.T) {
	got := Columns("CREATE TABLE \"t\" (\n\t\"key\" VARCHAR(250) NOT NULL, \n\tvalue NUMERIC(10, 2) DEFAULT 0, x, " +
		"`odd ``name` TEXT COLLATE NOCASE, [br] BIGINT, CONSTRAINT pk PRIMARY KEY (\"key\"), CHECK (x > 0), a INTEGER)")
	want := []Column{{"key", "VARCHAR(250)"}, {"value", "NUMERIC(10, 2)"}, {"x", ""}, {"odd `name", "TEXT"},
		{"br", "BIGINT"}, {"a", "INTEGER"}}
	if len(got) != len(want) {
		t.Fatalf("Columns = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d = %q, want %q", i, got[i], want[i])
		}
	}
	if Columns("CREATE INDEX i ON t (a)") != nil {
		t.Error("Columns of an index is not nil")
	}
}

// FuzzColumns: Columns never panics, and returns no more columns than the
// statement has top-level items.
func FuzzColumns(f *testing.F) {
	f.Add("CREATE TABLE t (a INTEGER, b VARCHAR(5) NOT NULL, PRIMARY KEY (a))")
	f.Add("CREATE TABLE \"x\"\"y\" ([a b] TEXT, 'c' , \"d\" DOUBLE PRECISION GENERATED ALWAYS AS (1))")
	f.Add("CREATE TABLE t (")
	f.Fuzz(func(t *testing.T, s string) {
		cols := Columns(s)
		if len(cols) > strings.Count(s, ",")+1 {
			t.Errorf("%d columns from %q", len(cols), s)
		}
	})
}
