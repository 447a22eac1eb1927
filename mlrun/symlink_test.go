package mlrun_test

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// TestArtifactSymlinkEscape plants symlinks inside a run's artifact
// directory that point out of it (absolute, relative, dangling) and checks
// that no artifact method writes, lists or returns a path through them,
// while a symlink that stays inside the artifact root keeps working.
func TestArtifactSymlinkEscape(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c, _ := b.open(t, mlrun.WithModelLayout(mlrun.LayoutMLflow2))
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A first artifact makes the root exist on both backends.
		if err := run.LogText(ctx, "in", "in/a.txt"); err != nil {
			t.Fatal(err)
		}
		root, err := c.ArtifactPath(ctx, run.ID(), "")
		if err != nil {
			t.Fatal(err)
		}
		outside := t.TempDir()
		if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644); err != nil {
			t.Fatal(err)
		}
		for name, target := range map[string]string{
			"link":     outside,
			"rel":      filepath.Join("..", "..", "..", "..", "..", "..", "..", "..", "..", "..", "..", "..", outside),
			"dangling": filepath.Join(outside, "missing"),
			"inlink":   "in", // stays inside: allowed
		} {
			if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
				t.Fatal(err)
			}
		}
		src := filepath.Join(t.TempDir(), "f.txt")
		os.WriteFile(src, []byte("f"), 0o644)
		srcDir := t.TempDir()
		os.WriteFile(filepath.Join(srcDir, "g.txt"), []byte("g"), 0o644)
		img := image.NewRGBA(image.Rect(0, 0, 1, 1))

		for _, dir := range []string{"link", "rel", "dangling", "link/sub"} {
			checks := map[string]error{
				"LogText":      run.LogText(ctx, "x", dir+"/evil.txt"),
				"LogJSON":      run.LogJSON(ctx, 1, dir+"/evil.json"),
				"LogImage":     run.LogImage(ctx, img, dir+"/evil.png"),
				"LogTable":     run.LogTable(ctx, []string{"a"}, [][]any{{1}}, dir+"/evil.json"),
				"LogArtifact":  run.LogArtifact(ctx, src, dir),
				"LogArtifacts": run.LogArtifacts(ctx, srcDir, dir),
			}
			_, checks["LogModel"] = run.LogModel(ctx, dir+"/model", mlrun.Model{
				Flavors: map[string]map[string]any{"f": {}}, Files: map[string][]byte{"w": []byte("w")}})
			_, checks["ListArtifacts"] = c.ListArtifacts(ctx, run.ID(), dir)
			_, checks["ArtifactPath"] = c.ArtifactPath(ctx, run.ID(), dir+"/secret.txt")
			for what, err := range checks {
				if !errors.Is(err, store.ErrInvalidParameter) {
					t.Errorf("%s through %s: err = %v, want ErrInvalidParameter", what, dir, err)
				}
			}
		}
		entries, err := os.ReadDir(outside)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("writes escaped the artifact root: %s holds %v", outside, names)
		}

		// The root listing leaves out entries that resolve outside it.
		top, err := c.ListArtifacts(ctx, run.ID(), "")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range top {
			names = append(names, a.Path)
		}
		if !slices.Equal(names, []string{"in", "inlink"}) {
			t.Errorf("root listing = %v, want [in inlink]", names)
		}

		// A symlink that stays inside the root works like its target.
		if err := run.LogText(ctx, "ok", "inlink/b.txt"); err != nil {
			t.Errorf("LogText through an inside symlink: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(root, "in", "b.txt")); err != nil || string(b) != "ok" {
			t.Errorf("inside symlink: %q, %v", b, err)
		}
		in, err := c.ListArtifacts(ctx, run.ID(), "inlink")
		if err != nil || len(in) != 2 || in[0].Path != "inlink/a.txt" || in[0].Size != 2 {
			t.Errorf("ListArtifacts(inlink) = %+v, %v", in, err)
		}
	})
}

// TestLogArtifactsSourceSymlinks checks LogArtifacts' policy for symlinks
// in the source directory: one that resolves inside it is copied as the
// file (or directory) it points to, as MLflow's copytree does; one that
// resolves outside it, or nowhere, makes LogArtifacts fail before it writes
// anything, naming the link. The same holds for Model.Dir.
func TestLogArtifactsSourceSymlinks(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t, mlrun.WithModelLayout(mlrun.LayoutMLflow2))
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("b"), 0o644)
	os.Symlink("a.txt", filepath.Join(src, "alias.txt"))
	os.Symlink("sub", filepath.Join(src, "subalias"))
	os.Symlink("..", filepath.Join(src, "sub", "up")) // a cycle back to src
	if err := run.LogArtifacts(ctx, src, "good"); err == nil || !strings.Contains(err.Error(), "up") {
		t.Errorf("symlink cycle: err = %v, want an error naming sub/up", err)
	}
	os.Remove(filepath.Join(src, "sub", "up"))
	if err := run.LogArtifacts(ctx, src, "good"); err != nil {
		t.Fatal(err)
	}
	root, _ := c.ArtifactPath(ctx, run.ID(), "good")
	for rel, want := range map[string]string{"a.txt": "a", "alias.txt": "a", "sub/b.txt": "b", "subalias/b.txt": "b"} {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: not copied as a regular file (%v)", rel, err)
			continue
		}
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s = %q, want %q", rel, b, want)
		}
	}

	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644)
	for name, target := range map[string]string{
		"out.txt":  filepath.Join(outside, "secret.txt"),
		"outdir":   outside,
		"dangling": filepath.Join(outside, "missing"),
	} {
		bad := t.TempDir()
		os.WriteFile(filepath.Join(bad, "0first.txt"), []byte("first"), 0o644)
		os.Symlink(target, filepath.Join(bad, name))
		err := run.LogArtifacts(ctx, bad, "bad-"+name)
		if !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), name) {
			t.Errorf("source symlink %s: err = %v, want ErrInvalidParameter naming it", name, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(root), "bad-"+name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("source symlink %s: LogArtifacts wrote files before failing", name)
		}
		_, err = run.LogModel(ctx, "model-"+name, mlrun.Model{Flavors: map[string]map[string]any{"f": {}}, Dir: bad})
		if !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), name) {
			t.Errorf("Model.Dir symlink %s: err = %v, want ErrInvalidParameter naming it", name, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(root), "model-"+name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Model.Dir symlink %s: LogModel wrote files before failing", name)
		}
	}
}
