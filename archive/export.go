package archive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// ExportOptions select what Export (and Convert) take from a store. The
// selections intersect; none selects everything.
type ExportOptions struct {
	// Experiments names experiments (active or deleted); empty means all.
	Experiments []string
	// RunIDs selects runs by id; empty means every run of the selected
	// experiments.
	RunIDs []string
	// Filter is an MLflow search_runs filter the runs must match.
	Filter string
	// Progress, if set, is told how the export goes (unit "runs").
	Progress func(Progress)
}

// Progress reports how an export, import or conversion goes.
type Progress struct {
	Phase string // "export", "check" (an import's first pass), "import"
	Unit  string // "runs" or "bytes"
	Done  int64
	Total int64 // 0 when unknown
}

// metricChunk is the number of points of a metrics record.
const metricChunk = 1000

// selected reports whether the options narrow the runs (so that logged
// models and registry entries are taken only where they point at the
// exported runs).
func (o *ExportOptions) narrowed() bool { return len(o.RunIDs) > 0 || o.Filter != "" }

// exportWalk is the state of one walk over a store.
type exportWalk struct {
	s     store.Store
	opts  *ExportOptions
	notes *[]string
	// runs and lms hold the ids of the exported runs and logged models,
	// when the selection is narrowed (else everything is exported, and
	// nothing is kept: memory stays flat).
	runs map[string]bool
	lms  map[string]bool
	n    int64
}

// storeSource returns the entity stream of a store, for the selection in
// opts; notes collects what could not be exported (non-local artifacts,
// links).
func storeSource(s store.Store, opts ExportOptions, notes *[]string) source {
	return func(ctx context.Context) iter.Seq2[item, error] {
		return func(yield func(item, error) bool) {
			w := &exportWalk{s: s, opts: &opts, notes: notes, runs: map[string]bool{}, lms: map[string]bool{}}
			if err := w.walk(ctx, yield); err != nil && !errors.Is(err, errStopped) {
				yield(item{}, err)
			}
		}
	}
}

func (w *exportWalk) note(format string, args ...any) {
	if w.notes != nil {
		*w.notes = append(*w.notes, fmt.Sprintf(format, args...))
	}
}

func emit(yield func(item, error) bool, it item) error {
	if !yield(it, nil) {
		return errStopped
	}
	return nil
}

func (w *exportWalk) walk(ctx context.Context, yield func(item, error) bool) error {
	exps, err := w.experiments(ctx)
	if err != nil {
		return err
	}
	for _, e := range exps {
		rec := &experimentRec{ExperimentID: e.ID, Name: e.Name, ArtifactLocation: e.ArtifactLocation,
			LifecycleStage: e.LifecycleStage, CreationTime: e.CreationTime, LastUpdateTime: e.LastUpdateTime, Tags: nonNil(e.Tags)}
		if err := emit(yield, item{rec: &record{Kind: kindExperiment, Experiment: rec}}); err != nil {
			return err
		}
	}
	lms, hasLMs := store.AsLoggedModels(w.s)
	wantIDs := map[string]bool{}
	for _, id := range w.opts.RunIDs {
		wantIDs[id] = true
	}
	for _, e := range exps {
		q := store.RunQuery{ExperimentIDs: []string{e.ID}, Filter: w.opts.Filter, ViewType: store.AllViews, MaxResults: store.DefaultMaxResults}
		for {
			page, err := w.s.SearchRuns(ctx, q)
			if err != nil {
				return fmt.Errorf("export: runs of experiment %s: %w", e.ID, err)
			}
			for _, r := range page.Runs {
				if len(wantIDs) > 0 && !wantIDs[r.Info.RunID] {
					continue
				}
				var outputs []store.LoggedModelOutput
				if hasLMs {
					if outputs, err = lms.GetRunOutputs(ctx, r.Info.RunID); err != nil {
						return fmt.Errorf("export: outputs of run %s: %w", r.Info.RunID, err)
					}
				}
				if err := w.run(ctx, yield, r, outputs); err != nil {
					return err
				}
			}
			if q.PageToken = page.NextPageToken; q.PageToken == "" {
				break
			}
		}
	}
	if hasLMs {
		if err := w.loggedModels(ctx, yield, lms, exps); err != nil {
			return err
		}
	}
	if reg, ok := w.s.(store.Registry); ok {
		return w.registry(ctx, yield, reg)
	}
	return nil
}

