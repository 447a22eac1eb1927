package fsstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// A metric file (of a run or a logged model) can end with a torn line:
// a process killed while appending a line that straddles a page boundary
// leaves the part copied so far (see writeLines). That line was never
// acknowledged. Readers ignore it if it does not parse (parseMetricFile),
// but MLflow fails on it, and the next append would be glued to it,
// making a malformed line in the middle of the file. So before a process
// appends to a metric file it has not just appended to itself, it checks
// that the file is empty or ends with '\n', and otherwise cuts the torn
// tail off (repairTail).

// tornTailPause is how long repairTail watches a file whose last byte is
// not '\n' before deciding the line is torn rather than being written: a
// write(2) in progress in another process or goroutine shows the pages
// copied so far, and finishes within microseconds. A variable for tests.
var tornTailPause = 20 * time.Millisecond

// lockFunc takes the lock that serializes tail repairs of a file (the
// run's or the model's lock file) and returns its unlock, or returns a
// no-op if the caller holds it already.
type lockFunc func(context.Context) (func(), error)

// held is the lockFunc of a caller already holding the lock.
func held(context.Context) (func(), error) { return func() {}, nil }

// checkTail makes sure that f, a metric file opened with O_RDWR|O_APPEND
// and size bytes long by a stat just taken, is empty or ends with '\n',
// cutting off a torn final line under the lock taken by lock (see
// repairTail). It returns the size of the file after any repair. The
// common case is one pread(2) of the last byte.
func checkTail(ctx context.Context, f *os.File, size int64, lock lockFunc) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	ok, err := endsWithNewline(f, size)
	if err != nil || ok {
		return size, err
	}
	unlock, err := lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	return repairTail(ctx, f)
}

// repairTail truncates f back to just after its last '\n' (to empty if it
// has none) if its last byte is not '\n' and stays so, at the same size,
// for tornTailPause: a line being written would have grown or ended
// meanwhile. The caller holds the lock that serializes repairs; appends
// take no lock, so a file that keeps changing is left as it is after a
// few tries (its writers are alive, and the next check repairs it if one
// of them dies mid-line). It returns the file's size.
//
// A file cut to empty (one whose only line is torn, which fsstore never
// writes: new files are created whole) is empty until the caller's append
// lands, which MLflow's readers reject meanwhile, as they rejected the
// torn line.
func repairTail(ctx context.Context, f *os.File) (int64, error) {
	prev := int64(-1)
	for range 10 {
		info, err := f.Stat()
		if err != nil {
			return 0, err
		}
		size := info.Size()
		if size == 0 {
			return 0, nil
		}
		ok, err := endsWithNewline(f, size)
		if err != nil || ok {
			return size, err
		}
		if size == prev {
			cut, err := afterLastNewline(f, size)
			if err != nil {
				return 0, err
			}
			if err := f.Truncate(cut); err != nil {
				return 0, fmt.Errorf("cut torn line off %s: %w", f.Name(), err)
			}
			return cut, nil
		}
		prev = size
		t := time.NewTimer(tornTailPause)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// endsWithNewline reports whether the byte at size-1 is '\n'.
func endsWithNewline(f *os.File, size int64) (bool, error) {
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		if err == io.EOF { // shrunk meanwhile: let the caller stat again
			return false, nil
		}
		return false, fmt.Errorf("read end of %s: %w", f.Name(), err)
	}
	return b[0] == '\n', nil
}

// afterLastNewline returns the offset just after the last '\n' in the
// first size bytes of f, or 0 if there is none.
func afterLastNewline(f *os.File, size int64) (int64, error) {
	buf := make([]byte, pageSize)
	for end := size; end > 0; {
		start := max(0, end-pageSize)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// appendChecked appends lines to f, opened with O_RDWR|O_APPEND, after
// cutting off a torn final line under the lock taken by lock (see
// checkTail): for files appended to with a fresh descriptor each time,
// such as logged-model metric files.
func appendChecked(ctx context.Context, f *os.File, lines []byte, lock lockFunc) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := checkTail(ctx, f, info.Size(), lock); err != nil {
		return err
	}
	_, err = f.Write(lines)
	return err
}
