//go:build !unix

package atomicfile

// SyncDir is a no-op where directories cannot be fsynced (Windows).
func SyncDir(dir string) error { return nil }

// processAlive cannot tell on this platform; it assumes the process lives,
// so only SweepOptions.MaxAge removes temporary files.
func processAlive(pid int) bool { return true }
