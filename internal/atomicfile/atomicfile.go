// Package atomicfile writes files so that readers only ever see a complete
// old version or a complete new version, never an empty or partial one.
//
// Every write goes to a uniquely named temporary file, which is written,
// fsynced and closed, and only then renamed (or hard-linked) onto its final
// name, after which the directory is fsynced. Temporary files carry names
// of the form
//
//	.<base>.tmp-<pid>-<random>
//
// (see [TempName] and [IsTemp]) so that they can be recognized and removed by
// [Sweep] after a crash. A caller chooses where they go: by default next to
// the target file, or in another directory of the same file system
// ([Options.TempDir]) when the target directory must not contain foreign
// files.
package atomicfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Options tune a write. The zero value writes durably, with the temporary
// file next to the target.
type Options struct {
	// TempDir is the directory for the temporary file. It must be on the
	// same file system as the target. Empty means the target's directory.
	TempDir string

	// NoSync skips the fsync calls. The write stays atomic with respect
	// to concurrent readers and to crashes of the writing process, but
	// may be lost (or, for a new file, become empty) on a power failure.
	NoSync bool

	// NoSyncDir fsyncs the file but not its directory, for callers that
	// write several files into one directory and fsync it once ([SyncDir]).
	NoSyncDir bool

	// Perm is the permission of a new file before the umask; 0 means 0666,
	// as Python's open() uses.
	Perm fs.FileMode
}

// maxTempBase is the longest prefix of the final name kept in a temporary
// name.
const maxTempBase = 64

// tempMarker separates a temporary file's base name from its suffix.
const tempMarker = ".tmp-"

// TempName returns a fresh temporary name for a file whose final base name
// is base: ".<base>.tmp-<pid>-<16 hex digits>", with base cut to at most
// maxTempBase bytes so that the name fits the file system's limit. The name
// starts with a dot and does not end in ".yaml", so MLflow's readers ignore
// it wherever they ignore unknown files.
func TempName(base string) string {
	if len(base) > maxTempBase {
		cut := maxTempBase
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("atomicfile: crypto/rand failed: " + err.Error())
	}
	return "." + base + tempMarker + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// IsTemp reports whether name (a base name) was made by [TempName], and if
// so returns the process id recorded in it.
func IsTemp(name string) (pid int, ok bool) {
	if !strings.HasPrefix(name, ".") {
		return 0, false
	}
	i := strings.LastIndex(name, tempMarker)
	if i < 1 {
		return 0, false
	}
	rest := name[i+len(tempMarker):]
	dash := strings.IndexByte(rest, '-')
	if dash < 1 || len(rest)-dash-1 != 16 {
		return 0, false
	}
	pid, err := strconv.Atoi(rest[:dash])
	if err != nil || pid <= 0 {
		return 0, false
	}
	if _, err := hex.DecodeString(rest[dash+1:]); err != nil {
		return 0, false
	}
	return pid, true
}

// WriteFile atomically replaces (or creates) path with data: readers see
// either the old content or all of data. The parent directory of path must
// exist. ctx is checked before the rename, so a canceled write is never
// published.
func WriteFile(ctx context.Context, path string, data []byte, opts *Options) error {
	o := options(opts)
	tmp, err := writeTemp(path, data, o)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("atomicfile: replace %s: %w", path, err)
	}
	if !o.NoSync && !o.NoSyncDir {
		if err := SyncDir(filepath.Dir(path)); err != nil {
			return err
		}
	}
	return nil
}

// Create atomically creates path with data, failing with an error that
// matches [fs.ErrExist] if path already exists: readers never observe path
// empty or partly written. It writes a temporary file and hard-links it onto
// path. On file systems without hard links it falls back to an exclusive
// create followed by a single write, which can expose an empty file for a
// moment.
func Create(ctx context.Context, path string, data []byte, opts *Options) error {
	o := options(opts)
	tmp, err := writeTemp(path, data, o)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := ctx.Err(); err != nil {
		return err
	}
	err = os.Link(tmp, path)
	if err != nil && !errors.Is(err, fs.ErrExist) && linkUnsupported(err) {
		return createDirect(path, data, o)
	}
	if err != nil {
		return fmt.Errorf("atomicfile: create %s: %w", path, unwrapLink(err))
	}
	if !o.NoSync && !o.NoSyncDir {
		if err := SyncDir(filepath.Dir(path)); err != nil {
			return err
		}
	}
	return nil
}

