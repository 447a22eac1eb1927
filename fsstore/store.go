package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/filelock"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/internal/storegate"
	"github.com/mlrun-go/mlrun/store"
)

// Names of MLflow's files and folders.
const (
	metaFile     = "meta.yaml"
	trashDir     = ".trash"
	trashSuffix  = ".trash" // root dirs with this suffix are not experiments to MLflow
	modelsDir    = "models" // the model registry, at the root
	metricsDir   = "metrics"
	paramsDir    = "params"
	tagsDir      = "tags"
	artifactsDir = "artifacts"
	inputsDir    = "inputs"
	datasetsDir  = "datasets"
	tracesDir    = "traces"
)

// Names of mlrun's own files and folders. Each lives where every MLflow
// reader ignores it (see the package documentation).
const (
	// rootLockFile is a FILE in the root: MLflow lists only directories
	// there. It serializes experiment creation, renames, deletes,
	// restores and the publication of new runs, across processes.
	rootLockFile = ".mlrun.lock"
	// runLockFile is a FILE in a run directory, next to meta.yaml: MLflow
	// reads only meta.yaml and the metrics/params/tags/inputs/outputs
	// folders there. It serializes read-modify-write of the run's
	// meta.yaml and the check-then-write of params.
	runLockFile = ".mlrun.lock"
	// stagingDir is where new experiment, run, dataset and input
	// directories are assembled before being renamed into place. MLflow
	// skips every root directory whose name ends in ".trash"
	// (FileStore._get_active_experiments), migrate-filestore only reads
	// root directories with all-digit names, and the model registry only
	// reads models/.
	stagingDir = ".mlrun-staging" + trashSuffix
)

// reservedExperimentDirs are the folders of an experiment directory that
// are not runs (MLflow 3's RESERVED_EXPERIMENT_FOLDERS).
var reservedExperimentDirs = map[string]bool{tagsDir: true, datasetsDir: true, tracesDir: true, modelsDir: true}

// Options configure a Store. A nil *Options means the defaults.
type Options struct {
	// LockTimeout bounds every wait for a file lock. Zero means 30 s. A
	// wait that times out fails with store.ErrLocked.
	LockTimeout time.Duration

	// NoSync skips every fsync. Writes stay atomic for concurrent readers
	// and survive crashes of the writing process, but after a power
	// failure recent changes may be lost and new meta.yaml or metric
	// files may be empty, which MLflow rejects. By default fsstore fsyncs
	// what MLflow needs to read the store after a power failure (meta.yaml
	// files, new metric files, new directories), but not metric appends,
	// params and tags; see the package documentation.
	NoSync bool

	// NoSweep skips the removal of temporary files left by crashed
	// writers, which Open otherwise does (it reads every experiment and
	// run directory once).
	NoSweep bool

	// ReadOnly opens an existing store for reading only, as on read-only
	// media or a store another user owns: Open takes no lock and creates
	// nothing (no lock file, no Default experiment, no .trash or staging
	// folder, no sweep of temporary files), reads work as usual, and every
	// write method fails with an error wrapping store.ErrReadOnly (a kind
	// of store.ErrInvalidState) before touching anything. A missing root
	// is store.ErrNotFound ("no MLflow store at <root>"). Reads take no
	// locks in any mode, so a read-only store sees other processes' writes
	// as a read-write one does.
	ReadOnly bool

	hooks *hooks // deterministic clock and ids, for tests
}

// hooks replace the clock and id generators in tests.
type hooks struct {
	now      func() int64
	newExpID func() string
	newRunID func() string
}

