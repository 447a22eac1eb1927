//go:build unix

package fsstore

import (
	"errors"
	"io/fs"
	"syscall"
)

// isNotEmpty reports whether a rename failed because the target is an
// existing non-empty directory.
func isNotEmpty(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

// isCrossDevice reports whether a rename failed because source and target
// are on different file systems.
func isCrossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }

// fileIdentity returns the inode number of a file, part of the cache key
// of parsed meta.yaml files.
func fileIdentity(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
