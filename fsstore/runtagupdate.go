package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlrun-go/mlrun/store"
)

var _ store.RunTagUpdater = (*Store)(nil)

// UpdateRunTag changes a run tag by read-modify-write under the run lock
// (see store.RunTagUpdater). Other UpdateRunTag calls of the run, in this
// process and others, wait for it; plain LogBatch tag writes do not.
func (s *Store) UpdateRunTag(ctx context.Context, runID, key string, fn func(old string, ok bool) (string, error)) error {
	if err := s.enterWrite(ctx, store.ValidateRunTagUpdate(runID, key, fn)); err != nil {
		return err
	}
	defer s.leave()
	loc, err := s.locateRun(runID)
	if err != nil {
		return err
	}
	unlock, err := s.lockRun(ctx, loc.dir)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.checkedRunMeta(ctx, loc)
	if err != nil {
		return err
	}
	if err := checkActive(m); err != nil {
		return err
	}
	var old string
	b, err := os.ReadFile(filepath.Join(loc.dir, tagsDir, filepath.FromSlash(key)))
	switch {
	case err == nil:
		old = string(b)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("fsstore: read tag %q: %w", key, err)
	}
	v, write, err := store.ApplyRunTagUpdate(key, old, err == nil, fn)
	if err != nil || !write {
		return err
	}
	return s.writeRunFile(ctx, loc, tagsDir, key, v)
}