// experiments returns the experiments to export: the named ones, or those
// of the selected runs, or all of them.
func (w *exportWalk) experiments(ctx context.Context) ([]*store.Experiment, error) {
	var exps []*store.Experiment
	switch {
	case len(w.opts.Experiments) > 0:
		for _, name := range w.opts.Experiments {
			e, err := w.s.GetExperimentByName(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("export: experiment %q: %w", name, err)
			}
			exps = append(exps, e)
		}
	case len(w.opts.RunIDs) > 0:
		seen := map[string]bool{}
		for _, id := range w.opts.RunIDs {
			r, err := w.s.GetRun(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("export: run %s: %w", id, err)
			}
			if seen[r.Info.ExperimentID] {
				continue
			}
			seen[r.Info.ExperimentID] = true
			e, err := w.s.GetExperiment(ctx, r.Info.ExperimentID)
			if err != nil {
				return nil, err
			}
			exps = append(exps, e)
		}
	default:
		q := store.ExperimentQuery{ViewType: store.AllViews}
		for {
			page, err := w.s.SearchExperiments(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("export: experiments: %w", err)
			}
			exps = append(exps, page.Experiments...)
			if q.PageToken = page.NextPageToken; q.PageToken == "" {
				break
			}
		}
	}
	slices.SortStableFunc(exps, func(a, b *store.Experiment) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(exps, func(a, b *store.Experiment) bool { return a.ID == b.ID }), nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func kvs[T store.Param | store.Tag](xs []T) []kvRec {
	out := make([]kvRec, len(xs))
	for i, x := range xs {
		switch v := any(x).(type) {
		case store.Param:
			out[i] = kvRec{v.Key, v.Value}
		case store.Tag:
			out[i] = kvRec{v.Key, v.Value}
		}
	}
	return out
}

// run emits a run, its metric history and its artifact files.
func (w *exportWalk) run(ctx context.Context, yield func(item, error) bool, r *store.Run, outputs []store.LoggedModelOutput) error {
	in := r.Info
	rec := &runRec{RunID: in.RunID, ExperimentID: in.ExperimentID, RunName: in.RunName, UserID: in.UserID,
		Status: in.Status.String(), StartTime: in.StartTime, EndTime: in.EndTime, LifecycleStage: in.LifecycleStage,
		ArtifactURI: in.ArtifactURI, Params: kvs(r.Data.Params), Tags: kvs(r.Data.Tags),
		Inputs: []datasetRec{}, Outputs: []outputRec{}}
	if in.LifecycleStage == store.LifecycleDeleted {
		rec.DeletedTime = in.DeletedTime
	}
	for _, d := range r.Inputs {
		rec.Inputs = append(rec.Inputs, datasetRec{Name: d.Dataset.Name, Digest: d.Dataset.Digest, SourceType: d.Dataset.SourceType,
			Source: d.Dataset.Source, Schema: d.Dataset.Schema, Profile: d.Dataset.Profile, Tags: kvs(d.Tags)})
	}
	for _, o := range outputs {
		rec.Outputs = append(rec.Outputs, outputRec{ModelID: o.ModelID, Step: o.Step})
	}
	if err := emit(yield, item{rec: &record{Kind: kindRun, Run: rec}}); err != nil {
		return err
	}
	var points int64
	for _, m := range r.Data.Metrics {
		h, err := w.s.GetMetricHistory(ctx, in.RunID, m.Key)
		if err != nil {
			return fmt.Errorf("export: history of metric %q of run %s: %w", m.Key, in.RunID, err)
		}
		for len(h) > 0 {
			n := min(metricChunk, len(h))
			pts := make([]point, n)
			for i, p := range h[:n] {
				pts[i] = point{Timestamp: p.Timestamp, Value: p.Value, Step: p.Step}
			}
			h = h[n:]
			points += int64(n)
			if err := emit(yield, item{rec: &record{Kind: kindMetrics, Metrics: &metricsRec{RunID: in.RunID, Key: m.Key, Points: pts}}}); err != nil {
				return err
			}
		}
	}
	if err := emit(yield, item{rec: &record{Kind: kindRunEnd, RunEnd: &runEndRec{RunID: in.RunID, MetricPoints: points}}}); err != nil {
		return err
	}
	if w.opts.narrowed() {
		w.runs[in.RunID] = true
	}
	w.n++
	if w.opts.Progress != nil {
		w.opts.Progress(Progress{Phase: "export", Unit: "runs", Done: w.n})
	}
	return w.files(ctx, yield, false, in.RunID, in.ArtifactURI)
}

// localDir returns the local directory of an artifact URI (a file: URI or
// a path), or false for a remote one.
func localDir(uri string) (string, bool) {
	if uri == "" {
		return "", false
	}
	if fileuri.IsFileURI(uri) {
		p, err := fileuri.ToPath(uri)
		return p, err == nil
	}
	if i := strings.Index(uri, ":"); i > 1 && !strings.ContainsAny(uri[:i], `/\`) {
		return "", false // s3://, mlflow-artifacts:, dbfs:, ...
	}
	return uri, true
}

// files emits the artifact files under an artifact location, in path
// order. Links and other non-regular files are skipped (and noted).
func (w *exportWalk) files(ctx context.Context, yield func(item, error) bool, model bool, owner, location string) error {
	dir, ok := localDir(location)
	if !ok {
		w.note("%s %s: artifacts at %s are not local and were not exported", ownerKind(model), owner, location)
		return nil
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return filepath.SkipDir
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			w.note("%s %s: artifact %s is not a regular file (a link?) and was not exported", ownerKind(model), owner, rel)
			return nil
		}
		if err := store.ValidateArtifactPath(rel); err != nil {
			w.note("%s %s: artifact %q has a path an archive cannot hold and was not exported", ownerKind(model), owner, rel)
			return nil
		}
		return w.file(yield, model, owner, rel, path)
	})
	if err != nil && !errors.Is(err, errStopped) {
		return fmt.Errorf("export: artifacts of %s %s: %w", ownerKind(model), owner, err)
	}
	return err
}

func ownerKind(model bool) string {
	if model {
		return "logged model"
	}
	return "run"
}

// file emits one artifact file: hashed first, then read again for its
// content, which must hash the same (a file changed meanwhile fails).
func (w *exportWalk) file(yield func(item, error) bool, model bool, owner, rel, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	sum, n, err := hashOf(f)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cr := newCheckedReader(f, n, sum, path)
	cr.bad = func(string) error { return fmt.Errorf("export: artifact %s changed while it was being exported", path) }
	it := &file{model: model, owner: owner, path: rel, size: n, mode: info.Mode(), sha256: sum, r: cr}
	if err := emit(yield, item{file: it}); err != nil {
		return err
	}
	return drain(cr)
}

// loggedModels emits the logged models of the exported experiments (of
// the exported runs, when the selection is narrowed), with their files.
func (w *exportWalk) loggedModels(ctx context.Context, yield func(item, error) bool, lms store.LoggedModels, exps []*store.Experiment) error {
	ids := make([]string, len(exps))
	for i, e := range exps {
		ids[i] = e.ID
	}
	outputOf := map[string]bool{}
	if w.opts.narrowed() {
		for runID := range w.runs {
			outs, err := lms.GetRunOutputs(ctx, runID)
			if err != nil {
				return err
			}
			for _, o := range outs {
				outputOf[o.ModelID] = true
			}
		}
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 100)]
		ids = ids[len(batch):]
		q := store.LoggedModelQuery{ExperimentIDs: batch, MaxResults: 100,
			OrderBy: []store.LoggedModelOrderBy{{FieldName: "creation_timestamp", Ascending: true}}}
		for {
			page, err := lms.SearchLoggedModels(ctx, q)
			if err != nil {
				return fmt.Errorf("export: logged models: %w", err)
			}
			for _, m := range page.Models {
				if w.opts.narrowed() && !outputOf[m.ModelID] && (m.SourceRunID == "" || !w.runs[m.SourceRunID]) {
					continue
				}
				if err := w.loggedModel(ctx, yield, m); err != nil {
					return err
				}
			}
			if q.PageToken = page.NextPageToken; q.PageToken == "" {
				break
			}
		}
	}
	return nil
}

func (w *exportWalk) loggedModel(ctx context.Context, yield func(item, error) bool, m *store.LoggedModel) error {
	rec := &loggedModelRec{ModelID: m.ModelID, ExperimentID: m.ExperimentID, Name: m.Name, ArtifactLocation: m.ArtifactLocation,
		ModelType: m.ModelType, SourceRunID: m.SourceRunID, Status: m.Status.String(), StatusMessage: m.StatusMessage,
		CreationTimestamp: m.CreationTimestamp, LastUpdatedTimestamp: m.LastUpdatedTimestamp,
		Tags: nonNil(m.Tags), Params: nonNil(m.Params), Metrics: []lmMetricRec{}}
	dropped := 0
	for _, x := range m.Metrics {
		if !w.runExported(x.RunID) {
			dropped++ // its run is not exported: the point could not be imported
			continue
		}
		rec.Metrics = append(rec.Metrics, lmMetricRec{Key: x.Key, Value: jsonFloat(x.Value), Timestamp: x.Timestamp, Step: x.Step,
			RunID: x.RunID, DatasetName: x.DatasetName, DatasetDigest: x.DatasetDigest})
	}
	if dropped > 0 {
		w.note("logged model %s: %d metric points of runs that are not exported were left out", m.ModelID, dropped)
	}
	if err := emit(yield, item{rec: &record{Kind: kindLoggedModel, LoggedModel: rec}}); err != nil {
		return err
	}
	if w.opts.narrowed() {
		w.lms[m.ModelID] = true
	}
	return w.files(ctx, yield, true, m.ModelID, m.ArtifactLocation)
}

// registry emits the registered models and their versions (those that
// point at the exported runs and models, when the selection is narrowed).
func (w *exportWalk) registry(ctx context.Context, yield func(item, error) bool, reg store.Registry) error {
	var models []*store.RegisteredModel
	q := store.RegisteredModelQuery{MaxResults: store.MaxRegisteredModelMaxResults}
	for {
		page, err := reg.SearchRegisteredModels(ctx, q)
		if err != nil {
			return fmt.Errorf("export: registered models: %w", err)
		}
		models = append(models, page.Models...)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	// Prompts are registered models too, which searches leave out unless
	// asked for.
	q = store.RegisteredModelQuery{Filter: "tags.`" + store.PromptTagKey + "` = 'true'", MaxResults: store.MaxRegisteredModelMaxResults}
	for {
		page, err := reg.SearchRegisteredModels(ctx, q)
		if err != nil {
			break // a backend without prompt filters: none to add
		}
		models = append(models, page.Models...)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	byName := map[string][]*store.ModelVersion{}
	vq := store.ModelVersionQuery{MaxResults: store.MaxModelVersionMaxResults}
	for {
		page, err := reg.SearchModelVersions(ctx, vq)
		if err != nil {
			return fmt.Errorf("export: model versions: %w", err)
		}
		for _, v := range page.Versions {
			byName[v.Name] = append(byName[v.Name], v)
		}
		if vq.PageToken = page.NextPageToken; vq.PageToken == "" {
			break
		}
	}
	slices.SortFunc(models, func(a, b *store.RegisteredModel) int { return strings.Compare(a.Name, b.Name) })
	models = slices.CompactFunc(models, func(a, b *store.RegisteredModel) bool { return a.Name == b.Name })
	for _, m := range models {
		var keep []*store.ModelVersion
		for _, v := range byName[m.Name] {
			if !w.opts.narrowed() || w.pointsAtExported(v) {
				// Get the version alone: searches may leave out fields
				// (aliases) that a get fills in.
				full, err := reg.GetModelVersion(ctx, v.Name, v.Version)
				if err != nil {
					return fmt.Errorf("export: model version %s/%d: %w", v.Name, v.Version, err)
				}
				keep = append(keep, full)
			}
		}
		if w.opts.narrowed() && len(keep) == 0 {
			continue
		}
		slices.SortFunc(keep, func(a, b *store.ModelVersion) int { return cmp.Compare(a.Version, b.Version) })
		full, err := reg.GetRegisteredModel(ctx, m.Name)
		if err != nil {
			return fmt.Errorf("export: registered model %q: %w", m.Name, err)
		}
		rec := &registeredModelRec{Name: full.Name, CreationTimestamp: full.CreationTimestamp, LastUpdatedTimestamp: full.LastUpdatedTimestamp,
			Description: full.Description, Tags: nonNil(full.Tags)}
		if err := emit(yield, item{rec: &record{Kind: kindRegisteredModel, RegisteredModel: rec}}); err != nil {
			return err
		}
		for _, v := range keep {
			if err := emit(yield, item{rec: &record{Kind: kindModelVersion, ModelVersion: w.versionRec(ctx, v)}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// runExported reports whether a run is exported.
func (w *exportWalk) runExported(id string) bool { return !w.opts.narrowed() || w.runs[id] }

// pointsAtExported reports whether a version's run or logged model is
// exported (the selection being narrowed).
func (w *exportWalk) pointsAtExported(v *store.ModelVersion) bool {
	if v.RunID != "" && w.runs[v.RunID] || v.ModelID != "" && w.lms[v.ModelID] {
		return true
	}
	id, ok := store.IsLoggedModelURI(v.Source)
	return ok && w.lms[id]
}

func (w *exportWalk) versionRec(ctx context.Context, v *store.ModelVersion) *modelVersionRec {
	rec := &modelVersionRec{Name: v.Name, Version: v.Version, CreationTimestamp: v.CreationTimestamp, LastUpdatedTimestamp: v.LastUpdatedTimestamp,
		Description: v.Description, UserID: v.UserID, CurrentStage: v.CurrentStage, Source: v.Source, RunID: v.RunID, RunLink: v.RunLink,
		Status: v.Status, StatusMessage: v.StatusMessage, StorageLocation: v.StorageLocation, ModelID: v.ModelID,
		Tags: nonNil(v.Tags), Aliases: slices.Sorted(slices.Values(v.Aliases))}
	if rec.Aliases == nil {
		rec.Aliases = []string{}
	}
	roots := w.versionRoots(ctx, v)
	rec.SourceArtifact = refOf(v.Source, roots)
	rec.StorageArtifact = refOf(v.StorageLocation, roots)
	return rec
}

// versionRoots returns the artifact roots a version's source may lie
// under: of its run and of its logged model, if they are exported.
func (w *exportWalk) versionRoots(ctx context.Context, v *store.ModelVersion) []artifactRoot {
	var roots []artifactRoot
	if v.RunID != "" && w.runExported(v.RunID) {
		if r, err := w.s.GetRun(ctx, v.RunID); err == nil {
			roots = append(roots, artifactRoot{ref: artifactRef{RunID: v.RunID}, location: r.Info.ArtifactURI})
		}
	}
	lms, ok := store.AsLoggedModels(w.s)
	if !ok {
		return roots
	}
	for _, id := range []string{v.ModelID, strings.TrimPrefix(v.Source, "models:/")} {
		if store.ValidateLoggedModelID(id) != nil || w.opts.narrowed() && !w.lms[id] {
			continue
		}
		if m, err := lms.GetLoggedModel(ctx, id); err == nil {
			roots = append(roots, artifactRoot{ref: artifactRef{ModelID: id}, location: m.ArtifactLocation})
		}
	}
	return roots
}

// artifactRoot is the artifact location of a run or a logged model.
type artifactRoot struct {
	ref      artifactRef
	location string
}

// refOf returns the artifact place a location names, if it lies under one
// of the roots.
func refOf(location string, roots []artifactRoot) *artifactRef {
	p, ok := localDir(location)
	if !ok || !filepath.IsAbs(p) {
		return nil
	}
	for _, root := range roots {
		dir, ok := localDir(root.location)
		if !ok || !filepath.IsAbs(dir) {
			continue
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel != "." && !filepath.IsLocal(rel) {
			continue
		}
		ref := root.ref
		if rel != "." {
			ref.Path = filepath.ToSlash(rel)
		}
		return &ref
	}
	return nil
}

// sourceOf describes a store for an archive's header.
func sourceOf(s store.Store) sourceInfo {
	if sq, ok := s.(*sqlstore.Store); ok {
		return sourceInfo{Kind: "sqlite", MLflowVersion: sq.MLflowVersion()}
	}
	return sourceInfo{Kind: "file"}
}

// Export writes an archive of the store's entities selected by opts to w,
// streaming: memory stays flat however large the store. It returns the
// counts written and notes on what could not be exported.
func Export(ctx context.Context, s store.Store, w io.Writer, opts ExportOptions) (Counts, []string, error) {
	if opts.Filter != "" {
		// Check the filter before writing anything.
		if _, err := s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{store.DefaultExperimentID}, Filter: opts.Filter, MaxResults: 1}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Counts{}, nil, err
		}
	}
	var notes []string
	wr, err := newWriter(w, sourceOf(s), Version())
	if err != nil {
		return Counts{}, nil, err
	}
	for it, err := range storeSource(s, opts, &notes)(ctx) {
		if err == nil {
			err = wr.add(it)
		}
		if err != nil {
			wr.sums.Close()
			return wr.counts, notes, err
		}
	}
	if err := wr.close(); err != nil {
		return wr.counts, notes, err
	}
	return wr.counts, notes, nil
}
