package mlrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/store"
)

// artifactIO is the one writer (and reader) of artifact files for every
// backend: an artifact root that is a local path is an artifactFS (os.Root
// confinement, atomicfile temporary names, fsync of file and directory);
// any other (mlflow-artifacts:/ of a REST server with --serve-artifacts)
// is the server's artifact repository (artifactrepo), through the
// store's transport.
type artifactIO interface {
	// write stores src as the file rel, replacing it whole.
	write(ctx context.Context, op, rel string, src artifactrepo.Source) error
	// readFile reads the file rel; a missing file is fs.ErrNotExist.
	readFile(ctx context.Context, rel string) ([]byte, error)
	// list lists the entries directly under rel, sorted by path.
	list(ctx context.Context, op, rel string) ([]ArtifactInfo, error)
	// lock serializes mlrun's read-modify-writes of the root's files.
	lock(ctx context.Context) (func(), error)
	// local returns the local directory, or nil for a remote root.
	local() *artifactFS
	Close() error
}

// artifactRepoOpener is a store that serves artifacts itself (the REST
// store: reststore.Store.ArtifactRepo).
type artifactRepoOpener interface {
	ArtifactRepo(artifactURI string) (artifactrepo.Repo, error)
}

// remoteLocks serializes read-modify-writes of remote artifact files per
// artifact root within this process (a server has no lock to take).
var remoteLocks sync.Map // artifact root URI -> *sync.Mutex

// openArtifacts opens the artifact root at uri: a local path or file: URI
// directly (with create, made if missing; without, a missing root is
// fs.ErrNotExist), anything else through the store's artifact repository.
func (c *Client) openArtifacts(uri string, create bool) (artifactIO, error) {
	if fileuri.IsFileURI(uri) || isAbsPath(uri) {
		dir, err := artifactDir(uri)
		if err != nil {
			return nil, err
		}
		return openLocalArtifacts(dir, create)
	}
	o, ok := c.store.(artifactRepoOpener)
	if !ok {
		return nil, store.Invalidf("artifact URI %q is not a local path, and the store serves no artifacts; mlrun writes artifacts to local directories and to an MLflow server's artifact proxy", uri)
	}
	repo, err := o.ArtifactRepo(uri)
	if err != nil {
		return nil, err
	}
	if l, ok := repo.(*artifactrepo.Local); ok {
		return openLocalArtifacts(l.Root(), create)
	}
	return &remoteArtifacts{repo: repo}, nil
}

// openLocalArtifacts is openArtifactFS as an artifactIO (nil, not a nil
// *artifactFS, on error).
func openLocalArtifacts(dir string, create bool) (artifactIO, error) {
	a, err := openArtifactFS(dir, create)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// remoteArtifacts is an artifact root served by an MLflow server.
type remoteArtifacts struct {
	repo artifactrepo.Repo
}

func (a *remoteArtifacts) write(ctx context.Context, op, rel string, src artifactrepo.Source) error {
	if err := a.repo.Put(ctx, rel, src); err != nil {
		return fmt.Errorf("%s %s: %w", op, rel, err)
	}
	return nil
}

func (a *remoteArtifacts) readFile(ctx context.Context, rel string) ([]byte, error) {
	rc, err := a.repo.Get(ctx, rel)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (a *remoteArtifacts) list(ctx context.Context, op, rel string) ([]ArtifactInfo, error) {
	fis, err := a.repo.List(ctx, rel)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, rel, err)
	}
	var out []ArtifactInfo
	for _, f := range fis {
		out = append(out, ArtifactInfo{Path: f.Path, IsDir: f.IsDir, Size: f.Size})
	}
	return out, nil
}

func (a *remoteArtifacts) lock(ctx context.Context) (func(), error) {
	m, _ := remoteLocks.LoadOrStore(a.repo.URI(), &sync.Mutex{})
	mu := m.(*sync.Mutex)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mu.Lock()
	return mu.Unlock, nil
}

func (a *remoteArtifacts) local() *artifactFS { return nil }
func (a *remoteArtifacts) Close() error       { return nil }

// The local artifactFS is an artifactIO.
var _ artifactIO = (*artifactFS)(nil)

