package reststore_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/store"
)

// TestArtifacts writes a run's artifacts through artifactrepo, at the
// artifact URI the server gave the run: through the artifact proxy
// (mlflow-artifacts:, MLflow 3 with --serve-artifacts) or directly (a
// file: URI, MLflow 2 with --no-serve-artifacts); reads them back, and
// has MLflow's Python client list and download them from the server.
func TestArtifacts(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			s := openFresh(t, v)
			defer s.Close()
			srv := sharedServer(t, v)
			run, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "artifacts"})
			if err != nil {
				t.Fatal(err)
			}
			uri := run.Info.ArtifactURI
			wantScheme := "file:"
			if usesPostgres(v) {
				wantScheme = "mlflow-artifacts:"
			}
			if !strings.HasPrefix(uri, wantScheme) {
				t.Fatalf("artifact URI %q, want a %s URI", uri, wantScheme)
			}
			repo, err := artifactrepo.Open(uri, &artifactrepo.Options{TrackingURI: srv.URL, HTTP: testHTTP()})
			if err != nil {
				t.Fatal(err)
			}
			binary := make([]byte, 256*17)
			for i := range binary {
				binary[i] = byte(i * 7)
			}
			files := map[string][]byte{
				"notes.txt":           []byte("ridge, alpha=0.1\n"),
				"model/MLmodel":       []byte("artifact_path: model\nflavors: {}\n"),
				"dir/sub/data.bin":    binary,
				"dir/ü and space.txt": []byte("ünïcode ✓"),
				"empty.txt":           {},
			}
			for p, data := range files {
				if err := repo.Put(ctx, p, artifactrepo.Bytes(data)); err != nil {
					t.Fatalf("Put %s: %v", p, err)
				}
			}
			// Overwrite is allowed.
			if err := repo.Put(ctx, "notes.txt", artifactrepo.Bytes([]byte("v2\n"))); err != nil {
				t.Fatal(err)
			}
			files["notes.txt"] = []byte("v2\n")
			for p, want := range files {
				rc, err := repo.Get(ctx, p)
				if err != nil {
					t.Fatalf("Get %s: %v", p, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("Get %s = %q, %v; want %q", p, trunc(got), err, trunc(want))
				}
			}
			list := func(dir string) []string {
				t.Helper()
				fis, err := repo.List(ctx, dir)
				if err != nil {
					t.Fatalf("List %q: %v", dir, err)
				}
				var out []string
				for _, f := range fis {
					e := f.Path
					if f.IsDir {
						e += "/"
					} else if f.Size != int64(len(files[f.Path])) {
						t.Errorf("List %q: %s has size %d, want %d", dir, f.Path, f.Size, len(files[f.Path]))
					}
					out = append(out, e)
				}
				return out
			}
			if got, want := list(""), []string{"dir/", "empty.txt", "model/", "notes.txt"}; !slices.Equal(got, want) {
				t.Errorf("List root = %v, want %v", got, want)
			}
			if got, want := list("dir"), []string{"dir/sub/", "dir/ü and space.txt"}; !slices.Equal(got, want) {
				t.Errorf("List dir = %v, want %v", got, want)
			}
			if got := list("missing"); len(got) != 0 {
				t.Errorf("List missing = %v", got)
			}
			if _, err := repo.Get(ctx, "missing.txt"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get missing: %v, want ErrNotFound", err)
			}
			for _, bad := range []string{"../x", "/abs", "a/../../b", "a//b"} {
				if err := repo.Put(ctx, bad, artifactrepo.Bytes(nil)); !errors.Is(err, store.ErrInvalidParameter) {
					t.Errorf("Put %q: %v, want ErrInvalidParameter", bad, err)
				}
			}

			// MLflow's own client sees the same files through the server.
			out := mlflowtest.Run(t, v, t.TempDir(), `
import json, sys, mlflow
from mlflow import MlflowClient
uri, run_id = sys.argv[1], sys.argv[2]
c = MlflowClient(uri)
def walk(p):
    out = []
    for f in c.list_artifacts(run_id, p):
        out.append([f.path, f.is_dir, f.file_size])
        if f.is_dir:
            out += walk(f.path)
    return out
files = walk(None)
got = {}
for path, is_dir, _ in files:
    if not is_dir:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, tracking_uri=uri)
        got[path] = open(local, "rb").read().hex()
print(json.dumps({"files": files, "content": got}))
`, srv.URL, run.Info.RunID)
			var py struct {
				Files   [][]any           `json:"files"`
				Content map[string]string `json:"content"`
			}
			if err := json.Unmarshal(out, &py); err != nil {
				t.Fatalf("python output %s: %v", out, err)
			}
			if len(py.Content) != len(files) {
				t.Errorf("MLflow lists %d files, want %d: %v", len(py.Content), len(files), py.Files)
			}
			for p, want := range files {
				if got, ok := py.Content[p]; !ok || got != hexOf(want) {
					t.Errorf("MLflow downloads %s as %q (listed %v), want %q", p, trunc([]byte(got)), ok, trunc([]byte(hexOf(want))))
				}
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
