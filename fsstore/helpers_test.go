package fsstore

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/store"
)

var bg = context.Background()

// openStore opens a store in a fresh temporary directory.
func openStore(t testing.TB, opts *Options) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "mlruns"), opts)
}

func openAt(t testing.TB, root string, opts *Options) *Store {
	t.Helper()
	s, err := Open(bg, root, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// deterministicHooks returns hooks with a clock that advances 1 ms per
// call and sequential ids.
func deterministicHooks() *hooks {
	var mu sync.Mutex
	now, exp, run := int64(1714000000000), 0, 0
	return &hooks{
		now: func() int64 {
			mu.Lock()
			defer mu.Unlock()
			now++
			return now
		},
		newExpID: func() string {
			mu.Lock()
			defer mu.Unlock()
			exp++
			return fmt.Sprintf("1%017d", exp)
		},
		newRunID: func() string {
			mu.Lock()
			defer mu.Unlock()
			run++
			return fmt.Sprintf("%032x", 0xabc000+run)
		},
	}
}

func mustNil(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checkLayout walks an mlruns directory and fails the test on anything
// MLflow's readers (FileStore 2.x/3.x, migrate-filestore) would reject or
// misread: a root directory that is not an experiment, .trash, models or a
// ".trash"-suffixed directory; an experiment subdirectory that is not a
// reserved folder or a complete run (meta.yaml, metrics/, params/,
// artifacts/); a meta.yaml that does not parse or names another
// experiment or run; an empty or malformed metric file; a file in
// metrics/, params/ or tags/ whose name MLflow rejects or that is one of
// our temporary files; an input or dataset folder without meta.yaml.
func checkLayout(t testing.TB, root string) {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatalf("checkLayout: %v", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir():
		case name == trashDir:
			trash, _ := os.ReadDir(filepath.Join(root, name))
			for _, te := range trash {
				if te.IsDir() {
					checkExperimentDir(filepath.Join(root, name, te.Name()), te.Name(), bad)
				}
			}
		case name == modelsDir, strings.HasSuffix(name, trashSuffix):
		default:
			checkExperimentDir(filepath.Join(root, name), name, bad)
		}
	}
	if len(problems) > 0 {
		t.Fatalf("store %s is not MLflow-clean:\n  %s", root, strings.Join(problems, "\n  "))
	}
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func checkExperimentDir(dir, id string, bad func(string, ...any)) {
	if !isDigits(id) {
		bad("%s: experiment directory name is not numeric", dir)
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		bad("%s: %v", dir, err)
		return
	}
	m, err := parseExpMeta(filepath.Join(dir, metaFile), data)
	if err != nil {
		bad("%v", err)
		return
	}
	if m.ID != id {
		bad("%s: experiment_id %q", dir, m.ID)
	}
	checkKeyDir(filepath.Join(dir, tagsDir), false, bad)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		switch e.Name() {
		case tagsDir, tracesDir, modelsDir:
		case datasetsDir:
			ds, _ := os.ReadDir(sub)
			for _, d := range ds {
				p := filepath.Join(sub, d.Name(), metaFile)
				data, err := os.ReadFile(p)
				if err == nil {
					_, err = parseDataset(p, data)
				}
				if err != nil {
					bad("dataset %s: %v", d.Name(), err)
				}
			}
		default:
			checkRunDir(sub, id, bad)
		}
	}
}

func checkRunDir(dir, expID string, bad func(string, ...any)) {
	p := filepath.Join(dir, metaFile)
	data, err := os.ReadFile(p)
	if err != nil {
		bad("%s: not a run: %v", dir, err)
		return
	}
	m, err := parseRunMeta(p, data)
	if err != nil {
		bad("%v", err)
		return
	}
	if m.RunID != filepath.Base(dir) || m.ExperimentID != expID {
		bad("%s: run_id %q, experiment_id %q", p, m.RunID, m.ExperimentID)
	}
	for _, sub := range []string{metricsDir, paramsDir, artifactsDir} {
		if info, err := os.Stat(filepath.Join(dir, sub)); err != nil || !info.IsDir() {
			bad("%s: no %s/", dir, sub)
		}
	}
	checkKeyDir(filepath.Join(dir, metricsDir), true, bad)
	checkKeyDir(filepath.Join(dir, paramsDir), false, bad)
	checkKeyDir(filepath.Join(dir, tagsDir), false, bad)
	inputs, _ := os.ReadDir(filepath.Join(dir, inputsDir))
	for _, in := range inputs {
		p := filepath.Join(dir, inputsDir, in.Name(), metaFile)
		data, err := os.ReadFile(p)
		if err == nil {
			_, err = parseInput(p, data)
		}
		if err != nil {
			bad("input %s: %v", p, err)
		}
	}
}

// checkKeyDir checks every file under a metrics/, params/ or tags/ folder.
func checkKeyDir(dir string, metrics bool, bad func(string, ...any)) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		key := filepath.ToSlash(rel)
		if _, tmp := atomicfile.IsTemp(d.Name()); tmp {
			bad("%s: temporary file", path)
		}
		if err := store.ValidateTag(store.Tag{Key: key}); err != nil {
			bad("%s: key MLflow rejects: %v", path, err)
		}
		if !metrics {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			bad("%s: %v", path, err)
			return nil
		}
		if len(data) == 0 {
			bad("%s: empty metric file", path)
			return nil
		}
		if !bytes.HasSuffix(data, []byte("\n")) {
			bad("%s: last line not terminated", path)
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if _, err := parseMetricLine(key, line); err != nil {
				bad("%s line %d %q: %v", path, i+1, line, err)
			}
		}
		return nil
	})
}

// pythonWithYAML returns a python3 that can import yaml, or skips.
func pythonWithYAML(t testing.TB) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	if out, err := exec.Command(py, "-c", "import yaml").CombinedOutput(); err != nil {
		t.Skipf("python3 cannot import yaml: %v %s", err, out)
	}
	return py
}
