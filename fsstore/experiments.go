package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mlrun-go/mlrun/internal/pystr"

	"github.com/mlrun-go/mlrun/store"
)

// expDir returns the directory of an experiment, active or in .trash.
func (s *Store) expDir(id string, trashed bool) string {
	if trashed {
		return filepath.Join(s.root, trashDir, id)
	}
	return filepath.Join(s.root, id)
}

// findExperiment returns the directory of experiment id, looking in the
// root first and then in .trash, as MLflow's _get_experiment_path does.
func (s *Store) findExperiment(id string) (dir string, trashed bool, err error) {
	if err := store.ValidateExperimentID(id); err != nil {
		return "", false, err
	}
	for _, t := range []bool{false, true} {
		d := s.expDir(id, t)
		if info, err := os.Stat(d); err == nil && info.IsDir() {
			return d, t, nil
		}
	}
	return "", false, store.NotFoundf("Could not find experiment with ID %s", id)
}

// readExpMeta reads an experiment's meta.yaml. A missing file gives an
// error matching fs.ErrNotExist; an empty one errEmptyYAML.
func (s *Store) readExpMeta(ctx context.Context, dir string) (*expMeta, error) {
	path := filepath.Join(dir, metaFile)
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if v, ok := s.cache.get(path, info); ok {
		c := *v.(*expMeta)
		return &c, nil
	}
	data, err := readFileRetry(ctx, path)
	if err != nil {
		return nil, err
	}
	m, err := parseExpMeta(path, data)
	if err != nil {
		return nil, err
	}
	c := *m
	s.cache.put(path, info, &c)
	return m, nil
}

// readExpTags reads the experiment tags under <dir>/tags.
func readExpTags(dir string) (map[string]string, error) {
	tags := map[string]string{}
	err := readKeyFiles(filepath.Join(dir, tagsDir), func(key string, b []byte) { tags[key] = string(b) })
	return tags, err
}

