package mlrun_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/mlrun"
)

// forEachMLflowStore runs f, as a subtest per MLflow version and backend,
// on a client of a fresh file store and of a fresh SQLite store (in that
// version's schema), with the store's tracking URI for MLflow to read, in
// a temporary working directory.
func forEachMLflowStore(t *testing.T, f func(t *testing.T, m *compat.MLflow, c *mlrun.Client, uri string)) {
	for _, v := range compat.Versions() {
		for _, backend := range []string{"file", "sqlite"} {
			t.Run("mlflow-"+v+"/"+backend, func(t *testing.T) {
				m := compat.Require(t, v)
				root := t.TempDir()
				t.Chdir(root) // an SQLite store's default artifact root is ./mlruns
				uri, err := fileuri.FromPath(filepath.Join(root, "mlruns"))
				if err != nil {
					t.Fatal(err)
				}
				var opts []mlrun.Option
				if backend == "sqlite" {
					uri = "sqlite:///" + filepath.Join(root, "mlflow.db")
					opts = append(opts, mlrun.WithMLflowVersion(v))
				}
				c, err := mlrun.Open(context.Background(), append(opts, mlrun.WithTrackingURI(uri))...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				f(t, m, c, uri)
			})
		}
	}
}

// runPy runs a Python script with MLflow's venv in a temporary directory,
// stdin given, and returns its stdout.
func runPy(t *testing.T, m *compat.MLflow, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := m.Command(ctx, "python", append([]string{"-c", script}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("MLflow %s: %v\n%s", m.Version, err, stderr.String())
	}
	return out.Bytes()
}
