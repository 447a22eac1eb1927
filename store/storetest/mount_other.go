//go:build !linux

package storetest

import "testing"

// mountScratch is implemented on Linux only: the test is skipped.
func mountScratch(t *testing.T, dir string) func(readOnly bool) {
	t.Helper()
	t.Skip("read-only media are tested on Linux (a tmpfs remounted read-only)")
	return nil
}