// Store is an MLflow file store (an mlruns directory). It is safe for
// concurrent use by multiple goroutines and by multiple processes sharing
// the directory on a local file system.
type Store struct {
	root         string // absolute path of the mlruns directory
	artifactRoot string // file:// URI of root, the default artifact root
	lockTimeout  time.Duration
	noSync       bool
	readOnly     bool          // Options.ReadOnly: every write fails
	now          func() int64  // ms since the epoch
	newExpID     func() string // new experiment ids
	newRunID     func() string // new run ids

	// gate admits operations (each holds it for its whole duration, so
	// Close waits for operations in flight) and checks their requests.
	gate *storegate.Gate

	// runExp caches the experiment id of runs seen, to find a run's
	// directory without listing every experiment. A run never changes
	// experiment; only its experiment directory moves in and out of
	// .trash, which lookups check.
	runExp struct {
		sync.Mutex                      // guards m
		m          map[string]*runPlace // run id -> its experiment's places
	}

	cache metaCache // parsed meta.yaml files
	files fdCache   // metric files open for appending

	// registrySweep guards the one sweep of the registry's stale
	// temporary files, run by the first lockRegistry of this Store.
	registrySweep sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens the MLflow file store at root, creating it as MLflow's
// FileStore does: a missing (or empty) root gets the Default experiment
// "0" and a .trash folder; an existing root only gets .trash if it lacks
// one. Open also removes temporary files left behind by crashed writers
// (see Options.NoSweep). With Options.ReadOnly it changes nothing and
// root must exist.
func Open(ctx context.Context, root string, opts *Options) (*Store, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = filelock.DefaultTimeout
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", root, err)
	}
	uri, err := fileuri.FromPath(abs)
	if err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", root, err)
	}
	s := &Store{root: abs, artifactRoot: uri, lockTimeout: o.LockTimeout, noSync: o.NoSync, readOnly: o.ReadOnly,
		gate: storegate.New("fsstore", abs, o.ReadOnly), now: store.NowMillis, newExpID: newExperimentID, newRunID: store.NewRunID}
	if h := o.hooks; h != nil {
		s.now, s.newExpID, s.newRunID = h.now, h.newExpID, h.newRunID
	}
	s.runExp.m = map[string]*runPlace{}
	s.cache.m = map[string]cacheEntry{}
	s.files.init(openMetricFiles())

	info, err := os.Stat(abs)
	if err == nil && !info.IsDir() {
		return nil, fmt.Errorf("fsstore: open %s: not a directory", abs)
	}
	if o.ReadOnly {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fsstore: open %s read-only: %w", abs, store.NoStoreAt(abs))
		}
		if err != nil {
			return nil, fmt.Errorf("fsstore: open %s: %w", abs, err)
		}
		return s, nil
	}
	if err := os.MkdirAll(abs, 0o777); err != nil {
		return nil, fmt.Errorf("fsstore: open %s: %w", abs, err)
	}
	if err := s.initRoot(ctx); err != nil {
		return nil, err
	}
	if !o.NoSweep {
		if err := s.sweep(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// initRoot creates the Default experiment in a new root, and .trash and
// the staging folder where missing.
func (s *Store) initRoot(ctx context.Context) error {
	unlock, err := s.lockRoot(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("fsstore: open %s: %w", s.root, err)
	}
	isNew := true
	for _, e := range entries {
		if e.Name() != rootLockFile && e.Name() != stagingDir {
			isNew = false
			break
		}
	}
	if err := s.mkdirAll(filepath.Join(s.root, stagingDir)); err != nil {
		return err
	}
	if isNew {
		now := s.now()
		m := &expMeta{
			ID:               store.DefaultExperimentID,
			Name:             store.DefaultExperimentName,
			ArtifactLocation: appendToURIPath(s.artifactRoot, store.DefaultExperimentID),
			LifecycleStage:   store.LifecycleActive,
			CreationTime:     &now,
			LastUpdateTime:   &now,
		}
		if err := s.publishExperiment(ctx, m, nil, nil); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(s.root, trashDir), 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("fsstore: create %s: %w", trashDir, err)
	}
	return nil
}

// sweep removes stale temporary files: in the staging folder, and next to
// the meta.yaml files of every experiment and run directory.
func (s *Store) sweep() error {
	var sweepErr error
	note := func(_ int, err error) {
		if err != nil && sweepErr == nil {
			sweepErr = err
		}
	}
	note(atomicfile.Sweep(filepath.Join(s.root, stagingDir), nil))
	note(atomicfile.Sweep(s.root, nil))
	for _, parent := range []string{s.root, filepath.Join(s.root, trashDir)} {
		exps, err := listExperimentDirs(parent, parent == s.root)
		if err != nil {
			return err
		}
		for _, id := range exps {
			expDir := filepath.Join(parent, id)
			note(atomicfile.Sweep(expDir, nil))
			runs, err := listRunDirs(expDir)
			if err != nil {
				continue
			}
			for _, r := range runs {
				note(atomicfile.Sweep(filepath.Join(expDir, r), nil))
			}
		}
	}
	if sweepErr != nil {
		return fmt.Errorf("fsstore: open %s: %w", s.root, sweepErr)
	}
	return nil
}

// Root returns the absolute path of the store's mlruns directory.
func (s *Store) Root() string { return s.root }

// Close marks the store closed; later calls return store.ErrClosed. It
// waits for operations in flight, then closes the metric files kept open
// for appending. File locks are only held during operations. A second
// Close does nothing.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		s.files.dropAll()
		return nil
	})
}

