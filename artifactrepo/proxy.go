package artifactrepo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/store"
)

// proxyAPI is the artifact proxy's route (mlflow/server/handlers.py).
const proxyAPI = "/api/2.0/mlflow-artifacts/artifacts"

// Proxy is the repository of an artifact root served by a tracking
// server's artifact proxy: one PUT per file, GET to download, and GET
// ?path= to list, as MLflow's MlflowArtifactsRepository and
// HttpArtifactRepository do.
type Proxy struct {
	uri    string
	client *mlflowhttp.Client
	root   string // path under the proxy's destination, no leading or trailing slash
}

var slashes = regexp.MustCompile(`/+`)

// openProxy resolves an mlflow-artifacts: URI as MLflow's
// MlflowArtifactsRepository.resolve_uri does: mlflow-artifacts:/P is
// <tracking URI>/api/2.0/mlflow-artifacts/artifacts/P, and
// mlflow-artifacts://host:port/P the same on that host.
func openProxy(uri string, opts *Options) (*Proxy, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, store.Invalidf("artifact URI %q: %v", uri, err)
	}
	if opts.TrackingURI == "" {
		return nil, store.Invalidf("artifact URI %q: an mlflow-artifacts: URI needs the http(s) tracking URI of its server", uri)
	}
	track, err := mlflowhttp.ParseBaseURL(opts.TrackingURI)
	if err != nil {
		return nil, store.Invalidf("artifact URI %q: %v", uri, err)
	}
	base := *track
	if u.Host != "" {
		if u.Hostname() == "" {
			return nil, store.Invalidf("artifact URI %q has a port but no host", uri)
		}
		base.Host = u.Host
	}
	return newProxy(uri, base.String(), u.Path, opts)
}

// openProxyURL opens an http(s) URL of a proxy's artifacts route.
func openProxyURL(uri string, opts *Options) (*Proxy, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, store.Invalidf("artifact URI %q: %v", uri, err)
	}
	prefix, rest, ok := strings.Cut(u.Path, proxyAPI)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return nil, store.Invalidf("artifact URI %q: an http(s) artifact URI must be an MLflow artifact proxy URL (…%s/…)", uri, proxyAPI)
	}
	base := *u
	base.Path, base.RawPath, base.RawQuery, base.Fragment = prefix, "", "", ""
	return newProxy(uri, base.String(), rest, opts)
}

func newProxy(uri, base, root string, opts *Options) (*Proxy, error) {
	root = strings.Trim(slashes.ReplaceAllString(root, "/"), "/")
	for _, el := range strings.Split(root, "/") {
		if el == ".." || el == "." {
			return nil, store.Invalidf("artifact URI %q: relative path elements are not allowed", uri)
		}
	}
	if opts.Client != nil {
		if b, err := mlflowhttp.ParseBaseURL(base); err == nil && b.String() == opts.Client.BaseURL().String() {
			return &Proxy{uri: uri, client: opts.Client, root: root}, nil
		}
	}
	var cfg mlflowhttp.Config
	if opts.HTTP != nil {
		cfg = *opts.HTTP
	} else {
		var err error
		if cfg, err = mlflowhttp.ConfigFromEnv(); err != nil {
			return nil, store.Invalidf("%v", err)
		}
	}
	c, err := mlflowhttp.New(base, cfg)
	if err != nil {
		return nil, store.Invalidf("artifact URI %q: %v", uri, err)
	}
	return &Proxy{uri: uri, client: c, root: root}, nil
}

// URI returns the artifact root URI.
func (p *Proxy) URI() string { return p.uri }

// route returns the proxy path of an artifact, each element escaped.
func (p *Proxy) route(rel string) string {
	full := joinPath(p.root, rel)
	if full == "" {
		return proxyAPI
	}
	els := strings.Split(full, "/")
	for i, e := range els {
		els[i] = url.PathEscape(e)
	}
	return proxyAPI + "/" + strings.Join(els, "/")
}

// Put uploads src with one PUT (retried: a repeated upload writes the same
// file again).
func (p *Proxy) Put(ctx context.Context, rel string, src Source) error {
	r, err := cleanPath(rel)
	if err != nil {
		return err
	}
	if r == "" {
		return store.Invalidf("Put: %v", errNoPath)
	}
	ct := mime.TypeByExtension(path.Ext(r))
	if ct == "" {
		ct = "application/octet-stream"
	}
	_, err = p.client.Do(ctx, mlflowhttp.Request{
		Method:      http.MethodPut,
		Path:        p.route(r),
		ContentType: ct,
		BodyFunc: func() (io.ReadCloser, int64, error) {
			rc, err := src.Open()
			return rc, src.Size(), err
		},
		Idempotency: mlflowhttp.Idempotent,
	})
	if err != nil {
		return fmt.Errorf("upload artifact %s to %s: %w", r, p.uri, err)
	}
	return nil
}

// Get downloads the file at rel.
func (p *Proxy) Get(ctx context.Context, rel string) (io.ReadCloser, error) {
	r, err := cleanPath(rel)
	if err != nil {
		return nil, err
	}
	if r == "" {
		return nil, store.Invalidf("Get: %v", errNoPath)
	}
	resp, err := p.client.Stream(ctx, mlflowhttp.Request{Method: http.MethodGet, Path: p.route(r), Idempotency: mlflowhttp.Idempotent})
	if err != nil {
		var he *mlflowhttp.Error
		if errors.As(err, &he) && (he.Status == http.StatusNotFound || he.Code == "RESOURCE_DOES_NOT_EXIST") {
			return nil, notFound(p.uri, r, err)
		}
		return nil, fmt.Errorf("download artifact %s from %s: %w", r, p.uri, err)
	}
	return resp.Body, nil
}

// List lists the entries under dir (GET ...?path=; the server returns
// base names, joined here onto dir).
func (p *Proxy) List(ctx context.Context, dir string) ([]FileInfo, error) {
	d, err := cleanPath(dir)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if full := joinPath(p.root, d); full != "" {
		q.Set("path", full)
	}
	resp, err := p.client.Do(ctx, mlflowhttp.Request{Method: http.MethodGet, Path: proxyAPI, Query: q, Idempotency: mlflowhttp.Idempotent})
	if err != nil {
		return nil, fmt.Errorf("list artifacts %s of %s: %w", d, p.uri, err)
	}
	var out struct {
		Files []struct {
			Path     string          `json:"path"`
			IsDir    bool            `json:"is_dir"`
			FileSize json.RawMessage `json:"file_size"`
		} `json:"files"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("list artifacts %s of %s: bad response: %w", d, p.uri, err)
	}
	files := []FileInfo{}
	for _, f := range out.Files {
		name := path.Base(f.Path)
		if name == "" || name == "." || name == "/" || name == ".." {
			continue
		}
		fi := FileInfo{Path: joinPath(d, name), IsDir: f.IsDir}
		if len(f.FileSize) > 0 {
			// int64: a number, or a string from protobuf's own encoder.
			fi.Size, _ = strconv.ParseInt(strings.Trim(string(f.FileSize), `"`), 10, 64)
		}
		files = append(files, fi)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}
