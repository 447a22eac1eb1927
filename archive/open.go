package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// ErrNoStore is returned by OpenExisting for a tracking URI that names no
// MLflow store.
var ErrNoStore = errors.New("no MLflow store")

// OpenExisting opens the store a tracking URI names, which must exist: an
// mlruns directory holding an experiment (a directory with a meta.yaml),
// a .trash or a models folder (what `mlflow migrate-filestore` takes for a
// file store), or a non-empty SQLite file. Anything else fails with an
// error matching ErrNoStore, "no MLflow store at <uri>", and nothing is
// created. With readOnly a SQLite store is opened read-only
// (sqlstore.Options.ReadOnly), so that nothing is written to it.
func OpenExisting(ctx context.Context, uri string, readOnly bool) (store.Store, error) {
	backend, path, err := mlrun.ParseTrackingURI(uri)
	if err != nil {
		return nil, err
	}
	if !exists(backend, path) {
		return nil, fmt.Errorf("%w at %s", ErrNoStore, uri)
	}
	if backend == mlrun.BackendFile {
		return fsstore.Open(ctx, path, &fsstore.Options{ReadOnly: readOnly})
	}
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// StoreExists reports whether a tracking URI names an existing store, by
// OpenExisting's rule.
func StoreExists(uri string) bool {
	backend, path, err := mlrun.ParseTrackingURI(uri)
	return err == nil && exists(backend, path)
}

func exists(backend mlrun.Backend, path string) bool {
	switch backend {
	case mlrun.BackendFile:
		return isFileStore(path)
	case mlrun.BackendSQLite:
		info, err := os.Stat(path)
		return err == nil && info.Mode().IsRegular() && info.Size() > 0
	}
	return false
}

// isFileStore reports whether dir looks like an MLflow file store.
func isFileStore(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		switch e.Name() {
		case ".trash", "models":
			return true
		}
		if store.ValidateExperimentID(e.Name()) != nil {
			continue
		}
		if info, err := os.Stat(filepath.Join(dir, e.Name(), "meta.yaml")); err == nil && info.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// OpenDestination opens (creating it if missing) the store a tracking URI
// names, to write into: a new SQLite database gets the schema of
// mlflowVersion ("" for the newest supported). An existing SQLite
// database of another MLflow version is refused untouched, as mlrun never
// migrates a schema.
func OpenDestination(ctx context.Context, uri, mlflowVersion string) (store.Store, error) {
	if err := CheckMLflowVersion(ctx, uri, mlflowVersion); err != nil {
		return nil, err
	}
	opts := []mlrun.Option{mlrun.WithTrackingURI(uri)}
	if mlflowVersion != "" {
		opts = append(opts, mlrun.WithMLflowVersion(mlflowVersion))
	}
	c, err := mlrun.Open(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return c.Store(), nil
}

// CheckMLflowVersion fails if uri names an existing SQLite database whose
// schema is not that of the MLflow release version ("3" or "3.17" match
// any 3.x or 3.17.x release); "" and file stores pass.
func CheckMLflowVersion(ctx context.Context, uri, version string) error {
	if version == "" {
		return nil
	}
	backend, path, err := mlrun.ParseTrackingURI(uri)
	if err != nil || backend != mlrun.BackendSQLite {
		return err
	}
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		return nil // a new database
	}
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if have := s.MLflowVersion(); have != version && !strings.HasPrefix(have, version+".") {
		return store.InvalidStatef("%s is an MLflow %s database, not %s; mlrun never migrates a schema (`mlflow db upgrade` does)", uri, have, version)
	}
	return nil
}
