package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// closedPort returns a loopback URL nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestSyncExitCodes checks mlrun sync and mlrun import into an http(s)
// server: usage errors exit 2, a server that cannot be reached exits 1
// at once with one line and writes nothing; --help exits 0. (Syncing
// into real MLflow servers is tested by reststore's TestSync and
// TestSyncCommand.)
func TestSyncExitCodes(t *testing.T) {
	dir := t.TempDir()
	uri := seed(t)
	archivePath := filepath.Join(dir, "a.tar.gz")
	if _, stderr, code := mlrunCmd(t, dir, "export", "--tracking-uri", uri, "-o", archivePath); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	down := closedPort(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"sync", "--help"}, 0, "usage: mlrun sync --from LOCAL_URI --to http(s)://..."},
		{[]string{"sync", "--to", down}, 2, "--from LOCAL_URI is required"},
		{[]string{"sync", "--from", uri}, 2, "--to http(s)://... is required"},
		{[]string{"sync", "--from", uri, "--to", filepath.Join(dir, "mlruns")}, 2, "--to must be an MLflow tracking server"},
		{[]string{"sync", "--from", down, "--to", down}, 2, "--from must be a local store"},
		{[]string{"sync", "--from", uri, "--to", "ftp://x"}, 2, "unknown scheme"},
		{[]string{"sync", "--from", uri, "--to", down, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"sync", "--from", filepath.Join(dir, "nope"), "--to", down}, 1, "no MLflow store at"},
		{[]string{"sync", "--from", uri, "--to", down}, 1, "cannot reach the MLflow tracking server at " + down},
		{[]string{"import", "--tracking-uri", down, archivePath}, 1, "cannot reach the MLflow tracking server at " + down},
		{[]string{"import", "--tracking-uri", down, "--mlflow-version", "3.17.2", archivePath}, 2, "--mlflow-version applies to a new SQLite database"},
		{[]string{"import", "--tracking-uri", down, filepath.Join(dir, "missing.tar.gz")}, 1, "no archive at"},
	} {
		stdout, stderr, code := mlrunCmd(t, dir, tc.args...)
		if code != tc.code {
			t.Errorf("mlrun %v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
			continue
		}
		where := stdout
		if code != 0 {
			where = stderr
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n > 0 {
				t.Errorf("mlrun %v: the error is %d lines: %q", tc.args, n+1, stderr)
			}
		}
		if !strings.Contains(where, tc.out) {
			t.Errorf("mlrun %v: output %q lacks %q", tc.args, where, tc.out)
		}
	}
}
