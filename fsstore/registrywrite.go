package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
)

// Writing the registry (the registry lock held): meta.yaml rewrites, tag
// and alias files, and directories published or removed whole.

func (s *Store) writeRMMeta(ctx context.Context, st *modelState) error {
	b, err := encodeRMMeta(st.meta, st.aliasMap())
	if err != nil {
		return err
	}
	return s.writeFile(ctx, filepath.Join(st.dir, metaFile), "", b, syncFull)
}

func (s *Store) writeMVMeta(ctx context.Context, vs *versionState) error {
	b, err := vs.meta.encode()
	if err != nil {
		return err
	}
	return s.writeFile(ctx, filepath.Join(vs.dir, metaFile), "", b, syncFull)
}

// touch bumps the model's last_updated_timestamp and rewrites its meta.
func (s *Store) touch(ctx context.Context, st *modelState, now int64) error {
	st.meta.Updated = now
	return s.writeRMMeta(ctx, st)
}

// writeTagFiles writes key files under sub (tags/ or aliases/) of dir,
// with their temporary files in dir itself.
func (s *Store) writeKVFile(ctx context.Context, dir, sub, key, value string) error {
	return s.writeFile(ctx, filepath.Join(dir, sub, filepath.FromSlash(key)), dir, []byte(value), lazy)
}

// removeFile removes a tag or alias file; a missing one is no error.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: %w", err)
	}
	return nil
}

// removeKVFile removes a tag file of model st (or of one of its versions)
// and touches the model.
func (s *Store) removeKVFile(ctx context.Context, st *modelState, path string) error {
	if err := removeFile(path); err != nil {
		return err
	}
	return s.touch(ctx, st, s.now())
}

// publishRegistryDir is publishDir for a model or version directory, so
// that MLflow's registry reader sees it complete or not at all (it fails
// on a model or version directory without meta.yaml). An existing target
// gives an error matching fs.ErrExist, before anything is built. The
// registry lock is held by the caller.
func (s *Store) publishRegistryDir(ctx context.Context, target string, build func(dir string) error) error {
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("fsstore: publish %s: %w", target, fs.ErrExist)
	}
	return s.publishDir(ctx, target, build, nil)
}

// removeModelDir moves a model directory out of models/ (atomically, into
// the staging folder) and deletes it.
func (s *Store) removeModelDir(dir string) error {
	tmp := filepath.Join(s.root, stagingDir, atomicfile.TempName(filepath.Base(dir)))
	if err := s.mkdirAll(filepath.Dir(tmp)); err != nil {
		return err
	}
	if err := os.Rename(dir, tmp); err != nil {
		if isCrossDevice(err) {
			return os.RemoveAll(dir)
		}
		return fmt.Errorf("fsstore: remove %s: %w", dir, err)
	}
	if err := s.syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}
