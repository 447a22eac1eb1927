package fsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
)

// formatMetricLines appends MLflow's metric line, f"{timestamp} {value}
// {step}\n" with the value spelled as Python's str(float), for metrics[i]
// for i in order (for all of metrics if order is nil). A timestamp equal
// to the previous line's (the common case in a batch) is copied rather
// than formatted again.
func formatMetricLines(buf []byte, metrics []store.Metric, order []int32) []byte {
	n := len(metrics)
	if order != nil {
		n = len(order)
	}
	var prevTS int64
	prevLo, prevHi := -1, -1 // the previous line's timestamp in buf
	for j := range n {
		m := &metrics[j]
		if order != nil {
			m = &metrics[order[j]]
		}
		lo := len(buf)
		if prevLo >= 0 && m.Timestamp == prevTS {
			buf = append(buf, buf[prevLo:prevHi]...)
		} else {
			buf = strconv.AppendInt(buf, m.Timestamp, 10)
		}
		prevTS, prevLo, prevHi = m.Timestamp, lo, len(buf)
		buf = append(buf, ' ')
		buf = appendPyFloat(buf, m.Value)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, m.Step, 10)
		buf = append(buf, '\n')
	}
	return buf
}

// appendPyFloat appends pyfloat.Repr(f) without allocating: one shortest
// formatting in exponent form, laid out positionally when Python would
// (decimal exponent in [-4, 16)). The shortest digits are the same in both
// forms; metrics_test.go checks the result against pyfloat.Repr.
func appendPyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	// [-]d[.ddd]e±dd[d]: the 'e' is 4 bytes from the end, or 5 for a
	// 3-digit exponent.
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	i := len(e) - 4
	if e[i] != 'e' {
		i-- // a 3-digit exponent
	}
	exp := 0
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[i+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(b, e...)
	}
	mant := e[:i]
	if mant[0] == '-' {
		b = append(b, '-')
		mant = mant[1:]
	}
	lead, frac := mant[0], mant[min(2, len(mant)):] // d, ddd
	if exp < 0 {
		b = append(b, "0.0000"[:1-exp]...) // "0." and -exp-1 zeros
		b = append(b, lead)
		return append(b, frac...)
	}
	b = append(b, lead)
	if exp < len(frac) {
		b = append(b, frac[:exp]...)
		b = append(b, '.')
		return append(b, frac[exp:]...)
	}
	b = append(b, frac...)
	b = append(b, "000000000000000"[:exp-len(frac)]...)
	return append(b, ".0"...)
}

// lineBufs recycles the buffers metric lines are formatted into.
var lineBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledLineBuf bounds the buffers kept for reuse (a full batch of
// 1,000 points takes about 40 KB).
const maxPooledLineBuf = 256 << 10

// appendMetrics appends one line per point to metrics/<key>, keys in the
// order of their first point, the lines of a key in the order given, each
// key's lines in as few write(2) calls as whole lines allow (see
// appendMetric). lock takes the run's lock (held, if the caller holds it),
// needed only to repair a torn final line (see checkTail).
func (s *Store) appendMetrics(ctx context.Context, loc runLoc, metrics []store.Metric, lock lockFunc) error {
	if len(metrics) == 0 {
		return nil
	}
	bp := lineBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= maxPooledLineBuf {
			*bp = buf[:0]
			lineBufs.Put(bp)
		}
	}()
	key := metrics[0].Key
	single := true
	for i := 1; i < len(metrics); i++ {
		if metrics[i].Key != key {
			single = false
			break
		}
	}
	if single { // LogMetric, and most batches
		buf = formatMetricLines(buf, metrics, nil)
		return s.appendMetric(ctx, loc, key, buf, lock)
	}

	// Group the points by key, keys in order of first appearance: group
	// numbers, then a counting sort of the points by group.
	var keys []string
	group := make([]int32, len(metrics))
	var index map[string]int32 // for many keys; a linear search for few
	for i, m := range metrics {
		g := int32(-1)
		if index != nil {
			if j, ok := index[m.Key]; ok {
				g = j
			}
		} else {
			for j, k := range keys {
				if k == m.Key {
					g = int32(j)
					break
				}
			}
		}
		if g < 0 {
			g = int32(len(keys))
			keys = append(keys, m.Key)
			if index != nil {
				index[m.Key] = g
			} else if len(keys) > 8 {
				index = make(map[string]int32, 2*len(keys))
				for j, k := range keys {
					index[k] = int32(j)
				}
			}
		}
		group[i] = g
	}
	start := make([]int, len(keys)+1) // start[g]: first slot of group g in order
	for _, g := range group {
		start[g+1]++
	}
	for g := range keys {
		start[g+1] += start[g]
	}
	order := make([]int32, len(metrics))
	next := slices.Clone(start[:len(keys)])
	for i, g := range group {
		order[next[g]] = int32(i)
		next[g]++
	}
	for g, k := range keys {
		buf = formatMetricLines(buf[:0], metrics, order[start[g]:start[g+1]])
		if err := s.appendMetric(ctx, loc, k, buf, lock); err != nil {
			return err
		}
	}
	return nil
}

