//go:build !linux

package fsstore

import "os"

// statStamp stats path: its version stamp, and whether it is a regular
// file.
func statStamp(path string) (fileStamp, bool, error) {
	info, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false, err
	}
	return stampOf(info), info.Mode().IsRegular(), nil
}
