package fsstore

import (
	"context"
	"path/filepath"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
)

// How a registry operation starts: the store's gate, the request's
// checks, then the registry lock (models/.mlrun.lock) and the model.

// lockRegistry takes the registry lock, creating models/ if needed, and
// sweeps stale temporary files once per Store (under the lock, so no
// writer of this or another process has a temporary file in flight).
func (s *Store) lockRegistry(ctx context.Context) (func(), error) {
	if err := s.mkdirAll(s.registryDir()); err != nil {
		return nil, err
	}
	unlock, err := s.lockFile(ctx, filepath.Join(s.registryDir(), registryLockFile))
	if err != nil {
		return nil, err
	}
	s.registrySweep.Do(s.sweepRegistry)
	return unlock, nil
}

// sweepRegistry removes the temporary files that crashed writers left in
// models/ and in the model and version directories (best effort).
func (s *Store) sweepRegistry() {
	_, _ = atomicfile.Sweep(s.registryDir(), nil)
	models, err := listModelDirs(s.registryDir())
	if err != nil {
		return
	}
	for _, m := range models {
		md := filepath.Join(s.registryDir(), m)
		_, _ = atomicfile.Sweep(md, nil)
		vs, _ := listVersionDirs(md)
		for _, v := range vs {
			_, _ = atomicfile.Sweep(filepath.Join(md, versionDirName(v)), nil)
		}
	}
}

// registryOp starts a registry operation that reads: enter, then
// validate.
func (s *Store) registryOp(ctx context.Context) (func(), error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	return s.leave, nil
}

// registryWriteOp starts a registry operation that writes: enterWrite,
// then validate.
func (s *Store) registryWriteOp(ctx context.Context) (func(), error) {
	if err := s.enterWrite(ctx); err != nil {
		return nil, err
	}
	return s.leave, nil
}

// lockedModel takes the registry lock and loads a model.
func (s *Store) lockedModel(ctx context.Context, name string) (*modelState, func(), error) {
	unlock, err := s.lockRegistry(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return st, unlock, nil
}

// viewModel is a registry operation that reads model name: it enters the
// store, returns check (the request's checks, see package registryguard)
// if it failed, then runs fn on the model as loaded. Reads take no
// registry lock: every write is published atomically.
func (s *Store) viewModel(ctx context.Context, name string, check error, fn func(st *modelState) error) error {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return err
	}
	defer leave()
	if check != nil {
		return check
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		return err
	}
	return fn(st)
}

// updateModel is a registry operation that modifies model name: it enters
// the store, returns check if it failed, then runs fn on the model loaded
// under the registry lock.
func (s *Store) updateModel(ctx context.Context, name string, check error, fn func(st *modelState) error) error {
	leave, err := s.registryWriteOp(ctx)
	if err != nil {
		return err
	}
	defer leave()
	if check != nil {
		return check
	}
	st, unlock, err := s.lockedModel(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(st)
}

// updateVersion is updateModel for a live version of model name.
func (s *Store) updateVersion(ctx context.Context, name string, version int64, check error, fn func(st *modelState, vs *versionState) error) error {
	return s.updateModel(ctx, name, check, func(st *modelState) error {
		vs, err := st.liveVersion(name, version)
		if err != nil {
			return err
		}
		return fn(st, vs)
	})
}
