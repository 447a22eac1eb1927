package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/mlrun-go/mlrun/store"
)

// GCOptions select what GC removes, as `mlflow gc`'s flags do.
type GCOptions struct {
	// OlderThan keeps entities deleted more recently than this (runs by
	// deleted_time, experiments by last_update_time, logged models by
	// last_updated_timestamp); zero removes every deleted entity.
	OlderThan time.Duration
	// ExperimentIDs, RunIDs and LoggedModelIDs restrict GC to these
	// entities, which must be deleted (and old enough, with OlderThan).
	ExperimentIDs  []string
	RunIDs         []string
	LoggedModelIDs []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// GCResult lists what GC removed.
type GCResult struct {
	Runs         []string
	LoggedModels []string
	Experiments  []string
	// Notes lists artifacts left in place (not local, or not in the
	// store's default layout, which mlrun never removes blindly).
	Notes []string
}

var olderThanRe = regexp.MustCompile(`^(([.\d]+?)d)?(([.\d]+?)h)?(([.\d]+?)m)?(([.\d]+?)s)?$`)

// ParseOlderThan parses `mlflow gc --older-than`: days, hours, minutes and
// seconds, each optional and possibly fractional, in that order, such as
// "30d", "1d2h3m4s" or "1.5h".
func ParseOlderThan(s string) (time.Duration, error) {
	m := olderThanRe.FindStringSubmatch(s)
	if m == nil || s == "" {
		return 0, store.Invalidf("Could not parse any time information from '%s'. Examples of valid strings: '8h', '2d8h5m20s', '2m4s'", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		v := m[2+2*i]
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, store.Invalidf("Could not parse any time information from '%s'. Examples of valid strings: '8h', '2d8h5m20s', '2m4s'", s)
		}
		d += time.Duration(f * float64(unit))
	}
	return d, nil
}

// GC permanently removes deleted runs, logged models and experiments with
// their artifacts, as `mlflow gc` does (mlflow/cli: _gc_tracking_resources):
// runs in the deleted lifecycle stage (and every deleted run of the
// experiments removed), deleted logged models, deleted experiments. A
// run's or a logged model's artifact directory is removed only if it is
// local and in MLflow's default layout (.../<run id>/artifacts,
// .../models/<model id>/artifacts); others are left and noted. The store
// is left as MLflow opens it.
func GC(ctx context.Context, s store.Store, opts GCOptions) (GCResult, error) {
	var res GCResult
	p, ok := s.(store.Purger)
	if !ok {
		return res, fmt.Errorf("gc: the store (%T) cannot remove entities", s)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	threshold := now().UnixMilli() - opts.OlderThan.Milliseconds()
	exps, err := allExperiments(ctx, s, store.AllViews)
	if err != nil {
		return res, err
	}
	// Deleted runs old enough, in every experiment.
	oldRuns := map[string]bool{}
	var oldOrder []string
	for _, e := range exps {
		err := eachRun(ctx, s, e.ID, store.DeletedOnly, func(r *store.Run) {
			if r.Info.DeletedTime == nil || *r.Info.DeletedTime <= threshold {
				oldRuns[r.Info.RunID] = true
				oldOrder = append(oldOrder, r.Info.RunID)
			}
		})
		if err != nil {
			return res, err
		}
	}
	runIDs := oldOrder
	if opts.RunIDs != nil {
		runIDs = slices.Clone(opts.RunIDs)
	}
	// Experiments.
	var expIDs []string
	if len(opts.ExperimentIDs) > 0 {
		for _, id := range opts.ExperimentIDs {
			e, err := s.GetExperiment(ctx, id)
			if err != nil {
				return res, err
			}
			if e.LifecycleStage != store.LifecycleDeleted {
				return res, store.Invalidf("Experiments ['%s'] are not in the deleted lifecycle stage. Only experiments in the deleted lifecycle stage can be hard-deleted.", id)
			}
			if opts.OlderThan > 0 && e.LastUpdateTime >= threshold {
				return res, store.Invalidf("Experiments ['%s'] are not older than the required age. Only experiments older than %s can be deleted.", id, opts.OlderThan)
			}
			expIDs = append(expIDs, id)
		}
	} else {
		for _, e := range exps {
			if e.LifecycleStage == store.LifecycleDeleted && (opts.OlderThan == 0 || e.LastUpdateTime < threshold) {
				expIDs = append(expIDs, e.ID)
			}
		}
	}
	for _, id := range expIDs {
		err := eachRun(ctx, s, id, store.DeletedOnly, func(r *store.Run) { runIDs = append(runIDs, r.Info.RunID) })
		if err != nil {
			return res, err
		}
	}
	// Logged models.
	deletedModels, err := p.ListDeletedLoggedModels(ctx)
	if err != nil {
		return res, err
	}
	models := map[string]*store.LoggedModel{}
	var modelIDs []string
	for _, m := range deletedModels {
		models[m.ModelID] = m
		if opts.LoggedModelIDs == nil && m.LastUpdatedTimestamp <= threshold {
			modelIDs = append(modelIDs, m.ModelID)
		}
	}
	if opts.LoggedModelIDs != nil {
		modelIDs = opts.LoggedModelIDs
	}

	seen := map[string]bool{}
	for _, id := range runIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		r, err := s.GetRun(ctx, id)
		if err != nil {
			return res, err
		}
		if r.Info.LifecycleStage != store.LifecycleDeleted {
			return res, store.Invalidf("Run %s is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle stage can be deleted.", id)
		}
		if opts.OlderThan > 0 && !oldRuns[id] {
			return res, store.Invalidf("Run %s is not older than the required age. Only runs older than %s can be deleted.", id, opts.OlderThan)
		}
		if note := removeArtifacts(r.Info.ArtifactURI, id, false); note != "" {
			res.Notes = append(res.Notes, note)
		}
		if err := p.PurgeRun(ctx, id); err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, id)
	}
	for _, id := range modelIDs {
		m, ok := models[id]
		if !ok {
			return res, store.Invalidf("Logged model %s is not in `deleted` lifecycle stage. Only logged models in `deleted` lifecycle stage can be deleted.", id)
		}
		if opts.OlderThan > 0 && m.LastUpdatedTimestamp > threshold {
			return res, store.Invalidf("Logged model %s is not older than the required age. Only logged models older than %s can be deleted.", id, opts.OlderThan)
		}
		if note := removeArtifacts(m.ArtifactLocation, id, true); note != "" {
			res.Notes = append(res.Notes, note)
		}
		if err := p.PurgeLoggedModel(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
		res.LoggedModels = append(res.LoggedModels, id)
	}
	for _, id := range expIDs {
		if err := p.PurgeExperiment(ctx, id); err != nil {
			return res, err
		}
		res.Experiments = append(res.Experiments, id)
	}
	return res, nil
}

// removeArtifacts removes a run's (or logged model's) artifact directory
// if it is local and in the default layout, and otherwise returns a note.
func removeArtifacts(location, id string, model bool) string {
	dir, ok := localDir(location)
	if !ok {
		return fmt.Sprintf("%s %s: artifacts at %s are not local and were left in place", ownerKind(model), id, location)
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	layout := filepath.Base(dir) == "artifacts" && filepath.Base(parent) == id
	if model {
		layout = layout && filepath.Base(filepath.Dir(parent)) == "models"
	}
	if !layout || !filepath.IsAbs(dir) {
		return fmt.Sprintf("%s %s: artifacts at %s are not in MLflow's default layout and were left in place", ownerKind(model), id, location)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Sprintf("%s %s: could not remove the artifacts at %s: %v", ownerKind(model), id, dir, err)
	}
	return ""
}

func allExperiments(ctx context.Context, s store.Store, view store.ViewType) ([]*store.Experiment, error) {
	var out []*store.Experiment
	q := store.ExperimentQuery{ViewType: view}
	for {
		page, err := s.SearchExperiments(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Experiments...)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			return out, nil
		}
	}
}

func eachRun(ctx context.Context, s store.Store, expID string, view store.ViewType, fn func(*store.Run)) error {
	q := store.RunQuery{ExperimentIDs: []string{expID}, ViewType: view, MaxResults: store.DefaultMaxResults}
	for {
		page, err := s.SearchRuns(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range page.Runs {
			fn(r)
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			return nil
		}
	}
}
