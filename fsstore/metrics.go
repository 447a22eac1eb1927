package fsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
)

// formatMetricLine returns MLflow's metric line, f"{timestamp} {value}
// {step}\n", with the value spelled as Python's str(float).
func formatMetricLine(buf []byte, m store.Metric) []byte {
	buf = strconv.AppendInt(buf, m.Timestamp, 10)
	buf = append(buf, ' ')
	buf = append(buf, pyfloat.Repr(m.Value)...)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, m.Step, 10)
	return append(buf, '\n')
}

// appendMetrics appends one line per point to metrics/<key>. The points of
// one key are appended in order through one open file, one write(2) per
// line.
func (s *Store) appendMetrics(ctx context.Context, loc runLoc, metrics []store.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	type span struct{ lo, hi int }
	var keys []string
	spans := map[string][]span{}
	buf := make([]byte, 0, 40*len(metrics))
	for _, m := range metrics {
		lo := len(buf)
		buf = formatMetricLine(buf, m)
		if _, ok := spans[m.Key]; !ok {
			keys = append(keys, m.Key)
		}
		spans[m.Key] = append(spans[m.Key], span{lo, len(buf)})
	}
	for _, k := range keys {
		lines := make([][]byte, len(spans[k]))
		for i, sp := range spans[k] {
			lines[i] = buf[sp.lo:sp.hi:sp.hi]
		}
		if err := s.appendMetric(ctx, loc, k, lines); err != nil {
			return err
		}
	}
	return nil
}

// appendMetric appends lines to a metric file such that readers (and a
// crash of this process) only ever see whole lines:
//
//   - An existing file is opened with O_APPEND (never O_CREATE) and gets
//     each line in a single write(2). On a local file system appends by
//     several processes do not interleave, and a line is written whole or
//     not at all.
//   - A missing file is created with its first line already in it: the
//     line goes to a temporary file in the run directory (where MLflow
//     ignores it), which is fsynced and hard-linked onto metrics/<key>. A
//     reader never sees an empty metric file, which MLflow rejects ("No
//     data found"), not even after a power failure. If another writer
//     created the file first, the link fails and the line is appended.
//
// Appends are not fsynced: after a power failure the last lines may be
// missing, but not garbled.
func (s *Store) appendMetric(ctx context.Context, loc runLoc, key string, lines [][]byte) error {
	path := filepath.Join(loc.dir, metricsDir, filepath.FromSlash(key))
	for range 4 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			for _, line := range lines {
				if _, err := f.Write(line); err != nil {
					f.Close()
					return fmt.Errorf("fsstore: log metric %q: %w", key, err)
				}
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("fsstore: log metric %q: %w", key, err)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("fsstore: log metric %q: %w", key, err)
		}
		if err := s.mkdirAll(filepath.Dir(path)); err != nil {
			return err
		}
		err = atomicfile.Create(ctx, path, lines[0], s.atomicOpts(loc.dir, syncFull))
		switch {
		case err == nil:
			if lines = lines[1:]; len(lines) == 0 {
				return nil
			}
		case errors.Is(err, fs.ErrExist):
			// Created by another writer meanwhile: append.
		default:
			return fmt.Errorf("fsstore: log metric %q: %w", key, err)
		}
	}
	return fmt.Errorf("fsstore: log metric %q: cannot open or create %s", key, path)
}

// parseMetricFile parses a metric file in MLflow's format. Lines have 2
// (ts value), 3 (ts value step) or 5 (ts value step dataset_name
// dataset_digest) space-separated fields; MLflow 3 writes 5 fields for
// dataset-linked metrics. (MLflow's own FileStore reads the step of a
// 5-field line as 0, which is a bug; migrate-filestore and this reader take
// the third field.) A final line without its newline that does not parse
// is a write torn by a crash, never acknowledged, and is ignored. Any other
// bad line is ErrCorrupt, naming the file.
func parseMetricFile(path, key string, data []byte) ([]store.Metric, error) {
	var out []store.Metric
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		last := i < 0
		if last {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		m, err := parseMetricLine(key, string(line))
		if err != nil {
			if last {
				break
			}
			return nil, store.Corruptf("malformed metric file %s, line %d: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func parseMetricLine(key, line string) (store.Metric, error) {
	fields := strings.Split(strings.TrimSpace(line), " ")
	if n := len(fields); n != 2 && n != 3 && n != 5 {
		return store.Metric{}, fmt.Errorf("%d fields, want 2, 3 or 5", n)
	}
	ts, err := parsePyInt(fields[0])
	if err != nil {
		return store.Metric{}, fmt.Errorf("bad timestamp %q", fields[0])
	}
	v, err := pyfloat.Parse(fields[1])
	if err != nil {
		return store.Metric{}, fmt.Errorf("bad value %q", fields[1])
	}
	var step int64
	if len(fields) >= 3 {
		if step, err = parsePyInt(fields[2]); err != nil {
			return store.Metric{}, fmt.Errorf("bad step %q", fields[2])
		}
	}
	return store.Metric{Key: key, Value: v, Timestamp: ts, Step: step}, nil
}

// readMetricHistory reads metrics/<key>; a missing file is an empty
// history.
func readMetricHistory(metricsPath, key string) ([]store.Metric, error) {
	path := filepath.Join(metricsPath, filepath.FromSlash(key))
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("fsstore: read metric %q: %w", key, err)
	}
	return parseMetricFile(path, key, data)
}

// readLatestMetrics returns the latest point of every metric of a run,
// sorted by key. A metric file without any line (which only a crashed
// non-atomic writer such as MLflow's own can leave) has no latest value
// and is skipped.
func readLatestMetrics(metricsPath string) ([]store.Metric, error) {
	var out []store.Metric
	var firstErr error
	err := readKeyFiles(metricsPath, func(key string, data []byte) {
		h, err := parseMetricFile(filepath.Join(metricsPath, filepath.FromSlash(key)), key, data)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		if m, ok := store.Latest(h); ok {
			out = append(out, m)
		}
	})
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.Metric) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// GetMetricHistory returns every point of a metric in the order logged
// (file order).
func (s *Store) GetMetricHistory(ctx context.Context, runID, key string) ([]store.Metric, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := store.ValidateMetric(store.Metric{Key: key}); err != nil {
		return nil, err
	}
	loc, _, err := s.openRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	h, err := readMetricHistory(filepath.Join(loc.dir, metricsDir), key)
	if h == nil && err == nil {
		h = []store.Metric{}
	}
	return h, err
}
