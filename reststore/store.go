package reststore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/store"
)

// Store is a store.Store (with store.Registry and store.LoggedModels) over
// an MLflow tracking server's REST API. It is safe for concurrent use.
type Store struct {
	http   *mlflowhttp.Client
	cfg    mlflowhttp.Config // of http, for artifact proxies on other hosts
	closed atomic.Bool

	lmMu sync.Mutex // guards lm
	lm   lmSupport
}

var (
	_ store.Store = (*Store)(nil)
)

// Options configure Open. The zero value reads everything from MLflow's
// environment variables.
type Options struct {
	// HTTP replaces the transport settings read from the environment
	// (mlflowhttp.ConfigFromEnv) when set.
	HTTP *mlflowhttp.Config
}

// Open returns a store for the MLflow server at uri (http:// or
// https://, optionally with a path prefix). It does not contact the
// server: the first call does.
func Open(ctx context.Context, uri string, opts *Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var cfg mlflowhttp.Config
	if opts != nil && opts.HTTP != nil {
		cfg = *opts.HTTP
	} else {
		var err error
		if cfg, err = mlflowhttp.ConfigFromEnv(); err != nil {
			return nil, store.Invalidf("tracking server %s: %v", uri, err)
		}
	}
	c, err := mlflowhttp.New(uri, cfg)
	if err != nil {
		return nil, store.Invalidf("%v", err)
	}
	return &Store{http: c, cfg: cfg}, nil
}

// URI returns the tracking URI.
func (s *Store) URI() string { return s.http.BaseURL().String() }

// HTTPClient returns the transport, for the artifact proxy client.
func (s *Store) HTTPClient() *mlflowhttp.Client { return s.http }

// ArtifactRepo opens the artifact repository at an artifact URI this
// server gave (a run's artifact_uri, a logged model's artifact location):
// an mlflow-artifacts: URI through the server's artifact proxy, over the
// store's own transport (credentials, TLS, retries); a file: URI or path
// directly.
func (s *Store) ArtifactRepo(artifactURI string) (artifactrepo.Repo, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return artifactrepo.Open(artifactURI, &artifactrepo.Options{TrackingURI: s.URI(), HTTP: &s.cfg, Client: s.http})
}

// Close releases idle connections. Further calls return store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return store.Errorf(store.ErrClosed, "REST store %s is closed", s.URI())
	}
	s.http.CloseIdleConnections()
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return store.Errorf(store.ErrClosed, "REST store %s is closed", s.URI())
	}
	return nil
}

// Error is an error answer of the server with the store error kind it
// maps to: errors.Is(err, store.ErrNotFound) and errors.As(err,
// **mlflowhttp.Error) both work. Error() is MLflow's message.
type Error struct {
	Kind error // a store sentinel, or nil for another MLflow error
	HTTP *mlflowhttp.Error
}

func (e *Error) Error() string {
	if e.HTTP.Message == "" {
		return e.HTTP.Error()
	}
	return e.HTTP.Message + " (" + e.HTTP.Code + ")"
}

// Unwrap returns the kind and the HTTP error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.HTTP}
	}
	return []error{e.Kind, e.HTTP}
}

// mapError turns an MLflow error response into an *Error of the store
// kind MLflow's code means. MLflow's SQL store reports a write to a
// deleted run or experiment as INVALID_PARAMETER_VALUE ("... must be in
// the 'active' state"); the store contract calls that ErrInvalidState.
func mapError(err error) error {
	var he *mlflowhttp.Error
	if !errors.As(err, &he) {
		return err
	}
	var kind error
	switch he.Code {
	case "RESOURCE_DOES_NOT_EXIST", "NOT_FOUND":
		kind = store.ErrNotFound
	case "RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS":
		kind = store.ErrAlreadyExists
	case "INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST":
		kind = store.ErrInvalidParameter
		if isInactiveMessage(he.Message) {
			kind = store.ErrInvalidState
		}
	case "INVALID_STATE":
		kind = store.ErrInvalidState
	}
	if strings.HasPrefix(he.Message, "Registered model alias ") && strings.HasSuffix(he.Message, " not found.") {
		// MLflow 3 reports an alias that points nowhere as INVALID_PARAMETER_VALUE.
		kind = store.ErrNotFound
	}
	return &Error{Kind: kind, HTTP: he}
}

func isInactiveMessage(msg string) bool {
	return strings.Contains(msg, "must be in the 'active' state") ||
		strings.Contains(msg, "Cannot restore an active") ||
		strings.Contains(msg, "non-active")
}

// isUniqueViolation reports whether the server passed on its database's
// refusal of a duplicate (MLflow 2's rename to a taken name answers
// BAD_REQUEST with SQLAlchemy's IntegrityError).
func isUniqueViolation(msg string) bool {
	return strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "duplicate key value violates unique constraint")
}

const api = "/api/2.0/mlflow/"

// call sends one API request: for GET the fields of in (a map or struct
// of url.Values) go in the query string, otherwise in a JSON body. The
// JSON answer is decoded into out (if not nil).
func (s *Store) call(ctx context.Context, method, path string, idem mlflowhttp.Idempotency, in, out any) error {
	if err := s.check(); err != nil {
		return err
	}
	req := mlflowhttp.Request{Method: method, Path: api + path, Idempotency: idem}
	switch v := in.(type) {
	case nil:
	case url.Values:
		req.Query = v
	default:
		body, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("reststore: encode %s: %w", path, err)
		}
		req.Body = body
	}
	resp, err := s.http.Do(ctx, req)
	if err != nil {
		return mapError(err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("reststore: %s %s: bad response: %w", method, path, err)
	}
	return nil
}

// Retry policy of every call (see the package documentation).
const (
	idem    = mlflowhttp.Idempotent
	notIdem = mlflowhttp.NotIdempotent
)

func (s *Store) get(ctx context.Context, path string, q url.Values, out any) error {
	return s.call(ctx, "GET", path, idem, q, out)
}

func (s *Store) post(ctx context.Context, path string, idem mlflowhttp.Idempotency, in, out any) error {
	if in == nil {
		in = struct{}{}
	}
	return s.call(ctx, "POST", path, idem, in, out)
}
