package mlrun

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsEscape pins the error os.Root gives for a path that leaves the
// root, which os does not export: isEscape must recognize it from every
// operation mlrun uses, wrapped or not.
func TestIsEscape(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	_, statErr := root.Stat("out/x")
	_, openErr := root.OpenFile("out/x", os.O_CREATE|os.O_WRONLY, 0o644)
	mkdirErr := root.MkdirAll("out/a/b", 0o755)
	renameErr := root.Rename("missing", "out/x")
	_, readErr := root.ReadFile("out/../out/x")
	for what, err := range map[string]error{"stat": statErr, "open": openErr, "mkdirall": mkdirErr, "rename": renameErr, "readfile": readErr} {
		if !isEscape(err) {
			t.Errorf("%s: isEscape(%v) = false", what, err)
		}
	}
	if _, err := root.Stat("missing"); isEscape(err) || err == nil {
		t.Errorf("a missing file: %v, isEscape true", err)
	}
}
