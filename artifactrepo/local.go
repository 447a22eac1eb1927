package artifactrepo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/store"
)

// Local is the repository of a local artifact root (a file: URI or a
// path). Files are written atomically (internal/atomicfile).
type Local struct {
	uri  string
	root string
}

func openLocal(uri string) (*Local, error) {
	p, err := fileuri.ToPath(uri)
	if err != nil {
		return nil, store.Invalidf("artifact URI: %v", err)
	}
	if p == "" {
		return nil, store.Invalidf("artifact URI %q names no directory", uri)
	}
	return &Local{uri: uri, root: filepath.Clean(p)}, nil
}

// URI returns the artifact root URI.
func (l *Local) URI() string { return l.uri }

// Root returns the root directory.
func (l *Local) Root() string { return l.root }

func (l *Local) local(p string) string {
	if p == "" {
		return l.root
	}
	return filepath.Join(l.root, filepath.FromSlash(p))
}

// Put writes src to path atomically.
func (l *Local) Put(ctx context.Context, path string, src Source) error {
	p, err := cleanPath(path)
	if err != nil {
		return err
	}
	if p == "" {
		return store.Invalidf("Put: %v", errNoPath)
	}
	rc, err := src.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	dst := l.local(p)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(ctx, dst, data, nil)
}

// Get opens the file at path.
func (l *Local) Get(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(l.local(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(l.uri, p, err)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, store.Invalidf("artifact %s under %s is a directory", p, l.uri)
	}
	return f, nil
}

// List lists the entries under dir.
func (l *Local) List(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, err := cleanPath(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.local(d))
	if errors.Is(err, fs.ErrNotExist) {
		return []FileInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []FileInfo{}
	for _, e := range entries {
		if _, temp := atomicfile.IsTemp(e.Name()); temp {
			continue
		}
		fi := FileInfo{Path: joinPath(d, e.Name()), IsDir: e.IsDir()}
		if !fi.IsDir {
			info, err := e.Info()
			if err != nil {
				continue
			}
			fi.Size = info.Size()
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
