//go:build !unix

package fsstore

import (
	"errors"
	"io/fs"
)

func isNotEmpty(err error) bool { return errors.Is(err, fs.ErrExist) }

func isCrossDevice(err error) bool { return false }

func fileIdentity(info fs.FileInfo) uint64 { return 0 }
