package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
)

// TestAppendPyFloatMatchesRepr checks the allocation-free float formatting
// of metric lines against pyfloat.Repr (Python's repr): special values,
// powers of ten and their neighbours across the whole range (where the
// positional and exponent forms switch), integers, short decimals, and
// random bit patterns.
func TestAppendPyFloatMatchesRepr(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		if got, want := string(appendPyFloat([]byte("x"), f)), "x"+pyfloat.Repr(f); got != want {
			t.Fatalf("appendPyFloat(%b) = %q, want %q", f, got, want)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 5e-324, 2.2250738585072014e-308,
		1, -1, 0.1, 0.5, 1.5, 123.456, 1e15, 1e16, 9999999999999998, 1e-4, 1e-5, 0.00012345, 0.0001234567890123,
		1234567890123456, 12345678901234567, 1.7976931348623157e308, 4.9406564584124654e-324} {
		check(f)
		check(-f)
	}
	for e := -330; e <= 310; e++ {
		f, err := pyfloat.Parse(fmt.Sprintf("1e%d", e))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []float64{f, math.Nextafter(f, 0), math.Nextafter(f, math.Inf(1)), 1.5 * f, 9.87654321 * f, 7 * f} {
			check(g)
			check(-g)
		}
	}
	for i := range 100_000 {
		check(float64(i))
		check(float64(i) / 7)
		check(float64(i) * 0.001)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for range n {
		check(math.Float64frombits(rng.Uint64()))
		check(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20)))
	}
}

// TestFormatMetricLines checks metric lines against a plain formatting,
// including copied timestamps and a reordering.
func TestFormatMetricLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var ms []store.Metric
	ts := int64(1714000000000)
	for i := range 500 {
		if rng.IntN(3) == 0 {
			ts += int64(rng.IntN(5)) // equal timestamps in runs
		}
		if rng.IntN(20) == 0 {
			ts = rng.Int64()
		}
		ms = append(ms, store.Metric{Key: "k", Value: rng.NormFloat64() * 1e3, Timestamp: ts, Step: rng.Int64N(1e6) - 5})
		if i%50 == 0 {
			ms[i].Value = math.NaN()
		}
	}
	var want strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&want, "%d %s %d\n", m.Timestamp, pyfloat.Repr(m.Value), m.Step)
	}
	if got := string(formatMetricLines([]byte(nil), ms, nil)); got != want.String() {
		t.Errorf("formatMetricLines:\n%s\nwant\n%s", got, want.String())
	}
	order := []int32{3, 1, 2, 2, 0, 499, 498}
	want.Reset()
	for _, i := range order {
		m := ms[i]
		fmt.Fprintf(&want, "%d %s %d\n", m.Timestamp, pyfloat.Repr(m.Value), m.Step)
	}
	if got := string(formatMetricLines([]byte("x"), ms, order)); got != "x"+want.String() {
		t.Errorf("formatMetricLines with order:\n%s\nwant\n%s", got, want.String())
	}
	if n := testing.AllocsPerRun(100, func() { appendPyFloat(make([]byte, 0, 64)[:0], 0.1234) }); n > 1 {
		t.Errorf("appendPyFloat allocates %v times", n)
	}
}

