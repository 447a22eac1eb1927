// Package mlflowuri reproduces, in Go, the small URI helpers MLflow's
// stores use to compute and check artifact locations, so that a store
// written by Go holds exactly the strings MLflow itself would have written:
//
//   - [ResolveIfLocal] is mlflow.utils.uri.resolve_uri_if_local, which the
//     tracking SqlAlchemyStore applies to its default_artifact_root;
//   - [AppendPath] is mlflow.utils.uri.append_to_uri_path, which turns that
//     root into an experiment's artifact_location (root + "/<experiment id>")
//     and an experiment location into a run's artifact_uri;
//   - [DefaultArtifactRoot] is what a client-side store gets when no artifact
//     root is configured: "./mlruns" resolved against the working directory;
//   - [Parse] is urllib.parse.urlparse and [ValidateQueryString]
//     mlflow.utils.uri.validate_query_string, which MLflow's server applies
//     to the artifact location of a new experiment.
//
// The code follows MLflow 2.22.5 and 3.17.2 (the helpers are identical in
// both) running on CPython 3.11, and is checked against them by the tests when
// their virtualenvs are available. The POSIX behaviour is exact; the Windows
// branch (relative roots become file:///C:/... URIs) follows the same source
// but is not exercised by the tests.
package mlflowuri

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DefaultLocalArtifactPath is MLflow's DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
// (mlflow/store/tracking/__init__.py): the artifact root a client-side
// SqlAlchemyStore uses when none is given.
const DefaultLocalArtifactPath = "./mlruns"

// ErrInvalidURI is wrapped by the errors of this package; MLflow raises an
// MlflowException (INVALID_PARAMETER_VALUE) or a ValueError for these inputs.
var ErrInvalidURI = errors.New("invalid artifact URI")

// Getwd returns the current directory the way Python's os.getcwd() reports
// it, that is with symbolic links resolved (getcwd(3) returns the physical
// path, while os.Getwd may return $PWD).
func Getwd() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if runtime.GOOS != "windows" {
		if real, err := filepath.EvalSymlinks(wd); err == nil {
			wd = real
		}
	}
	return wd, nil
}

// DefaultArtifactRoot returns the artifact root MLflow's client uses for a
// sqlite:/// tracking URI when no root is configured: "./mlruns" resolved
// against the current directory of the process (not the directory of the
// database file), e.g. "/home/me/project/mlruns" on POSIX and
// "file:///C:/project/mlruns" on Windows.
//
// Source: mlflow/tracking/_tracking_service/utils.py, _get_sqlalchemy_store
// (MLflow 2.22.5 line 141; MLflow 3.17.2 lines 192-195, where the internal
// environment variable _MLFLOW_SERVER_ARTIFACT_ROOT set by `mlflow server`
// takes precedence), then resolve_uri_if_local in the store constructor.
func DefaultArtifactRoot() (string, error) {
	return ResolveIfLocal(DefaultLocalArtifactPath)
}

// ResolveIfLocal ports mlflow.utils.uri.resolve_uri_if_local: a relative
// local path (or a file: URI with a relative path) is made absolute against
// the current directory; anything else is returned unchanged.
func ResolveIfLocal(uri string) (string, error) {
	local, err := isLocalURI(uri)
	if err != nil || !local {
		return uri, err
	}
	scheme := uriScheme(uri)
	localPath := localFileURIToPath(uri)
	if isAbs(localPath) {
		return uri, nil
	}
	cwd, err := Getwd()
	if err != nil {
		return "", fmt.Errorf("resolving artifact root %q: %w", uri, err)
	}
	joined := joinPath(cwd, localPath)
	if scheme == "" {
		if runtime.GOOS == "windows" {
			return urlunsplit("file", "", joined, "", ""), nil
		}
		return joined, nil
	}
	sp := urlsplit(uri)
	return urlunsplit(sp.scheme, "", joined, sp.query, sp.fragment), nil
}

// AppendPath ports mlflow.utils.uri.append_to_uri_path: it appends POSIX
// path segments to the path component of uri, keeping scheme, host, query and
// fragment, e.g. AppendPath("s3://b/root?x=1", "0") = "s3://b/root/0?x=1" and
// AppendPath("/abs/mlruns", "0") = "/abs/mlruns/0".
func AppendPath(uri string, paths ...string) (string, error) {
	path := ""
	for _, p := range paths {
		path = joinPosixAppendAbs(path, p)
	}
	p := urlparse(uri)
	if err := validateQueryString(p.query); err != nil {
		return "", err
	}
	if p.scheme == "" {
		return joinPosixAppendAbs(uri, path), nil
	}
	prefix := ""
	if !strings.HasPrefix(p.path, "/") {
		prefix = p.scheme + ":"
		p.scheme = ""
	}
	p.path = joinPosixAppendAbs(p.path, path)
	return prefix + urlunparse(p), nil
}

