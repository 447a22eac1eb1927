package fsstore

import (
	"fmt"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func benchOpts(noSync bool) *Options { return &Options{NoSync: noSync} }

func benchRun(b *testing.B, s *Store) string {
	r, err := s.CreateRun(bg, store.CreateRunRequest{ExperimentID: "0", UserID: "bench", RunName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return r.Info.RunID
}

// BenchmarkLogMetric logs one metric point per LogBatch call.
func BenchmarkLogMetric(b *testing.B) {
	s := openStore(b, nil)
	id := benchRun(b, s)
	b.ResetTimer()
	for i := range b.N {
		if err := s.LogBatch(bg, id, []store.Metric{{Key: "loss", Value: float64(i) / 7, Timestamp: 1714000000000 + int64(i), Step: int64(i)}}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkLogBatch1000 logs batches of 1000 points (10 keys x 100 steps).
func BenchmarkLogBatch1000(b *testing.B) {
	s := openStore(b, nil)
	id := benchRun(b, s)
	batch := make([]store.Metric, 1000)
	b.ResetTimer()
	for i := range b.N {
		for j := range batch {
			batch[j] = store.Metric{Key: fmt.Sprintf("m%d", j%10), Value: float64(j) / 3, Timestamp: 1714000000000 + int64(i), Step: int64(i*100 + j/10)}
		}
		if err := s.LogBatch(bg, id, batch, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkLogBatch1000OneKey logs batches of 1000 points of one key.
func BenchmarkLogBatch1000OneKey(b *testing.B) {
	s := openStore(b, nil)
	id := benchRun(b, s)
	batch := make([]store.Metric, 1000)
	b.ResetTimer()
	for i := range b.N {
		for j := range batch {
			batch[j] = store.Metric{Key: "loss", Value: float64(j) / 3, Timestamp: 1714000000000 + int64(i), Step: int64(i*1000 + j)}
		}
		if err := s.LogBatch(bg, id, batch, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkLogMetric1000Keys logs one point per call, to 1000 existing
// keys in turn: more metric files than a store keeps open, so every call
// opens one.
func BenchmarkLogMetric1000Keys(b *testing.B) {
	s := openStore(b, nil)
	id := benchRun(b, s)
	keys := make([]string, 1000)
	for k := range keys {
		keys[k] = fmt.Sprintf("m%d", k)
		// Create the files (fsynced) beforehand.
		if err := s.LogBatch(bg, id, []store.Metric{{Key: keys[k], Timestamp: 1714000000000}}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		if err := s.LogBatch(bg, id, []store.Metric{{Key: keys[i%len(keys)], Value: float64(i) / 7, Timestamp: 1714000000000 + int64(i), Step: int64(i)}}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkCreateRun(b *testing.B, noSync bool) {
	s := openStore(b, benchOpts(noSync))
	b.ResetTimer()
	for range b.N {
		benchRun(b, s)
	}
}

// BenchmarkCreateRun creates runs (durable: fsync).
func BenchmarkCreateRun(b *testing.B) { benchmarkCreateRun(b, false) }

// BenchmarkCreateRunNoSync creates runs without fsync.
func BenchmarkCreateRunNoSync(b *testing.B) { benchmarkCreateRun(b, true) }

// BenchmarkLogParamTag logs one param and one tag per call (durable).
func BenchmarkLogParamTag(b *testing.B) {
	s := openStore(b, nil)
	id := benchRun(b, s)
	b.ResetTimer()
	for i := range b.N {
		if err := s.LogBatch(bg, id, nil, []store.Param{{Key: fmt.Sprintf("p%d", i), Value: "v"}}, []store.Tag{{Key: "t", Value: fmt.Sprint(i)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRun reads a run with 10 metrics of 98 points, 10 params and
// 10 tags.
func BenchmarkGetRun(b *testing.B) {
	s := openStore(b, nil)
	id := benchRun(b, s)
	var ms []store.Metric
	var ps []store.Param
	var ts []store.Tag
	for j := range 980 {
		ms = append(ms, store.Metric{Key: fmt.Sprintf("m%d", j%10), Value: float64(j), Timestamp: int64(j), Step: int64(j / 10)})
	}
	for j := range 10 {
		ps = append(ps, store.Param{Key: fmt.Sprintf("p%d", j), Value: "v"})
		ts = append(ts, store.Tag{Key: fmt.Sprintf("t%d", j), Value: "v"})
	}
	if err := s.LogBatch(bg, id, ms, ps, ts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.GetRun(bg, id); err != nil {
			b.Fatal(err)
		}
	}
}
