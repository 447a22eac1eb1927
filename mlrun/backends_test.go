package mlrun_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
)

// backend opens a client on a fresh store of one kind; dir is the
// directory holding the store (and, for SQLite, its artifact root).
type backend struct {
	name string
	open func(t *testing.T, opts ...mlrun.Option) (c *mlrun.Client, dir string)
}

// backends are the two stores mlrun writes: an mlruns directory, and an
// MLflow SQLite database (3.17.2 schema) whose artifacts go to
// <dir>/mlruns.
var backends = []backend{
	{"file", func(t *testing.T, opts ...mlrun.Option) (*mlrun.Client, string) {
		c, root := openTemp(t, opts...)
		return c, filepath.Dir(root)
	}},
	{"sqlite", func(t *testing.T, opts ...mlrun.Option) (*mlrun.Client, string) {
		return openSQLiteStore(t, "", opts...)
	}},
}

// openSQLiteStore opens a client on a new SQLite database of the given
// MLflow version ("" for the newest) whose artifact root is <dir>/mlruns.
func openSQLiteStore(t *testing.T, version string, opts ...mlrun.Option) (*mlrun.Client, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "mlflow.db"),
		&sqlstore.Options{MLflowVersion: version, ArtifactRoot: filepath.Join(dir, "mlruns")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := mlrun.Open(context.Background(), append([]mlrun.Option{mlrun.WithStore(s)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// forBackends runs fn once per backend, as subtests.
func forBackends(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}
