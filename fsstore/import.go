package fsstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// This file implements store.Importer: entities of another store written
// with their ids, times and states, in exactly the files the normal writes
// (and MLflow's FileStore) produce. Each new directory (experiment, run,
// logged model, registered model, model version) is assembled complete in
// the staging folder, metric files included, and renamed into place, so
// that an import that fails half-way leaves no partial entity.

var (
	_ store.Importer = (*Store)(nil)
	_ store.Purger   = (*Store)(nil)
)

// YAMLString returns s as the file store reads it back from a meta.yaml,
// where MLflow (PyYAML) keeps run names, user ids, experiment and model
// names, dataset fields, input tags and registry fields: most strings
// come back as they were, but YAML turns some characters into others
// (U+0085 NEL reads back as a space, for one). Params and tags, kept in
// files of their own, come back exactly.
func YAMLString(s string) string {
	b, err := marshalYAML(map[string]any{"v": s})
	if err != nil {
		return s
	}
	d, err := parseDoc("", b)
	if err != nil {
		return s
	}
	v, ok, err := d.str("v")
	if err != nil || !ok {
		return s
	}
	return v
}

// ImportExperiment implements store.Importer. New experiments get the
// default artifact location <root>/<id>; a deleted one goes to .trash.
func (s *Store) ImportExperiment(ctx context.Context, e store.ImportExperiment, opts store.ImportOptions) (store.ImportResult, error) {
	done, err := s.enterImport(ctx, opts, s.lockRoot, store.ValidateImportExperiment(e))
	if err != nil {
		return store.ImportResult{}, err
	}
	defer done()
	exps, err := s.listExperiments(ctx, store.AllViews)
	if err != nil {
		return store.ImportResult{}, err
	}
	name := YAMLString(e.Name) // as this store keeps it
	for _, have := range exps {
		if have.Name != name {
			continue
		}
		res := store.ImportResult{ID: have.ID, ArtifactLocation: have.ArtifactLocation}
		dir, _, err := s.findExperiment(have.ID)
		if err != nil {
			return res, err
		}
		missing, notes := mergeExperimentTags(have, e)
		res.Notes = notes
		if opts.DryRun {
			return res, nil
		}
		for _, k := range missing {
			if err := s.writeFile(ctx, filepath.Join(dir, tagsDir, filepath.FromSlash(k)), dir, []byte(e.Tags[k]), lazy); err != nil {
				return res, err
			}
		}
		return res, nil
	}
	id := e.ID
	if id != "" {
		if _, _, err := s.findExperiment(id); err == nil {
			id = ""
		}
	}
	if opts.DryRun {
		return store.ImportResult{ID: id, Created: true}, nil
	}
	for id == "" {
		id = s.newExpID()
		if _, _, err := s.findExperiment(id); err == nil {
			id = ""
		}
	}
	created, updated := e.CreationTime, e.LastUpdateTime
	m := &expMeta{
		ID: id, Name: e.Name, ArtifactLocation: appendToURIPath(s.artifactRoot, id),
		LifecycleStage: e.LifecycleStage, CreationTime: &created, LastUpdateTime: &updated,
	}
	trashed := e.LifecycleStage == store.LifecycleDeleted
	var tagsKey map[string]string // a deleted experiment's meta.yaml was rewritten with its tags
	if trashed {
		tagsKey = maps.Clone(e.Tags)
		if tagsKey == nil {
			tagsKey = map[string]string{}
		}
	}
	data, err := m.encode(tagsKey)
	if err != nil {
		return store.ImportResult{}, err
	}
	if trashed {
		if err := s.mkdirAll(filepath.Join(s.root, trashDir)); err != nil {
			return store.ImportResult{}, err
		}
	}
	err = s.publishDir(ctx, s.expDir(id, trashed), func(dir string) error {
		for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
			if err := s.writeFile(ctx, filepath.Join(dir, tagsDir, filepath.FromSlash(k)), dir, []byte(e.Tags[k]), lazy); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", data, syncFile)
	}, nil)
	if err != nil {
		return store.ImportResult{}, err
	}
	return store.ImportResult{ID: id, Created: true, ArtifactLocation: m.ArtifactLocation}, nil
}