// joinPosixAppendAbs is _join_posixpaths_and_append_absolute_suffixes.
func joinPosixAppendAbs(prefix, suffix string) string {
	if prefix == "" {
		return suffix
	}
	return posixJoin(prefix, strings.TrimLeft(suffix, "/"))
}

// posixJoin is posixpath.join(a, b) for a non-absolute b.
func posixJoin(a, b string) string {
	if strings.HasPrefix(b, "/") {
		return b
	}
	if a == "" || strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}

// URL is urllib.parse.ParseResult: the six components of a URI.
type URL struct {
	Scheme, Netloc, Path, Params, Query, Fragment string
}

// Parse is urllib.parse.urlparse(uri) as CPython 3.11 does it: the scheme
// lower-cased, ";params" split off the last path segment for the schemes
// that use them (the empty scheme among them), "#fragment" always split off.
func Parse(uri string) URL {
	p := urlparse(uri)
	return URL{Scheme: p.scheme, Netloc: p.netloc, Path: p.path, Params: p.params, Query: p.query, Fragment: p.fragment}
}

// ValidateQueryString is mlflow.utils.uri.validate_query_string: a query
// that, percent-decoded, contains ".." is refused (path traversal). The
// error wraps ErrInvalidURI.
func ValidateQueryString(query string) error { return validateQueryString(query) }

// validateQueryString is mlflow.utils.uri.validate_query_string.
func validateQueryString(query string) error {
	decoded, err := decodeURL(query)
	if err != nil {
		return err
	}
	if strings.Contains(decoded, "..") {
		return fmt.Errorf("%w: invalid query string %q (path traversal)", ErrInvalidURI, query)
	}
	return nil
}

// decodeURL is mlflow.utils.uri._decode.
func decodeURL(url string) (string, error) {
	for range 10 {
		next := urlunparse(urlparse(unquote(url)))
		if next == url {
			return url, nil
		}
		url = next
	}
	return "", fmt.Errorf("%w: failed to decode url %q", ErrInvalidURI, url)
}

// isLocalURI is mlflow.utils.uri.is_local_uri(uri) with
// is_tracking_or_registry_uri=True.
func isLocalURI(uri string) (bool, error) {
	if uri == "databricks" {
		return false, nil
	}
	if runtime.GOOS == "windows" && strings.HasPrefix(uri, `\\`) {
		return false, nil
	}
	p := urlparse(uri)
	if p.scheme == "" {
		return true, nil
	}
	host := p.hostname()
	remote := host != "" && !(host == "." || strings.HasPrefix(host, "localhost") ||
		strings.HasPrefix(host, "127.0.0.1"))
	if p.scheme == "file" {
		if remote {
			return false, fmt.Errorf("%w: %s is not a valid remote uri. For remote access on "+
				"windows, please consider using a different scheme such as SMB "+
				"(e.g. smb://<hostname>/<path>).", ErrInvalidURI, uri)
		}
		return true, nil
	}
	if remote {
		return false, nil
	}
	if runtime.GOOS == "windows" && len(p.scheme) == 1 {
		vol := filepath.VolumeName(uri)
		return vol != "" && strings.EqualFold(vol[:1], p.scheme), nil
	}
	return false, nil
}

// uriScheme is mlflow.utils.uri.get_uri_scheme, reduced to what
// ResolveIfLocal needs (whether the scheme is empty).
func uriScheme(uri string) string {
	s := urlparse(uri).scheme
	if len(s) == 1 && isASCIIAlpha(s[0]) {
		return ""
	}
	return s
}

// localFileURIToPath is mlflow.utils.file_utils.local_file_uri_to_path.
func localFileURIToPath(uri string) string {
	path := uri
	if strings.HasPrefix(uri, "file:") {
		p := urlparse(uri)
		path = p.path
		if runtime.GOOS == "windows" && p.netloc != "" {
			return filepath.FromSlash(`\\` + p.netloc + unquote(path))
		}
	}
	if runtime.GOOS == "windows" {
		return filepath.FromSlash(unquote(path))
	}
	return unquote(path) // url2pathname on POSIX
}

func isAbs(path string) bool {
	if runtime.GOOS == "windows" {
		return filepath.IsAbs(path)
	}
	return strings.HasPrefix(path, "/")
}

// joinPath is pathlib.Path(cwd).joinpath(rel).as_posix() for a relative rel:
// empty and "." components are dropped, ".." is kept.
func joinPath(cwd, rel string) string {
	if runtime.GOOS == "windows" {
		return filepath.ToSlash(filepath.Join(cwd, rel))
	}
	out := cwd
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." {
			continue
		}
		out = posixJoin(out, part)
	}
	return out
}
