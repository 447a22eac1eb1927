package sqlstore_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// versions are the MLflow releases the whole suite runs for: the pinned ones
// (internal/compat/mlflow-versions.txt), whose real MLflow the tests also run.
// schemas_test.go covers every schema.
var versions = compat.PinnedVersions()

// openAt opens (creating) the database at path with the schema of version
// and a temporary artifact root; the store is closed at the end of the
// test.
func openAt(t testing.TB, path, version string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: version, ArtifactRoot: t.TempDir()})
	if err != nil {
		t.Fatalf("Open(%s, %s): %v", path, version, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a new database of version in a temporary directory.
func newStore(t testing.TB, version string) *sqlstore.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "mlflow.db"), version)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fileHash returns the SHA-256 of a file, or "" if it does not exist. It
// must not be called while a store has the file open in this process:
// closing a descriptor of the file drops SQLite's POSIX locks.
func fileHash(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return ""
	}
	must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

// dirState lists a directory's entries with their hashes, to check that
// nothing was created, changed or removed.
func dirState(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name()+"="+fileHash(t, filepath.Join(dir, e.Name())))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	must(t, err)
	must(t, os.WriteFile(dst, b, 0o644))
}

// rawDB opens a database file directly, for inspecting and preparing test
// files.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)")
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// queryStrings returns the first column of every row of a query.
func queryStrings(t testing.TB, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	must(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		must(t, rows.Scan(&s))
		out = append(out, s.String)
	}
	must(t, rows.Err())
	return out
}

func createRun(t testing.TB, s store.Store, exp, name string) *store.Run {
	t.Helper()
	r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exp, UserID: "tester", RunName: name})
	must(t, err)
	return r
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

// dbState dumps every row of every table of the database at path (sorted
// within each table), for checking that a refused request changed nothing.
// It reads through this process's SQLite, so it may run while a store has
// the file open.
func dbState(t testing.TB, path string) string {
	t.Helper()
	db := rawDB(t, path)
	tables := queryStrings(t, db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		must(t, err)
		cols, err := rows.Columns()
		must(t, err)
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rows.Scan(ptrs...))
			line := table
			for _, v := range vals {
				switch v := v.(type) {
				case string, []byte:
					line += fmt.Sprintf(" %q", v)
				default:
					line += fmt.Sprintf(" %v", v)
				}
			}
			lines = append(lines, line)
		}
		must(t, rows.Err())
		rows.Close()
		slices.Sort(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// conformanceState is storetest.Options.State for a *sqlstore.Store.
func conformanceState(t *testing.T, s any) string { return dbState(t, s.(*sqlstore.Store).Path()) }
