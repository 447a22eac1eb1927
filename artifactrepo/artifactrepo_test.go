package artifactrepo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/store"
)

var ctx = context.Background()

// TestResolveProxyURI: mlflow-artifacts: URIs map onto the tracking
// server's proxy route as MLflow's MlflowArtifactsRepository.resolve_uri
// maps them.
func TestResolveProxyURI(t *testing.T) {
	for _, tc := range []struct{ uri, tracking, base, root string }{
		{"mlflow-artifacts:/1/abc/artifacts", "http://h:5000", "http://h:5000", "1/abc/artifacts"},
		{"mlflow-artifacts:///1//abc/artifacts/", "https://h/prefix/", "https://h/prefix", "1/abc/artifacts"},
		{"mlflow-artifacts://other:9000/1/abc", "http://h:5000", "http://other:9000", "1/abc"},
		{"http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/abc", "", "http://h:5000", "1/abc"},
		{"https://h/p/api/2.0/mlflow-artifacts/artifacts", "", "https://h/p", ""},
	} {
		r, err := Open(tc.uri, &Options{TrackingURI: tc.tracking, HTTP: &mlflowhttp.Config{}})
		if err != nil {
			t.Errorf("Open(%q): %v", tc.uri, err)
			continue
		}
		p := r.(*Proxy)
		if got := p.client.BaseURL().String(); got != tc.base || p.root != tc.root {
			t.Errorf("Open(%q) = base %q root %q, want %q %q", tc.uri, got, p.root, tc.base, tc.root)
		}
	}
	for _, bad := range []struct{ uri, tracking string }{
		{"mlflow-artifacts:/1/x", ""},                // no tracking server
		{"mlflow-artifacts://:9000/1/x", "http://h"}, // a port without a host
		{"mlflow-artifacts:/1/../x", "http://h"},
		{"s3://bucket/x", "http://h"},
		{"http://h/not/the/proxy", ""},
	} {
		if _, err := Open(bad.uri, &Options{TrackingURI: bad.tracking, HTTP: &mlflowhttp.Config{}}); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("Open(%q): %v, want ErrInvalidParameter", bad.uri, err)
		}
	}
}

// TestLocal writes, reads and lists a file: repository, and refuses paths
// outside its root.
func TestLocal(t *testing.T) {
	dir := t.TempDir()
	r, err := Open("file://"+dir+"/run/artifacts", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "a/b.txt", Bytes([]byte("hi"))); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.bin")
	os.WriteFile(src, []byte{0, 1, 2}, 0o644)
	if err := r.Put(ctx, "c.bin", File(src)); err != nil {
		t.Fatal(err)
	}
	rc, err := r.Get(ctx, "a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "hi" {
		t.Errorf("Get = %q", data)
	}
	fis, err := r.List(ctx, "")
	if err != nil || len(fis) != 2 || fis[0] != (FileInfo{Path: "a", IsDir: true}) || fis[1] != (FileInfo{Path: "c.bin", Size: 3}) {
		t.Errorf("List = %+v, %v", fis, err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x", ""} {
		if err := r.Put(ctx, bad, Bytes(nil)); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("Put(%q) = %v, want ErrInvalidParameter", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "x")); !os.IsNotExist(err) {
		t.Errorf("a refused path was written: %v", err)
	}
	if _, err := r.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(nope) = %v", err)
	}
}

// TestProxyUploadRetried: an upload that meets a 503 is sent again with
// its whole body, and the escaped path reaches the server.
func TestProxyUploadRetried(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		paths = append(paths, r.URL.EscapedPath())
		if len(bodies) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	r, err := Open("mlflow-artifacts:/1/run/artifacts", &Options{TrackingURI: srv.URL, HTTP: &mlflowhttp.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "a dir/ü.txt", Bytes([]byte("payload"))); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 2 || bodies[0] != "payload" || bodies[1] != "payload" {
		t.Errorf("bodies %q", bodies)
	}
	if want := "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/a%20dir/%C3%BC.txt"; paths[1] != want {
		t.Errorf("path %s, want %s", paths[1], want)
	}
}
