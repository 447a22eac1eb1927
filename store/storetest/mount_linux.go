package storetest

import (
	"syscall"
	"testing"
)

// mountScratch mounts a small tmpfs on dir for the test, unmounted at its
// end, and returns a function that remounts it read-only (true) or
// read-write. A process that may not mount skips the test.
func mountScratch(t *testing.T, dir string) (remount func(readOnly bool)) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64m,mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs for read-only media (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return func(readOnly bool) {
		t.Helper()
		flags := uintptr(syscall.MS_REMOUNT)
		if readOnly {
			flags |= syscall.MS_RDONLY
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "size=64m,mode=0755"); err != nil {
			t.Fatalf("remount %s (read-only %v): %v", dir, readOnly, err)
		}
	}
}