func (a *artifactFS) local() *artifactFS { return a }

// exists reports whether the file or directory rel exists in a.
func exists(ctx context.Context, a artifactIO, op, rel string) (bool, error) {
	if l := a.local(); l != nil {
		_, err := l.stat(op, rel)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}
	entries, err := a.list(ctx, op, path.Dir(rel))
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Path == rel {
			return true, nil
		}
	}
	return false, nil
}

// bytesSource is in-memory artifact content.
func bytesSource(b []byte) artifactrepo.Source { return artifactrepo.Bytes(b) }

// openFileSource is the content of an open local file: every Open reads
// it again from the start (a retried upload sends it whole).
type openFileSource struct {
	f    *os.File
	size int64
}

func (s openFileSource) Open() (io.ReadCloser, error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.NopCloser(s.f), nil
}

func (s openFileSource) Size() int64 { return s.size }

// rootFileSource is a file read through an os.Root (a copied directory).
type rootFileSource struct {
	root *os.Root
	name string
}

func (s rootFileSource) Open() (io.ReadCloser, error) { return s.root.Open(s.name) }

func (s rootFileSource) Size() int64 {
	fi, err := s.root.Stat(s.name)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// readerSource is content that can be read once (a download being saved).
type readerSource struct{ r io.Reader }

func (s readerSource) Open() (io.ReadCloser, error) { return io.NopCloser(s.r), nil }
func (s readerSource) Size() int64                  { return -1 }

// DownloadArtifacts copies a run's artifact (a file, or a directory with
// everything under it; "" for the whole root) into the local directory
// dstDir, created if missing (a new temporary directory if dstDir is ""),
// as MlflowClient.download_artifacts does, and returns the local path of
// the copy. It works for every backend: a local artifact root is read
// confined to it, a server's through its artifact proxy. Files are
// written atomically (a reader of dstDir never sees half a file).
func (c *Client) DownloadArtifacts(ctx context.Context, runID, artifactPath, dstDir string) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	if err := store.ValidateArtifactPath(artifactPath); err != nil {
		return "", err
	}
	if err := checkNameLengths(artifactPath); err != nil {
		return "", err
	}
	run, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	src, err := c.openArtifacts(run.Info.ArtifactURI, false)
	if errors.Is(err, fs.ErrNotExist) {
		return "", store.NotFoundf("run %s has no artifact %q", runID, artifactPath)
	}
	if err != nil {
		return "", err
	}
	defer src.Close()
	if dstDir == "" {
		if dstDir, err = os.MkdirTemp("", "mlrun-download-"); err != nil {
			return "", fmt.Errorf("download artifacts: %w", err)
		}
	}
	dst, err := openArtifactFS(dstDir, true)
	if err != nil {
		return "", err
	}
	defer dst.Close()
	base := path.Base(artifactPath)
	if artifactPath == "" {
		base = ""
	}
	if err := downloadTree(ctx, src, dst, artifactPath, base, artifactPath == ""); err != nil {
		return "", fmt.Errorf("run %s: %w", runID, err)
	}
	return dst.path(base), nil
}

// downloadTree copies rel of src to to in dst: a directory (known, or a
// non-empty listing) recursively, else the file.
func downloadTree(ctx context.Context, src artifactIO, dst *artifactFS, rel, to string, isDir bool) error {
	entries, err := src.list(ctx, "download artifacts", rel)
	if err != nil {
		return err
	}
	if !isDir && len(entries) == 0 {
		b, err := src.readFile(ctx, rel)
		if errors.Is(err, fs.ErrNotExist) {
			return store.NotFoundf("no artifact %q", rel)
		}
		if err != nil {
			return err
		}
		return dst.write(ctx, "download artifacts", to, readerSource{bytes.NewReader(b)})
	}
	if to != "" {
		if err := dst.root.MkdirAll(sysPath(to), 0o777); err != nil {
			return dst.pathErr("download artifacts", to, err)
		}
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := downloadTree(ctx, src, dst, e.Path, path.Join(to, path.Base(e.Path)), e.IsDir); err != nil {
			return err
		}
	}
	return nil
}
