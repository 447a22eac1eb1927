package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// runLoc is where a run lives.
type runLoc struct {
	id     string
	dir    string // <root>[/.trash]/<exp>/<run>
	expID  string // the experiment directory's name
	expDir string
}

// runPlace holds a run's directory and meta.yaml paths in its
// experiment's active ([0]) and trashed ([1]) locations, built once per
// run: a run never changes experiment.
type runPlace struct {
	locs  [2]runLoc
	metas [2]string
}

func (s *Store) placeRun(expID, runID string) *runPlace {
	p := &runPlace{}
	for i, trashed := range []bool{false, true} {
		expDir := s.expDir(expID, trashed)
		dir := filepath.Join(expDir, runID)
		p.locs[i] = runLoc{id: runID, dir: dir, expID: expID, expDir: expDir}
		p.metas[i] = filepath.Join(dir, metaFile)
	}
	return p
}

// locateRun finds a run's directory: a directory named by the run id, with
// a meta.yaml file, in an active or deleted experiment. The experiment of
// runs seen before is remembered, so the common case costs one stat.
func (s *Store) locateRun(runID string) (runLoc, error) {
	loc, _, _, err := s.findRun(runID)
	return loc, err
}

// findRun is locateRun, also returning the path of the run's meta.yaml
// and the stat that found it.
func (s *Store) findRun(runID string) (runLoc, string, fileStamp, error) {
	if err := store.ValidateRunID(runID); err != nil {
		return runLoc{}, "", fileStamp{}, err
	}
	s.runExp.Lock()
	p := s.runExp.m[runID]
	s.runExp.Unlock()
	if p != nil {
		for i := range p.locs {
			if info, ok := statRunMeta(p.metas[i]); ok {
				return p.locs[i], p.metas[i], info, nil
			}
		}
	}
	for i, trashed := range []bool{false, true} {
		parent := s.root
		if trashed {
			parent = filepath.Join(s.root, trashDir)
		}
		ids, err := listExperimentDirs(parent, !trashed)
		if err != nil {
			return runLoc{}, "", fileStamp{}, err
		}
		for _, id := range ids {
			if info, ok := statRunMeta(filepath.Join(parent, id, runID, metaFile)); ok {
				p := s.placeRun(id, runID)
				s.runExp.Lock()
				s.runExp.m[runID] = p
				s.runExp.Unlock()
				return p.locs[i], p.metas[i], info, nil
			}
		}
	}
	return runLoc{}, "", fileStamp{}, store.NotFoundf("Run '%s' not found", runID)
}

// statRunMeta stats a run's meta.yaml, which must be a regular file.
func statRunMeta(path string) (fileStamp, bool) {
	st, regular, err := statStamp(path)
	return st, err == nil && regular
}

// readRunMeta reads a run's meta.yaml (through the cache). A missing file
// gives an error matching fs.ErrNotExist, an empty one ErrCorrupt.
func (s *Store) readRunMeta(ctx context.Context, runDir string) (*runMeta, error) {
	path := filepath.Join(runDir, metaFile)
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	m, err := s.runMetaAt(ctx, path, stampOf(info))
	if err != nil {
		return nil, err
	}
	return m.clone(), nil
}

// runMetaAt returns the meta.yaml at path, whose stat is st, through the
// cache. The result is shared: callers must not modify it.
func (s *Store) runMetaAt(ctx context.Context, path string, st fileStamp) (*runMeta, error) {
	if v, ok := s.cache.getStamp(path, st); ok {
		return v.(*runMeta), nil
	}
	data, err := readFileRetry(ctx, path)
	if err != nil {
		return nil, err
	}
	m, err := parseRunMeta(path, data)
	if errors.Is(err, errEmptyYAML) {
		return nil, store.Errorf(store.ErrCorrupt, "run metadata %s is empty: %w", path, err)
	}
	if err != nil {
		return nil, err
	}
	s.cache.putStamp(path, st, m)
	return m, nil
}

// openRun locates a run and reads its meta.yaml, checking that it records
// the run's own id and experiment (MLflow's INVALID_STATE otherwise).
func (s *Store) openRun(ctx context.Context, runID string) (runLoc, *runMeta, error) {
	loc, m, err := s.openRunShared(ctx, runID)
	if err != nil {
		return loc, nil, err
	}
	return loc, m.clone(), nil
}

// openRunShared is openRun with a meta.yaml the caller must not modify,
// found and read with a single stat.
func (s *Store) openRunShared(ctx context.Context, runID string) (runLoc, *runMeta, error) {
	loc, path, info, err := s.findRun(runID)
	if err != nil {
		return loc, nil, err
	}
	m, err := s.runMetaAt(ctx, path, info)
	if err == nil {
		err = checkRunMeta(loc, m)
	}
	return loc, m, notFoundIfMissing(loc, err)
}

