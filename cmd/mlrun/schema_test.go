package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
)

// dirState lists a directory's files with their sizes and times, to prove a
// read-only command changed nothing.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		b.WriteString(e.Name() + " " + fi.ModTime().String() + " " + string(data) + "\n")
	}
	return b.String()
}

func TestSchemaCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mlflow.db")
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: "3.15.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	uri := "sqlite:///" + path
	before := dirState(t, dir)

	out, err := runCLI(t, "schema", "--tracking-uri", uri)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alembic revision: 6f8d9c3b2a1e", "MLflow releases:  3.15.0 3.15.1 3.15.2",
		"mlrun can read:   yes", "mlrun can write:  yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "schema", "--tracking-uri", uri, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r schemaReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Revision != "6f8d9c3b2a1e" || !slices.Equal(r.MLflowVersions, []string{"3.15.0", "3.15.1", "3.15.2"}) ||
		!r.Read || !r.Write || r.RecordedFrom != "3.15.2" || r.Store != "sqlite" {
		t.Errorf("--json: %+v", r)
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("mlrun schema changed the directory:\n%s\n%s", before, after)
	}

	// An unknown revision: reported, exit 1, file unchanged.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE alembic_version SET version_num = 'abcdef012345'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before = dirState(t, dir)
	out, err = runCLI(t, "schema", "--tracking-uri", uri)
	if err == nil || exitCode(err) != 1 || !strings.Contains(out, "none that this mlrun knows") ||
		!strings.Contains(out, "mlrun can write:  no") {
		t.Errorf("unknown revision: %v\n%s", err, out)
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("mlrun schema changed the directory")
	}

	// A missing store is an error and is not created.
	missing := filepath.Join(dir, "nothing", "mlflow.db")
	if _, err := runCLI(t, "schema", "--tracking-uri", "sqlite:///"+missing); err == nil ||
		!strings.Contains(err.Error(), "no MLflow store at") || exitCode(err) != 1 {
		t.Errorf("missing store: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Errorf("mlrun schema created %s", filepath.Dir(missing))
	}
}

func TestSchemaCommandWAL(t *testing.T) {
	// A database another process holds open in WAL mode: its -wal is read
	// and nothing else is created.
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "mlflow.db")
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: "2.9.2"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := runCLI(t, "schema", "--tracking-uri", "sqlite:///"+path, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r schemaReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Revision != "acf3f17fdcc7" || !slices.Contains(r.MLflowVersions, "2.9.2") || !r.Write {
		t.Errorf("%+v", r)
	}
}
