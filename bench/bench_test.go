package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// openRun opens a fresh store of the given kind and starts a run.
func openRun(b *testing.B, open func(b *testing.B, dir string) mlrun.Option) *mlrun.Run {
	b.Helper()
	ctx := context.Background()
	c, err := mlrun.Open(ctx, open(b, b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	run, err := c.StartRun(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return run
}

func fileStore(_ *testing.B, dir string) mlrun.Option {
	return mlrun.WithTrackingURI(filepath.Join(dir, "mlruns"))
}

func sqliteStore(_ *testing.B, dir string) mlrun.Option {
	return mlrun.WithTrackingURI("sqlite:///" + filepath.Join(dir, "mlflow.db"))
}

// sqliteFullStore is SQLite with sqlstore.Options.SyncFull: every commit
// is fsynced, the durability of MLflow's own SQLite sessions (rollback
// journal, synchronous=FULL).
func sqliteFullStore(b *testing.B, dir string) mlrun.Option {
	s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "mlflow.db"),
		&sqlstore.Options{SyncFull: true, ArtifactRoot: filepath.Join(dir, "mlartifacts")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return mlrun.WithStore(s)
}

// backends are the stores measured: file and sqlite are the defaults of
// their tracking URIs; sqlite-full is SQLite at MLflow's durability.
var backends = []struct {
	name string
	open func(*testing.B, string) mlrun.Option
}{{"file", fileStore}, {"sqlite", sqliteStore}, {"sqlite-full", sqliteFullStore}}

// BenchmarkLogMetric logs one metric point per call, as log_metric does.
func BenchmarkLogMetric(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			run := openRun(b, be.open)
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if err := run.LogMetric(ctx, "loss", float64(i)*0.001, mlrun.WithStep(int64(i)), mlrun.WithTimestamp(1700000000000)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkLogBatch1000 logs 1,000 metric points per call, as log_batch
// does; b.N counts batches.
func BenchmarkLogBatch1000(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			run := openRun(b, be.open)
			ctx := context.Background()
			batch := make([]store.Metric, 1000)
			step := int64(0)
			for b.Loop() {
				for i := range batch {
					batch[i] = store.Metric{Key: "loss", Value: float64(step) * 0.001, Step: step, Timestamp: 1700000000000}
					step++
				}
				if err := run.LogBatch(ctx, batch, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