// checkedRunMeta reads a run's meta.yaml afresh (a copy the caller may
// modify) and checks it.
func (s *Store) checkedRunMeta(ctx context.Context, loc runLoc) (*runMeta, error) {
	m, err := s.readRunMeta(ctx, loc.dir)
	if err == nil {
		err = checkRunMeta(loc, m)
	}
	if err != nil {
		return nil, notFoundIfMissing(loc, err)
	}
	return m, nil
}

func notFoundIfMissing(loc runLoc, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return store.NotFoundf("Run '%s' not found", loc.id)
	}
	return err
}

// checkRunMeta checks that a run's meta.yaml records the run's own id and
// experiment.
func checkRunMeta(loc runLoc, m *runMeta) error {
	if m.ExperimentID != loc.expID || m.RunID != loc.id {
		return store.InvalidStatef("Run '%s' metadata is in invalid state: %s records run_id '%s' in experiment '%s'",
			loc.id, filepath.Join(loc.dir, metaFile), m.RunID, m.ExperimentID)
	}
	return nil
}

// checkActive fails with ErrInvalidState unless the run is active.
func checkActive(m *runMeta) error {
	if m.LifecycleStage != store.LifecycleActive {
		return store.InvalidStatef("The run %s must be in the 'active' state. Current state is %s.", m.RunID, m.LifecycleStage)
	}
	return nil
}

// writeRunMeta atomically rewrites a run's meta.yaml. The caller holds
// the run lock.
func (s *Store) writeRunMeta(ctx context.Context, runDir string, m *runMeta) error {
	data, err := m.encode(false)
	if err != nil {
		return err
	}
	path := filepath.Join(runDir, metaFile)
	s.cache.drop(path)
	return s.writeFile(ctx, path, "", data, syncFull)
}

// updateRunMeta applies fn to a run's meta.yaml under the run lock and
// writes it back if fn reports a change.
func (s *Store) updateRunMeta(ctx context.Context, runDir string, fn func(*runMeta) (bool, error)) error {
	unlock, err := s.lockRun(ctx, runDir)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := s.readRunMeta(ctx, runDir)
	if err != nil {
		return err
	}
	changed, err := fn(m)
	if err != nil || !changed {
		return err
	}
	return s.writeRunMeta(ctx, runDir, m)
}

// CreateRun creates a run. Its directory (meta.yaml, metrics/, params/,
// artifacts/, tags/ with mlflow.runName) is assembled in the staging folder
// and renamed into the experiment directory under the root lock, so MLflow
// readers never see a partial run and a concurrent DeleteExperiment cannot
// miss it.
func (s *Store) CreateRun(ctx context.Context, req store.CreateRunRequest) (*store.Run, error) {
	expID, name, tags, check := store.ValidateCreateRun(req)
	if err := s.enterWrite(ctx, check); err != nil {
		return nil, err
	}
	defer s.leave()
	expDir, trashed, err := s.findExperiment(expID)
	if err != nil {
		return nil, store.NotFoundf("Could not create run under experiment with ID %s - no such experiment exists.", expID)
	}
	exp, err := s.loadExperiment(ctx, expDir, expID)
	if err != nil {
		return nil, err
	}
	if trashed || exp.LifecycleStage != store.LifecycleActive {
		return nil, store.InvalidStatef("Could not create run under non-active experiment with ID %s.", expID)
	}
	start := req.StartTime
	if start == 0 {
		start = s.now()
	}
	runID := s.newRunID()
	m := &runMeta{
		RunID:          runID,
		ExperimentID:   expID,
		RunName:        name,
		UserID:         req.UserID,
		Status:         store.StatusRunning,
		StartTime:      start,
		ArtifactURI:    appendToURIPath(exp.ArtifactLocation, runID, artifactsDir),
		LifecycleStage: store.LifecycleActive,
	}
	meta, err := m.encode(true)
	if err != nil {
		return nil, err
	}
	build := func(dir string) error {
		for _, sub := range []string{metricsDir, paramsDir, artifactsDir, tagsDir} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o777); err != nil {
				return fmt.Errorf("fsstore: create run: %w", err)
			}
		}
		for _, t := range tags {
			if err := s.writeFile(ctx, filepath.Join(dir, tagsDir, filepath.FromSlash(t.Key)), dir, []byte(t.Value), lazy); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", meta, syncFile)
	}
	// The rename happens under the root lock, after checking that the
	// experiment is still active: DeleteExperiment (which holds the lock)
	// cannot miss the run.
	guard := func() (func(), error) {
		unlock, err := s.lockRoot(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(s.expDir(expID, false), metaFile)); err != nil {
			unlock()
			return nil, store.InvalidStatef("Could not create run under non-active experiment with ID %s.", expID)
		}
		return unlock, nil
	}
	if err := s.publishDir(ctx, filepath.Join(s.expDir(expID, false), runID), build, guard); err != nil {
		return nil, err
	}
	p := s.placeRun(expID, runID)
	s.runExp.Lock()
	s.runExp.m[runID] = p
	s.runExp.Unlock()
	return &store.Run{Info: m.info(), Data: store.RunData{Tags: dedupeTags(tags)}}, nil
}

