//go:build unix

package archive

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// maxRSS is the peak resident memory an export and an import may take
// together, however large the store.
const maxRSS = 100 << 20

// TestMemory proves that export and import stream: a store of runs with
// long metric histories is exported to an archive and imported into a new
// SQLite database in a separate process, whose peak RSS (getrusage
// ru_maxrss) must stay under 100 MB. In CI it is small (20 runs × 2,000
// points); the full size the issue asks for (1,000 runs × 10,000 points,
// 10 million points) runs with
//
//	MLRUN_ARCHIVE_BENCH=1 go test ./archive/ -run TestMemory -v -timeout 60m
//
// (without -race, which multiplies memory; under -race the limit is 4×).
// Measured on the 2-core CI machine, under load: peak RSS 37.6 MB, an
// archive of 132 MB, export 1m31s, import (both passes, into SQLite)
// 36m38s.
func TestMemory(t *testing.T) {
	runs, points := 20, 2000
	if os.Getenv("MLRUN_ARCHIVE_BENCH") != "" {
		runs, points = 1000, 10000
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "mlruns")
	start := time.Now()
	buildStore(t, src, runs, points)
	t.Logf("built a file store of %d runs × %d points in %v", runs, points, time.Since(start).Round(time.Millisecond))

	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "MLRUN_ARCHIVE_MEM_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var rss int64
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "MEMORY "); ok {
			line = rest
			f := strings.Fields(rest)
			rss, _ = strconv.ParseInt(strings.TrimPrefix(f[0], "peak_rss_bytes="), 10, 64)
		}
	}
	if rss == 0 {
		t.Fatalf("helper printed no figure:\n%s", out)
	}
	t.Logf("export + import of %d runs × %d points: %s", runs, points, line)
	limit := int64(maxRSS)
	if raceEnabled {
		limit *= 4
	}
	if rss > limit {
		t.Errorf("peak RSS %d MB, want under %d MB", rss>>20, limit>>20)
	}
}

// buildStore writes runs with one metric of points each, in batches.
func buildStore(t *testing.T, root string, runs, points int) {
	s, err := fsstore.Open(ctx, root, &fsstore.Options{NoSync: true})
	must(t, err)
	defer s.Close()
	exp, err := s.CreateExperiment(ctx, "bench", "", nil)
	must(t, err)
	batch := make([]store.Metric, 0, store.MaxMetricsPerBatch)
	for i := range runs {
		r, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exp, UserID: "u", StartTime: t0 + int64(i), RunName: fmt.Sprint("run-", i)})
		must(t, err)
		for j := 0; j < points; j += len(batch) {
			batch = batch[:0]
			for k := j; k < min(points, j+cap(batch)); k++ {
				batch = append(batch, store.Metric{Key: "loss", Value: 1 / float64(k+1), Timestamp: t0 + int64(k), Step: int64(k)})
			}
			must(t, s.LogBatch(ctx, r.Info.RunID, batch, nil, nil))
		}
		must(t, s.LogBatch(ctx, r.Info.RunID, nil, []store.Param{{Key: "i", Value: fmt.Sprint(i)}}, nil))
	}
}

// TestMemoryHelper is TestMemory's subprocess: it exports the store, then
// imports the archive into SQLite, and prints its peak RSS.
func TestMemoryHelper(t *testing.T) {
	dir := os.Getenv("MLRUN_ARCHIVE_MEM_DIR")
	if dir == "" {
		t.Skip("run by TestMemory")
	}
	s, err := fsstore.Open(ctx, filepath.Join(dir, "mlruns"), nil)
	must(t, err)
	path := filepath.Join(dir, "export.tar.gz")
	f, err := os.Create(path)
	must(t, err)
	start := time.Now()
	counts, _, err := Export(ctx, s, f, ExportOptions{})
	must(t, err)
	must(t, f.Close())
	s.Close()
	exported := time.Since(start)
	info, err := os.Stat(path)
	must(t, err)
	dst, err := sqlstore.Open(ctx, filepath.Join(dir, "mlflow.db"), &sqlstore.Options{ArtifactRoot: filepath.Join(dir, "artifacts")})
	must(t, err)
	start = time.Now()
	st, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
	must(t, err)
	must(t, dst.Close())
	imported := time.Since(start)
	if st.MetricPoints != counts.MetricPoints || st.Runs.Created != counts.Runs {
		t.Fatalf("imported %+v of %+v", st, counts)
	}
	var ru syscall.Rusage
	must(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	rss := int64(ru.Maxrss) * 1024 // kilobytes on Linux
	if runtime.GOOS == "darwin" {
		rss = int64(ru.Maxrss) // bytes
	}
	fmt.Printf("MEMORY peak_rss_bytes=%d points=%d archive_bytes=%d export=%v import=%v\n",
		rss, counts.MetricPoints, info.Size(), exported.Round(time.Millisecond), imported.Round(time.Millisecond))
}