// TestChunkLen checks how writeLines splits lines: every write is whole
// lines, and only its first line may cross a 4 KiB boundary of the file.
func TestChunkLen(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	crosses := func(lo, hi int64) bool { return lo/pageSize != (hi-1)/pageSize } // [lo, hi)
	for range 5000 {
		var lines []byte
		long := false
		for range 1 + rng.IntN(400) {
			n := 1 + rng.IntN(60)
			if rng.IntN(200) == 0 {
				n, long = 4000+rng.IntN(9000), true // longer than a page
			}
			lines = append(lines, bytes.Repeat([]byte{'x'}, n-1)...)
			lines = append(lines, '\n')
		}
		end := rng.Int64N(1 << 20)
		if rng.IntN(4) == 0 {
			end = rng.Int64N(64) * pageSize // at a boundary
		}
		var got []byte
		writes := 0
		for rest := lines; len(rest) > 0; {
			n := chunkLen(rest, end)
			chunk := rest[:n]
			writes++
			if n == 0 || chunk[n-1] != '\n' {
				t.Fatalf("chunk %q does not end a line", chunk)
			}
			first := bytes.IndexByte(chunk, '\n') + 1
			for off := first; off < n; {
				l := bytes.IndexByte(chunk[off:], '\n') + 1
				if crosses(end+int64(off), end+int64(off+l)) {
					t.Fatalf("chunk of %d bytes at %d: line at %d crosses a page boundary", n, end, off)
				}
				off += l
			}
			if first < n && crosses(end, end+int64(first)) && (end+int64(first)-1)/pageSize != end/pageSize+1 {
				t.Fatalf("chunk at %d: a first line crossing two boundaries is not alone", end)
			}
			got = append(got, chunk...)
			rest = rest[n:]
			end += int64(n)
		}
		if !bytes.Equal(got, lines) {
			t.Fatal("chunks do not add up to the lines")
		}
		if pages := len(lines)/pageSize + 2; !long && writes > pages {
			t.Fatalf("%d writes for %d bytes", writes, len(lines))
		}
	}
	for _, c := range []struct {
		lines string
		end   int64
		want  int
	}{
		{"1 2.0 3\n", pageSize - 2, 8},                    // one line: one write
		{"1 2.0 3\n4 5.0 6\n", pageSize - 2, 16},          // a straddling line leads
		{"1 2.0 3\n4 5.0 6\n", pageSize - 8, 8},           // ends at the boundary
		{"1 2.0 3\n4 5.0 6\n", 2*pageSize - 9, 8},         // the second line straddles
		{"1 2.0 3\n4 5.0 6\n", 3 * pageSize, 16},          // all in one page
		{"1 2.0 3\n4 5.0 6\n", 3*pageSize + 1, 16},        // all in one page
		{"1 2.0 3\n4 5.0 6\n7 8.0 9\n", pageSize - 2, 24}, // straddling then whole lines
	} {
		if got := chunkLen([]byte(c.lines), c.end); got != c.want {
			t.Errorf("chunkLen(%q, %d) = %d, want %d", c.lines, c.end, got, c.want)
		}
	}
}

// metricFileOf returns the path of a run's metric file.
func metricFileOf(t *testing.T, s *Store, runID, key string) string {
	t.Helper()
	loc, err := s.locateRun(runID)
	mustNil(t, err, "locateRun")
	return metricPath(loc.dir, key)
}

func logPoint(t *testing.T, s *Store, runID, key string, step int) {
	t.Helper()
	err := s.LogBatch(bg, runID, []store.Metric{{Key: key, Value: float64(step), Timestamp: int64(step), Step: int64(step)}}, nil, nil)
	mustNil(t, err, fmt.Sprintf("LogBatch %s step %d", key, step))
}

func historySteps(t *testing.T, s *Store, runID, key string) []int64 {
	t.Helper()
	h, err := s.GetMetricHistory(bg, runID, key)
	mustNil(t, err, "GetMetricHistory")
	var steps []int64
	for _, m := range h {
		steps = append(steps, m.Step)
	}
	return steps
}

func cachedFiles(s *Store) int {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return len(s.files.m)
}

