package fsstore

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// maxOpenMetricFiles bounds the metric files a Store keeps open (see
// fdCache and openMetricFiles). A run logging more metrics than that in
// turn misses the cache every time, which costs about what appending
// cost without it (an open and a close).
const maxOpenMetricFiles = 512

// fileKey names a metric file: the run directory it was opened in (active
// or trashed location) and the metric key.
type fileKey struct{ dir, key string }

// metricFile is a metric file opened with O_APPEND.
type metricFile struct {
	key  fileKey
	path string   // metricPath(key.dir, key.key)
	f    *os.File // O_RDWR|O_APPEND (read to check its last line, see checkTail)
	id   fileID   // the identity of f (device and inode)
	size int64    // f's size when opened, after any repair of its tail

	// end is the size f had after this process last appended through it
	// (or opened it). A file found at another size was appended to by
	// someone else, who may have been killed mid-line: its tail is checked
	// again before the next append (see appendMetric).
	end atomic.Int64

	// Guarded by fdCache.mu.
	refs       int  // users, plus one while in the cache
	cached     bool // in fdCache.m and on the LRU list
	prev, next *metricFile
}

// fdCache keeps the metric files last appended to open, so that logging a
// point costs a stat of the path and a write(2) instead of an open, a
// write and a close. It holds at most max files, dropping the least
// recently used. An entry is only used while its path still names the
// open file (appendMetric stats the path on every use and drops the entry
// otherwise), and is dropped when its run turns out deleted or missing;
// the cache is emptied by Close. Open descriptors of files deleted by
// others (MLflow's gc) keep their space allocated until dropped, at most
// max of them.
//
// Entries are reference-counted: one dropped while in use is closed by
// its last user. It is disabled (max 0) where open files cannot be deleted
// (Windows), see sys_*.go.
type fdCache struct {
	mu  sync.Mutex
	max int
	m   map[fileKey]*metricFile
	lru metricFile // sentinel: lru.next is the most recently used
}

func (c *fdCache) init(size int) {
	c.max = size
	c.m = map[fileKey]*metricFile{}
	c.lru.next, c.lru.prev = &c.lru, &c.lru
}

// get returns the cached file for k, with a reference the caller must
// release, or nil.
func (c *fdCache) get(k fileKey) *metricFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.m[k]
	if f == nil {
		return nil
	}
	f.refs++
	if c.lru.next != f {
		c.unlink(f)
		c.pushFront(f)
	}
	return f
}

// add caches f (which the caller holds a reference to), replacing any
// entry for the same key, and drops the least recently used entries
// beyond max.
func (c *fdCache) add(f *metricFile) {
	var closing []*metricFile
	c.mu.Lock()
	if c.max > 0 {
		if old := c.m[f.key]; old != nil {
			closing = c.remove(old, closing)
		}
		f.refs++
		f.cached = true
		c.m[f.key] = f
		c.pushFront(f)
		for len(c.m) > c.max {
			closing = c.remove(c.lru.prev, closing)
		}
	}
	c.mu.Unlock()
	closeFiles(closing)
}

// release drops the caller's reference to f, closing it if it was the
// last.
// has reports whether k's file is open in the cache (so that its path is a
// file), without taking a reference.
func (c *fdCache) has(k fileKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k] != nil
}

func (c *fdCache) release(f *metricFile) {
	c.mu.Lock()
	f.refs--
	last := f.refs == 0
	c.mu.Unlock()
	if last {
		f.f.Close()
	}
}

// evict removes f from the cache (the caller still holds a reference).
func (c *fdCache) evict(f *metricFile) {
	c.mu.Lock()
	var closing []*metricFile
	if f.cached {
		closing = c.remove(f, nil)
	}
	c.mu.Unlock()
	closeFiles(closing)
}

// dropRun removes the files of run runID, in any location.
func (c *fdCache) dropRun(runID string) {
	c.drop(func(k fileKey) bool { return filepath.Base(k.dir) == runID })
}

// dropAll empties the cache.
func (c *fdCache) dropAll() { c.drop(func(fileKey) bool { return true }) }

func (c *fdCache) drop(match func(fileKey) bool) {
	var closing []*metricFile
	c.mu.Lock()
	for k, f := range c.m {
		if match(k) {
			closing = c.remove(f, closing)
		}
	}
	c.mu.Unlock()
	closeFiles(closing)
}

// remove takes a cached f out of the cache and drops the cache's
// reference, appending f to closing if that was the last one.
func (c *fdCache) remove(f *metricFile, closing []*metricFile) []*metricFile {
	delete(c.m, f.key)
	c.unlink(f)
	f.cached = false
	f.refs--
	if f.refs == 0 {
		closing = append(closing, f)
	}
	return closing
}

func (c *fdCache) unlink(f *metricFile) {
	f.prev.next, f.next.prev = f.next, f.prev
	f.prev, f.next = nil, nil
}

func (c *fdCache) pushFront(f *metricFile) {
	f.prev, f.next = &c.lru, c.lru.next
	c.lru.next.prev = f
	c.lru.next = f
}

func closeFiles(fs []*metricFile) {
	for _, f := range fs {
		f.f.Close()
	}
}

// openMetricFile opens an existing metric file for appending, cuts off a
// torn final line under the lock taken by lock (see checkTail), and caches
// it. The caller must release the result. Running out of file descriptors
// empties the cache and tries once more.
func (s *Store) openMetricFile(ctx context.Context, k fileKey, path string, lock lockFunc) (*metricFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil && isTooManyFiles(err) {
		s.files.dropAll()
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil {
		var size int64
		if size, err = checkTail(ctx, f, info.Size(), lock); err == nil {
			mf := &metricFile{key: k, path: path, f: f, id: fileIDOf(info), size: size, refs: 1}
			mf.end.Store(size)
			s.files.add(mf)
			return mf, nil
		}
	}
	f.Close()
	return nil, err
}