// appendMetric appends lines (whole lines, each ending in '\n') to a
// metric file such that readers, other writers and a crash of this
// process only ever see whole lines, and a file that is never empty:
//
//   - An existing file is opened with O_APPEND (never O_CREATE), and kept
//     open in the store's cache of metric files (see fdCache) for the
//     next calls. A cached file is used only if the path still names it:
//     one stat of the path per call, as cheap as the open it replaces, so
//     a metric file deleted, replaced, or moved along with its run or
//     experiment directory (MLflow's gc, the .trash) is never written
//     through a stale descriptor. (LogBatch also stats the run's
//     meta.yaml on every call, so a run deleted or removed by another
//     process is refused.)
//   - A missing file is created with all the lines already in it: they go
//     to a temporary file in the run directory (where MLflow ignores it),
//     which is fsynced and hard-linked onto metrics/<key>. A reader never
//     sees an empty metric file, which MLflow rejects ("No data found"),
//     not even after a power failure. If another writer created the file
//     first, the link fails and the lines are appended.
//   - Before the first append through a descriptor, and whenever the file
//     was appended to by someone else since this process last did (its
//     size is not where our last append left it), the file's last byte is
//     checked: a file that does not end with '\n' ends with a line torn
//     by a writer killed mid-write, which is cut off under the run lock
//     (taken by lock) before appending, so that the new lines are not
//     glued to it (see checkTail).
//
// Appends are not fsynced: after a power failure the last lines may be
// missing. See writeLines for why appended lines are whole.
func (s *Store) appendMetric(ctx context.Context, loc runLoc, key string, lines []byte, lock lockFunc) error {
	k := fileKey{dir: loc.dir, key: key}
	for range 4 {
		if f := s.files.get(k); f != nil {
			id, size, err := statFile(f.path)
			if err == nil && id == f.id {
				if size != f.end.Load() { // appended to by others
					size, err = checkTail(ctx, f.f, size, lock)
				}
				if err == nil {
					err = writeLines(f.f, lines, size)
				}
				if err == nil {
					f.end.Store(size + int64(len(lines)))
				}
				s.files.release(f)
				if err != nil {
					return fmt.Errorf("fsstore: log metric %q: %w", key, err)
				}
				return nil
			}
			// Gone or replaced: forget the descriptor and open the path.
			s.files.evict(f)
			s.files.release(f)
		}
		path := metricPath(loc.dir, key)
		f, err := s.openMetricFile(ctx, k, path, lock)
		if err == nil {
			err = writeLines(f.f, lines, f.size)
			if err == nil {
				f.end.Store(f.size + int64(len(lines)))
			}
			s.files.release(f)
			if err != nil {
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
		err = atomicfile.Create(ctx, path, lines, s.atomicOpts(loc.dir, syncFull))
		switch {
		case err == nil:
			return nil
		case errors.Is(err, fs.ErrExist):
			// Created by another writer meanwhile: append.
		default:
			return fmt.Errorf("fsstore: log metric %q: %w", key, err)
		}
	}
	return fmt.Errorf("fsstore: log metric %q: cannot open or create %s", key, metricPath(loc.dir, key))
}

// metricPath is filepath.Join(runDir, "metrics", key) for a validated key
// (clean, relative, without "." or ".." elements), without Join's Clean.
func metricPath(runDir, key string) string {
	return joinClean(runDir, metricsDir+string(filepath.Separator)+filepath.FromSlash(key))
}

// pageSize is the granularity at which the kernel may cut a write(2) to a
// regular file short (see writeLines): the size of a page-cache page or
// folio, which is a multiple of 4 KiB everywhere Go runs.
const pageSize = 4096

// writeLines appends whole lines to f (opened with O_APPEND), the end of
// the file being at about offset end (from a stat just taken). It uses as
// few write(2) calls as keep every guarantee that one write(2) per line
// (what appendMetric did before) gave:
//
//   - Concurrent writers, in this process or others, never interleave
//     within a line. On Linux a write(2) to a regular file holds the
//     file's inode lock (i_rwsem) from picking the O_APPEND offset to the
//     end of the copy, on every local file system (ext4, xfs, btrfs,
//     tmpfs, ...), so the bytes of one write(2) are contiguous in the file
//     whatever its length. Many lines per write(2) are as safe from
//     interleaving as one.
//   - A write(2) that stops early leaves a prefix of its bytes: the lines
//     before the cut whole, the line across it torn, the rest absent. The
//     kernel copies a write into the page cache one page (folio) at a
//     time, checking for a fatal signal and reserving disk space page by
//     page, so a SIGKILL or a full disk cuts a write only at a page
//     boundary (a file size limit, at the limit). With one write(2) per
//     line, only a line straddling a page boundary could thus be torn,
//     by a cut right after the copy of its first part. writeLines keeps
//     exactly that (see chunkLen): no write crosses a 4 KiB boundary of
//     the file but in its first line, so the only possible cut tears that
//     line at the same moment as if it were written alone. (If another
//     process appends between the stat and the write, end is off and a
//     write may cross a boundary in a later line: again, only the one
//     line across the cut could be torn.) A torn line is never
//     acknowledged, and fsstore's readers ignore a torn final line that
//     does not parse.
//   - Readers (MLflow reads without locks) see a write in progress up to
//     the pages copied so far, so a write within one page appears whole,
//     and a straddling line as it did before.
//
// A one-point call is one write(2); a 1,000-point batch of one key (~30 KB)
// takes 8 or 9 instead of 1,000.
func writeLines(f *os.File, lines []byte, end int64) error {
	for len(lines) > 0 {
		n := chunkLen(lines, end)
		if _, err := f.Write(lines[:n]); err != nil {
			return err
		}
		lines = lines[n:]
		end += int64(n)
	}
	return nil
}

// chunkLen returns the length of the first write of lines (which end
// with '\n') at offset end of the file: the whole lines before the next
// 4 KiB boundary; or, if the first line straddles that boundary, that line
// and the whole lines after it within the following 4 KiB (a line longer
// than that alone). Only the first line of a write can thus cross a
// boundary, where the kernel may cut the write: the cut comes right after
// copying the first part of that line, as it would if the line were
// written alone.
func chunkLen(lines []byte, end int64) int {
	room := pageSize - int(end%pageSize)
	if len(lines) <= room {
		return len(lines)
	}
	if i := bytes.LastIndexByte(lines[:room], '\n'); i >= 0 {
		return i + 1
	}
	first := len(lines)
	if i := bytes.IndexByte(lines, '\n'); i >= 0 {
		first = i + 1
	}
	limit := room + pageSize
	switch {
	case first > limit:
		return first
	case len(lines) <= limit:
		return len(lines)
	}
	return bytes.LastIndexByte(lines[:limit], '\n') + 1
}

// parseMetricFile parses a metric file in MLflow's format. Lines have 2
// (ts value), 3 (ts value step) or 5 (ts value step dataset_name
// dataset_digest) space-separated fields; MLflow 3 writes 5 fields for
// dataset-linked metrics. (MLflow's own FileStore reads the step of a
// 5-field line as 0, which is a bug; migrate-filestore and this reader take
// the third field.) A final line without its newline that does not parse
// is a write torn by a crash, never acknowledged, and is ignored (the next
// append through fsstore cuts it off, see checkTail); one that parses is
// read as a point, as MLflow reads it (Python's readlines() keeps a last
// line without '\n'; MLflow fails on one that does not parse). Any other
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
	if err := s.enter(ctx, store.ValidateGetMetricHistory(runID, key)); err != nil {
		return nil, err
	}
	defer s.leave()
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
