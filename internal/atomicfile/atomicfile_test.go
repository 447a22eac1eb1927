package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTempName(t *testing.T) {
	n := TempName("meta.yaml")
	if !strings.HasPrefix(n, ".meta.yaml.tmp-") || strings.HasSuffix(n, ".yaml") {
		t.Errorf("TempName = %q", n)
	}
	pid, ok := IsTemp(n)
	if !ok || pid != os.Getpid() {
		t.Errorf("IsTemp(%q) = %d, %v", n, pid, ok)
	}
	for _, bad := range []string{"meta.yaml", ".meta.yaml", ".x.tmp-12-abc", ".x.tmp--0123456789abcdef", "x.tmp-1-0123456789abcdef", ".x.tmp-1-0123456789abcdeg"} {
		if _, ok := IsTemp(bad); ok {
			t.Errorf("IsTemp(%q) = true", bad)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "meta.yaml")
	for _, sync := range []bool{false, true} {
		for _, content := range []string{"a: 1\n", "b: 2\n", ""} {
			if err := WriteFile(context.Background(), p, []byte(content), &Options{NoSync: sync}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil || string(b) != content {
				t.Fatalf("read %q, %v; want %q", b, err, content)
			}
		}
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("dir holds %v, want only meta.yaml", got)
	}
	info, _ := os.Stat(p)
	if info.Mode().Perm()&0o044 == 0 && umask()&0o044 == 0 {
		t.Errorf("mode %v: temp-file permissions leaked", info.Mode())
	}
}

func umask() fs.FileMode {
	p := filepath.Join(os.TempDir(), TempName("umask"))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o777)
	if err != nil {
		return 0
	}
	f.Close()
	defer os.Remove(p)
	info, _ := os.Stat(p)
	return 0o777 &^ info.Mode().Perm()
}

func TestWriteFileTempDirAndCancel(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o777)
	os.Mkdir(filepath.Join(dir, "params"), 0o777)
	p := filepath.Join(dir, "params", "k")
	if err := WriteFile(context.Background(), p, []byte("v"), &Options{TempDir: tmp}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Join(dir, "params")); len(got) != 1 || got[0] != "k" {
		t.Errorf("params holds %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WriteFile(ctx, p, []byte("w"), &Options{TempDir: tmp}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled write: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "v" {
		t.Errorf("canceled write was published: %q", b)
	}
	if got := listDir(t, tmp); len(got) != 0 {
		t.Errorf("temp dir holds %v after canceled write", got)
	}
	if err := WriteFile(context.Background(), filepath.Join(dir, "nodir", "x"), nil, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("write into missing dir: %v", err)
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "loss")
	if err := Create(context.Background(), p, []byte("1 0.5 0\n"), nil); err != nil {
		t.Fatal(err)
	}
	if err := Create(context.Background(), p, []byte("2 0.5 0\n"), nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Create: %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "1 0.5 0\n" {
		t.Errorf("content %q", b)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("dir holds %v", got)
	}
}

// TestCreateRace checks that concurrent creators never expose an empty or
// partial file: exactly one wins and a reader sees the whole content.
func TestCreateRace(t *testing.T) {
	for i := range 50 {
		dir := t.TempDir()
		p := filepath.Join(dir, "m")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		stop := make(chan struct{})
		var bad []string
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(p)
				if err == nil && !bytes.Equal(b, bytes.Repeat([]byte("x"), 4096)) {
					mu.Lock()
					bad = append(bad, string(b))
					mu.Unlock()
				}
			}
		})
		var cw sync.WaitGroup
		for range 4 {
			cw.Go(func() {
				err := Create(context.Background(), p, bytes.Repeat([]byte("x"), 4096), &Options{NoSync: true})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, fs.ErrExist) {
					t.Error(err)
				}
			})
		}
		cw.Wait()
		close(stop)
		wg.Wait()
		if wins != 1 || len(bad) > 0 {
			t.Fatalf("trial %d: %d winners, %d bad reads", i, wins, len(bad))
		}
	}
}

func TestSweep(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := now.Add(-2 * time.Hour)
	mk := func(name string, dirEntry bool, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if dirEntry {
			os.MkdirAll(filepath.Join(p, "sub"), 0o777)
		} else {
			os.WriteFile(p, []byte("x"), 0o666)
		}
		os.Chtimes(p, mtime, mtime)
		return p
	}
	// A process id that cannot exist (above Linux's pid_max limit).
	const deadPID = "4194305"
	mine := TempName("meta.yaml")
	keep := []string{
		mk("meta.yaml", false, old),
		mk(mine, false, now.Add(-time.Minute)),                        // ours, young
		mk(".meta.yaml.tmp-"+deadPID+"-0123456789abcdef", false, now), // dead writer, but too young
	}
	gone := []string{
		mk(".meta.yaml.tmp-"+deadPID+"-1123456789abcdef", false, now.Add(-time.Minute)), // dead writer, old enough
		mk(".run.tmp-1-2123456789abcdef", true, old),                                    // too old, whoever wrote it
	}
	n, err := Sweep(dir, nil)
	if err != nil || n != len(gone) {
		t.Errorf("Sweep = %d, %v; want %d", n, err, len(gone))
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed", filepath.Base(p))
		}
	}
	for _, p := range gone {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s kept", filepath.Base(p))
		}
	}
	if n, err := Sweep(filepath.Join(dir, "missing"), nil); n != 0 || err != nil {
		t.Errorf("Sweep(missing) = %d, %v", n, err)
	}
}

func TestTempNameLongBase(t *testing.T) {
	long := strings.Repeat("é", 200)
	n := TempName(long)
	if len(n) > 100 || !utf8.ValidString(n) {
		t.Errorf("TempName(long) = %q (%d bytes)", n, len(n))
	}
	if _, ok := IsTemp(n); !ok {
		t.Errorf("IsTemp(%q) = false", n)
	}
}