// enterImport starts an import call: enter, the request's check, then
// (unless a dry run) lock. done releases both.
func (s *Store) enterImport(ctx context.Context, opts store.ImportOptions, lock func(context.Context) (func(), error), check error) (done func(), err error) {
	if err := s.enterWrite(ctx, check); err != nil {
		return nil, err
	}
	if opts.DryRun {
		return s.leave, nil
	}
	unlock, err := lock(ctx)
	if err != nil {
		s.leave()
		return nil, err
	}
	return func() { unlock(); s.leave() }, nil
}

// mergeExperimentTags returns the imported tags an existing experiment
// lacks, and notes for those it has with another value.
func mergeExperimentTags(have *store.Experiment, e store.ImportExperiment) (missing, notes []string) {
	for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
		v, ok := have.Tags[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case v != e.Tags[k]:
			notes = append(notes, fmt.Sprintf("experiment %q: tag %q differs; the destination's value is kept", e.Name, k))
		}
	}
	return missing, notes
}

// ImportRun implements store.Importer. A new run's directory (meta.yaml,
// params, tags, metric files with every point, inputs, outputs, an empty
// artifacts/) is assembled in the staging folder and renamed into its
// experiment's directory, in .trash if the experiment is deleted.
func (s *Store) ImportRun(ctx context.Context, r store.ImportRun, metrics store.MetricChunks, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterWrite(ctx, store.ValidateImportRun(r)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	runID := r.Info.RunID
	if loc, m, err := s.openRun(ctx, runID); err == nil {
		return s.compareRun(ctx, loc, m, r, metrics)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ImportResult{}, err
	}
	if opts.DryRun {
		var order store.KeyOrder
		for chunk, err := range metrics {
			if err == nil {
				err = order.Check(chunk)
			}
			if err != nil {
				return store.ImportResult{}, err
			}
		}
		return store.ImportResult{ID: runID, Created: true}, nil
	}
	expID := r.Info.ExperimentID
	expDir, trashed, err := s.findExperiment(expID)
	if err != nil {
		return store.ImportResult{}, store.NotFoundf("Could not import run %s into experiment %s: no such experiment", runID, expID)
	}
	exp, err := s.loadExperiment(ctx, expDir, expID)
	if err != nil {
		return store.ImportResult{}, err
	}
	m := &runMeta{
		RunID: runID, ExperimentID: expID, RunName: r.Info.RunName, UserID: r.Info.UserID,
		Status: r.Info.Status, StartTime: r.Info.StartTime, EndTime: clonePtr(r.Info.EndTime),
		ArtifactURI:    appendToURIPath(exp.ArtifactLocation, runID, artifactsDir),
		LifecycleStage: r.Info.LifecycleStage,
	}
	if m.LifecycleStage == store.LifecycleDeleted {
		m.DeletedTime = clonePtr(r.Info.DeletedTime)
	}
	meta, err := m.encode(m.EndTime == nil && m.LifecycleStage == store.LifecycleActive)
	if err != nil {
		return store.ImportResult{}, err
	}
	// Datasets are shared by the experiment's runs: written first, once.
	for _, in := range r.Inputs {
		dir := filepath.Join(expDir, datasetsDir, md5Hex(in.Dataset.Name, in.Dataset.Digest))
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		data, err := encodeDataset(in.Dataset)
		if err != nil {
			return store.ImportResult{}, err
		}
		if err := s.mkdirAll(filepath.Dir(dir)); err != nil {
			return store.ImportResult{}, err
		}
		if err := s.publishMetaDir(ctx, dir, data); err != nil {
			return store.ImportResult{}, err
		}
	}
	build := func(dir string) error {
		for _, sub := range []string{metricsDir, paramsDir, artifactsDir, tagsDir} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o777); err != nil {
				return fmt.Errorf("fsstore: import run: %w", err)
			}
		}
		for _, p := range r.Params {
			if err := s.writeFile(ctx, filepath.Join(dir, paramsDir, filepath.FromSlash(p.Key)), dir, []byte(p.Value), lazy); err != nil {
				return err
			}
		}
		for _, t := range r.Tags {
			if err := s.writeFile(ctx, filepath.Join(dir, tagsDir, filepath.FromSlash(t.Key)), dir, []byte(t.Value), lazy); err != nil {
				return err
			}
		}
		for _, in := range r.Inputs {
			datasetID := md5Hex(in.Dataset.Name, in.Dataset.Digest)
			data, err := encodeInput(datasetID, in.Tags)
			if err != nil {
				return err
			}
			if err := s.writeFile(ctx, filepath.Join(dir, inputsDir, md5Hex(datasetID, runID), metaFile), "", data, syncFile); err != nil {
				return err
			}
		}
		for _, o := range r.Outputs {
			data, err := encodeOutput(o.ModelID, o.Step)
			if err != nil {
				return err
			}
			if err := s.writeFile(ctx, filepath.Join(dir, outputsDir, o.ModelID, metaFile), "", data, syncFile); err != nil {
				return err
			}
		}
		if err := s.writeMetricStream(filepath.Join(dir, metricsDir), metrics); err != nil {
			return err
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", meta, syncFile)
	}
	guard := func() (func(), error) {
		unlock, err := s.lockRoot(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(s.expDir(expID, trashed), metaFile)); err != nil {
			unlock()
			return nil, store.InvalidStatef("Could not import run %s: experiment %s moved or vanished meanwhile", runID, expID)
		}
		return unlock, nil
	}
	err = s.publishDir(ctx, filepath.Join(expDir, runID), build, guard)
	if errors.Is(err, fs.ErrExist) {
		return store.ImportResult{}, store.Conflictf("run %s: a run directory with that id appeared meanwhile in %s", runID, expDir)
	}
	if err != nil {
		return store.ImportResult{}, err
	}
	p := s.placeRun(expID, runID)
	s.runExp.Lock()
	s.runExp.m[runID] = p
	s.runExp.Unlock()
	return store.ImportResult{ID: runID, Created: true, ArtifactLocation: m.ArtifactURI}, nil
}