// enter starts an operation that reads, through the store's gate
// (storegate.Gate.Enter): it fails on a nil or done ctx, after Close, or
// with the first error of the request's checks. The caller must call leave
// when done.
func (s *Store) enter(ctx context.Context, checks ...error) error {
	return s.gate.Enter(ctx, checks...)
}

// enterWrite is enter for an operation that writes: on a store opened with
// Options.ReadOnly it fails with store.ErrReadOnly, before the request's
// checks.
func (s *Store) enterWrite(ctx context.Context, checks ...error) error {
	return s.gate.EnterWrite(ctx, checks...)
}

func (s *Store) leave() { s.gate.Leave() }

// errReadOnly is the error of a write on a read-only store. The helpers
// that lock or write (lockFile, writeFile, mkdirAll, publishDir) return it
// too, a second line of defence behind enterWrite.
func (s *Store) errReadOnly() error { return s.gate.ErrReadOnly() }

// lockFile takes the lock file at path, or fails on a read-only store,
// which creates no lock file. A wait that times out is store.ErrLocked.
func (s *Store) lockFile(ctx context.Context, path string) (func(), error) {
	if s.readOnly {
		return nil, s.errReadOnly()
	}
	unlock, err := filelock.Mutex{Path: path, Timeout: s.lockTimeout}.Lock(ctx)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, store.Errorf(store.ErrLocked, "%w", err)
	}
	return unlock, err
}

// lockRoot takes the store-wide lock file.
func (s *Store) lockRoot(ctx context.Context) (func(), error) {
	return s.lockFile(ctx, filepath.Join(s.root, rootLockFile))
}

// lockRun takes a run's lock file.
func (s *Store) lockRun(ctx context.Context, runDir string) (func(), error) {
	unlock, err := s.lockFile(ctx, filepath.Join(runDir, runLockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.NotFoundf("Run '%s' not found", filepath.Base(runDir))
	}
	return unlock, err
}

// durability says which fsyncs a write gets (none at all with NoSync).
type durability int

const (
	// lazy writes are atomic but not fsynced: params and tags. After a
	// power failure the latest of them may be lost (or read as empty),
	// which MLflow's readers tolerate.
	lazy durability = iota
	// syncFile fsyncs the file but not its directory: files in a folder
	// being assembled, which publishDir fsyncs once.
	syncFile
	// syncFull fsyncs the file and its directory: meta.yaml rewrites and
	// new metric files, which MLflow's readers reject when empty.
	syncFull
)

func (s *Store) atomicOpts(tempDir string, d durability) *atomicfile.Options {
	return &atomicfile.Options{TempDir: tempDir, NoSync: s.noSync || d == lazy, NoSyncDir: d == syncFile}
}

// syncDir fsyncs a directory unless NoSync.
func (s *Store) syncDir(dir string) error {
	if s.noSync {
		return nil
	}
	return atomicfile.SyncDir(dir)
}

func (s *Store) mkdirAll(dir string) error {
	if s.readOnly {
		return s.errReadOnly()
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("fsstore: %w", err)
	}
	return nil
}

// writeFile atomically replaces path, with the temporary file in tempDir
// ("" for path's own directory), creating path's parent folders.
func (s *Store) writeFile(ctx context.Context, path, tempDir string, data []byte, d durability) error {
	if s.readOnly {
		return s.errReadOnly()
	}
	if err := atomicfile.WriteFile(ctx, path, data, s.atomicOpts(tempDir, d)); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := s.mkdirAll(filepath.Dir(path)); err != nil {
			return err
		}
		return atomicfile.WriteFile(ctx, path, data, s.atomicOpts(tempDir, d))
	}
	return nil
}

