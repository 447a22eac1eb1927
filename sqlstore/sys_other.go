//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlstore

// checkWritable is not implemented on this platform: a read-only file is
// reported by SQLite at the first write instead.
func checkWritable(path string, exists bool) error { return nil }

// dirWritable is not implemented on this platform and reports true.
func dirWritable(path string) bool { return true }
