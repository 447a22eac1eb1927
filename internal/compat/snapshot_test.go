package compat_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/internal/compat"
)

func readFixtureSnapshot(t *testing.T) *compat.Snapshot {
	t.Helper()
	s, err := compat.ReadSnapshot(filepath.Join(fixturesDir, "mlflow-"+compat.NewestVersion(), "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompareReportsEveryField(t *testing.T) {
	want := readFixtureSnapshot(t)
	got := readFixtureSnapshot(t)
	if d := compat.Compare(want, got); len(d) != 0 {
		t.Fatalf("a snapshot differs from itself: %v", d)
	}
	got.Warnings = append(got.Warnings, "ignored")
	got.MLflowVersion = "0"
	if d := compat.Compare(want, got); len(d) != 0 {
		t.Fatalf("diagnostics were compared: %v", d)
	}

	r := got.RunByName("rich ✓")
	r.Params["long"] = r.Params["long"][:5999] + "X"
	delete(r.Params, "lr")
	r.Tags["new"] = "x"
	r.LatestMetrics["nan"] = "0.0"
	r.Metrics["loss"] = r.Metrics["loss"][1:]
	r.Inputs[0].Tags["a"] = "b"
	end := int64(5)
	got.RunByName("yes").EndTime = &end
	got.Experiments[0].Name = "Other"
	gone := got.Runs[0]
	got.Runs = slices.Delete(got.Runs, 0, 1)

	d := compat.Compare(want, got)
	for _, wantLine := range []string{
		`params["long"]: want "0123456789abcdefghij`,
		`(first difference at char 5999)`,
		`params["lr"]: want "0.001", got missing`,
		`tags["new"]: want missing, got "x"`,
		`latest_metrics["nan"]: want "nan", got "0.0"`,
		`metrics["loss"]: want {"step":-3,"timestamp":1700000000597,`,
		`metrics["loss"]: want 7 points, got 6`,
		`.inputs["eval@ffff"].tags["a"]: want missing, got "b"`,
		`"yes"].end_time: want null, got 5`,
		`experiments[0 "Default"].name: want "Default", got "Other"`,
		`runs[` + gone.RunID + ` `,
	} {
		if !slices.ContainsFunc(d, func(l string) bool { return strings.Contains(l, wantLine) }) {
			t.Errorf("no diff line contains %q; got:\n%s", wantLine, strings.Join(d, "\n"))
		}
	}
	if len(d) != 10 {
		t.Errorf("got %d diff lines, want 10:\n%s", len(d), strings.Join(d, "\n"))
	}
}

func TestParseSnapshotRejectsUnknownFormat(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":  `{"format_version": 1, "experiments": [], "runs": [], "extra": 1}`,
		"other version":  `{"format_version": 2, "experiments": [], "runs": []}`,
		"unknown in run": `{"format_version": 1, "experiments": [], "runs": [{"run_id": "a", "bogus": 1}]}`,
	} {
		if _, err := compat.ParseSnapshot([]byte(doc)); err == nil {
			t.Errorf("%s: ParseSnapshot accepted %s", name, doc)
		}
	}
	s, err := compat.ParseSnapshot([]byte(`{"format_version": 1, "experiments": [], "runs": [{"run_id": "a"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Run("a"); r.Params == nil || r.Metrics == nil || r.Inputs == nil || s.Warnings == nil {
		t.Errorf("ParseSnapshot left nil maps or slices: %+v", s)
	}
}

func TestNormalizeRoot(t *testing.T) {
	root := "/tmp/dir with space ✓/mlruns"
	s := &compat.Snapshot{
		Experiments: []compat.Experiment{{ArtifactLocation: fileURI(root) + "/1"}, {ArtifactLocation: root + "/2"}},
		Runs:        []compat.Run{{ArtifactURI: fileURI(root) + "/1/r/artifacts"}},
	}
	s.NormalizeRoot(root)
	got := []string{s.Experiments[0].ArtifactLocation, s.Experiments[1].ArtifactLocation, s.Runs[0].ArtifactURI}
	want := []string{"file://<ROOT>/1", "<ROOT>/2", "file://<ROOT>/1/r/artifacts"}
	if !slices.Equal(got, want) {
		t.Errorf("NormalizeRoot: got %q, want %q", got, want)
	}
}

func TestHashArtifacts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b", "artifacts")
	for rel, body := range map[string]string{"x.txt": "hello", "sub/ünï.bin": "", "sub/deeper/y": "y"} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := compat.HashArtifacts(fileURI(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"x.txt":        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"sub/ünï.bin":  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sub/deeper/y": "a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa",
	}
	if len(got) != len(want) {
		t.Errorf("HashArtifacts = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("HashArtifacts[%q] = %q, want %q", k, got[k], v)
		}
	}
	if got, err := compat.HashArtifacts(fileURI(filepath.Join(dir, "missing"))); err != nil || len(got) != 0 {
		t.Errorf("missing dir: %v, %v; want no artifacts", got, err)
	}
	if _, err := compat.HashArtifacts("s3://bucket/x"); err == nil {
		t.Error("a non-local artifact URI was accepted")
	}
}
