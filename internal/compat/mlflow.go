package compat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/internal/mlflowtest"
)

// Environment variables the harness reads (see internal/mlflowtest, which
// also reads MLRUN_CACHE_DIR). scripts/mlflow-venvs.sh prints the first
// two; CI sets EnvRequire=1.
const (
	EnvVenvs    = mlflowtest.EnvVenvs    // directory holding venv-<version>
	EnvVersions = mlflowtest.EnvVersions // space-separated versions to test
	EnvRequire  = mlflowtest.EnvRequire  // "1": a missing venv fails instead of skipping
)

// installedMarker is written into a venv by scripts/mlflow-venvs.sh after a
// verified install.
const installedMarker = ".mlrun-installed"

//go:embed mlflow-versions.txt
var versionsFile string

//go:embed py/*.py
var pyFS embed.FS

// Versions returns the MLflow versions to test: $MLRUN_MLFLOW_VERSIONS if
// set, else the pinned list in mlflow-versions.txt, oldest first.
func Versions() []string { return mlflowtest.Versions(PinnedVersions) }

// PinnedVersions returns the versions listed in mlflow-versions.txt.
func PinnedVersions() []string { return mlflowtest.ParseVersions(versionsFile) }

// NewestVersion returns the last (newest) pinned version.
func NewestVersion() string {
	v := PinnedVersions()
	return v[len(v)-1]
}

// VenvsDir returns the directory holding the venvs: $MLRUN_MLFLOW_VENVS,
// else $MLRUN_CACHE_DIR, else $HOME/.cache/mlrun (as the script does).
func VenvsDir() string { return mlflowtest.VenvsDir() }

// MLflow is one installed MLflow version: a virtualenv made by
// scripts/mlflow-venvs.sh.
type MLflow struct {
	Version string
	Venv    string // the venv directory
}

// Find returns the venv of an MLflow version, or an error saying how to
// create it.
func Find(version string) (*MLflow, error) {
	venv := filepath.Join(VenvsDir(), "venv-"+version)
	m := &MLflow{Version: version, Venv: venv}
	marker, err := os.ReadFile(filepath.Join(venv, installedMarker))
	if err != nil {
		return nil, fmt.Errorf("MLflow %s: no verified venv at %s (%v); run: eval \"$(scripts/mlflow-venvs.sh)\"", version, venv, err)
	}
	// The marker is "mlflow==<version> <constraints hash>" (scripts/mlflow-venvs.sh).
	if req, _, _ := strings.Cut(strings.TrimSpace(string(marker)), " "); req != "mlflow=="+version {
		return nil, fmt.Errorf("MLflow %s: venv %s was installed for %q; rerun scripts/mlflow-venvs.sh", version, venv, marker)
	}
	for _, exe := range []string{m.Python(), m.bin("mlflow")} {
		if _, err := os.Stat(exe); err != nil {
			return nil, fmt.Errorf("MLflow %s: %v; rerun scripts/mlflow-venvs.sh", version, err)
		}
	}
	return m, nil
}

// Require returns the venv of an MLflow version for a test. A missing venv
// fails the test when MLRUN_REQUIRE_MLFLOW=1 (as in CI) and skips it
// otherwise.
func Require(t testing.TB, version string) *MLflow {
	t.Helper()
	m, err := Find(version)
	if err != nil {
		if mlflowtest.Required() {
			t.Fatalf("%v (%s=1)", err, EnvRequire)
		}
		t.Skipf("%v (set %s=1 to fail instead)", err, EnvRequire)
	}
	return m
}

// Python returns the venv's interpreter.
func (m *MLflow) Python() string { return m.bin("python") }

func (m *MLflow) bin(name string) string { return filepath.Join(m.Venv, "bin", name) }

