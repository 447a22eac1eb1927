// Package mlflowtest locates the real MLflow versions installed in Python
// virtualenvs by scripts/mlflow-venvs.sh, and lets tests run them, to
// compare what Go writes with what MLflow writes and reads. It is shared by
// compat (the cross-version harness) and sqlstore's tests.
//
// Virtualenvs are <dir>/venv-<mlflow version>. The environment variables
// are:
//
//   - MLRUN_MLFLOW_VENVS: the directory holding them;
//   - MLRUN_CACHE_DIR: the script's cache directory, holding them when
//     MLRUN_MLFLOW_VENVS is unset (read by VenvsDir, not by Python);
//   - MLRUN_MLFLOW_VERSIONS: space-separated versions to test instead of the
//     pinned ones (see Versions);
//   - MLRUN_MLFLOW_EXTRA_VERSIONS: space-separated versions the schema
//     tests also run, beyond the pinned ones (see ExtraVersions);
//   - MLRUN_REQUIRE_MLFLOW=1: a missing or unusable virtualenv fails the
//     test that needs it instead of skipping it (see Required).
//
// Without the first two, the directory is $HOME/.cache/mlrun.
package mlflowtest

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The environment variables read (see the package documentation).
const (
	EnvVenvs    = "MLRUN_MLFLOW_VENVS"    // directory holding venv-<version>
	EnvCacheDir = "MLRUN_CACHE_DIR"       // scripts/mlflow-venvs.sh's cache, the venvs' default home
	EnvVersions = "MLRUN_MLFLOW_VERSIONS" // space-separated versions to test
	EnvRequire  = "MLRUN_REQUIRE_MLFLOW"  // "1": a missing venv fails instead of skipping
	EnvExtra    = "MLRUN_MLFLOW_EXTRA_VERSIONS"
)

// ExtraVersions returns the MLflow versions that only the schema tests run
// (sqlstore/schema, sqlstore): the fields of $MLRUN_MLFLOW_EXTRA_VERSIONS if
// set, else the list in internal/compat/mlflow-extra-versions.txt, which
// scripts/mlflow-venvs.sh installs beside the pinned ones.
func ExtraVersions() []string {
	if v, ok := os.LookupEnv(EnvExtra); ok {
		return strings.Fields(v)
	}
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "compat", "mlflow-extra-versions.txt"))
	if err != nil {
		return nil
	}
	return ParseVersions(string(b))
}

// Required reports whether MLRUN_REQUIRE_MLFLOW=1, that is whether a test
// needing a missing or unusable MLflow virtualenv fails rather than skips.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Versions returns the MLflow versions to test: the fields of
// $MLRUN_MLFLOW_VERSIONS if any, else pinned().
func Versions(pinned func() []string) []string {
	if v := strings.Fields(os.Getenv(EnvVersions)); len(v) > 0 {
		return v
	}
	return pinned()
}

// ParseVersions returns the versions listed in the text of a versions file
// such as internal/compat/mlflow-versions.txt: one a line, '#' starting a comment.
func ParseVersions(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// VenvsDir returns the directory holding the venvs as scripts/mlflow-venvs.sh
// picks it: $MLRUN_MLFLOW_VENVS, else $MLRUN_CACHE_DIR, else
// $HOME/.cache/mlrun (<temp dir>/mlrun-cache without a home directory).
// compat uses it.
func VenvsDir() string {
	if d := os.Getenv(EnvVenvs); d != "" {
		return d
	}
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "mlrun-cache")
	}
	return filepath.Join(home, ".cache", "mlrun")
}

// pythonVenvsDir returns the directory PythonPath and Python search:
// $MLRUN_MLFLOW_VENVS, else $HOME/.cache/mlrun (.cache/mlrun without a home
// directory). Unlike VenvsDir it does not read MLRUN_CACHE_DIR, as
// sqlstore's tests never did.
func pythonVenvsDir() string {
	if d := os.Getenv(EnvVenvs); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "mlrun")
	}
	return filepath.Join(home, ".cache", "mlrun")
}

