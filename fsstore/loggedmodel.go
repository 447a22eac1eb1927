package fsstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// This file holds MLflow 3's LoggedModels (store.LoggedModels) in the
// layout of MLflow 3.17.2's FileStore (create_logged_model,
// finalize_logged_model, log_outputs, _get_model_info_from_dir, ...):
//
//	<exp>/models/<model_id>/meta.yaml       artifact_location, creation_timestamp,
//	                                         experiment_id (str), last_updated_timestamp,
//	                                         [lifecycle_stage], model_id, model_type, name,
//	                                         source_run_id, status (int), status_message
//	<exp>/models/<model_id>/params/<key>    raw value, no newline
//	<exp>/models/<model_id>/tags/<key>      raw value, no newline
//	<exp>/models/<model_id>/metrics/<key>   "ts value step run_id [ds_name ds_digest]\n" lines
//	<exp>/models/<model_id>/artifacts/      the model's files (MLmodel, ...)
//	<run>/outputs/<model_id>/meta.yaml      the run -> model link
//
// lifecycle_stage is written as MLflow does: "active" at creation, dropped
// by finalize's rewrite (a missing key reads as active), "deleted" by
// delete. A model directory is assembled in the staging folder and renamed
// into place, so readers never see one without its meta.yaml; meta.yaml
// rewrites are atomic and serialized by a lock file next to meta.yaml
// (MLflow reads only meta.yaml and the four folders there), and so are the
// temporary files of params, tags and new metric files.
//
// MLflow 2.x does not reserve an experiment's models/ folder: its
// search_runs skips it, but its _search_datasets (the UI's dataset summary)
// fails on it. Write logged models only for MLflow 3 readers.

const (
	outputsDir          = "outputs"
	modelLockFile       = ".mlrun.lock"
	vertexRunOutput     = "RUN_OUTPUT"
	vertexModelOutput   = "MODEL_OUTPUT"
	loggedModelNotFound = "Model '%s' not found"
)

var _ store.LoggedModels = (*Store)(nil)

// lmMeta is a logged model's meta.yaml.
type lmMeta struct {
	ModelID, ExperimentID, Name, ArtifactLocation string
	ModelType, SourceRunID, StatusMessage         *string
	Status                                        store.LoggedModelStatus
	Created, Updated                              int64
	Lifecycle                                     string // "" when the key is absent
}

func (m *lmMeta) encode() ([]byte, error) {
	doc := map[string]any{
		"artifact_location":      m.ArtifactLocation,
		"creation_timestamp":     m.Created,
		"experiment_id":          m.ExperimentID,
		"last_updated_timestamp": m.Updated,
		"model_id":               m.ModelID,
		"model_type":             optStr(m.ModelType),
		"name":                   m.Name,
		"source_run_id":          optStr(m.SourceRunID),
		"status":                 int(m.Status),
		"status_message":         optStr(m.StatusMessage),
	}
	if m.Lifecycle != "" {
		doc["lifecycle_stage"] = m.Lifecycle
	}
	return marshalYAML(doc)
}

