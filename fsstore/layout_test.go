package fsstore

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// buildGoldenStore writes a small store with every kind of file fsstore
// writes, with a deterministic clock and ids.
func buildGoldenStore(t *testing.T, root string) {
	s := openAt(t, root, &Options{hooks: deterministicHooks()})
	exp, err := s.CreateExperiment(bg, "golden", "", []store.Tag{{Key: "team", Value: "core"}, {Key: "a/b", Value: "nested"}})
	mustNil(t, err, "CreateExperiment")
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: "alice", StartTime: 1714000000123, RunName: "golden-run", Tags: []store.Tag{{Key: "k", Value: "v"}}})
	mustNil(t, err, "CreateRun")
	id := r.Info.RunID
	mustNil(t, s.LogBatch(bg, id, []store.Metric{
		{Key: "loss", Value: 1, Timestamp: 1714000001000, Step: 0},
		{Key: "loss", Value: 0.5, Timestamp: 1714000002000, Step: 1},
		{Key: "special", Value: math.NaN(), Timestamp: 1, Step: -1},
		{Key: "special", Value: math.Inf(1), Timestamp: 2, Step: -2},
		{Key: "special", Value: math.Inf(-1), Timestamp: 3, Step: -3},
		{Key: "special", Value: math.Copysign(0, -1), Timestamp: 4, Step: -4},
		{Key: "special", Value: 1e-05, Timestamp: 5, Step: -5},
		{Key: "special", Value: 1e16, Timestamp: 6, Step: -6},
		{Key: "special", Value: 1e15, Timestamp: 7, Step: -7},
		{Key: "train/acc", Value: 0.1 + 0.2, Timestamp: 8, Step: 3},
	}, []store.Param{{Key: "lr", Value: "0.001"}, {Key: "nested/p", Value: "yes"}, {Key: "empty", Value: ""}},
		[]store.Tag{{Key: "multi", Value: "line1\nline2"}}), "LogBatch")
	mustNil(t, s.LogInputs(bg, id, []store.DatasetInput{{
		Dataset: store.Dataset{Name: "ds", Digest: "abc123", SourceType: "local", Source: `{"uri": "/data/train.csv"}`, Schema: `{"mlflow_colspec": []}`, Profile: `{"num_rows": 2}`},
		Tags:    []store.Tag{{Key: "mlflow.data.context", Value: "training"}},
	}, {
		Dataset: store.Dataset{Name: "bare", Digest: "d2", SourceType: "http", Source: `{"url": "https://example.com/x"}`},
	}}), "LogInputs")
	fin, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: "bob", StartTime: 1714000000200, RunName: "finished"})
	mustNil(t, err, "CreateRun finished")
	end := int64(1714000009999)
	_, err = s.UpdateRun(bg, fin.Info.RunID, store.RunUpdate{Status: store.StatusFinished, EndTime: &end})
	mustNil(t, err, "UpdateRun")
	del, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: "carol", StartTime: 1714000000300, RunName: "deleted"})
	mustNil(t, err, "CreateRun deleted")
	mustNil(t, s.DeleteRun(bg, del.Info.RunID), "DeleteRun")
	ren, err := s.CreateExperiment(bg, "before rename", "", nil)
	mustNil(t, err, "CreateExperiment")
	mustNil(t, s.RenameExperiment(bg, ren, "renamed"), "RenameExperiment")
	mustNil(t, s.SetExperimentTag(bg, ren, store.Tag{Key: "note", Value: "set after rename"}), "SetExperimentTag")
	gone, err := s.CreateExperiment(bg, "deleted experiment", "", nil)
	mustNil(t, err, "CreateExperiment")
	_, err = s.CreateRun(bg, store.CreateRunRequest{ExperimentID: gone, UserID: "dave", StartTime: 1714000000400, RunName: "in-deleted"})
	mustNil(t, err, "CreateRun in-deleted")
	mustNil(t, s.DeleteExperiment(bg, gone), "DeleteExperiment")
	mustNil(t, s.Close(), "Close")
}

// dumpTree renders a directory tree: one line per entry, file contents
// indented below, with the root path replaced by /ROOT.
func dumpTree(t *testing.T, root string) []byte {
	var b bytes.Buffer
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			fmt.Fprintf(&b, "%s/\n", rel)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte(root), []byte("/ROOT"))
		fmt.Fprintf(&b, "%s (%d bytes)\n", rel, len(data))
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if line != "" {
				fmt.Fprintf(&b, "    |%s", line)
				if !strings.HasSuffix(line, "\n") {
					b.WriteString("⏎no newline\n")
				}
			}
		}
		return nil
	})
	mustNil(t, err, "walk")
	return b.Bytes()
}

// TestGoldenLayout compares the files a small store consists of, byte for
// byte, with testdata/golden/layout.txt. Run with -update to rewrite it.
func TestGoldenLayout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "mlruns")
	buildGoldenStore(t, root)
	checkLayout(t, root)
	got := dumpTree(t, root)
	golden := filepath.Join("testdata", "golden", "layout.txt")
	if *update {
		mustNil(t, os.MkdirAll(filepath.Dir(golden), 0o777), "mkdir")
		mustNil(t, os.WriteFile(golden, got, 0o666), "write golden")
	}
	want, err := os.ReadFile(golden)
	mustNil(t, err, "read golden (run with -update to create it)")
	if !bytes.Equal(got, want) {
		t.Fatalf("layout differs from %s at %s\n(run go test -run TestGoldenLayout -update to accept)", golden, storetest.FirstDiff(string(got), string(want)))
	}
	// A second, identical build gives the identical tree.
	root2 := filepath.Join(t.TempDir(), "mlruns")
	buildGoldenStore(t, root2)
	if got2 := dumpTree(t, root2); !bytes.Equal(got2, got) {
		t.Error("the layout is not deterministic")
	}
}