// TestMetricFileCacheFollowsPath checks that a metric file kept open is
// only written while its path still names it: deleted, renamed away,
// replaced by another file, or with its run directory replaced, the next
// point goes to the file at the path, as if the path were opened anew.
func TestMetricFileCacheFollowsPath(t *testing.T) {
	s := openStore(t, nil)
	runID := benchRunT(t, s)
	path := metricFileOf(t, s, runID, "m")
	logPoint(t, s, runID, "m", 0) // creates the file
	logPoint(t, s, runID, "m", 1) // opens and caches it
	logPoint(t, s, runID, "m", 2) // through the cache
	if s.files.max > 0 && cachedFiles(s) != 1 {
		t.Fatalf("%d cached files, want 1", cachedFiles(s))
	}
	want := func(steps ...int64) {
		t.Helper()
		if got := historySteps(t, s, runID, "m"); fmt.Sprint(got) != fmt.Sprint(steps) {
			t.Fatalf("history %v, want %v", got, steps)
		}
	}
	want(0, 1, 2)

	// Deleted: the next point creates a new file.
	mustNil(t, os.Remove(path), "remove")
	logPoint(t, s, runID, "m", 3)
	want(3)
	logPoint(t, s, runID, "m", 4)
	want(3, 4)

	// Renamed away: the old file keeps its lines, the path gets a new one.
	mustNil(t, os.Rename(path, path+".old"), "rename")
	logPoint(t, s, runID, "m", 5)
	want(5)
	if b, _ := os.ReadFile(path + ".old"); string(b) != "3 3.0 3\n4 4.0 4\n" {
		t.Fatalf("renamed file holds %q", b)
	}
	mustNil(t, os.Remove(path+".old"), "remove old")

	// Replaced by another file (renamed over it).
	logPoint(t, s, runID, "m", 6)
	mustNil(t, os.WriteFile(path+".new", []byte("100 100.0 100\n"), 0o666), "write")
	mustNil(t, os.Rename(path+".new", path), "replace")
	logPoint(t, s, runID, "m", 7)
	want(100, 7)

	// The whole run directory replaced by a copy (as a restore would).
	loc, err := s.locateRun(runID)
	mustNil(t, err, "locateRun")
	cp := filepath.Join(filepath.Dir(loc.expDir), "copy")
	mustNil(t, os.CopyFS(cp, os.DirFS(loc.dir)), "copy run")
	mustNil(t, os.RemoveAll(loc.dir), "remove run")
	mustNil(t, os.Rename(cp, loc.dir), "restore run")
	logPoint(t, s, runID, "m", 8)
	want(100, 7, 8)

	// Removed (MLflow's gc): not found, and its files are let go.
	mustNil(t, os.RemoveAll(loc.dir), "gc")
	err = s.LogBatch(bg, runID, []store.Metric{{Key: "m", Value: 9, Timestamp: 9, Step: 9}}, nil, nil)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LogBatch to a removed run: %v", err)
	}
	if n := cachedFiles(s); n != 0 {
		t.Errorf("%d files of a removed run still open", n)
	}
}

// TestMetricFileCacheTrash checks logging to a run whose experiment moves
// to .trash and back: each point lands in the file at the run's current
// location, as without the cache.
func TestMetricFileCacheTrash(t *testing.T) {
	s := openStore(t, nil)
	exp, err := s.CreateExperiment(bg, "trash", "", nil)
	mustNil(t, err, "CreateExperiment")
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: exp, UserID: "u", RunName: "r"})
	mustNil(t, err, "CreateRun")
	runID := r.Info.RunID
	logPoint(t, s, runID, "m", 0)
	logPoint(t, s, runID, "m", 1)
	mustNil(t, s.DeleteExperiment(bg, exp), "DeleteExperiment")
	errTrashed := s.LogBatch(bg, runID, []store.Metric{{Key: "m", Value: 2, Timestamp: 2, Step: 2}}, nil, nil)
	t.Logf("logging while the experiment is in .trash: %v", errTrashed)
	mustNil(t, s.RestoreExperiment(bg, exp), "RestoreExperiment")
	logPoint(t, s, runID, "m", 3)
	want := "[0 1 2 3]"
	if errTrashed != nil {
		want = "[0 1 3]"
	}
	if got := fmt.Sprint(historySteps(t, s, runID, "m")); got != want {
		t.Errorf("history %s, want %s (logging while trashed: %v)", got, want, errTrashed)
	}

	// MLflow's delete_experiment moves the directory and leaves the runs
	// active: logging goes on, into the trashed location and back.
	active := filepath.Join(s.Root(), exp)
	trashed := filepath.Join(s.Root(), trashDir, exp)
	mustNil(t, os.Rename(active, trashed), "move to .trash")
	logPoint(t, s, runID, "m", 4)
	mustNil(t, os.Rename(trashed, active), "move back")
	logPoint(t, s, runID, "m", 5)
	mustNil(t, os.Rename(active, trashed), "move to .trash again")
	logPoint(t, s, runID, "m", 6)
	mustNil(t, os.Rename(trashed, active), "move back again")
	logPoint(t, s, runID, "m", 7)
	want = strings.TrimSuffix(want, "]") + " 4 5 6 7]"
	if got := fmt.Sprint(historySteps(t, s, runID, "m")); got != want {
		t.Errorf("history %s, want %s", got, want)
	}
}

