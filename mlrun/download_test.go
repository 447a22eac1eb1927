package mlrun_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// TestDownloadArtifacts: DownloadArtifacts copies a file, a directory or
// the whole root of a local store's run into a directory (a new temporary
// one for ""), byte for byte; a missing artifact is ErrNotFound.
func TestDownloadArtifacts(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t)
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"a.txt": "A", "d/b.txt": "B", "d/e/c.txt": "ünï ✓"}
		for p, text := range files {
			if err := run.LogText(ctx, text, p); err != nil {
				t.Fatal(err)
			}
		}
		dst := t.TempDir()
		got, err := c.DownloadArtifacts(ctx, run.ID(), "", dst)
		if err != nil || got != dst {
			t.Fatalf("DownloadArtifacts(\"\") = %q, %v", got, err)
		}
		for p, text := range files {
			if b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(p))); err != nil || string(b) != text {
				t.Errorf("%s: %q, %v", p, b, err)
			}
		}
		got, err = c.DownloadArtifacts(ctx, run.ID(), "d", "")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(filepath.Dir(got))
		if b, err := os.ReadFile(filepath.Join(got, "e", "c.txt")); err != nil || string(b) != files["d/e/c.txt"] || filepath.Base(got) != "d" {
			t.Errorf("DownloadArtifacts(d) = %s: %q, %v", got, b, err)
		}
		got, err = c.DownloadArtifacts(ctx, run.ID(), "d/b.txt", dst)
		if err != nil || got != filepath.Join(dst, "b.txt") {
			t.Errorf("DownloadArtifacts(d/b.txt) = %q, %v", got, err)
		}
		if _, err := c.DownloadArtifacts(ctx, run.ID(), "nope.txt", dst); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing artifact: %v, want ErrNotFound", err)
		}
		if _, err := c.DownloadArtifacts(ctx, run.ID(), "../x", dst); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("../x: %v, want ErrInvalidParameter", err)
		}
		if err := run.End(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