// writeMetricStream writes the points of a metric stream into new metric
// files under dir (a run being assembled in the staging folder), one line
// per point in MLflow's format, fsyncing each file unless NoSync.
func (s *Store) writeMetricStream(dir string, metrics store.MetricChunks) error {
	var (
		order store.KeyOrder
		f     *os.File
		w     *bufio.Writer
		key   string
		buf   []byte
	)
	closeFile := func() error {
		if f == nil {
			return nil
		}
		err := w.Flush()
		if err == nil && !s.noSync {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		f = nil
		return err
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for chunk, err := range metrics {
		if err != nil {
			return err
		}
		if err := order.Check(chunk); err != nil {
			return err
		}
		for i := 0; i < len(chunk); {
			j := i + 1
			for j < len(chunk) && chunk[j].Key == chunk[i].Key {
				j++
			}
			if f == nil || chunk[i].Key != key {
				if err := closeFile(); err != nil {
					return err
				}
				key = chunk[i].Key
				path := filepath.Join(dir, filepath.FromSlash(key))
				if err := s.mkdirAll(filepath.Dir(path)); err != nil {
					return err
				}
				nf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
				if err != nil {
					return fmt.Errorf("fsstore: import metric %q: %w", key, err)
				}
				f, w = nf, bufio.NewWriterSize(nf, 64<<10)
			}
			buf = formatMetricLines(buf[:0], chunk[i:j], nil)
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("fsstore: import metric %q: %w", key, err)
			}
			i = j
		}
	}
	return closeFile()
}

// compareRun compares an existing run with the one an import would write,
// consuming the metric stream.
func (s *Store) compareRun(ctx context.Context, loc runLoc, m *runMeta, r store.ImportRun, metrics store.MetricChunks) (store.ImportResult, error) {
	have, err := s.loadRun(ctx, loc, m)
	if err != nil {
		return store.ImportResult{}, err
	}
	outputs, err := s.readOutputs(loc)
	if err != nil {
		return store.ImportResult{}, err
	}
	res := store.ImportResult{ID: m.RunID, ArtifactLocation: m.ArtifactURI}
	if d := store.DiffRun(have, outputs, yamlRun(r)); d != "" {
		return res, store.Conflictf("run %s already exists in the destination with other content: %s", m.RunID, d)
	}
	check := store.HistoryCheck{
		Load: func(key string) ([]store.Metric, error) {
			return readMetricHistory(filepath.Join(loc.dir, metricsDir), key)
		},
	}
	for _, x := range have.Data.Metrics {
		check.StoredKeys = append(check.StoredKeys, x.Key)
	}
	for chunk, err := range metrics {
		if err == nil {
			err = check.Add(chunk)
		}
		if err != nil {
			return res, err
		}
	}
	if d := check.Diff(); d != "" {
		return res, store.Conflictf("run %s already exists in the destination with other content: %s", m.RunID, d)
	}
	return res, nil
}

// yamlRun returns r with the fields kept in YAML as this store reads them
// back (see YAMLString).
func yamlRun(r store.ImportRun) store.ImportRun {
	r.Info.RunName, r.Info.UserID = YAMLString(r.Info.RunName), YAMLString(r.Info.UserID)
	inputs := make([]store.DatasetInput, len(r.Inputs))
	for i, in := range r.Inputs {
		d := in.Dataset
		for _, f := range []*string{&d.Name, &d.Digest, &d.SourceType, &d.Source, &d.Schema, &d.Profile} {
			*f = YAMLString(*f)
		}
		tags := make([]store.Tag, len(in.Tags))
		for j, t := range in.Tags {
			tags[j] = store.Tag{Key: YAMLString(t.Key), Value: YAMLString(t.Value)}
		}
		inputs[i] = store.DatasetInput{Dataset: d, Tags: tags}
	}
	r.Inputs = inputs
	return r
}

// findModelDir finds a logged model's directory in any experiment, active
// or in .trash, deleted models included.
func (s *Store) findModelDir(modelID string) (dir, expID string, err error) {
	for _, parent := range []string{s.root, filepath.Join(s.root, trashDir)} {
		ids, err := listExperimentDirs(parent, parent == s.root)
		if err != nil {
			return "", "", err
		}
		for _, id := range ids {
			d := filepath.Join(parent, id, modelsDir, modelID)
			if info, err := os.Stat(filepath.Join(d, metaFile)); err == nil && info.Mode().IsRegular() {
				return d, id, nil
			}
		}
	}
	return "", "", store.NotFoundf(loggedModelNotFound, modelID)
}

// ImportLoggedModel implements store.Importer. The model directory is
// assembled in the staging folder; the file store reads back the latest
// point of each metric key and dataset.
func (s *Store) ImportLoggedModel(ctx context.Context, m *store.LoggedModel, opts store.ImportOptions) (store.ImportResult, error) {
	if err := s.enterWrite(ctx, store.ValidateImportLoggedModel(m)); err != nil {
		return store.ImportResult{}, err
	}
	defer s.leave()
	if dir, _, err := s.findModelDir(m.ModelID); err == nil {
		meta, err := s.readLMMeta(ctx, dir)
		if err != nil {
			return store.ImportResult{}, err
		}
		res := store.ImportResult{ID: m.ModelID, ArtifactLocation: meta.ArtifactLocation}
		if meta.deleted() {
			return res, store.Conflictf("logged model %s exists in the destination, deleted", m.ModelID)
		}
		have, err := s.loadLoggedModel(dir, meta)
		if err != nil {
			return res, err
		}
		want := *m
		want.Metrics = fileModelMetrics(m.Metrics)
		for _, f := range []*string{&want.Name, &want.ModelType, &want.SourceRunID, &want.StatusMessage} {
			*f = YAMLString(*f)
		}
		if d := store.DiffLoggedModel(have, &want); d != "" {
			return res, store.Conflictf("logged model %s already exists in the destination with other content: %s", m.ModelID, d)
		}
		return res, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ImportResult{}, err
	}
	if opts.DryRun {
		return store.ImportResult{ID: m.ModelID, Created: true}, nil
	}
	expDir, trashed, err := s.findExperiment(m.ExperimentID)
	if err != nil {
		return store.ImportResult{}, store.NotFoundf("Could not import logged model %s into experiment %s: no such experiment", m.ModelID, m.ExperimentID)
	}
	exp, err := s.loadExperiment(ctx, expDir, m.ExperimentID)
	if err != nil {
		return store.ImportResult{}, err
	}
	meta := &lmMeta{
		ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name,
		ArtifactLocation: appendToURIPath(exp.ArtifactLocation, modelsDir, m.ModelID, artifactsDir),
		ModelType:        nonEmpty(m.ModelType), SourceRunID: nonEmpty(m.SourceRunID), StatusMessage: nonEmpty(m.StatusMessage),
		Status: m.Status, Created: m.CreationTimestamp, Updated: m.LastUpdatedTimestamp,
	}
	if m.Status == store.LoggedModelPending {
		meta.Lifecycle = store.LifecycleActive // as created; finalize drops the key
	}
	data, err := meta.encode()
	if err != nil {
		return store.ImportResult{}, err
	}
	var keys []string
	lines := map[string][]byte{}
	for _, x := range m.Metrics {
		if _, ok := lines[x.Key]; !ok {
			keys = append(keys, x.Key)
		}
		lines[x.Key] = append(lines[x.Key], formatModelMetricLine(x)...)
	}
	build := func(dir string) error {
		for _, sub := range []string{metricsDir, paramsDir, tagsDir, artifactsDir} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o777); err != nil {
				return fmt.Errorf("fsstore: import logged model: %w", err)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m.Params)) {
			if err := s.writeModelFile(ctx, dir, paramsDir, k, m.Params[k]); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			if err := s.writeModelFile(ctx, dir, tagsDir, k, m.Tags[k]); err != nil {
				return err
			}
		}
		for _, k := range keys {
			if err := s.writeFile(ctx, filepath.Join(dir, metricsDir, filepath.FromSlash(k)), dir, lines[k], syncFile); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", data, syncFile)
	}
	guard := func() (func(), error) {
		unlock, err := s.lockRoot(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(s.expDir(m.ExperimentID, trashed), metaFile)); err != nil {
			unlock()
			return nil, store.InvalidStatef("Could not import logged model %s: experiment %s moved or vanished meanwhile", m.ModelID, m.ExperimentID)
		}
		return unlock, nil
	}
	if err := s.mkdirAll(filepath.Join(expDir, modelsDir)); err != nil {
		return store.ImportResult{}, err
	}
	err = s.publishDir(ctx, filepath.Join(expDir, modelsDir, m.ModelID), build, guard)
	if errors.Is(err, fs.ErrExist) {
		return store.ImportResult{}, store.Conflictf("logged model %s: a directory with that id appeared meanwhile", m.ModelID)
	}
	if err != nil {
		return store.ImportResult{}, err
	}
	return store.ImportResult{ID: m.ModelID, Created: true, ArtifactLocation: meta.ArtifactLocation}, nil
}

