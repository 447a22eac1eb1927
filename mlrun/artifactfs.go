package mlrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/filelock"
	"github.com/mlrun-go/mlrun/store"
)

// Artifact files are read and written through an os.Root opened on the
// artifact directory (a run's artifact root, or a logged model's artifact
// location): every path is resolved inside that directory, symlinks
// included, so a symlink planted in the artifacts cannot make mlrun write,
// read or list anything outside it. Such a path is ErrInvalidParameter.

// maxNameBytes is the longest file name (one path element) mlrun writes:
// NAME_MAX of Linux and macOS file systems. A longer one would fail in the
// middle of a write; mlrun refuses it before writing anything.
const maxNameBytes = 255

// checkArtifactFile checks the path of an artifact file relative to its
// artifact directory: store.ValidateArtifactPath, not the root itself, and
// no element longer than maxNameBytes.
func checkArtifactFile(rel string) error {
	if err := store.ValidateArtifactPath(rel); err != nil {
		return err
	}
	if rel == "" {
		return store.Invalidf("artifact file name must not be empty")
	}
	return checkNameLengths(rel)
}

// checkNameLengths refuses a path with an element over maxNameBytes.
func checkNameLengths(rel string) error {
	for el := range strings.SplitSeq(rel, "/") {
		if len(el) > maxNameBytes {
			return store.Invalidf("Invalid artifact path %q: the file name %.40q... is %d bytes long, over the file system limit of %d", rel, el, len(el), maxNameBytes)
		}
	}
	return nil
}

// artifactFS is an artifact directory opened for confined access.
type artifactFS struct {
	dir  string // the directory's local path
	root *os.Root
}

