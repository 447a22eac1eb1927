//go:build !unix

package fsstore

import (
	"errors"
	"io/fs"
	"os"
)

func isNotEmpty(err error) bool { return errors.Is(err, fs.ErrExist) }

func isCrossDevice(err error) bool { return false }

func fileIdentity(info fs.FileInfo) uint64 { return 0 }

// fileID identifies a file; unused here, where the cache of open metric
// files is disabled.
type fileID struct{}

// openMetricFiles is 0: on Windows an open file cannot be deleted (nor
// its directory), which MLflow and users must be able to do at any time.
func openMetricFiles() int { return 0 }

func fileIDOf(fs.FileInfo) fileID { return fileID{} }

func statFile(path string) (fileID, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileID{}, 0, err
	}
	return fileID{}, info.Size(), nil
}

func isTooManyFiles(error) bool { return false }
