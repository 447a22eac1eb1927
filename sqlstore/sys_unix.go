//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlstore

import (
	"fmt"
	"path/filepath"
	"syscall"
)

// wOK is access(2)'s W_OK.
const wOK = 2

// checkWritable reports, without opening the database file (closing a
// descriptor of it would drop the POSIX locks SQLite holds on it in this
// process), whether the process may write the file and create files in
// its directory, as SQLite needs for its journal or write-ahead log.
func checkWritable(path string, exists bool) error {
	dir := filepath.Dir(path)
	if err := syscall.Access(dir, wOK); err != nil {
		return fmt.Errorf("directory %s is not writable, and SQLite creates its journal there: %w", dir, err)
	}
	if exists {
		if err := syscall.Access(path, wOK); err != nil {
			return fmt.Errorf("database file is read-only: %w", err)
		}
	}
	return nil
}

// dirWritable reports whether the process may create files in the
// directory of path (access(2) W_OK: false on a read-only mount, and for a
// directory of another user without write permission; root passes the
// permission bits).
func dirWritable(path string) bool { return syscall.Access(filepath.Dir(path), wOK) == nil }