// Env returns the environment for MLflow processes: the current one without
// any MLFLOW_* variable, plus MLFLOW_ALLOW_FILE_STORE=true (needed by 3.13+
// to read file stores) and telemetry turned off.
func (m *MLflow) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MLFLOW_") && !strings.HasPrefix(kv, "_MLFLOW_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"MLFLOW_ALLOW_FILE_STORE=true",
		"MLFLOW_DISABLE_TELEMETRY=true",
		"DO_NOT_TRACK=true",
		"PYTHONDONTWRITEBYTECODE=1",
		"PYTHONIOENCODING=utf-8",
	)
}

// Command returns a command running one of the venv's executables
// ("python", "mlflow") with Env.
func (m *MLflow) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, m.bin(exe), args...)
	cmd.Env = m.Env()
	return cmd
}

// run runs a venv executable and returns its combined output; a failure
// includes the output in the error.
func (m *MLflow) run(ctx context.Context, exe string, args ...string) (string, error) {
	return m.runEnv(ctx, nil, exe, args...)
}

// runEnv is run with extra environment variables. Python helpers run in a
// temporary working directory, removed afterwards: MLflow 2 creates
// ./mlruns in its working directory (its default tracking URI), which
// would otherwise appear in the caller's package directory. (Their
// arguments are absolute paths and URIs.)
func (m *MLflow) runEnv(ctx context.Context, env []string, exe string, args ...string) (string, error) {
	cmd := m.Command(ctx, exe, args...)
	cmd.Env = append(cmd.Env, env...)
	if exe == "python" {
		dir, err := os.MkdirTemp("", "mlrun-py-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		cmd.Dir = dir
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("MLflow %s: %s %s: %w\n%s", m.Version, exe, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// PyDumpOptions configures the Python dumps.
type PyDumpOptions struct {
	// Root, if set, is the store root replaced by <ROOT> in URIs.
	Root string
	// PageSize is the page size of the searches; 0 means the script's 100.
	PageSize int
}

func (o *PyDumpOptions) args() []string {
	var a []string
	if o == nil {
		return a
	}
	if o.Root != "" {
		a = append(a, "--normalize-root", o.Root)
	}
	if o.PageSize > 0 {
		a = append(a, "--page-size", strconv.Itoa(o.PageSize))
	}
	return a
}

// DumpClient dumps the store at trackingURI (file:///…, sqlite:///…)
// through MlflowClient, with py/dump.py.
func (m *MLflow) DumpClient(ctx context.Context, trackingURI string, opts *PyDumpOptions) (*Snapshot, error) {
	return m.dumpWith(ctx, "dump.py", append([]string{"--tracking-uri", trackingURI}, opts.args()...))
}

// DumpREST dumps a running tracking server through its REST API, with
// py/rest_dump.py.
func (m *MLflow) DumpREST(ctx context.Context, url string, opts *PyDumpOptions) (*Snapshot, error) {
	return m.dumpWith(ctx, "rest_dump.py", append([]string{"--url", url}, opts.args()...))
}

func (m *MLflow) dumpWith(ctx context.Context, script string, args []string) (*Snapshot, error) {
	dir, err := Scripts()
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp("", "mlrun-dump-*.json")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	argv := append([]string{filepath.Join(dir, script), "--out", out.Name()}, args...)
	if _, err := m.run(ctx, "python", argv...); err != nil {
		return nil, err
	}
	s, err := ReadSnapshot(out.Name())
	if err != nil {
		return nil, fmt.Errorf("MLflow %s: %s: %w", m.Version, script, err)
	}
	return s, nil
}

// LoadRequest names artifacts of one run for [MLflow.LoadArtifacts]; empty
// fields are skipped.
type LoadRequest struct {
	RunID string
	Table string // loaded with MlflowClient.load_table (found via mlflow.loggedArtifacts)
	Dict  string // mlflow.artifacts.load_dict
	Text  string // mlflow.artifacts.load_text
	Image string // mlflow.artifacts.load_image
}

// LoadResult is what MLflow's artifact loaders returned (py/load_check.py).
type LoadResult struct {
	Table *struct {
		Columns []string `json:"columns"`
		Data    [][]any  `json:"data"`
		RunIDs  []string `json:"run_ids"` // runs load_table found the table in
	} `json:"table"`
	Dict  any     `json:"dict"`
	Text  *string `json:"text"`
	Image *struct {
		Size   [2]int            `json:"size"`
		Pixels map[string][4]int `json:"pixels"` // "x,y" -> RGBA
	} `json:"image"`
	Warnings []string `json:"warnings"`
	Errors   []string `json:"errors"`
}

// LoadArtifacts loads a run's artifacts with MLflow's own loaders, which
// checks their content and format rather than their bytes.
func (m *MLflow) LoadArtifacts(ctx context.Context, trackingURI string, req LoadRequest) (*LoadResult, error) {
	dir, err := Scripts()
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp("", "mlrun-load-*.json")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	args := []string{filepath.Join(dir, "load_check.py"), "--tracking-uri", trackingURI, "--run-id", req.RunID, "--out", out.Name()}
	for flag, v := range map[string]string{"--table": req.Table, "--dict": req.Dict, "--text": req.Text, "--image": req.Image} {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	if _, err := m.run(ctx, "python", args...); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, err
	}
	var res LoadResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("MLflow %s: load_check.py: %w", m.Version, err)
	}
	return &res, nil
}

// MutateStore writes into an existing store with MlflowClient
// (py/mutate.py): it appends to run runID, adds a FAILED run and a deleted
// run to experiment experimentID, tags and renames that experiment.
func (m *MLflow) MutateStore(ctx context.Context, trackingURI, experimentID, runID string) error {
	dir, err := Scripts()
	if err != nil {
		return err
	}
	_, err = m.run(ctx, "python", filepath.Join(dir, "mutate.py"),
		"--tracking-uri", trackingURI, "--experiment-id", experimentID, "--run-id", runID)
	return err
}

// GC runs `mlflow gc --backend-store-uri backend [args…]`, which
// permanently removes deleted runs (and deleted experiments) older than
// --older-than, and returns its output. MLFLOW_TRACKING_URI is set to
// trackingURI, which 3.x requires (for deleting artifacts) and 2.x has no
// flag for.
func (m *MLflow) GC(ctx context.Context, backend, trackingURI string, args ...string) (string, error) {
	return m.runEnv(ctx, []string{"MLFLOW_TRACKING_URI=" + trackingURI}, "mlflow",
		append([]string{"gc", "--backend-store-uri", backend}, args...)...)
}

// MigrateFileStore runs `mlflow migrate-filestore --source src --target
// sqlite:///dbPath` and returns its output. dbPath must not exist.
func (m *MLflow) MigrateFileStore(ctx context.Context, src, dbPath string) (string, error) {
	return m.run(ctx, "mlflow", "migrate-filestore", "--source", src, "--target", "sqlite:///"+dbPath)
}

var scripts struct {
	once sync.Once
	dir  string
	err  error
}

// Scripts returns a directory holding the Python scripts of py/ (embedded
// in the package). It is named by the scripts' content hash under the
// system temp dir, so it is written once and shared by test processes.
func Scripts() (string, error) {
	scripts.once.Do(func() { scripts.dir, scripts.err = writeScripts() })
	return scripts.dir, scripts.err
}

func writeScripts() (string, error) {
	entries, err := fs.ReadDir(pyFS, "py")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := pyFS.ReadFile("py/" + e.Name())
		if err != nil {
			return "", err
		}
		files[e.Name()] = b
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "mlrun-compat-py-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "mlrun-compat-py-tmp-")
	if err != nil {
		return "", err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		// Another process won the race: its copy is identical.
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr == nil {
			return dir, nil
		}
		return "", errors.Join(fmt.Errorf("compat: install scripts in %s", dir), err)
	}
	return dir, nil
}