// loadExperiment reads an experiment directory: meta.yaml and tags. It
// checks that the recorded id matches the directory name.
func (s *Store) loadExperiment(ctx context.Context, dir, id string) (*store.Experiment, error) {
	m, err := s.readExpMeta(ctx, dir)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, store.NotFoundf("Experiment '%s' does not exist: %s is missing", id, filepath.Join(dir, metaFile))
		case errors.Is(err, errEmptyYAML):
			return nil, store.Errorf(store.ErrCorrupt, "Experiment %s is invalid with empty %s in directory '%s': %w", id, metaFile, dir, errEmptyYAML)
		}
		return nil, err
	}
	if m.ID != id {
		return nil, store.NotFoundf("Experiment '%s' does not exist: %s records experiment_id '%s'", id, filepath.Join(dir, metaFile), m.ID)
	}
	tags, err := readExpTags(dir)
	if err != nil {
		return nil, err
	}
	return &store.Experiment{
		ID:               m.ID,
		Name:             m.Name,
		ArtifactLocation: m.ArtifactLocation,
		LifecycleStage:   m.LifecycleStage,
		CreationTime:     deref64(m.CreationTime),
		LastUpdateTime:   deref64(m.LastUpdateTime),
		Tags:             tags,
	}, nil
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// listExperiments loads the experiments of a view. Directories without a
// meta.yaml, or with an empty one, or whose meta.yaml names another id,
// are skipped (MLflow logs a warning and skips them too); any other
// unreadable meta.yaml fails the listing with ErrCorrupt, as it does in
// MLflow.
func (s *Store) listExperiments(ctx context.Context, view store.ViewType) ([]*store.Experiment, error) {
	var out []*store.Experiment
	for _, trashed := range []bool{false, true} {
		// As in MLflow, the view selects by location: the root holds the
		// active experiments, .trash the deleted ones.
		if trashed && view != store.DeletedOnly && view != store.AllViews || !trashed && view == store.DeletedOnly {
			continue
		}
		parent := s.root
		if trashed {
			parent = filepath.Join(s.root, trashDir)
		}
		ids, err := listExperimentDirs(parent, !trashed)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			e, err := s.loadExperiment(ctx, filepath.Join(parent, id), id)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, errEmptyYAML) {
					continue
				}
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// CreateExperiment creates an experiment with an 18-digit random id, as
// MLflow's file store does. The name check and the creation happen under
// the store's root lock file, so racing creators (goroutines or
// processes) create one experiment and the others get ErrAlreadyExists.
// An explicit artifact location is checked and resolved by
// store.ExperimentArtifactLocation.
func (s *Store) CreateExperiment(ctx context.Context, name, artifactLocation string, tags []store.Tag) (string, error) {
	artifactLocation, check := store.ValidateCreateExperiment(name, artifactLocation, tags)
	if err := s.enterWrite(ctx, check); err != nil {
		return "", err
	}
	defer s.leave()
	for {
		id := s.newExpID()
		if _, _, err := s.findExperiment(id); err == nil {
			continue // taken (astronomically unlikely)
		}
		loc := artifactLocation
		if loc == "" {
			loc = appendToURIPath(s.artifactRoot, id)
		}
		now := s.now()
		m := &expMeta{
			ID:               id,
			Name:             name,
			ArtifactLocation: loc,
			LifecycleStage:   store.LifecycleActive,
			CreationTime:     &now,
			LastUpdateTime:   &now,
		}
		// The directory is assembled without the lock; the name check
		// and the rename happen under it.
		guard := func() (func(), error) {
			unlock, err := s.lockRoot(ctx)
			if err != nil {
				return nil, err
			}
			if err := s.checkNameFree(ctx, name); err != nil {
				unlock()
				return nil, err
			}
			return unlock, nil
		}
		err := s.publishExperiment(ctx, m, tags, guard)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return id, nil
	}
}

// publishExperiment writes a new experiment directory: meta.yaml (without
// a tags key, as MLflow writes it at creation) and tags/. The directory is
// assembled in the staging folder and renamed into the root (see
// publishDir for guard).
func (s *Store) publishExperiment(ctx context.Context, m *expMeta, tags []store.Tag, guard func() (func(), error)) error {
	data, err := m.encode(nil)
	if err != nil {
		return err
	}
	return s.publishDir(ctx, s.expDir(m.ID, false), func(dir string) error {
		for _, t := range tags {
			if err := s.writeFile(ctx, filepath.Join(dir, tagsDir, filepath.FromSlash(t.Key)), dir, []byte(t.Value), lazy); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", data, syncFile)
	}, guard)
}

// checkNameFree fails with ErrAlreadyExists if an active or deleted
// experiment has the name. The caller holds the root lock.
func (s *Store) checkNameFree(ctx context.Context, name string) error {
	exps, err := s.listExperiments(ctx, store.AllViews)
	if err != nil {
		return err
	}
	for _, e := range exps {
		if e.Name != name {
			continue
		}
		if e.LifecycleStage == store.LifecycleDeleted {
			return store.AlreadyExistsf("Experiment %s already exists in deleted state. You can restore the experiment, or permanently delete the experiment from the .trash folder (under tracking server's root folder) in order to use this experiment name again.", pystr.Repr(e.Name))
		}
		return store.AlreadyExistsf("Experiment '%s' already exists.", e.Name)
	}
	return nil
}

// GetExperiment returns an active or deleted experiment.
func (s *Store) GetExperiment(ctx context.Context, id string) (*store.Experiment, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	dir, _, err := s.findExperiment(id)
	if err != nil {
		return nil, err
	}
	return s.loadExperiment(ctx, dir, id)
}

// GetExperimentByName returns the active or deleted experiment with the
// name.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*store.Experiment, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	exps, err := s.listExperiments(ctx, store.AllViews)
	if err != nil {
		return nil, err
	}
	sortExperiments(exps)
	for _, e := range exps {
		if e.Name == name {
			return e, nil
		}
	}
	return nil, store.NotFoundf("Experiment '%s' does not exist.", name)
}

// RenameExperiment renames an active experiment. The name check and the
// rewrite happen under the root lock.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := s.enterWrite(ctx, store.ValidateExperimentName(newName)); err != nil {
		return err
	}
	defer s.leave()
	unlock, err := s.lockRoot(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	dir, trashed, err := s.findExperiment(id)
	if err != nil {
		return err
	}
	m, tags, err := s.experimentForRewrite(ctx, dir, id)
	if err != nil {
		return err
	}
	if trashed || m.LifecycleStage != store.LifecycleActive {
		return store.InvalidStatef("Cannot rename experiment in non-active lifecycle stage. Current stage: %s", m.LifecycleStage)
	}
	if m.Name == newName {
		return nil
	}
	if err := s.checkNameFree(ctx, newName); err != nil {
		return err
	}
	now := s.now()
	m.Name, m.LastUpdateTime = newName, &now
	return s.writeExpMeta(ctx, dir, m, tags)
}

// experimentForRewrite reads an experiment's meta.yaml and tags for a
// rewrite.
func (s *Store) experimentForRewrite(ctx context.Context, dir, id string) (*expMeta, map[string]string, error) {
	e, err := s.loadExperiment(ctx, dir, id)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.readExpMeta(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	return m, e.Tags, nil
}

// writeExpMeta atomically rewrites an experiment's meta.yaml, with the
// tags mapping as MLflow's rewrites carry it.
func (s *Store) writeExpMeta(ctx context.Context, dir string, m *expMeta, tags map[string]string) error {
	data, err := m.encode(tags)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, metaFile)
	s.cache.drop(path)
	return s.writeFile(ctx, path, "", data, syncFull)
}