// unwrapLink turns a *LinkError into its errno so that errors.Is works as
// for other calls (it already does; this keeps the message short).
func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return &fs.PathError{Op: "link", Path: le.New, Err: le.Err}
	}
	return err
}

// linkUnsupported reports whether a link error means the file system has
// no hard links.
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EMLINK) ||
		errors.Is(err, syscall.EXDEV)
}

func createDirect(path string, data []byte, o Options) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, o.Perm)
	if err != nil {
		return fmt.Errorf("atomicfile: create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("atomicfile: close %s: %w", path, cerr)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("atomicfile: write %s: %w", path, err)
	}
	if !o.NoSync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("atomicfile: sync %s: %w", path, err)
		}
	}
	return nil
}

func options(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Perm == 0 {
		o.Perm = 0o666
	}
	return o
}

// writeTemp writes data to a new temporary file for path, fsyncs and closes
// it, and returns its name. On error nothing is left behind.
func writeTemp(path string, data []byte, o Options) (name string, err error) {
	dir := o.TempDir
	if dir == "" {
		dir = filepath.Dir(path)
	}
	base := filepath.Base(path)
	var f *os.File
	for range 100 {
		name = filepath.Join(dir, TempName(base))
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, o.Perm)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("atomicfile: create temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(name)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return "", fmt.Errorf("atomicfile: write %s: %w", name, err)
	}
	if !o.NoSync {
		if err = f.Sync(); err != nil {
			return "", fmt.Errorf("atomicfile: sync %s: %w", name, err)
		}
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("atomicfile: close %s: %w", name, err)
	}
	return name, nil
}

// SweepOptions tune [Sweep].
type SweepOptions struct {
	// MinAge is the age (by modification time) after which a temporary
	// file whose writer process is gone is removed. Zero means 30 s. The
	// age check guards against writers in another PID namespace sharing
	// the directory, whose process ids mean nothing here.
	MinAge time.Duration

	// MaxAge is the age after which any temporary file is removed, even
	// if a process with the recorded id is alive. Zero means 1 h.
	MaxAge time.Duration

	// Now overrides the clock; nil means time.Now.
	Now func() time.Time
}

// Stale reports whether the temporary file (or directory) name, with
// modification time mtime, is left over from a crash and may be removed:
// its writer process is gone and it is older than MinAge, or it is older
// than MaxAge. Entries of the calling process are never stale before
// MaxAge.
func (o *SweepOptions) Stale(name string, mtime time.Time) bool {
	pid, ok := IsTemp(name)
	if !ok {
		return false
	}
	minAge, maxAge, now := 30*time.Second, time.Hour, time.Now()
	if o != nil {
		if o.MinAge > 0 {
			minAge = o.MinAge
		}
		if o.MaxAge > 0 {
			maxAge = o.MaxAge
		}
		if o.Now != nil {
			now = o.Now()
		}
	}
	age := now.Sub(mtime)
	if age >= maxAge {
		return true
	}
	return age >= minAge && pid != os.Getpid() && !processAlive(pid)
}

// Sweep removes stale temporary files and directories (see
// [SweepOptions.Stale]) directly inside dir and returns how many it removed.
// A missing dir is not an error.
func Sweep(dir string, opts *SweepOptions) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("atomicfile: sweep %s: %w", dir, err)
	}
	n := 0
	var firstErr error
	for _, e := range entries {
		if _, ok := IsTemp(e.Name()); !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if !opts.Stale(e.Name(), info.ModTime()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			err = os.RemoveAll(p)
		} else {
			err = os.Remove(p)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			if firstErr == nil {
				firstErr = fmt.Errorf("atomicfile: sweep %s: %w", p, err)
			}
			continue
		}
		n++
	}
	return n, firstErr
}
