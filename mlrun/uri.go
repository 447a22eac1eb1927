package mlrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/store"
)

// DefaultSQLiteURI is MLflow's default tracking URI since 3.7.
const DefaultSQLiteURI = "sqlite:///mlflow.db"

// ResolveTrackingURI returns explicit if set, else MLFLOW_TRACKING_URI,
// else MLflow's (≥3.7) default: "mlruns" when ./mlruns already holds an
// experiment (a directory with an all-digit name and a meta.yaml), otherwise
// sqlite:///mlflow.db.
func ResolveTrackingURI(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if v := os.Getenv("MLFLOW_TRACKING_URI"); v != "" {
		return v
	}
	if hasMlrunsData("mlruns") {
		return "mlruns"
	}
	return DefaultSQLiteURI
}

// hasMlrunsData mirrors MLflow's _has_existing_mlruns_data.
func hasMlrunsData(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() || !isDigits(e.Name()) {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, e.Name(), "meta.yaml")); err == nil {
			return true
		}
	}
	return false
}

// isLocalURI reports whether uri names a local path: a plain path (a
// one-letter scheme is a Windows drive) or a file: URI.
func isLocalURI(uri string) bool {
	scheme, _, hasScheme := uriScheme(uri)
	return !hasScheme || strings.EqualFold(scheme, "file")
}

// uriScheme splits uri at its scheme's colon; hasScheme is false for a
// plain path (a one-letter "scheme" is a Windows drive).
func uriScheme(uri string) (scheme, rest string, hasScheme bool) {
	scheme, rest, hasScheme = strings.Cut(uri, ":")
	if !hasScheme || len(scheme) == 1 || strings.ContainsAny(scheme, `/\.`) {
		return "", uri, false
	}
	return scheme, rest, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Backend names a kind of tracking store.
type Backend string

// Backends.
const (
	BackendFile   Backend = "file"
	BackendSQLite Backend = "sqlite"
	BackendREST   Backend = "rest" // an MLflow tracking server, http(s)://
)

// ParseTrackingURI returns the backend a tracking URI selects and the
// store's location: the mlruns directory or the SQLite file, or the
// server URI for http(s). Databricks and the SQL servers MLflow reaches
// through SQLAlchemy are not supported and give an error (MLflow reads a
// bare "databricks" as the Databricks workspace, never as a directory).
func ParseTrackingURI(uri string) (Backend, string, error) {
	b, loc, err := lookupBackend(uri)
	if err != nil {
		return "", "", err
	}
	return b.kind, loc, nil
}

// backend is how mlrun opens one kind of tracking store.
type backend struct {
	kind Backend
	// location returns the store's location in uri (rest is uri after
	// its scheme's colon): the path of the mlruns directory or of the
	// SQLite file, or the server URI.
	location func(uri, rest string) (string, error)
	// open opens the store at location.
	open func(ctx context.Context, uri, location string, cfg config) (store.Store, error)
}

// backends maps a tracking URI scheme (lower case, without a "+driver"
// suffix) to its backend. A plain path is a file store.
var backends = map[string]backend{
	"file":   {BackendFile, fileLocation, openFileStore},
	"sqlite": {BackendSQLite, sqliteLocation, openSQLiteStore},
	"http":   {BackendREST, restLocation, openRESTStore},
	"https":  {BackendREST, restLocation, openRESTStore},
}

// lookupBackend returns the backend uri selects and the store's location
// in it. A plain path is a file store's directory, but for a bare
// "databricks" (MLflow's Databricks workspace).
func lookupBackend(uri string) (backend, string, error) {
	scheme, rest, hasScheme := uriScheme(uri)
	if !hasScheme {
		if isDatabricks(strings.ToLower(uri)) {
			return backend{}, "", unsupportedScheme(uri, uri, strings.ToLower(uri))
		}
		return backends["file"], uri, nil
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+") // postgresql+psycopg2
	b, ok := backends[base]
	if !ok {
		return backend{}, "", unsupportedScheme(uri, scheme, base)
	}
	loc, err := b.location(uri, rest)
	if err != nil {
		return backend{}, "", err
	}
	return b, loc, nil
}

func isDatabricks(base string) bool {
	return base == "databricks" || base == "databricks-uc" || base == "uc"
}

// unsupportedScheme is the error for a tracking URI no backend opens.
func unsupportedScheme(uri, scheme, base string) error {
	switch {
	case isDatabricks(base):
		return store.Invalidf("tracking URI %q: Databricks is not supported by mlrun; use an http(s):// MLflow server, a file: path or a sqlite: URI", uri)
	case base == "postgresql" || base == "mysql" || base == "mssql":
		return store.Invalidf("tracking URI %q: mlrun does not open %s databases itself; run `mlflow server --backend-store-uri %s` and use its http(s):// URI", uri, scheme, uri)
	}
	return store.Invalidf("tracking URI %q: unknown scheme %q", uri, scheme)
}

func fileLocation(uri, _ string) (string, error) {
	p, err := fileuri.ToPath(uri)
	if err != nil {
		return "", store.Invalidf("tracking URI: %v", err)
	}
	return p, nil
}

func sqliteLocation(uri, rest string) (string, error) {
	if !strings.HasPrefix(rest, "//") {
		return "", store.Invalidf("invalid SQLite tracking URI %q: want sqlite:///relative/path.db or sqlite:////absolute/path.db", uri)
	}
	p := strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimPrefix(p, "/") // sqlite:///x.db is relative, sqlite:////x.db absolute
	if p == "" || p == ":memory:" {
		return "", store.Invalidf("invalid SQLite tracking URI %q: an in-memory database cannot be shared with MLflow", uri)
	}
	return p, nil
}

func restLocation(uri, _ string) (string, error) {
	if _, err := mlflowhttp.ParseBaseURL(uri); err != nil {
		return "", store.Invalidf("%v", err)
	}
	return uri, nil
}

// openStore opens the store uri names.
func openStore(ctx context.Context, uri string, cfg config) (store.Store, error) {
	b, loc, err := lookupBackend(uri)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, uri, loc, cfg)
}

func openFileStore(ctx context.Context, uri, path string, cfg config) (store.Store, error) {
	if cfg.artifactRoot != "" {
		return nil, store.Invalidf("mlrun: WithArtifactRoot applies to SQLite stores; a file store (%s) keeps artifacts inside its mlruns directory, as MLflow's FileStore does", uri)
	}
	s, err := fsstore.Open(ctx, path, &fsstore.Options{ReadOnly: cfg.readOnly})
	if err != nil {
		return nil, fmt.Errorf("open file store %s: %w", path, err)
	}
	return s, nil
}

func openRESTStore(ctx context.Context, uri, serverURI string, cfg config) (store.Store, error) {
	if cfg.artifactRoot != "" {
		return nil, store.Invalidf("mlrun: WithArtifactRoot applies to SQLite stores; an MLflow server (%s) gives runs the artifact root it was started with", uri)
	}
	if cfg.readOnly {
		return nil, store.Invalidf("mlrun: WithReadOnly applies to file and SQLite stores, not to an MLflow server (%s)", uri)
	}
	return reststore.Open(ctx, serverURI, nil)
}