func parseLMMeta(path string, data []byte) (*lmMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m lmMeta
	for _, f := range []struct {
		key string
		dst *string
	}{{"model_id", &m.ModelID}, {"experiment_id", &m.ExperimentID}, {"name", &m.Name}, {"artifact_location", &m.ArtifactLocation}} {
		if *f.dst, err = d.reqStr(f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		key string
		dst **string
	}{{"model_type", &m.ModelType}, {"source_run_id", &m.SourceRunID}, {"status_message", &m.StatusMessage}} {
		s, ok, err := d.str(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			*f.dst = &s
		}
	}
	for _, f := range []struct {
		key string
		dst *int64
	}{{"creation_timestamp", &m.Created}, {"last_updated_timestamp", &m.Updated}} {
		v, ok, err := d.int(f.key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, d.corrupt(f.key, "missing")
		}
		*f.dst = v
	}
	m.Status = store.LoggedModelReady // LoggedModel's constructor default
	if v, ok, err := d.int("status"); err != nil {
		return nil, err
	} else if ok {
		m.Status = store.LoggedModelStatus(v)
		if !m.Status.Valid() {
			return nil, d.corrupt("status", "unknown model status %d", v)
		}
	}
	if m.Lifecycle, _, err = d.str("lifecycle_stage"); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *lmMeta) deleted() bool { return m.Lifecycle == store.LifecycleDeleted }

// lmLoc is where a logged model lives.
type lmLoc struct {
	id, dir, expID string
}

func (s *Store) modelDirOf(expID, modelID string) string {
	return filepath.Join(s.expDir(expID, false), modelsDir, modelID)
}

// locateModel finds a model directory in the active experiments, as
// MLflow's _find_model_root does (models of experiments in .trash are not
// found).
func (s *Store) locateModel(modelID string) (lmLoc, error) {
	if err := store.ValidateLoggedModelID(modelID); err != nil {
		return lmLoc{}, err
	}
	ids, err := listExperimentDirs(s.root, true)
	if err != nil {
		return lmLoc{}, err
	}
	for _, id := range ids {
		dir := s.modelDirOf(id, modelID)
		if info, err := os.Stat(filepath.Join(dir, metaFile)); err == nil && info.Mode().IsRegular() {
			return lmLoc{id: modelID, dir: dir, expID: id}, nil
		}
	}
	return lmLoc{}, store.NotFoundf(loggedModelNotFound, modelID)
}

func (s *Store) readLMMeta(ctx context.Context, dir string) (*lmMeta, error) {
	path := filepath.Join(dir, metaFile)
	data, err := readFileRetry(ctx, path)
	if err != nil {
		return nil, err
	}
	m, err := parseLMMeta(path, data)
	if errors.Is(err, errEmptyYAML) {
		return nil, store.Corruptf("logged model metadata %s is empty", path)
	}
	return m, err
}

// openModel locates an active (not deleted) model and reads its meta,
// checking its experiment as MLflow's _get_model_dict does.
func (s *Store) openModel(ctx context.Context, modelID string) (lmLoc, *lmMeta, error) {
	loc, err := s.locateModel(modelID)
	if err != nil {
		return loc, nil, err
	}
	m, err := s.readLMMeta(ctx, loc.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return loc, nil, store.NotFoundf(loggedModelNotFound, modelID)
	}
	if err != nil {
		return loc, nil, err
	}
	if m.deleted() {
		return loc, nil, store.NotFoundf(loggedModelNotFound, modelID)
	}
	if m.ExperimentID != loc.expID {
		return loc, nil, store.InvalidStatef("Model '%s' metadata is in invalid state.", modelID)
	}
	return loc, m, nil
}

func (s *Store) lockModel(ctx context.Context, dir string) (func(), error) {
	unlock, err := s.lockFile(ctx, filepath.Join(dir, modelLockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.NotFoundf(loggedModelNotFound, filepath.Base(dir))
	}
	return unlock, err
}

// writeModelFile atomically writes a param or tag file of a model, with
// its temporary file in the model directory (never in params/ or tags/).
func (s *Store) writeModelFile(ctx context.Context, dir, sub, key, value string) error {
	return s.writeFile(ctx, filepath.Join(dir, sub, filepath.FromSlash(key)), dir, []byte(value), lazy)
}

// CreateLoggedModel implements store.LoggedModels. The model directory
// (meta.yaml, metrics/, params/, tags/, artifacts/) is assembled in the
// staging folder and renamed into <exp>/models/ under the root lock, after
// checking the experiment is still active.
func (s *Store) CreateLoggedModel(ctx context.Context, req store.CreateLoggedModelRequest) (*store.LoggedModel, error) {
	expID, idErr := store.ExperimentIDOrDefault(req.ExperimentID)
	if err := s.enterWrite(ctx, idErr, store.ValidateCreateLoggedModel(req)); err != nil {
		return nil, err
	}
	defer s.leave()
	expDir, trashed, err := s.findExperiment(expID)
	if err != nil {
		return nil, store.NotFoundf("Could not create model under experiment with ID %s - no such experiment exists.", expID)
	}
	exp, err := s.loadExperiment(ctx, expDir, expID)
	if err != nil {
		return nil, err
	}
	if trashed || exp.LifecycleStage != store.LifecycleActive {
		return nil, store.InvalidStatef("Could not create model under non-active experiment with ID %s.", expID)
	}
	name := req.Name
	if name == "" {
		name = store.RandomRunName()
	}
	id := store.NewLoggedModelID()
	now := s.now()
	m := &lmMeta{
		ModelID: id, ExperimentID: expID, Name: name,
		ArtifactLocation: appendToURIPath(exp.ArtifactLocation, modelsDir, id, artifactsDir),
		ModelType:        nonEmpty(req.ModelType), SourceRunID: nonEmpty(req.SourceRunID),
		Status: store.LoggedModelPending, Created: now, Updated: now, Lifecycle: store.LifecycleActive,
	}
	meta, err := m.encode()
	if err != nil {
		return nil, err
	}
	build := func(dir string) error {
		for _, sub := range []string{metricsDir, paramsDir, tagsDir, artifactsDir} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o777); err != nil {
				return fmt.Errorf("fsstore: create logged model: %w", err)
			}
		}
		for _, p := range req.Params {
			if err := s.writeModelFile(ctx, dir, paramsDir, p.Key, p.Value); err != nil {
				return err
			}
		}
		for _, t := range req.Tags {
			if err := s.writeModelFile(ctx, dir, tagsDir, t.Key, t.Value); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", meta, syncFile)
	}
	// The experiment's models/ folder is made under the lock, after the
	// build: a request that fails leaves no trace (MLflow 2.x readers fail
	// on an experiment's models/ folder).
	guard := func() (func(), error) {
		unlock, err := s.lockRoot(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(s.expDir(expID, false), metaFile)); err != nil {
			unlock()
			return nil, store.InvalidStatef("Could not create model under non-active experiment with ID %s.", expID)
		}
		if err := s.mkdirAll(filepath.Join(expDir, modelsDir)); err != nil {
			unlock()
			return nil, err
		}
		return unlock, nil
	}
	if err := s.publishDir(ctx, s.modelDirOf(expID, id), build, guard); err != nil {
		return nil, err
	}
	return s.loadLoggedModel(s.modelDirOf(expID, id), m)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// loadLoggedModel reads a model's tags, params and metrics.
func (s *Store) loadLoggedModel(dir string, m *lmMeta) (*store.LoggedModel, error) {
	lm := &store.LoggedModel{
		ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name, ArtifactLocation: m.ArtifactLocation,
		ModelType: deref0(m.ModelType), SourceRunID: deref0(m.SourceRunID), StatusMessage: deref0(m.StatusMessage),
		Status: m.Status, CreationTimestamp: m.Created, LastUpdatedTimestamp: m.Updated,
		Tags: map[string]string{}, Params: map[string]string{},
	}
	if err := readKeyFiles(filepath.Join(dir, tagsDir), func(k string, v []byte) { lm.Tags[k] = string(v) }); err != nil {
		return nil, err
	}
	if err := readKeyFiles(filepath.Join(dir, paramsDir), func(k string, v []byte) { lm.Params[k] = string(v) }); err != nil {
		return nil, err
	}
	var firstErr error
	metricsPath := filepath.Join(dir, metricsDir)
	err := readKeyFiles(metricsPath, func(k string, data []byte) {
		pts, err := parseModelMetricFile(filepath.Join(metricsPath, filepath.FromSlash(k)), k, data)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			return
		}
		lm.Metrics = append(lm.Metrics, latestPerDataset(pts)...)
	})
	if err = cmp.Or(err, firstErr); err != nil {
		return nil, err
	}
	// By key, and within a key in the order its datasets were first
	// logged, as MLflow lists them: a metric filter compares the first.
	slices.SortStableFunc(lm.Metrics, func(a, b store.LoggedModelMetric) int { return strings.Compare(a.Key, b.Key) })
	return lm, nil
}

// latestPerDataset groups points by dataset and keeps the latest of each by
// (step, timestamp, value), as MLflow's _get_model_metrics_from_file.
func latestPerDataset(pts []store.LoggedModelMetric) []store.LoggedModelMetric {
	type ds struct{ name, digest string }
	var order []ds
	best := map[ds]store.LoggedModelMetric{}
	asMetric := func(m store.LoggedModelMetric) store.Metric {
		return store.Metric{Value: m.Value, Timestamp: m.Timestamp, Step: m.Step}
	}
	for _, p := range pts {
		k := ds{p.DatasetName, p.DatasetDigest}
		b, ok := best[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || store.Supersedes(asMetric(p), asMetric(b)) {
			best[k] = p
		}
	}
	out := make([]store.LoggedModelMetric, 0, len(order))
	for _, k := range order {
		out = append(out, best[k])
	}
	return out
}

// formatModelMetricLine returns MLflow's model metric line,
// "ts value step run_id[ ds_name ds_digest]\n".
func formatModelMetricLine(m store.LoggedModelMetric) []byte {
	b := strconv.AppendInt(nil, m.Timestamp, 10)
	b = append(b, ' ')
	b = append(b, pyfloat.Repr(m.Value)...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, m.Step, 10)
	b = append(b, ' ')
	b = append(b, m.RunID...)
	if m.DatasetName != "" {
		b = append(b, ' ')
		b = append(b, m.DatasetName...)
		b = append(b, ' ')
		b = append(b, m.DatasetDigest...)
	}
	return append(b, '\n')
}

// parseModelMetricFile parses a model metric file: lines of 4 or 6 fields
// (MLflow's _get_model_metric_from_line). As for run metrics, a torn final
// line without its newline is ignored; any other bad line is ErrCorrupt.
func parseModelMetricFile(path, key string, data []byte) ([]store.LoggedModelMetric, error) {
	var out []store.LoggedModelMetric
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		last := i < 0
		var line string
		if last {
			line, data = string(data), nil
		} else {
			line, data = string(data[:i]), data[i+1:]
		}
		m, err := parseModelMetricLine(key, line)
		if err != nil {
			if last {
				break
			}
			return nil, store.Corruptf("malformed metric file %s, line %d: %v", path, n, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func parseModelMetricLine(key, line string) (store.LoggedModelMetric, error) {
	f := strings.Split(strings.TrimSpace(line), " ")
	if len(f) != 4 && len(f) != 6 {
		return store.LoggedModelMetric{}, fmt.Errorf("%d fields, want 4 or 6", len(f))
	}
	ts, err1 := parsePyInt(f[0])
	v, err2 := pyfloat.Parse(f[1])
	step, err3 := parsePyInt(f[2])
	if err := cmp.Or(err1, err2, err3); err != nil {
		return store.LoggedModelMetric{}, fmt.Errorf("bad line %q", line)
	}
	m := store.LoggedModelMetric{Key: key, Value: v, Timestamp: ts, Step: step, RunID: f[3]}
	if len(f) == 6 {
		m.DatasetName, m.DatasetDigest = f[4], f[5]
	}
	return m, nil
}

// GetLoggedModel implements store.LoggedModels.
func (s *Store) GetLoggedModel(ctx context.Context, modelID string) (*store.LoggedModel, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	loc, m, err := s.openModel(ctx, modelID)
	if err != nil {
		return nil, err
	}
	return s.loadLoggedModel(loc.dir, m)
}

// updateModelMeta applies fn to an active model's meta.yaml under the
// model lock and rewrites it.
func (s *Store) updateModelMeta(ctx context.Context, modelID string, fn func(*lmMeta)) (lmLoc, *lmMeta, error) {
	loc, _, err := s.openModel(ctx, modelID)
	if err != nil {
		return loc, nil, err
	}
	unlock, err := s.lockModel(ctx, loc.dir)
	if err != nil {
		return loc, nil, err
	}
	defer unlock()
	loc, m, err := s.openModel(ctx, modelID) // re-read under the lock
	if err != nil {
		return loc, nil, err
	}
	fn(m)
	data, err := m.encode()
	if err != nil {
		return loc, nil, err
	}
	return loc, m, s.writeFile(ctx, filepath.Join(loc.dir, metaFile), "", data, syncFull)
}

// FinalizeLoggedModel implements store.LoggedModels. Like MLflow's
// finalize_logged_model, the rewrite drops the lifecycle_stage key.
func (s *Store) FinalizeLoggedModel(ctx context.Context, modelID string, status store.LoggedModelStatus) (*store.LoggedModel, error) {
	if err := s.enterWrite(ctx, store.ValidateLoggedModelStatus(status)); err != nil {
		return nil, err
	}
	defer s.leave()
	loc, m, err := s.updateModelMeta(ctx, modelID, func(m *lmMeta) {
		m.Status, m.Updated, m.Lifecycle = status, s.now(), ""
	})
	if err != nil {
		return nil, err
	}
	return s.loadLoggedModel(loc.dir, m)
}

// DeleteLoggedModel implements store.LoggedModels: the model stays on disk
// with lifecycle_stage deleted, as in MLflow.
func (s *Store) DeleteLoggedModel(ctx context.Context, modelID string) error {
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	_, _, err := s.updateModelMeta(ctx, modelID, func(m *lmMeta) {
		m.Updated, m.Lifecycle = s.now(), store.LifecycleDeleted
	})
	return err
}

// SetLoggedModelTags implements store.LoggedModels.
func (s *Store) SetLoggedModelTags(ctx context.Context, modelID string, tags []store.Tag) error {
	if err := s.enterWrite(ctx, store.ValidateTags(tags)); err != nil {
		return err
	}
	defer s.leave()
	loc, _, err := s.openModel(ctx, modelID)
	if err != nil {
		return err
	}
	if err := checkKeyPaths(filepath.Join(loc.dir, tagsDir), "tag", len(tags), func(i int) string { return tags[i].Key }, nil); err != nil {
		return err
	}
	for _, t := range tags {
		if err := s.writeModelFile(ctx, loc.dir, tagsDir, t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// DeleteLoggedModelTag implements store.LoggedModels.
func (s *Store) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	if err := s.enterWrite(ctx, store.ValidateTag(store.Tag{Key: key})); err != nil {
		return err
	}
	defer s.leave()
	loc, _, err := s.openModel(ctx, modelID)
	if err != nil {
		return err
	}
	path := filepath.Join(loc.dir, tagsDir, filepath.FromSlash(key))
	if info, err := os.Stat(path); err != nil || info.IsDir() {
		return store.NotFoundf("No tag with key '%s' found for model with ID '%s'.", key, modelID)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: delete logged model tag: %w", err)
	}
	return nil
}

// LogLoggedModelParams implements store.LoggedModels.
func (s *Store) LogLoggedModelParams(ctx context.Context, modelID string, params []store.Param) error {
	if err := s.enterWrite(ctx, store.ValidateParams(params)); err != nil {
		return err
	}
	defer s.leave()
	loc, _, err := s.openModel(ctx, modelID)
	if err != nil {
		return err
	}
	if err := checkKeyPaths(filepath.Join(loc.dir, paramsDir), "param", len(params), func(i int) string { return params[i].Key }, nil); err != nil {
		return err
	}
	for _, p := range params {
		if err := s.writeModelFile(ctx, loc.dir, paramsDir, p.Key, p.Value); err != nil {
			return err
		}
	}
	return nil
}

// LogLoggedModelMetrics implements store.LoggedModels. Lines are appended
// whole, and a new metric file appears with its lines already in it (see
// appendModelMetric).
func (s *Store) LogLoggedModelMetrics(ctx context.Context, modelID string, metrics []store.LoggedModelMetric) error {
	if err := s.enterWrite(ctx, store.ValidateLoggedModelMetrics(metrics)); err != nil {
		return err
	}
	defer s.leave()
	loc, _, err := s.openModel(ctx, modelID)
	if err != nil {
		return err
	}
	if err := checkKeyPaths(filepath.Join(loc.dir, metricsDir), "metric", len(metrics), func(i int) string { return metrics[i].Key }, nil); err != nil {
		return err
	}
	var keys []string
	lines := map[string][]byte{}
	for _, m := range metrics {
		if _, ok := lines[m.Key]; !ok {
			keys = append(keys, m.Key)
		}
		lines[m.Key] = append(lines[m.Key], formatModelMetricLine(m)...)
	}
	for _, k := range keys {
		if err := s.appendModelMetric(ctx, loc.dir, k, lines[k]); err != nil {
			return err
		}
	}
	return nil
}

// appendModelMetric appends whole lines to <modelDir>/metrics/<key> the
// way run metrics are appended: an existing file gets all the lines in one
// O_APPEND write(2); a missing one is created with the lines already in it
// (atomicfile.Create: a temporary file in the model directory, fsynced and
// hard-linked into place), so no reader ever sees an empty metric file,
// which MLflow rejects. It does not share appendMetric (metrics.go), whose
// descriptor cache is tuned for high-rate run metrics; model metrics are
// few.
func (s *Store) appendModelMetric(ctx context.Context, modelDir, key string, lines []byte) error {
	path := filepath.Join(modelDir, metricsDir, filepath.FromSlash(key))
	for range 4 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
		if err == nil {
			// Cut off a line torn by a writer killed mid-append first.
			err = appendChecked(ctx, f, lines, func(ctx context.Context) (func(), error) { return s.lockModel(ctx, modelDir) })
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("fsstore: log model metric %q: %w", key, err)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("fsstore: log model metric %q: %w", key, err)
		}
		if err := s.mkdirAll(filepath.Dir(path)); err != nil {
			return err
		}
		err = atomicfile.Create(ctx, path, lines, s.atomicOpts(modelDir, syncFull))
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("fsstore: log model metric %q: %w", key, err)
		}
	}
	return fmt.Errorf("fsstore: log model metric %q: cannot open or create %s", key, path)
}

// SearchLoggedModels implements store.LoggedModels with the rules of
// MLflow's file store (search.FileLoggedModels). Deleted models, and models
// whose meta.yaml records another experiment, are left out, as MLflow's
// _list_models does; a directory without meta.yaml is skipped.
func (s *Store) SearchLoggedModels(ctx context.Context, q store.LoggedModelQuery) (*store.LoggedModelPage, error) {
	if err := s.enter(ctx, store.ValidateExperimentIDs(q.ExperimentIDs)); err != nil {
		return nil, err
	}
	defer s.leave()
	var all []*store.LoggedModel
	for _, expID := range q.ExperimentIDs {
		expDir, _, err := s.findExperiment(expID)
		if err != nil {
			continue // MLflow: no such experiment, no models
		}
		parent := filepath.Join(expDir, modelsDir)
		entries, err := os.ReadDir(parent)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("fsstore: %w", err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if !isDirEntry(parent, e) {
				continue
			}
			dir := filepath.Join(parent, e.Name())
			m, err := s.readLMMeta(ctx, dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if m.deleted() || m.ExperimentID != expID {
				continue
			}
			lm, err := s.loadLoggedModel(dir, m)
			if err != nil {
				return nil, err
			}
			all = append(all, lm)
		}
	}
	return search.FileLoggedModels.Search(all, q)
}

// encodeOutput returns <run>/outputs/<model_id>/meta.yaml. As in MLflow's
// _FileStoreOutput.write_yaml, destination_id holds the source id (the
// model id), not the run id; readers take the model id from it.
func encodeOutput(modelID string, step int64) ([]byte, error) {
	return marshalYAML(map[string]any{
		"destination_id":   modelID,
		"destination_type": vertexModelOutput,
		"source_id":        modelID,
		"source_type":      vertexRunOutput,
		"step":             step,
		"tags":             map[string]any{},
	})
}

// LogOutputs implements store.LoggedModels. Each output directory is
// assembled in the staging folder and renamed into place (MLflow's get_run
// fails on an outputs/ entry without meta.yaml); an existing one is kept.
func (s *Store) LogOutputs(ctx context.Context, runID string, outputs []store.LoggedModelOutput) error {
	if err := s.enterWrite(ctx, store.ValidateOutputs(runID, outputs)); err != nil {
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
	for _, o := range outputs {
		dir := filepath.Join(loc.dir, outputsDir, o.ModelID)
		if _, err := os.Stat(dir); err == nil {
			continue
		}
		data, err := encodeOutput(o.ModelID, o.Step)
		if err != nil {
			return err
		}
		if err := s.mkdirAll(filepath.Dir(dir)); err != nil {
			return err
		}
		if err := s.publishMetaDir(ctx, dir, data); err != nil {
			return err
		}
	}
	return nil
}

// GetRunOutputs implements store.LoggedModels.
func (s *Store) GetRunOutputs(ctx context.Context, runID string) ([]store.LoggedModelOutput, error) {
	if err := s.enter(ctx, store.ValidateRunID(runID)); err != nil {
		return nil, err
	}
	defer s.leave()
	loc, _, err := s.openRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	return s.readOutputs(loc)
}

// readOutputs reads a run's model outputs (<run>/outputs/<model_id>/meta.yaml
// with destination_type MODEL_OUTPUT), sorted by model id.
func (s *Store) readOutputs(loc runLoc) ([]store.LoggedModelOutput, error) {
	parent := filepath.Join(loc.dir, outputsDir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	var out []store.LoggedModelOutput
	for _, e := range entries {
		if !isDirEntry(parent, e) {
			continue
		}
		path := filepath.Join(parent, e.Name(), metaFile)
		data, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("fsstore: %w", err)
		}
		d, err := parseDoc(path, data)
		if err != nil {
			return nil, err
		}
		typ, err := d.reqStr("destination_type")
		if err != nil {
			return nil, err
		}
		if typ != vertexModelOutput {
			continue
		}
		id, err := d.reqStr("destination_id")
		if err != nil {
			return nil, err
		}
		step, _, err := d.int("step")
		if err != nil {
			return nil, err
		}
		out = append(out, store.LoggedModelOutput{ModelID: id, Step: step})
	}
	slices.SortFunc(out, func(a, b store.LoggedModelOutput) int { return strings.Compare(a.ModelID, b.ModelID) })
	return out, nil
}
