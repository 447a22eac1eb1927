package fsstore

import (
	"io/fs"
	"sync"
	"time"
)

// metaCache holds parsed meta.yaml files, keyed by path and validated by
// the file's inode, size and modification time, so that hot paths (every
// LogBatch checks its run's lifecycle stage) skip re-parsing YAML.
//
// mlrun replaces meta.yaml by rename, so every version has a new inode; but
// MLflow rewrites in place, and file systems keep modification times with
// a coarse clock (one kernel tick), so two in-place writes of equal size
// could share a key. A file is therefore only cached once its modification
// time is settle old: any later write then gets a later time.
type metaCache struct {
	mu sync.Mutex            // guards m
	m  map[string]cacheEntry // path -> parsed content
}

type cacheEntry struct {
	stamp fileStamp
	val   any // *runMeta or *expMeta; never mutated once cached
}

// fileStamp is what a stat tells of a file's version: inode, size and
// modification time.
type fileStamp struct {
	ino   uint64
	size  int64
	mtime int64 // UnixNano
}

func stampOf(info fs.FileInfo) fileStamp {
	return fileStamp{ino: fileIdentity(info), size: info.Size(), mtime: info.ModTime().UnixNano()}
}

const (
	maxCacheEntries = 16384
	settle          = 100 * time.Millisecond
)

func (c *metaCache) get(path string, info fs.FileInfo) (any, bool) {
	return c.getStamp(path, stampOf(info))
}

func (c *metaCache) getStamp(path string, st fileStamp) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[path]
	if !ok || e.stamp != st {
		return nil, false
	}
	return e.val, true
}

// put caches val, parsed from the file whose stat (taken before reading
// it) was info, if the file has settled.
func (c *metaCache) put(path string, info fs.FileInfo, val any) {
	c.putStamp(path, stampOf(info), val)
}

func (c *metaCache) putStamp(path string, st fileStamp, val any) {
	if time.Since(time.Unix(0, st.mtime)) < settle {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[path] = cacheEntry{stamp: st, val: val}
}

func (c *metaCache) drop(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, path)
}