// PythonPath returns the path of the python executable of venv-<version>
// in $MLRUN_MLFLOW_VENVS or $HOME/.cache/mlrun, whether or not it exists.
func PythonPath(version string) string {
	venv := filepath.Join(pythonVenvsDir(), "venv-"+version)
	if runtime.GOOS == "windows" {
		return filepath.Join(venv, "Scripts", "python.exe")
	}
	return filepath.Join(venv, "bin", "python")
}

type probe struct {
	once sync.Once
	msg  string // why the venv is unusable; "" when usable
}

var probes sync.Map // version -> *probe

// Python returns the python executable of venv-<version>, after checking once
// per test binary that it imports MLflow <version>. Otherwise it skips t, or
// fails it when MLRUN_REQUIRE_MLFLOW=1.
func Python(t testing.TB, version string) string {
	t.Helper()
	py := PythonPath(version)
	v, _ := probes.LoadOrStore(version, &probe{})
	p := v.(*probe)
	p.once.Do(func() {
		if _, err := os.Stat(py); err != nil {
			p.msg = "no MLflow " + version + " virtualenv: " + err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, py, "-c",
			"import mlflow; print(mlflow.__version__)").CombinedOutput()
		got := strings.TrimSpace(string(out))
		if err != nil || got != version {
			p.msg = "MLflow " + version + " virtualenv at " + py + " is not usable (" +
				lastLine(got) + ")"
		}
	})
	if p.msg != "" {
		hint := "; set " + EnvVenvs + " to a directory holding venv-" + version
		if Required() {
			t.Fatal(p.msg + hint)
		}
		t.Skip(p.msg + hint)
	}
	return py
}

// Run runs `python -c script args...` with the python of venv-<version>, in
// directory dir ("" for the current one), and returns its standard output. It
// fails t, showing stderr, if the script exits with an error.
func Run(t testing.TB, version, dir, script string, args ...string) []byte {
	t.Helper()
	out, stderr, err := RunErr(t, version, dir, script, args...)
	if err != nil {
		t.Fatalf("MLflow %s script failed: %v\nstderr:\n%s\nstdout:\n%s", version, err, stderr, out)
	}
	return out
}

// RunErr is like Run but returns stdout, stderr and the exit error instead of
// failing the test on a non-zero exit.
func RunErr(t testing.TB, version, dir, script string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	return RunCommand(t, version, dir, append([]string{"-c", script}, args...)...)
}

// RunCommand runs the python of venv-<version> with the given arguments (for
// example "-m", "mlflow", "db", "upgrade", uri).
func RunCommand(t testing.TB, version, dir string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	py := Python(t, version)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Dir = dir
	// Keep MLflow from reading the caller's tracking configuration.
	cmd.Env = cleanEnv()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// cleanEnv is the process environment without the variables that would make
// MLflow use another tracking configuration or Python emit extra warnings.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "_MLFLOW_SERVER_ARTIFACT_ROOT",
			"MLFLOW_ENABLE_WORKSPACES", "PYTHONWARNINGS", "PYTHONPATH":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// NewerExtras returns the extra versions (ExtraVersions) newer than every
// one of pinned: releases too new to be pinned in full (their mlflow
// package cannot be installed yet), installed as mlflow-skinny, which
// still holds MLflow's stores. Tests of a store format run them too, so
// the newest MLflow that reads the format is checked.
func NewerExtras(pinned []string) []string {
	var out []string
	for _, v := range ExtraVersions() {
		newer := true
		for _, p := range pinned {
			if CompareVersions(v, p) <= 0 {
				newer = false
			}
		}
		if newer {
			out = append(out, v)
		}
	}
	return out
}

// CompareVersions compares dotted numeric release numbers ("3.10.1" >
// "3.9.0", "3.1" = "3.1.0"); a non-numeric part compares as text.
func CompareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		x, y := "0", "0" // a missing part is 0
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		switch {
		case xerr == nil && yerr == nil && xn != yn:
			return cmp.Compare(xn, yn)
		case (xerr != nil || yerr != nil) && x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}