// TestMetricFileCacheBounded logs to more keys than the cache holds, from
// many goroutines, with a tiny cache so that files are dropped while in
// use: every point lands, in each writer's order, and Close closes every
// file.
func TestMetricFileCacheBounded(t *testing.T) {
	s := openStore(t, nil)
	runID := benchRunT(t, s)
	fdsBefore := openFDs()
	if s.files.max > 0 {
		s.files.mu.Lock()
		s.files.max = 3
		s.files.mu.Unlock()
	}
	const goroutines, keys, points = 8, 10, 60
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range points {
				var batch []store.Metric
				for k := range keys {
					if (i+k+g)%3 == 0 {
						batch = append(batch, store.Metric{Key: fmt.Sprintf("k%d", k), Value: float64(g), Timestamp: int64(i), Step: int64(g*points + i)})
					}
				}
				batch = append(batch, store.Metric{Key: fmt.Sprintf("k%d", (i+g)%keys), Value: float64(g), Timestamp: int64(i), Step: int64(g*points + i)})
				if err := s.LogBatch(bg, runID, batch, nil, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s.files.max > 0 && cachedFiles(s) > 3 {
		t.Errorf("%d cached files, max 3", cachedFiles(s))
	}
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		h, err := s.GetMetricHistory(bg, runID, key)
		mustNil(t, err, "history")
		last := map[int]int64{}
		n := 0
		for _, m := range h {
			g := int(m.Value)
			if prev, ok := last[g]; ok && m.Step < prev {
				t.Fatalf("%s: writer %d out of order: %d after %d", key, g, m.Step, prev)
			}
			last[g] = m.Step
			n++
		}
		want := 0
		for g := range goroutines {
			for i := range points {
				if (i+k+g)%3 == 0 {
					want++
				}
				if (i+g)%keys == k {
					want++
				}
			}
		}
		if n != want {
			t.Errorf("%s: %d points, want %d", key, n, want)
		}
	}
	mustNil(t, s.Close(), "Close")
	if cachedFiles(s) != 0 {
		t.Errorf("%d files cached after Close", cachedFiles(s))
	}
	if fdsBefore >= 0 {
		if after := openFDs(); after > fdsBefore {
			t.Errorf("%d descriptors open after Close, %d before logging", after, fdsBefore)
		}
	}
}

// openFDs counts this process's open file descriptors, or -1.
func openFDs() int {
	if runtime.GOOS != "linux" {
		return -1
	}
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

// TestLogBatchManyKeysOrder logs interleaved keys in one batch: each
// file gets its key's points in batch order.
func TestLogBatchManyKeysOrder(t *testing.T) {
	s := openStore(t, nil)
	runID := benchRunT(t, s)
	for _, nkeys := range []int{2, 8, 9, 40} {
		var batch []store.Metric
		for i := range 1000 {
			k := (i * 7) % nkeys
			batch = append(batch, store.Metric{Key: fmt.Sprintf("n%d/k%d", nkeys, k), Value: float64(i), Timestamp: 1, Step: int64(i)})
		}
		mustNil(t, s.LogBatch(bg, runID, batch, nil, nil), "LogBatch")
		mustNil(t, s.LogBatch(bg, runID, batch, nil, nil), "LogBatch again") // appended
		for k := range nkeys {
			key := fmt.Sprintf("n%d/k%d", nkeys, k)
			var want []int64
			for range 2 {
				for i := range 1000 {
					if (i*7)%nkeys == k {
						want = append(want, int64(i))
					}
				}
			}
			if got := historySteps(t, s, runID, key); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: %v, want %v", key, got, want)
			}
		}
	}
}

func benchRunT(t *testing.T, s *Store) string {
	t.Helper()
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: "0", UserID: "u", RunName: "r"})
	mustNil(t, err, "CreateRun")
	return r.Info.RunID
}
