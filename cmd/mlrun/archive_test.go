package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// TestMain runs main itself when asked to (MLRUN_CLI_MAIN=1), so that the
// tests can check the exit codes and stderr of the real command.
func TestMain(m *testing.M) {
	if os.Getenv("MLRUN_CLI_MAIN") == "1" {
		os.Args = append([]string{"mlrun"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mlrunCmd runs the command (main) in a subprocess in dir, without
// MLFLOW_* variables, and returns its stdout, stderr and exit code.
func mlrunCmd(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MLFLOW_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "MLRUN_CLI_MAIN=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// listDir lists the names under dir, recursively.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// TestExitCodes checks the exit code of each kind of outcome, and that
// errors are one line on stderr.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	uri := seed(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string // in stdout (code 0) or stderr
	}{
		{[]string{"version"}, 0, "mlrun "},
		{[]string{"--help"}, 0, "commands:"},
		{[]string{"help", "export"}, 0, "usage: mlrun export"},
		{[]string{"runs", "--tracking-uri", uri}, 0, "FINISHED"},
		{[]string{"runs", "--tracking-uri", filepath.Join(dir, "nope")}, 1, "no MLflow store at"},
		{[]string{"runs", "--tracking-uri", uri, "--filter", "metrics.x <"}, 1, "mlrun:"},
		{[]string{"import", "--tracking-uri", filepath.Join(dir, "d"), filepath.Join(dir, "missing.tar.gz")}, 1, "no archive at"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{}, 2, "no command given"},
		{[]string{"runs", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"runs", "--view", "sideways"}, 2, "--view must be"},
		{[]string{"export", "--tracking-uri", uri}, 2, "-o FILE.tar.gz is required"},
		{[]string{"import", "--tracking-uri", uri}, 2, "missing arguments"},
		{[]string{"convert", uri}, 2, "missing arguments"},
		{[]string{"gc", "--tracking-uri", uri, "--older-than", "1w"}, 2, "Could not parse"},
		{[]string{"experiments", "extra"}, 2, `unexpected argument "extra"`},
	} {
		stdout, stderr, code := mlrunCmd(t, dir, tc.args...)
		if code != tc.code {
			t.Errorf("mlrun %v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
			continue
		}
		where := stdout
		if code != 0 {
			where = stderr
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n > 0 && code == 1 {
				t.Errorf("mlrun %v: the error is %d lines: %q", tc.args, n+1, stderr)
			}
		}
		if !strings.Contains(where, tc.out) {
			t.Errorf("mlrun %v: output %q lacks %q", tc.args, where, tc.out)
		}
	}
	// Every command has a --help that exits 0.
	for _, c := range commands {
		stdout, stderr, code := mlrunCmd(t, dir, c.name, "--help")
		if code != 0 || !strings.Contains(stdout, "usage: mlrun "+c.name) || stderr != "" {
			t.Errorf("mlrun %s --help: exit %d, stdout %q, stderr %q", c.name, code, stdout, stderr)
		}
	}
}

// TestReadOnlyCommandsCreateNothing runs the read-only commands on paths
// and URIs that name no store, and on MLflow's default store in an empty
// directory: each fails with "no MLflow store at ..." and creates nothing.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "x.tar.gz")
	for _, target := range []string{"sqlite:///typo.db", "sqlite:///" + filepath.Join(dir, "abs.db"), "typo-mlruns",
		"file://" + filepath.Join(dir, "mlruns2"), ""} {
		for _, cmd := range []string{"experiments", "runs", "models", "export"} {
			args := []string{cmd}
			if target != "" {
				args = append(args, "--tracking-uri", target)
			}
			if cmd == "export" {
				args = append(args, "-o", out)
			}
			_, stderr, code := mlrunCmd(t, dir, args...)
			if code != 1 || !strings.Contains(stderr, "no MLflow store at ") {
				t.Errorf("mlrun %v: exit %d, stderr %q; want exit 1 and no MLflow store", args, code, stderr)
			}
			if l := listDir(t, dir); len(l) != 1 {
				t.Fatalf("mlrun %v created %v", args, l)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("mlrun %v wrote %s", args, out)
			}
		}
	}
	// An empty directory is no store either, and stays empty.
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := mlrunCmd(t, dir, "runs", "--tracking-uri", empty); code != 1 || !strings.Contains(stderr, "no MLflow store") {
		t.Errorf("runs on an empty dir: exit %d, %q", code, stderr)
	}
	if l := listDir(t, empty); len(l) != 1 {
		t.Errorf("runs on an empty dir created %v", l)
	}
}

// TestExportImportConvert goes through the archive commands end to end.
func TestExportImportConvert(t *testing.T) {
	dir := t.TempDir()
	src := seed(t)
	archivePath := filepath.Join(dir, "sweep.tar.gz")
	stdout, stderr, code := mlrunCmd(t, dir, "export", "--tracking-uri", src, "--experiment", "sweep", "-o", archivePath)
	if code != 0 || !strings.Contains(stdout, "exported 1 experiment, 3 runs (3 metric points)") {
		t.Fatalf("export: exit %d, %q %q", code, stdout, stderr)
	}
	dst := "sqlite:///" + filepath.Join(dir, "laptop.db")
	stdout, stderr, code = mlrunCmd(t, dir, "import", archivePath, "--tracking-uri", dst)
	if code != 0 || !strings.Contains(stdout, "runs:              3 imported, 0 unchanged") {
		t.Fatalf("import: exit %d, %q %q", code, stdout, stderr)
	}
	stdout, _, code = mlrunCmd(t, dir, "import", "--tracking-uri", dst, archivePath)
	if code != 0 || !strings.Contains(stdout, "runs:              0 imported, 3 unchanged") || !strings.Contains(stdout, "nothing to import") {
		t.Errorf("second import: exit %d, %q", code, stdout)
	}
	stdout, _, code = mlrunCmd(t, dir, "runs", "--tracking-uri", dst, "--json")
	if code != 0 || strings.Count(stdout, `"run_id"`) != 3 {
		t.Errorf("runs of the imported store: %q", stdout)
	}
	// convert: the file store and the SQLite one into a 2.22.5 database.
	merged := "sqlite:///" + filepath.Join(dir, "merged.db")
	stdout, stderr, code = mlrunCmd(t, dir, "convert", "--mlflow-version", "2.22.5", src, dst, merged)
	if code != 0 || !strings.Contains(stdout, "runs:              3 imported, 3 unchanged") {
		t.Fatalf("convert: exit %d, %q %q", code, stdout, stderr)
	}
	s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "merged.db"), &sqlstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.MLflowVersion() != "2.22.5" {
		t.Errorf("converted database is MLflow %s", s.MLflowVersion())
	}
	s.Close()
	if _, stderr, code := mlrunCmd(t, dir, "convert", src, src); code != 2 || !strings.Contains(stderr, "also a source") {
		t.Errorf("convert into a source: exit %d, %q", code, stderr)
	}
	// A bad archive: exit 1, the destination unchanged.
	bad := filepath.Join(dir, "bad.tar.gz")
	b, _ := os.ReadFile(archivePath)
	if err := os.WriteFile(bad, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "laptop.db"))
	if _, stderr, code := mlrunCmd(t, dir, "import", "--tracking-uri", dst, bad); code != 1 || !strings.Contains(stderr, "truncated") {
		t.Errorf("import of a truncated archive: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "laptop.db")); !bytes.Equal(before, after) {
		t.Error("the refused import changed the database")
	}
	// Into a store that does not exist yet: nothing is created.
	fresh := filepath.Join(dir, "fresh.db")
	if _, stderr, code := mlrunCmd(t, dir, "import", "--tracking-uri", "sqlite:///"+fresh, bad); code != 1 || !strings.Contains(stderr, "truncated") {
		t.Errorf("import of a truncated archive into a new store: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("the refused import created the destination")
	}
	// Export to stdout.
	stdout, stderr, code = mlrunCmd(t, dir, "export", "--tracking-uri", src, "-o", "-")
	if code != 0 || !strings.HasPrefix(stdout, "\x1f\x8b") || !strings.Contains(stderr, "exported") {
		t.Errorf("export to stdout: exit %d, stderr %q", code, stderr)
	}
}

// TestInitVersionMismatch: init --mlflow-version on a database of another
// version is an error and leaves it as it is.
func TestInitVersionMismatch(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "m.db")
	if _, stderr, code := mlrunCmd(t, dir, "init", "--tracking-uri", "sqlite:///"+db, "--mlflow-version", "2.22.5"); code != 0 {
		t.Fatalf("init: %d %q", code, stderr)
	}
	before, _ := os.ReadFile(db)
	_, stderr, code := mlrunCmd(t, dir, "init", "--tracking-uri", "sqlite:///"+db, "--mlflow-version", "3.17.2")
	if code != 1 || !strings.Contains(stderr, "MLflow 2.22.5 database, not 3.17.2") {
		t.Errorf("init with another version: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Error("init changed the database")
	}
	if stdout, _, code := mlrunCmd(t, dir, "init", "--tracking-uri", "sqlite:///"+db, "--mlflow-version", "2"); code != 0 || !strings.Contains(stdout, "2.22.5") {
		t.Errorf("init with the same major version: exit %d, %q", code, stdout)
	}
}

// TestRunsColumns: the text output of runs shows the params and metrics
// the filter and order-by name.
func TestRunsColumns(t *testing.T) {
	uri := seed(t)
	out, err := runCLI(t, "runs", "--tracking-uri", uri, "--filter", "metrics.rmse < 0.8", "--order-by", "params.alpha DESC")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "metrics.rmse") || !strings.Contains(lines[0], "params.alpha") {
		t.Fatalf("output:\n%s", out)
	}
	last2 := func(l string) string { f := strings.Fields(l); return strings.Join(f[len(f)-2:], " ") }
	if last2(lines[1]) != "0.6 0.2" || last2(lines[2]) != "0.4 0.1" {
		t.Errorf("column values:\n%s", out)
	}
}

// TestGCCommand removes a deleted run as mlflow gc does.
func TestGCCommand(t *testing.T) {
	uri := seed(t)
	ctx := context.Background()
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.SearchRuns(ctx, storeQueryAll(t, c))
	if err != nil {
		t.Fatal(err)
	}
	victim := page.Runs[0].Info.RunID
	if err := c.DeleteRun(ctx, victim); err != nil {
		t.Fatal(err)
	}
	c.Close()
	out, err := runCLI(t, "gc", "--tracking-uri", uri, "--older-than", "1d")
	if err != nil || strings.Contains(out, victim) {
		t.Fatalf("gc --older-than 1d: %v %q", err, out)
	}
	out, err = runCLI(t, "gc", "--tracking-uri", uri)
	if err != nil || !strings.Contains(out, "Run with ID "+victim+" has been permanently deleted.") {
		t.Fatalf("gc: %v %q", err, out)
	}
	out, err = runCLI(t, "runs", "--tracking-uri", uri, "--view", "all")
	if err != nil || strings.Contains(out, victim) || strings.Count(out, "FINISHED") != 2 {
		t.Errorf("runs after gc: %v\n%s", err, out)
	}
}

// storeQueryAll selects every run of the seeded experiment.
func storeQueryAll(t *testing.T, c *mlrun.Client) store.RunQuery {
	t.Helper()
	e, err := c.GetExperimentByName(context.Background(), "sweep")
	if err != nil {
		t.Fatal(err)
	}
	return store.RunQuery{ExperimentIDs: []string{e.ID}}
}

// TestReadOnlyCommandsChangeNothing runs the read-only commands on an
// existing file store and an existing SQLite store: neither gains, loses
// or changes a file (no lock file, no .trash, no staging folder).
func TestReadOnlyCommandsChangeNothing(t *testing.T) {
	dir := t.TempDir()
	fileURI := seed(t)
	sqlURI := "sqlite:///" + filepath.Join(dir, "laptop.db")
	if _, stderr, code := mlrunCmd(t, dir, "convert", fileURI, sqlURI); code != 0 {
		t.Fatalf("convert: exit %d, %q", code, stderr)
	}
	// As MLflow writes it: without the lock file and staging folder that
	// mlrun's writers add at the root.
	extras, _ := filepath.Glob(filepath.Join(fileURI, ".mlrun*"))
	for _, p := range extras {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ uri, root string }{
		{fileURI, fileURI},
		{sqlURI, dir},
	} {
		before := treeSnapshot(t, tc.root)
		for _, args := range [][]string{
			{"experiments", "--view", "all"}, {"runs", "--view", "all"}, {"models"}, {"schema"},
			{"export", "-o", filepath.Join(t.TempDir(), "x.tar.gz")},
		} {
			args = append(args, "--tracking-uri", tc.uri)
			if _, stderr, code := mlrunCmd(t, dir, args...); code != 0 {
				t.Errorf("mlrun %v: exit %d, %q", args, code, stderr)
			}
			if after := treeSnapshot(t, tc.root); after != before {
				t.Errorf("mlrun %v changed the store:\nbefore:\n%s\nafter:\n%s", args, before, after)
			}
		}
	}
}

// treeSnapshot lists every file and directory under root with its mode,
// and files with their size and modification time. (A directory's time
// is left out: SQLite's -wal and -shm files, which a reader of a WAL
// database makes and removes again, change it.)
func treeSnapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if fi.IsDir() {
			fmt.Fprintf(&b, "%s %v\n", rel, fi.Mode())
		} else {
			fmt.Fprintf(&b, "%s %v %d %d\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