// GetRun returns a run with its latest metrics, params, tags and inputs.
func (s *Store) GetRun(ctx context.Context, runID string) (*store.Run, error) {
	if err := s.enter(ctx, store.ValidateRunID(runID)); err != nil {
		return nil, err
	}
	defer s.leave()
	loc, m, err := s.openRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	return s.loadRun(ctx, loc, m)
}

// loadRun reads a run's data and inputs.
func (s *Store) loadRun(ctx context.Context, loc runLoc, m *runMeta) (*store.Run, error) {
	r := &store.Run{Info: m.info()}
	var err error
	if r.Data.Metrics, err = readLatestMetrics(filepath.Join(loc.dir, metricsDir)); err != nil {
		return nil, err
	}
	err = readKeyFiles(filepath.Join(loc.dir, paramsDir), func(k string, v []byte) {
		r.Data.Params = append(r.Data.Params, store.Param{Key: k, Value: string(v)})
	})
	if err != nil {
		return nil, err
	}
	err = readKeyFiles(filepath.Join(loc.dir, tagsDir), func(k string, v []byte) {
		r.Data.Tags = append(r.Data.Tags, store.Tag{Key: k, Value: string(v)})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(r.Data.Params, func(a, b store.Param) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(r.Data.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	if r.Info.RunName == "" {
		r.Info.RunName, _ = r.Tag(store.RunNameTag)
	}
	if r.Inputs, err = s.readInputs(ctx, loc); err != nil {
		return nil, err
	}
	return r, nil
}

// readKeyFiles calls fn for every file under dir (recursively), with the
// key being the '/'-separated path relative to dir, as MLflow reads
// metrics, params and tags. A missing dir has no keys.
func readKeyFiles(dir string, fn func(key string, content []byte)) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted meanwhile (DeleteTag)
			}
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		fn(filepath.ToSlash(rel), b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("fsstore: read %s: %w", dir, err)
	}
	return nil
}

// UpdateRun changes an active run's status, end time and name; a new name
// is also written to the mlflow.runName tag, as MLflow does. The
// read-modify-write happens under the run lock.
func (s *Store) UpdateRun(ctx context.Context, runID string, u store.RunUpdate) (*store.RunInfo, error) {
	if err := s.enterWrite(ctx, store.ValidateRunUpdate(runID, u)); err != nil {
		return nil, err
	}
	defer s.leave()
	loc, err := s.locateRun(runID)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockRun(ctx, loc.dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err := s.checkedRunMeta(ctx, loc)
	if err != nil {
		return nil, err
	}
	if err := checkActive(m); err != nil {
		return nil, err
	}
	if u.Status != 0 {
		m.Status = u.Status
	}
	if u.EndTime != nil {
		m.EndTime = clonePtr(u.EndTime)
	}
	if u.RunName != "" {
		m.RunName = u.RunName
		if err := s.writeRunFile(ctx, loc, tagsDir, store.RunNameTag, u.RunName); err != nil {
			return nil, err
		}
	}
	if err := s.writeRunMeta(ctx, loc.dir, m); err != nil {
		return nil, err
	}
	info := m.info()
	return &info, nil
}

// writeRunFile atomically writes a param or tag file of a run; the
// temporary file goes into the run directory, never into params/ or tags/,
// where MLflow would read it as a key.
func (s *Store) writeRunFile(ctx context.Context, loc runLoc, sub, key, value string) error {
	return s.writeFile(ctx, filepath.Join(loc.dir, sub, filepath.FromSlash(key)), loc.dir, []byte(value), lazy)
}

// DeleteRun marks a run deleted and records deleted_time.
func (s *Store) DeleteRun(ctx context.Context, runID string) error {
	return s.setRunLifecycle(ctx, runID, store.LifecycleDeleted)
}

// RestoreRun marks a deleted run active again.
func (s *Store) RestoreRun(ctx context.Context, runID string) error {
	return s.setRunLifecycle(ctx, runID, store.LifecycleActive)
}

func (s *Store) setRunLifecycle(ctx context.Context, runID, stage string) error {
	if err := s.enterWrite(ctx, store.ValidateRunID(runID)); err != nil {
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
	m.LifecycleStage, m.DeletedTime = stage, nil
	if stage == store.LifecycleDeleted {
		now := s.now()
		m.DeletedTime = &now
		s.files.dropRun(runID) // no more appends; MLflow's gc may remove it
	}
	return s.writeRunMeta(ctx, loc.dir, m)
}

// LogBatch logs metrics, params and tags to an active run. The batch is
// validated, its keys checked against those logged (checkKeyPaths), and
// params against the logged values, before anything is written. Param checks and writes, and the run-name update a
// mlflow.runName tag implies, happen under the run lock; metric lines are
// appended without it (see appendMetric).
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []store.Metric, params []store.Param, tags []store.Tag) error {
	if err := s.enterWrite(ctx, store.ValidateLogBatch(runID, metrics, params, tags)); err != nil {
		return err
	}
	defer s.leave()
	loc, m, err := s.openRunShared(ctx, runID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.files.dropRun(runID) // gone: release its files' space
		}
		return err
	}
	if err := checkActive(m); err != nil {
		s.files.dropRun(runID) // deleted, soon collected by MLflow's gc
		return err
	}
	needLock := len(params) > 0
	for _, t := range tags {
		if t.Key == store.RunNameTag {
			needLock = true
		}
	}
	if needLock {
		unlock, err := s.lockRun(ctx, loc.dir)
		if err != nil {
			return err
		}
		defer unlock()
		// Re-read under the lock: the run may have been deleted meanwhile.
		// (A copy: m is modified below.)
		if m, err = s.checkedRunMeta(ctx, loc); err != nil {
			return err
		}
		if err := checkActive(m); err != nil {
			return err
		}
	}
	if err := s.checkRunKeys(loc, metrics, params, tags); err != nil {
		return err
	}
	newParams, err := s.checkParams(loc, params)
	if err != nil {
		return err
	}
	for _, p := range newParams {
		if err := s.writeRunFile(ctx, loc, paramsDir, p.Key, p.Value); err != nil {
			return err
		}
	}
	lock := held
	if !needLock {
		lock = func(ctx context.Context) (func(), error) { return s.lockRun(ctx, loc.dir) }
	}
	if err := s.appendMetrics(ctx, loc, metrics, lock); err != nil {
		return err
	}
	for _, t := range tags {
		if t.Key == store.RunNameTag && t.Value != "" && t.Value != m.RunName {
			m.RunName = t.Value
			if err := s.writeRunMeta(ctx, loc.dir, m); err != nil {
				return err
			}
		}
		if err := s.writeRunFile(ctx, loc, tagsDir, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// checkParams enforces param immutability: it returns the params not yet
// logged, and fails with MLflow's error if one was logged with another
// value. The caller holds the run lock.
func (s *Store) checkParams(loc runLoc, params []store.Param) ([]store.Param, error) {
	var fresh []store.Param
	for _, p := range params {
		cur, err := os.ReadFile(filepath.Join(loc.dir, paramsDir, filepath.FromSlash(p.Key)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fresh = append(fresh, p)
		case err != nil:
			return nil, fmt.Errorf("fsstore: read param %q: %w", p.Key, err)
		case string(cur) != p.Value:
			return nil, store.Invalidf("Changing param values is not allowed. Param with key='%s' was already logged with value='%s' for run ID='%s'. Attempted logging new value '%s'.", p.Key, cur, loc.id, p.Value)
		}
	}
	return fresh, nil
}

// DeleteTag removes a tag of an active run.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	if err := s.enterWrite(ctx, store.ValidateDeleteTag(runID, key)); err != nil {
		return err
	}
	defer s.leave()
	loc, m, err := s.openRun(ctx, runID)
	if err != nil {
		return err
	}
	if err := checkActive(m); err != nil {
		return err
	}
	path := filepath.Join(loc.dir, tagsDir, filepath.FromSlash(key))
	if info, err := os.Stat(path); err != nil || info.IsDir() {
		return store.NotFoundf("No tag with name: %s in run with id %s", key, runID)
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return store.NotFoundf("No tag with name: %s in run with id %s", key, runID)
		}
		return fmt.Errorf("fsstore: delete tag: %w", err)
	}
	return s.syncDir(filepath.Dir(path))
}

// dedupeTags returns tags sorted by key, the last value of a repeated key
// winning, as when the tags are written one after another.
func dedupeTags(tags []store.Tag) []store.Tag {
	last := make(map[string]string, len(tags))
	for _, t := range tags {
		last[t.Key] = t.Value
	}
	out := make([]store.Tag, 0, len(last))
	for k, v := range last {
		out = append(out, store.Tag{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}
