package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// incrementUnderLock reads the counter file, increments it and writes it
// back, under the lock: a lost update means the lock did not exclude.
func incrementUnderLock(t testing.TB, m Mutex, counter string) {
	unlock, err := m.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	defer unlock()
	b, err := os.ReadFile(counter)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(string(b))
	// Truncate-then-write (not atomic) on purpose: only the lock keeps
	// other writers out.
	if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o666); err != nil {
		t.Fatal(err)
	}
}

func TestMutexGoroutines(t *testing.T) {
	dir := t.TempDir()
	m := Mutex{Path: filepath.Join(dir, "lock")}
	counter := filepath.Join(dir, "counter")
	var wg sync.WaitGroup
	const workers, iters = 8, 200
	for range workers {
		wg.Go(func() {
			for range iters {
				incrementUnderLock(t, m, counter)
			}
		})
	}
	wg.Wait()
	b, _ := os.ReadFile(counter)
	if got, want := string(b), strconv.Itoa(workers*iters); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
	table.mu.Lock()
	n := len(table.m)
	table.mu.Unlock()
	if n != 0 {
		t.Errorf("%d semaphores left in the table, want 0", n)
	}
}

const childEnv = "FILELOCK_TEST_CHILD"

// TestHelperProcess is run in child processes by the cross-process tests.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("helper process")
	}
	dir := os.Getenv("FILELOCK_TEST_DIR")
	m := Mutex{Path: filepath.Join(dir, "lock")}
	switch mode {
	case "count":
		for range 100 {
			incrementUnderLock(t, m, filepath.Join(dir, "counter"))
		}
	case "hold":
		unlock, err := m.Lock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("locked")
		time.Sleep(2 * time.Second)
		unlock()
	}
}

func helper(t *testing.T, mode, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "FILELOCK_TEST_DIR="+dir)
	return cmd
}

func TestMutexProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs = 6
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = helper(t, "count", dir)
		cmds[i].Stderr = os.Stderr
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	// The parent competes too.
	for range 100 {
		incrementUnderLock(t, Mutex{Path: filepath.Join(dir, "lock")}, filepath.Join(dir, "counter"))
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "counter"))
	if got, want := string(b), strconv.Itoa((procs+1)*100); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

func TestTimeoutAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := helper(t, "hold", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	buf := make([]byte, len("locked"))
	if _, err := out.Read(buf); err != nil || string(buf) != "locked" {
		t.Fatalf("child said %q, %v", buf, err)
	}
	m := Mutex{Path: filepath.Join(dir, "lock"), Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err = m.Lock(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Lock while child holds it: err = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("waited %v, want about 100ms", d)
	}
	// A longer wait succeeds once the child lets go.
	m.Timeout = 10 * time.Second
	unlock, err := m.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after child: %v", err)
	}
	unlock()
}

func TestTimeoutAndCancelInProcess(t *testing.T) {
	dir := t.TempDir()
	m := Mutex{Path: filepath.Join(dir, "lock"), Timeout: 50 * time.Millisecond}
	unlock, err := m.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lock(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Errorf("second Lock: err = %v, want ErrLocked", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Mutex{Path: m.Path, Timeout: time.Minute}).Lock(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with canceled ctx: err = %v, want context.Canceled", err)
	}
	unlock()
	unlock() // a second call is a no-op
	unlock2, err := m.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
	if _, err := os.Stat(m.Path); err != nil {
		t.Errorf("lock file removed: %v", err)
	}
}

func TestMissingDir(t *testing.T) {
	m := Mutex{Path: filepath.Join(t.TempDir(), "no", "lock")}
	if _, err := m.Lock(context.Background()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}
