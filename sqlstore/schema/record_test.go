package schema

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// record names a directory of databases created by real MLflow releases, one
// subdirectory per release holding mlflow.db, result.txt (record.py create's
// output) and env.txt (the SQLAlchemy and alembic versions it ran with); see
// scripts/record-schemas.sh, which runs TestRecordSchemas with it.
var record = flag.String("record", "", "directory of MLflow-created databases to record (scripts/record-schemas.sh)")

// TestRecordSchemas records each database under -record as the embedded
// schema (sql/mlflow-X.sql, sql/mlflow-X.revisions) and golden fingerprint
// (testdata/sqlschema/mlflow-X.txt) of its release X, removes the files of an
// older release with the same head, and checks that Create now makes a
// database identical to MLflow's.
func TestRecordSchemas(t *testing.T) {
	if *record == "" {
		t.Skip("no -record directory (scripts/record-schemas.sh)")
	}
	dirs, err := os.ReadDir(*record)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		version := d.Name()
		t.Run(version, func(t *testing.T) {
			dir := filepath.Join(*record, version)
			out, err := os.ReadFile(filepath.Join(dir, "result.txt"))
			if err != nil {
				t.Fatal(err)
			}
			var res createResult
			resultLine(t, out, &res)
			if res.Version != version {
				t.Fatalf("%s holds a database of MLflow %s", dir, res.Version)
			}
			env, err := os.ReadFile(filepath.Join(dir, "env.txt"))
			if err != nil {
				t.Fatal(err)
			}
			mlDB := openDB(t, filepath.Join(dir, "mlflow.db"))
			for _, b := range bundles {
				if b.revision == res.Head && b.version != version {
					t.Logf("record %s replaces %s (same head %s)", version, b.version, b.revision)
					for _, f := range []string{filepath.Join("sql", "mlflow-"+b.version+".sql"),
						filepath.Join("sql", "mlflow-"+b.version+".revisions"),
						filepath.Join(goldenDir, "mlflow-"+b.version+".txt")} {
						if err := os.Remove(f); err != nil {
							t.Fatal(err)
						}
					}
					b.revision = "" // no longer a head of the embedded set
				}
			}
			regenerate(t, version, mlDB, res, strings.TrimSpace(string(env)))
			want := fingerprint(t, mlDB)
			if err := os.WriteFile(filepath.Join(goldenDir, "mlflow-"+version+".txt"), []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			goPath, _ := goCreate(t, version, testArtifactRoot)
			if got := fingerprint(t, openDB(t, goPath)); got != want {
				t.Fatalf("Create(%s) differs from MLflow's database:\n%s", version, diffLines(want, got))
			}
			t.Logf("recorded %s: head %s (%s)", version, res.Head, strings.TrimSpace(string(env)))
		})
	}
}
