package fsstore

import "syscall"

// statStamp stats path: its version stamp (as stampOf an os.Stat), and
// whether it is a regular file. It is os.Stat without the allocation of a
// FileInfo, for the stat of meta.yaml every LogBatch makes.
func statStamp(path string) (st fileStamp, regular bool, err error) {
	var s syscall.Stat_t
	for {
		err = syscall.Stat(path, &s)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return fileStamp{}, false, err
	}
	st = fileStamp{ino: uint64(s.Ino), size: int64(s.Size), mtime: int64(s.Mtim.Sec)*1e9 + int64(s.Mtim.Nsec)}
	return st, s.Mode&syscall.S_IFMT == syscall.S_IFREG, nil
}