// publishDir assembles a directory with build and renames it to target,
// so that readers see target complete or not at all. The directory is
// built in the staging folder, which is on the root's file system; if
// target is on another one (EXDEV), it is built in place instead, with
// build expected to write its meta.yaml last. An existing target gives an
// error matching fs.ErrExist.
//
// guard, if not nil, runs after the build and before the rename (taking a
// lock and checking that the rename may happen); the function it returns
// runs right after the rename, so that the lock covers the rename only,
// not the build and its fsyncs.
func (s *Store) publishDir(ctx context.Context, target string, build func(dir string) error, guard func() (release func(), err error)) error {
	if s.readOnly {
		return s.errReadOnly()
	}
	staging := filepath.Join(s.root, stagingDir)
	tmp := filepath.Join(staging, atomicfile.TempName(filepath.Base(target)))
	if err := os.Mkdir(tmp, 0o777); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("fsstore: %w", err)
		}
		if err := s.mkdirAll(staging); err != nil {
			return err
		}
		if err := os.Mkdir(tmp, 0o777); err != nil {
			return fmt.Errorf("fsstore: %w", err)
		}
	}
	defer os.RemoveAll(tmp) // a no-op after a successful rename
	if err := build(tmp); err != nil {
		return err
	}
	if err := s.syncDir(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	release := func() {}
	if guard != nil {
		r, err := guard()
		if err != nil {
			return err
		}
		release = r
	}
	err := os.Rename(tmp, target)
	if isCrossDevice(err) {
		err = s.buildInPlace(target, build)
	}
	release()
	switch {
	case err == nil:
		return s.syncDir(filepath.Dir(target))
	case errors.Is(err, fs.ErrExist) || isNotEmpty(err):
		return fmt.Errorf("fsstore: publish %s: %w", target, fs.ErrExist)
	default:
		return fmt.Errorf("fsstore: publish %s: %w", target, err)
	}
}

// buildInPlace is publishDir's fallback when the staging folder is on
// another file system than target.
func (s *Store) buildInPlace(target string, build func(dir string) error) error {
	if err := os.Mkdir(target, 0o777); err != nil {
		return err
	}
	if err := build(target); err != nil {
		return err
	}
	return s.syncDir(target)
}

// joinClean is filepath.Join(dir, rel) for a clean dir and a clean
// relative rel (no "." or ".." elements), without Join's Clean: the paths
// of hot calls are made of validated ids and keys.
func joinClean(dir, rel string) string {
	if dir == "" || os.IsPathSeparator(dir[len(dir)-1]) {
		return dir + rel
	}
	return dir + string(filepath.Separator) + rel
}

// listExperimentDirs returns the names of the experiment directories in
// parent (the root or .trash), as MLflow lists them: directories only,
// without .trash-suffixed ones and models/ in the root. Names that are not
// valid experiment ids (which make MLflow's listing fail) are skipped.
func listExperimentDirs(parent string, isRoot bool) ([]string, error) {
	ids, err := listDirs(parent, func(name string) bool {
		if isRoot && (strings.HasSuffix(name, trashSuffix) || name == modelsDir) {
			return false
		}
		return store.ValidateExperimentID(name) == nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return ids, err
}

// listRunDirs returns the names of the candidate run directories in an
// experiment directory: every directory but the reserved ones.
func listRunDirs(expDir string) ([]string, error) {
	return listDirs(expDir, func(name string) bool {
		return !reservedExperimentDirs[name] && store.ValidateRunID(name) == nil
	})
}

// listDirs returns the names of the directories in parent (symlinks to
// directories included, as Python's os.path.isdir) for which keep (if not
// nil) is true, in directory order. Its error wraps fs.ErrNotExist when
// parent is missing.
func listDirs(parent string, keep func(name string) bool) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if (keep == nil || keep(name)) && isDirEntry(parent, e) {
			out = append(out, name)
		}
	}
	return out, nil
}

// isDirEntry reports whether e is a directory, following symlinks as
// Python's os.path.isdir does.
func isDirEntry(parent string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	info, err := os.Stat(filepath.Join(parent, e.Name()))
	return err == nil && info.IsDir()
}

// appendToURIPath appends path elements to a URI's path, keeping a query
// string at the end, as MLflow's append_to_uri_path does.
func appendToURIPath(uri string, elems ...string) string {
	suffix := ""
	if i := strings.IndexAny(uri, "?#"); i >= 0 && strings.Contains(uri, ":") {
		uri, suffix = uri[:i], uri[i:]
	}
	for _, e := range elems {
		e = strings.TrimLeft(e, "/")
		if uri == "" {
			uri = e
		} else {
			uri = strings.TrimRight(uri, "/") + "/" + e
		}
	}
	return uri + suffix
}

// readFileRetry reads a file, retrying twice (after 0.1 s and 0.2 s) if it
// is empty, as MLflow's FileStore._read_yaml does to ride out a concurrent
// non-atomic writer (MLflow itself truncates meta.yaml before writing it).
func readFileRetry(ctx context.Context, path string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		b, err := os.ReadFile(path)
		if err != nil || len(b) > 0 || attempt == 2 {
			return b, err
		}
		t := time.NewTimer(time.Duration(attempt+1) * 100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
