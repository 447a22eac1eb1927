// Package artifactrepo reads and writes the artifacts of a run or a logged
// model at its artifact URI, as MLflow's artifact repositories do: directly
// for a local file: URI (or a plain path), and through a tracking server's
// artifact proxy for mlflow-artifacts: URIs (`mlflow server
// --serve-artifacts`, the default) and for the proxy's own http(s) URLs.
// Other schemes (s3:, gs:, ...) need cloud clients mlrun does not have and
// are refused.
//
// Paths inside a repository are relative, slash-separated and checked by
// store.ValidateArtifactPath: no absolute path, no "." or "..", so nothing
// is written outside the artifact root.
package artifactrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/store"
)

// Repo is the artifact store of one artifact URI (a run's artifact_uri or
// a logged model's artifact location). Implementations are safe for
// concurrent use.
type Repo interface {
	// URI returns the artifact root URI the repository was opened for.
	URI() string
	// Put stores src at path (relative to the root), replacing any file
	// there. Missing directories are created.
	Put(ctx context.Context, path string, src Source) error
	// Get opens the file at path; the caller closes it. A missing file is
	// an error wrapping store.ErrNotFound.
	Get(ctx context.Context, path string) (io.ReadCloser, error)
	// List lists the entries directly under dir ("" for the root), sorted
	// by path, each with its path relative to the root. A missing
	// directory lists as empty, as in MLflow.
	List(ctx context.Context, dir string) ([]FileInfo, error)
}

// FileInfo is an entry of a listing.
type FileInfo struct {
	Path  string // relative to the root, slash-separated
	IsDir bool
	Size  int64 // bytes; 0 for a directory
}

// Source is the content of an upload; Open is called again for every
// attempt, so that a failed upload can be retried.
type Source interface {
	Open() (io.ReadCloser, error)
	Size() int64 // -1 if unknown
}

// Bytes is a Source holding data in memory.
func Bytes(data []byte) Source { return bytesSource(data) }

type bytesSource []byte

func (b bytesSource) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
func (b bytesSource) Size() int64                  { return int64(len(b)) }

// File is a Source reading a local file.
func File(path string) Source { return fileSource(path) }

type fileSource string

func (f fileSource) Open() (io.ReadCloser, error) { return os.Open(string(f)) }
func (f fileSource) Size() int64 {
	fi, err := os.Stat(string(f))
	if err != nil {
		return -1
	}
	return fi.Size()
}

// Options configure Open.
type Options struct {
	// TrackingURI is the http(s) URI of the tracking server, needed for
	// mlflow-artifacts: URIs.
	TrackingURI string
	// HTTP is the transport configuration; nil reads MLflow's environment
	// variables (MLFLOW_TRACKING_USERNAME, ..., as the REST store does).
	HTTP *mlflowhttp.Config
	// Client, when set, is used for a proxy at its base URL (the REST
	// store's own client: its connections, credentials and retries);
	// a proxy elsewhere gets a client of its own from HTTP.
	Client *mlflowhttp.Client
}

// Open returns the repository of an artifact URI.
func Open(artifactURI string, opts *Options) (Repo, error) {
	if opts == nil {
		opts = &Options{}
	}
	scheme, _, hasScheme := strings.Cut(artifactURI, ":")
	if !hasScheme || len(scheme) == 1 || strings.ContainsAny(scheme, `/\.`) {
		return openLocal(artifactURI)
	}
	switch strings.ToLower(scheme) {
	case "file":
		return openLocal(artifactURI)
	case "mlflow-artifacts":
		return openProxy(artifactURI, opts)
	case "http", "https":
		return openProxyURL(artifactURI, opts)
	}
	return nil, store.Invalidf("artifact URI %q: the %s scheme is not supported by mlrun (file:, mlflow-artifacts: and the artifact proxy's http(s) URLs are)", artifactURI, scheme)
}

// cleanPath checks a relative artifact path; it allows a trailing slash
// on a directory.
func cleanPath(p string) (string, error) {
	p = strings.TrimSuffix(p, "/")
	if err := store.ValidateArtifactPath(p); err != nil {
		return "", err
	}
	return p, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func notFound(uri, path string, err error) error {
	return store.NotFoundf("artifact %s not found under %s: %v", path, uri, err)
}

var errNoPath = fmt.Errorf("an artifact path is required")