// DeleteExperiment marks the experiment and its active runs deleted and
// moves its directory to .trash, as MLflow does. The Default experiment
// cannot be deleted (ErrInvalidParameter); deleting an already deleted
// experiment is ErrInvalidState.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	if err := s.enterWrite(ctx, store.ValidateDeleteExperiment(id)); err != nil {
		return err
	}
	defer s.leave()
	unlock, err := s.lockRoot(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	dir, trashed, err := s.findExperiment(id)
	if err != nil {
		return err
	}
	if trashed {
		return store.InvalidStatef("Experiment %s is already deleted.", id)
	}
	m, tags, err := s.experimentForRewrite(ctx, dir, id)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.setRunsLifecycle(ctx, dir, store.LifecycleActive, store.LifecycleDeleted, &now); err != nil {
		return err
	}
	m.LifecycleStage, m.LastUpdateTime = store.LifecycleDeleted, &now
	if err := s.writeExpMeta(ctx, dir, m, tags); err != nil {
		return err
	}
	target := s.expDir(id, true)
	if err := os.Rename(dir, target); err != nil {
		if isNotEmpty(err) {
			return store.AlreadyExistsf("Cannot delete experiment %s: %s already exists", id, target)
		}
		return fmt.Errorf("fsstore: move experiment %s to %s: %w", id, trashDir, err)
	}
	if err := s.syncDir(s.root); err != nil {
		return err
	}
	return s.syncDir(filepath.Dir(target))
}

// RestoreExperiment moves a deleted experiment back from .trash and
// restores it and its deleted runs, as MLflow does. Restoring an active
// experiment is ErrInvalidState.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	unlock, err := s.lockRoot(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	dir, trashed, err := s.findExperiment(id)
	if err != nil {
		return err
	}
	if !trashed {
		return store.InvalidStatef("Cannot restore an active experiment (%s).", id)
	}
	m, tags, err := s.experimentForRewrite(ctx, dir, id)
	if err != nil {
		return err
	}
	target := s.expDir(id, false)
	if err := os.Rename(dir, target); err != nil {
		if isNotEmpty(err) {
			return store.AlreadyExistsf("Cannot restore experiment with ID %s. An experiment with same ID already exists.", id)
		}
		return fmt.Errorf("fsstore: restore experiment %s: %w", id, err)
	}
	if err := s.syncDir(s.root); err != nil {
		return err
	}
	if err := s.setRunsLifecycle(ctx, target, store.LifecycleDeleted, store.LifecycleActive, nil); err != nil {
		return err
	}
	now := s.now()
	m.LifecycleStage, m.LastUpdateTime = store.LifecycleActive, &now
	return s.writeExpMeta(ctx, target, m, tags)
}

// setRunsLifecycle moves every run of an experiment in lifecycle stage
// from to stage to, each under its run lock.
func (s *Store) setRunsLifecycle(ctx context.Context, expDir, from, to string, deletedTime *int64) error {
	runs, err := listRunDirs(expDir)
	if err != nil {
		return err
	}
	for _, r := range runs {
		runDir := filepath.Join(expDir, r)
		if _, err := os.Stat(filepath.Join(runDir, metaFile)); err != nil {
			continue // not a run
		}
		err := s.updateRunMeta(ctx, runDir, func(m *runMeta) (bool, error) {
			if m.LifecycleStage != from {
				return false, nil
			}
			m.LifecycleStage, m.DeletedTime = to, clonePtr(deletedTime)
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SetExperimentTag sets an experiment tag (tags/<key>, raw value). The
// experiment must be active (ErrInvalidParameter otherwise, as in MLflow).
func (s *Store) SetExperimentTag(ctx context.Context, id string, tag store.Tag) error {
	if err := s.enterWrite(ctx, store.ValidateExperimentTag(tag)); err != nil {
		return err
	}
	defer s.leave()
	dir, trashed, err := s.findExperiment(id)
	if err != nil {
		return err
	}
	e, err := s.loadExperiment(ctx, dir, id)
	if err != nil {
		return err
	}
	if trashed || e.LifecycleStage != store.LifecycleActive {
		return store.Invalidf("The experiment %s must be in the 'active' lifecycle_stage to set tags", id)
	}
	return s.writeFile(ctx, filepath.Join(dir, tagsDir, filepath.FromSlash(tag.Key)), dir, []byte(tag.Value), lazy)
}
