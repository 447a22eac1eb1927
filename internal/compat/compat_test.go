package compat_test

import (
	"context"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/internal/pyfloat"
)

// harmless lists the warnings MLflow may emit while reading a correct
// store, each with the reason it is not a sign of an incompatibility.
// Every other warning, in a Python dump or in the server's or
// migrate-filestore's output, fails the test.
var harmless = []struct {
	pattern *regexp.Regexp
	reason  string
}{
	{
		regexp.MustCompile(`^FutureWarning: .*(?i:file ?store|filesystem tracking backend).*deprecated`),
		"MLflow 3.6–3.12 warn that the file store itself is deprecated, whoever wrote it (not emitted by the pinned versions; kept for MLRUN_MLFLOW_VERSIONS overrides)",
	},
	{
		regexp.MustCompile(`^import: PydanticDeprecatedSince2\d*: (Using ` + "`@model_validator`" + ` with mode='after' on a classmethod is deprecated|Support for class-based ` + "`config`" + ` is deprecated)`),
		"emitted by `import mlflow` (2.22.5's own pydantic models under pydantic 2.12+) before any store is opened",
	},
	{
		regexp.MustCompile("^SADeprecationWarning: The ``noload`` loader strategy is deprecated"),
		"SQLAlchemy 2.1 warns about MLflow's own SqlAlchemyStore query options (any sqlite:// store)",
	},
	{
		regexp.MustCompile(`WARNING mlflow\.server: MLflow job execution requirements not met \(MLflow job backend requires a database backend store URI`),
		"mlflow server 3.x has no job runner on a file store; the tracking API is unaffected",
	},
	{
		regexp.MustCompile(`StarletteDeprecationWarning: starlette\.middleware\.wsgi is deprecated`),
		"mlflow server 3.x imports a deprecated Starlette module at start-up",
	},
}

// unexpected returns the warnings that are not known to be harmless.
func unexpected(warnings []string) []string {
	var out []string
next:
	for _, w := range warnings {
		for _, h := range harmless {
			if h.pattern.MatchString(w) {
				continue next
			}
		}
		out = append(out, w)
	}
	return out
}

// logProblems returns the lines of a process's output that look like a
// warning or an error, less the harmless ones.
var problemLine = regexp.MustCompile(`(?i)warn|error|traceback|exception|critical`)

func logProblems(output string) []string {
	var lines []string
	for _, l := range strings.Split(output, "\n") {
		if problemLine.MatchString(l) {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return unexpected(lines)
}

// checkClean fails the test for errors and unexpected warnings of a dump.
func checkClean(t *testing.T, what string, s *compat.Snapshot) {
	t.Helper()
	for _, e := range s.Errors {
		t.Errorf("%s: read error: %s", what, e)
	}
	for _, w := range unexpected(s.Warnings) {
		t.Errorf("%s: unexpected warning: %s", what, w)
	}
}

// checkSame fails the test with a field-by-field diff if got differs from
// want.
func checkSame(t *testing.T, what string, want, got *compat.Snapshot) {
	t.Helper()
	diffs := compat.Compare(want, got)
	if len(diffs) == 0 {
		return
	}
	const maxLines = 60
	shown := diffs
	if len(shown) > maxLines {
		shown = append(shown[:maxLines:maxLines], "…")
	}
	t.Errorf("%s: %d differences (want = expected, got = actual):\n  %s",
		what, len(diffs), strings.Join(shown, "\n  "))
}

// goDump opens the file store at root with fsstore and dumps it.
func goDump(t *testing.T, root string, opts *compat.DumpOptions) *compat.Snapshot {
	t.Helper()
	ctx := context.Background()
	s, err := fsstore.Open(ctx, root, nil)
	if err != nil {
		t.Fatalf("fsstore.Open(%s): %v", root, err)
	}
	defer s.Close()
	snap, err := compat.Dump(ctx, s, opts)
	if err != nil {
		t.Fatalf("Go dump of %s: %v", root, err)
	}
	return snap
}

// fileURI returns the file:// URI of an absolute path, percent-encoded as
// MLflow (pathlib.Path.as_uri) spells it.
func fileURI(path string) string {
	uri, err := fileuri.FromPath(path)
	if err != nil {
		panic(err)
	}
	return uri
}

// copyDir copies the tree at src to dst (which must not exist).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// sqlNormalize maps a dump of a file store to what `mlflow
// migrate-filestore` keeps of it, so that only MLflow's own losses are
// forgiven (TestFixtures/…/migrate shows them on a Python-written store):
//
//   - metric values: ±inf become ±1.7976931348623157e308 and -0.0 becomes
//     0.0 (the SQL store's representation);
//   - param, run tag and experiment tag values: "\r\n" and "\r" become
//     "\n" (migrate reads those files with Python's read_text, which
//     translates newlines).
//
// It returns a normalised copy.
func sqlNormalize(s *compat.Snapshot) *compat.Snapshot {
	out := *s
	newlines := strings.NewReplacer("\r\n", "\n", "\r", "\n")
	values := func(m map[string]string) map[string]string {
		o := make(map[string]string, len(m))
		for k, v := range m {
			o[k] = newlines.Replace(v)
		}
		return o
	}
	out.Experiments = make([]compat.Experiment, len(s.Experiments))
	for i, e := range s.Experiments {
		e.Tags = values(e.Tags)
		out.Experiments[i] = e
	}
	out.Runs = make([]compat.Run, len(s.Runs))
	m := func(v string) string {
		switch v {
		case "inf":
			return pyfloat.Repr(math.MaxFloat64)
		case "-inf":
			return pyfloat.Repr(-math.MaxFloat64)
		case "-0.0":
			return "0.0"
		}
		return v
	}
	for i, r := range s.Runs {
		latest := map[string]string{}
		for k, v := range r.LatestMetrics {
			latest[k] = m(v)
		}
		hist := map[string][]compat.MetricPoint{}
		for k, h := range r.Metrics {
			for _, p := range h {
				p.Value = m(p.Value)
				hist[k] = append(hist[k], p)
			}
			compat.SortHistory(hist[k])
		}
		r.LatestMetrics, r.Metrics = latest, hist
		r.Params, r.Tags = values(r.Params), values(r.Tags)
		out.Runs[i] = r
	}
	return &out
}
