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

// fileID identifies a file: device and inode numbers.
type fileID struct{ dev, ino uint64 }

// openMetricFiles returns the size of a Store's cache of open metric
// files: an eighth of the process's limit on open files (which Go raises
// to the hard limit at start-up), at most maxOpenMetricFiles.
func openMetricFiles() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return int(min(uint64(lim.Cur)/8, maxOpenMetricFiles))
}

func fileIDOf(info fs.FileInfo) fileID {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileID{}
}

// statFile returns the identity and size of the file at path, with one
// stat(2) and less garbage than os.Stat.
func statFile(path string) (fileID, int64, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Stat(path, &st)
		if err == nil {
			return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, st.Size, nil
		}
		if err != syscall.EINTR {
			return fileID{}, 0, err
		}
	}
}

// isTooManyFiles reports whether an open failed for lack of file
// descriptors.
func isTooManyFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