// fileModelMetrics returns what the file store reads back of a model's
// metric points: the latest of each key and dataset.
func fileModelMetrics(points []store.LoggedModelMetric) []store.LoggedModelMetric {
	var keys []string
	byKey := map[string][]store.LoggedModelMetric{}
	for _, p := range points {
		if _, ok := byKey[p.Key]; !ok {
			keys = append(keys, p.Key)
		}
		byKey[p.Key] = append(byKey[p.Key], p)
	}
	var out []store.LoggedModelMetric
	for _, k := range keys {
		out = append(out, latestPerDataset(byKey[k])...)
	}
	return out
}

// ImportRegisteredModel implements store.Importer.
func (s *Store) ImportRegisteredModel(ctx context.Context, m *store.RegisteredModel, opts store.ImportOptions) (store.ImportResult, error) {
	done, err := s.enterImport(ctx, opts, s.lockRegistry, store.ValidateImportRegisteredModel(m))
	if err != nil {
		return store.ImportResult{}, err
	}
	defer done()
	res := store.ImportResult{ID: m.Name}
	if st, err := s.loadModel(ctx, m.Name); err == nil {
		want := *m
		want.Description = YAMLString(m.Description)
		if d := store.DiffRegisteredModel(st.rm(), &want); d != "" {
			return res, store.Conflictf("registered model %q already exists in the destination with other content: %s", m.Name, d)
		}
		return res, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	res.Created = true
	if opts.DryRun {
		return res, nil
	}
	meta := &rmMeta{Name: m.Name, Created: m.CreationTimestamp, Updated: m.LastUpdatedTimestamp, Description: strPtr(m.Description)}
	data, err := encodeRMMeta(meta, nil)
	if err != nil {
		return res, err
	}
	err = s.publishRegistryDir(ctx, s.modelDir(m.Name), func(dir string) error {
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			if err := s.writeKVFile(ctx, dir, tagsDir, k, m.Tags[k]); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", data, syncFile)
	})
	if errors.Is(err, fs.ErrExist) {
		return res, store.Conflictf("registered model %q: a directory with that name appeared meanwhile", m.Name)
	}
	return res, err
}

// ImportModelVersion implements store.Importer: the version directory is
// published complete, then its aliases are written (and mirrored in the
// model's meta.yaml, as MLflow does) without touching the model's
// last_updated_timestamp.
func (s *Store) ImportModelVersion(ctx context.Context, v *store.ModelVersion, opts store.ImportOptions) (store.ImportResult, error) {
	done, err := s.enterImport(ctx, opts, s.lockRegistry, store.ValidateImportModelVersion(v))
	if err != nil {
		return store.ImportResult{}, err
	}
	defer done()
	res := store.ImportResult{ID: v.Name + "/" + strconv.FormatInt(v.Version, 10)}
	st, err := s.loadModel(ctx, v.Name)
	if errors.Is(err, store.ErrNotFound) && opts.DryRun {
		res.Created = true // the model is still to be imported
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if vs := st.version(v.Version); vs != nil {
		if vs.deleted() {
			return res, store.Conflictf("model version %s exists in the destination, deleted", res.ID)
		}
		want := *v
		for _, f := range []*string{&want.Description, &want.UserID, &want.CurrentStage, &want.Source, &want.RunID,
			&want.RunLink, &want.Status, &want.StatusMessage, &want.StorageLocation, &want.ModelID} {
			*f = YAMLString(*f)
		}
		if d := store.DiffModelVersion(st.mv(vs), &want); d != "" {
			return res, store.Conflictf("model version %s already exists in the destination with other content: %s", res.ID, d)
		}
		return res, nil
	}
	want := strconv.FormatInt(v.Version, 10)
	for _, a := range v.Aliases {
		if raw, ok := st.aliases[a]; ok && raw != want {
			return res, store.Conflictf("model version %s: alias %q points at version %s in the destination", res.ID, a, raw)
		}
	}
	res.Created = true
	if opts.DryRun {
		return res, nil
	}
	meta := &mvMeta{
		Name: v.Name, Version: v.Version, Created: v.CreationTimestamp, Updated: v.LastUpdatedTimestamp,
		Stage: v.CurrentStage, Status: v.Status, Source: v.Source, Description: strPtr(v.Description),
		UserID: strPtr(v.UserID), RunID: strPtr(v.RunID), RunLink: strPtr(v.RunLink),
		StatusMessage: strPtr(v.StatusMessage), Storage: strPtr(v.StorageLocation), ModelID: strPtr(v.ModelID),
	}
	data, err := meta.encode()
	if err != nil {
		return res, err
	}
	err = s.publishRegistryDir(ctx, filepath.Join(st.dir, versionDirName(v.Version)), func(dir string) error {
		for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
			if err := s.writeKVFile(ctx, dir, tagsDir, k, v.Tags[k]); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", data, syncFile)
	})
	if errors.Is(err, fs.ErrExist) {
		return res, store.Conflictf("model version %s: a directory with that number appeared meanwhile", res.ID)
	}
	if err != nil {
		return res, err
	}
	if len(v.Aliases) == 0 {
		return res, nil
	}
	for _, a := range v.Aliases {
		if err := s.writeKVFile(ctx, st.dir, aliasesDir, a, want); err != nil {
			return res, err
		}
		st.aliases[a] = want
	}
	return res, s.writeRMMeta(ctx, st)
}

// ---- gc (store.Purger) ----

// PurgeRun implements store.Purger, as MLflow's FileStore._hard_delete_run:
// the run's directory (with its artifacts, in the default layout) goes.
func (s *Store) PurgeRun(ctx context.Context, runID string) error {
	if err := s.enterWrite(ctx, store.ValidateRunID(runID)); err != nil {
		return err
	}
	defer s.leave()
	loc, m, err := s.openRun(ctx, runID)
	if err != nil {
		return err
	}
	if m.LifecycleStage != store.LifecycleDeleted {
		return store.InvalidStatef("Run %s is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle stage can be deleted.", runID)
	}
	unlock, err := s.lockRoot(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.files.dropRun(runID)
	if err := s.removeModelDir(loc.dir); err != nil {
		return err
	}
	s.runExp.Lock()
	delete(s.runExp.m, runID)
	s.runExp.Unlock()
	return nil
}

// PurgeExperiment implements store.Purger, as MLflow's
// FileStore._hard_delete_experiment: the experiment's directory in .trash
// goes, with everything in it.
func (s *Store) PurgeExperiment(ctx context.Context, id string) error {
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
		return store.InvalidStatef("Experiment %s is not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.", id)
	}
	return s.removeModelDir(dir)
}

// ListDeletedLoggedModels implements store.Purger.
func (s *Store) ListDeletedLoggedModels(ctx context.Context) ([]*store.LoggedModel, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []*store.LoggedModel
	for _, parent := range []string{s.root, filepath.Join(s.root, trashDir)} {
		ids, err := listExperimentDirs(parent, parent == s.root)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			models := filepath.Join(parent, id, modelsDir)
			entries, err := os.ReadDir(models)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if !isDirEntry(models, e) || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				m, err := s.readLMMeta(ctx, filepath.Join(models, e.Name()))
				if err != nil || !m.deleted() {
					continue
				}
				out = append(out, &store.LoggedModel{ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name,
					ArtifactLocation: m.ArtifactLocation, Status: m.Status, CreationTimestamp: m.Created, LastUpdatedTimestamp: m.Updated})
			}
		}
	}
	slices.SortFunc(out, func(a, b *store.LoggedModel) int { return strings.Compare(a.ModelID, b.ModelID) })
	return out, nil
}

// PurgeLoggedModel implements store.Purger, as MLflow's
// FileStore._hard_delete_logged_model.
func (s *Store) PurgeLoggedModel(ctx context.Context, modelID string) error {
	if err := s.enterWrite(ctx, store.ValidateLoggedModelID(modelID)); err != nil {
		return err
	}
	defer s.leave()
	dir, _, err := s.findModelDir(modelID)
	if err != nil {
		return err
	}
	m, err := s.readLMMeta(ctx, dir)
	if err != nil {
		return err
	}
	if !m.deleted() {
		return store.InvalidStatef("Logged model %s is not in `deleted` lifecycle stage. Only logged models in `deleted` lifecycle stage can be deleted.", modelID)
	}
	return s.removeModelDir(dir)
}
