package reststore_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// sha256Tree returns the SHA-256 of every file under dir, by slash path.
func sha256Tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMlrunArtifacts: mlrun's artifact methods log to a real server, at
// the artifact URI it gives the run (mlflow-artifacts: through the proxy
// for MLflow 3 with --serve-artifacts, a file: URI for MLflow 2), and
// mlrun's ListArtifacts and DownloadArtifacts and MLflow's Python client
// read back every file byte for byte, models of both layouts included.
func TestMlrunArtifacts(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			s := openFresh(t, v)
			defer s.Close()
			srv := sharedServer(t, v)
			c, err := mlrun.Open(ctx, mlrun.WithStore(s))
			if err != nil {
				t.Fatal(err)
			}
			run, err := c.StartRun(ctx, mlrun.WithRunName("artifacts"))
			if err != nil {
				t.Fatal(err)
			}
			if usesPostgres(v) && !strings.HasPrefix(run.ArtifactURI(), "mlflow-artifacts:") {
				t.Fatalf("artifact URI %s, want the proxy's", run.ArtifactURI())
			}
			src := t.TempDir()
			binary := make([]byte, 300_000)
			for i := range binary {
				binary[i] = byte(i*31 + i/7)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(os.WriteFile(filepath.Join(src, "weights.bin"), binary, 0o644))
			must(os.MkdirAll(filepath.Join(src, "tree", "sub"), 0o755))
			must(os.WriteFile(filepath.Join(src, "tree", "a.txt"), []byte("a\n"), 0o644))
			must(os.WriteFile(filepath.Join(src, "tree", "sub", "ü b.txt"), []byte("ünïcode ✓"), 0o644))
			must(run.LogArtifact(ctx, filepath.Join(src, "weights.bin"), "bin"))
			must(run.LogArtifacts(ctx, filepath.Join(src, "tree"), "tree"))
			must(run.LogText(ctx, "hello\n", "notes/hello.txt"))
			must(run.LogJSON(ctx, map[string]any{"a": 1, "b": []int{2}}, "cfg.json"))
			must(run.LogTable(ctx, []string{"x", "y"}, [][]any{{1, "a"}}, "table.json"))
			must(run.LogTable(ctx, []string{"x", "y"}, [][]any{{2, "b"}}, "table.json"))
			img := image.NewRGBA(image.Rect(0, 0, 4, 3))
			img.Set(1, 1, color.RGBA{R: 200, A: 255})
			must(run.LogImage(ctx, img, "plots/p.png"))
			model := mlrun.Model{Flavors: map[string]map[string]any{"go": {"data": "w.bin"}},
				Files: map[string][]byte{"w.bin": binary[:1000]}}
			lm, err := run.LogModel(ctx, "model", model)
			must(err)
			uris := []string{"runs:/" + run.ID() + "/"}
			if lm.ModelID != "" {
				uris = append(uris, lm.URI)
			}
			c2, err := mlrun.Open(ctx, mlrun.WithStore(s), mlrun.WithModelLayout(mlrun.LayoutMLflow2))
			must(err)
			if _, err := c2.LogModel(ctx, run.ID(), "model2", model); err != nil {
				t.Fatal(err)
			}
			must(run.End(ctx))

			// mlrun reads back: the listing and the table's appended rows.
			top, err := c.ListArtifacts(ctx, run.ID(), "")
			must(err)
			var names []string
			for _, a := range top {
				names = append(names, a.Path)
			}
			wantTop := []string{"bin", "cfg.json", "model2", "notes", "plots", "table.json", "tree"}
			if lm.ModelID == "" {
				wantTop = []string{"bin", "cfg.json", "model", "model2", "notes", "plots", "table.json", "tree"}
			}
			if !slices.Equal(names, wantTop) {
				t.Errorf("ListArtifacts = %v, want %v", names, wantTop)
			}
			sub, err := c.ListArtifacts(ctx, run.ID(), "bin")
			must(err)
			if len(sub) != 1 || sub[0].Path != "bin/weights.bin" || sub[0].Size != int64(len(binary)) {
				t.Errorf("ListArtifacts(bin) = %+v", sub)
			}
			dl, err := c.DownloadArtifacts(ctx, run.ID(), "", t.TempDir())
			must(err)
			got := sha256Tree(t, dl)
			table, err := os.ReadFile(filepath.Join(dl, "table.json"))
			must(err)
			if string(table) != `{"columns":["x","y"],"data":[[1,"a"],[2,"b"]]}` {
				t.Errorf("table.json = %s", table)
			}
			one, err := c.DownloadArtifacts(ctx, run.ID(), "bin/weights.bin", t.TempDir())
			must(err)
			if b, err := os.ReadFile(one); err != nil || !bytes.Equal(b, binary) {
				t.Errorf("DownloadArtifacts of one file: %s, %v", one, err)
			}
			if _, err := c.DownloadArtifacts(ctx, run.ID(), "missing.txt", t.TempDir()); err == nil {
				t.Error("DownloadArtifacts of a missing file succeeded")
			}
			for p, want := range map[string][]byte{"bin/weights.bin": binary, "tree/sub/ü b.txt": []byte("ünïcode ✓"), "notes/hello.txt": []byte("hello\n")} {
				sum := sha256.Sum256(want)
				if got[p] != hex.EncodeToString(sum[:]) {
					t.Errorf("downloaded %s: sha256 %s", p, got[p])
				}
			}
			if _, ok := got["model2/MLmodel"]; !ok {
				t.Errorf("downloaded tree %v has no model2/MLmodel", got)
			}

			// MLflow's client downloads the same bytes from the server.
			out := mlflowtest.Run(t, v, t.TempDir(), `
import hashlib, json, os, sys, tempfile
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
res = {}
for uri in sys.argv[2:]:
    d = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tempfile.mkdtemp())
    files = {}
    for root, _, fs in os.walk(d):
        for f in fs:
            p = os.path.join(root, f)
            files[os.path.relpath(p, d).replace(os.sep, "/")] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    res[uri] = files
print(json.dumps(res))
`, append([]string{srv.URL}, uris...)...)
			var py map[string]map[string]string
			if err := json.Unmarshal(out, &py); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if pyRun := py[uris[0]]; !mapsEqual(pyRun, got) {
				t.Errorf("MLflow downloads the run's artifacts as\n%v\nmlrun as\n%v", pyRun, got)
			}
			if lm.ModelID != "" {
				pm := py[lm.URI]
				sum := sha256.Sum256(binary[:1000])
				if pm["w.bin"] != hex.EncodeToString(sum[:]) || pm["MLmodel"] == "" {
					t.Errorf("MLflow downloads the MLflow 3 model as %v", pm)
				}
			}
			r, err := s.GetRun(ctx, run.ID())
			must(err)
			if tag, _ := r.Tag(mlrun.TagLoggedArtifacts); !strings.Contains(tag, "table.json") {
				t.Errorf("%s = %q", mlrun.TagLoggedArtifacts, tag)
			}
			if r.Info.Status != store.StatusFinished {
				t.Errorf("status %v", r.Info.Status)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