// openArtifactFS opens the artifact directory dir; with create it is
// created first if missing (an SQLite store's run gets its directory on
// the first artifact). Without create, a missing dir is fs.ErrNotExist.
func openArtifactFS(dir string, create bool) (*artifactFS, error) {
	if create {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, fmt.Errorf("mlrun: create artifact directory: %w", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("mlrun: open artifact directory: %w", err)
	}
	return &artifactFS{dir: dir, root: root}, nil
}

func (a *artifactFS) Close() error { return a.root.Close() }

// pathErr turns the error of an operation on rel into mlrun's: a path that
// resolves outside the directory is ErrInvalidParameter.
func (a *artifactFS) pathErr(op, rel string, err error) error {
	if isEscape(err) {
		return store.Invalidf("%s %s: the path resolves outside the artifact directory %s (through a symlink); mlrun reads and writes artifacts only inside it", op, rel, a.dir)
	}
	return fmt.Errorf("%s %s: %w", op, rel, err)
}

// isEscape reports whether err is, or wraps, os.Root's refusal of a path
// that leaves the root. os does not export that error; TestIsEscape pins
// its text.
func isEscape(err error) bool {
	if err == nil {
		return false
	}
	if err.Error() == "path escapes from parent" {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return isEscape(u.Unwrap())
	case interface{ Unwrap() []error }:
		return slices.ContainsFunc(u.Unwrap(), isEscape)
	}
	return false
}

// sysPath is rel as os.Root expects it.
func sysPath(rel string) string {
	if rel == "" {
		return "."
	}
	return filepath.FromSlash(rel)
}

// write writes data to the file rel (checked with checkArtifactFile)
// through a temporary file in the same directory, fsynced and renamed onto
// rel, then fsyncs the directory: readers never see half a file, and a
// canceled ctx publishes nothing.
func (a *artifactFS) write(ctx context.Context, op, rel string, src artifactrepo.Source) (err error) {
	dir := path.Dir(rel)
	if dir != "." {
		if err := a.root.MkdirAll(sysPath(dir), 0o777); err != nil {
			return a.pathErr(op, rel, err)
		}
	}
	tmp := path.Join(dir, atomicfile.TempName(path.Base(rel)))
	data, err := src.Open()
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, rel, err)
	}
	defer data.Close()
	f, err := a.root.OpenFile(sysPath(tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return a.pathErr(op, rel, err)
	}
	defer func() {
		if err != nil {
			_ = a.root.Remove(sysPath(tmp))
		}
	}()
	_, err = io.Copy(f, data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return a.pathErr(op, rel, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.root.Rename(sysPath(tmp), sysPath(rel)); err != nil {
		return a.pathErr(op, rel, err)
	}
	return a.syncDir(op, rel, dir)
}

// syncDir fsyncs the directory dir, making a rename in it durable; file
// systems that cannot fsync a directory are tolerated.
func (a *artifactFS) syncDir(op, rel, dir string) error {
	if runtime.GOOS == "windows" {
		return nil // Windows cannot fsync a directory
	}
	d, err := a.root.Open(sysPath(dir))
	if err != nil {
		return a.pathErr(op, rel, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return a.pathErr(op, rel, err)
	}
	return nil
}

// readFile reads the file rel.
func (a *artifactFS) readFile(_ context.Context, rel string) ([]byte, error) {
	return a.root.ReadFile(sysPath(rel))
}

// path is the local path of rel.
func (a *artifactFS) path(rel string) string {
	return filepath.Join(a.dir, filepath.FromSlash(rel))
}

// stat returns the file info of rel, following symlinks inside the
// directory.
func (a *artifactFS) stat(op, rel string) (fs.FileInfo, error) {
	fi, err := a.root.Stat(sysPath(rel))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, a.pathErr(op, rel, err)
	}
	return fi, nil
}

// list lists the directory rel ("" for the root), sorted by name, as
// MLflow's list_artifacts does: sizes and kinds of symlinks are those of
// their targets, and entries that resolve outside the directory (or
// nowhere) are left out. A missing rel lists nothing.
func (a *artifactFS) list(_ context.Context, op, rel string) ([]ArtifactInfo, error) {
	d, err := a.root.Open(sysPath(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, a.pathErr(op, rel, err)
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return nil, a.pathErr(op, rel, err)
	}
	if !fi.IsDir() {
		return nil, nil // MLflow lists nothing under a file
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, a.pathErr(op, rel, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	var out []ArtifactInfo
	for _, name := range names {
		p := path.Join(rel, name)
		if _, ok := atomicfile.IsTemp(name); ok {
			continue // a write in progress
		}
		fi, err := a.root.Stat(sysPath(p))
		if err != nil {
			continue // outside the directory, dangling, or removed meanwhile
		}
		info := ArtifactInfo{Path: p, IsDir: fi.IsDir()}
		if !fi.IsDir() {
			info.Size = fi.Size()
		}
		out = append(out, info)
	}
	return out, nil
}

// lock takes the artifact directory's lock, which serializes mlrun's
// read-modify-writes of its files (LogTable's appends) across goroutines
// and processes. The lock file sits next to the directory, not in it, so
// no artifact listing shows it: in a file store it is a file in the run
// directory, which MLflow ignores.
func (a *artifactFS) lock(ctx context.Context) (func(), error) {
	p := filepath.Join(filepath.Dir(a.dir), "."+filepath.Base(a.dir)+".mlrun.lock")
	unlock, err := filelock.Mutex{Path: p}.Lock(ctx)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, store.Errorf(store.ErrLocked, "%w", err)
	}
	return unlock, err
}

// sourceFile is a local file LogArtifacts or LogModel copies.
type sourceFile struct {
	rel  string // destination, relative to the copy's target directory
	real string // the file to read, relative to the source's real path
}

// sourceTree is a local directory being copied into the artifacts.
type sourceTree struct {
	dir   string // the directory as given
	real  string // its path with symlinks resolved
	files []sourceFile
}

// maxListedProblems bounds the problems a refused source tree reports.
const maxListedProblems = 10

// collectSource lists every file under the local directory dir and checks
// it before anything is copied: each must be a regular file whose path
// relative to dir is a valid artifact path (checkArtifactFile, under
// prefix). The policy for symlinks, as for MLflow's copytree but confined
// to dir: a symlink that resolves inside dir is copied as the file or
// directory it points to; a symlink that resolves outside dir, or
// nowhere, or a directory symlink that loops back to an ancestor, refuses
// the whole tree (ErrInvalidParameter naming each such entry), as do
// devices, sockets and pipes. Nothing is skipped silently.
func collectSource(dir, prefix string) (*sourceTree, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return nil, fmt.Errorf("mlrun: read %s: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return nil, store.Invalidf("%s is not a directory", dir)
	}
	t := &sourceTree{dir: dir, real: real}
	var problems []string
	problem := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	var walk func(realDir, rel string, ancestors []string)
	walk = func(realDir, rel string, ancestors []string) {
		entries, err := os.ReadDir(realDir)
		if err != nil {
			problem("%s: %v", filepath.Join(dir, filepath.FromSlash(rel)), err)
			return
		}
		for _, e := range entries {
			erel := path.Join(rel, e.Name())
			target := filepath.Join(realDir, e.Name())
			typ := e.Type()
			if typ&fs.ModeSymlink != 0 {
				link := filepath.Join(dir, filepath.FromSlash(erel))
				resolved, err := filepath.EvalSymlinks(target)
				if err != nil {
					problem("%s is a symlink that resolves nowhere", link)
					continue
				}
				if !within(real, resolved) {
					problem("%s is a symlink to %s, outside %s", link, resolved, dir)
					continue
				}
				fi, err := os.Stat(resolved)
				if err != nil {
					problem("%s: %v", link, err)
					continue
				}
				target, typ = resolved, fi.Mode().Type()
			}
			switch {
			case typ.IsDir():
				for _, a := range ancestors {
					if a == target {
						problem("%s is a symlink back to %s, a cycle", filepath.Join(dir, filepath.FromSlash(erel)), a)
						target = ""
						break
					}
				}
				if target != "" {
					walk(target, erel, append(ancestors[:len(ancestors):len(ancestors)], target))
				}
			case typ.IsRegular():
				if err := checkArtifactFile(path.Join(prefix, erel)); err != nil {
					problem("%s: %v", filepath.Join(dir, filepath.FromSlash(erel)), err)
					continue
				}
				r, err := filepath.Rel(real, target)
				if err != nil {
					problem("%s: %v", filepath.Join(dir, filepath.FromSlash(erel)), err)
					continue
				}
				t.files = append(t.files, sourceFile{rel: erel, real: r})
			default:
				problem("%s is not a regular file or a directory (%v)", filepath.Join(dir, filepath.FromSlash(erel)), typ)
			}
		}
	}
	walk(real, "", []string{real})
	if len(problems) > 0 {
		more := ""
		if len(problems) > maxListedProblems {
			more = fmt.Sprintf("; and %d more", len(problems)-maxListedProblems)
			problems = problems[:maxListedProblems]
		}
		return nil, store.Invalidf("cannot copy %s: %s%s; nothing was copied (mlrun copies symlinks only when they resolve inside the directory)", dir, strings.Join(problems, "; "), more)
	}
	return t, nil
}

// within reports whether the cleaned absolute path p is dir or inside it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// copyTo copies the tree's files into a under prefix. The files are read
// through an os.Root on the source, so a file swapped for a symlink after
// collectSource cannot pull in anything outside it.
func (t *sourceTree) copyTo(ctx context.Context, a artifactIO, op, prefix string) error {
	if len(t.files) == 0 {
		return nil
	}
	src, err := os.OpenRoot(t.real)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer src.Close()
	for _, f := range t.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := copyOne(ctx, src, a, op, f, path.Join(prefix, f.rel)); err != nil {
			return err
		}
	}
	return nil
}

func copyOne(ctx context.Context, src *os.Root, a artifactIO, op string, f sourceFile, dst string) error {
	return a.write(ctx, op, dst, rootFileSource{root: src, name: f.real})
}
