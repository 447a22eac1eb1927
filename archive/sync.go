package archive

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/store"
)

// SourceRunIDTag is the tag every run Sync writes carries: the id the run
// has in the store it was synced from. A tracking server chooses the ids
// of the runs created through its REST API, so this tag is how a later
// Sync finds the server's copy of a source run (and how a user finds it:
// `tags."mlrun.sourceRunId" = '<id>'`).
const SourceRunIDTag = "mlrun.sourceRunId"

// SourceVersionTag is the tag every model version Sync creates carries:
// the version's number in the store it was synced from (a server numbers
// the versions it creates itself). A version is the synced copy of a
// source version when it has this tag and its run is the synced copy of
// the source version's run.
const SourceVersionTag = "mlrun.sourceVersion"

// SyncOptions tune Sync and SyncArchive.
type SyncOptions struct {
	// Experiments, RunIDs and Filter select what Sync takes from its
	// source, as ExportOptions do (SyncArchive syncs the whole archive).
	Experiments []string
	RunIDs      []string
	Filter      string
	// Progress, if set, is told how the sync goes: phase "check" (the
	// first pass, writing nothing) then "sync".
	Progress func(Progress)
	// OpenArtifacts opens the artifact repository of a run on the
	// destination, at the artifact URI the destination gave the run. Nil
	// uses the destination's ArtifactRepo method (reststore.Store's: the
	// artifact proxy over the store's own transport), else
	// artifactrepo.Open (local artifact URIs).
	OpenArtifacts func(artifactURI string) (artifactrepo.Repo, error)

	phase func(string) // SyncArchive: the pass starting
}

// SyncTally counts runs a sync created, changed and found up to date.
type SyncTally struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// SyncStats is what a sync did.
type SyncStats struct {
	Experiments Tally     `json:"experiments"`
	Runs        SyncTally `json:"runs"`
	// MetricPoints, Params, Tags and Inputs count what was sent.
	MetricPoints int64 `json:"metric_points"`
	Params       int64 `json:"params"`
	Tags         int64 `json:"tags"`
	Inputs       int64 `json:"inputs"`
	// Artifacts counts files uploaded (Created) and found identical on the
	// destination (Unchanged); ArtifactBytes the bytes uploaded.
	Artifacts     Tally `json:"artifacts"`
	ArtifactBytes int64 `json:"artifact_bytes"`
	// LoggedModels counts MLflow 3 logged models created, changed and
	// found up to date; ModelMetricPoints their metric points sent, and
	// Outputs the run outputs (run to logged model links) logged.
	LoggedModels      SyncTally `json:"logged_models"`
	ModelMetricPoints int64     `json:"model_metric_points"`
	Outputs           int64     `json:"outputs"`
	// RegisteredModels and ModelVersions count the registry entries
	// created and found (a version found may have had its stage, tags or
	// aliases updated).
	RegisteredModels Tally `json:"registered_models"`
	ModelVersions    Tally `json:"model_versions"`
	// Notes lists what was not synced (deleted entities, logged models a
	// server without them cannot hold, some model versions) and
	// differences kept as the destination had them.
	Notes []string `json:"notes"`

	registryUpdates int // stage transitions, tags and aliases set
}

// Changed reports whether the sync wrote anything.
func (s *SyncStats) Changed() bool {
	return s.Experiments.Created+s.Runs.Created+s.Runs.Updated+s.Artifacts.Created+s.RegisteredModels.Created+
		s.ModelVersions.Created+s.registryUpdates+s.LoggedModels.Created+s.LoggedModels.Updated+int(s.Outputs) > 0
}

// Sync pushes the runs of a local store (src: an mlruns directory or an
// SQLite database, usually logged offline) to dst, usually an MLflow
// tracking server (reststore), where run ids cannot be chosen.
//
// Experiments are matched by name, and created when missing (with their
// tags; an experiment tag the destination has with another value is kept
// and noted). Each source run becomes one destination run carrying the
// source run's id in the SourceRunIDTag tag, with its name, user, start
// and end time, status, params, tags, dataset inputs, full metric history
// (timestamps and steps exact, NaN and ±Inf as the server stores them) and
// artifact files, uploaded byte for byte through package artifactrepo.
// A nested run keeps its parent: mlflow.parentRunId is rewritten to the
// destination's id of the parent (set once the parent is synced; a parent
// outside the selection that was never synced is dropped, with a note).
//
// Syncing again is idempotent, and appends what a resumed source run
// logged since: the destination run is found by its SourceRunIDTag; params
// and tags it lacks are logged, tags whose value changed are set again (a
// tag deleted in the source is not deleted on the destination), dataset
// inputs it lacks are logged, status, end time and name are updated, and
// artifact files missing or of other content are uploaded. Metric points
// are compared per key with the destination's history, as multisets of
// (timestamp, step, stored value): MLflow's SQL store (every MLflow
// server's backend) keeps a point equal to one it holds (same key,
// timestamp, step and value, ±Inf as ±MaxFloat64, NaN equal to NaN) once,
// so repeated source points are sent once and a point the server holds is
// never sent again.
// Memory holds one key's history of one run at a time.
//
// Params are immutable in MLflow: a source param whose value differs from
// the destination's is a conflict (an error matching store.ErrConflict).
//
// The model registry is synced where it points at synced runs:
// registered models are matched by name (created with their description
// and tags if missing; tags they lack are added), and each version whose
// source lies among a synced run's artifacts becomes one server version
// (numbered by the server) whose source is the same place among the
// server run's artifacts, with its run, description, tags, stage and
// aliases, and the source version's number in the SourceVersionTag tag;
// syncing again finds it by that tag and its run, and brings its tags,
// stage and aliases up to date.
//
// MLflow 3 logged models are synced to a destination that has them (an
// MLflow 3 server): each model whose source run is synced, or that has
// no source run, becomes one destination model (whose id the server
// chooses) carrying the source model's id in the SourceModelIDTag tag,
// with its name, model type, source run (the destination's copy),
// params, tags, status, metric points (their run rewritten to the
// destination's copy; points of runs not synced are dropped) and
// artifact files. Syncing again finds it by that tag in its experiment
// and adds what it lacks: tags missing or changed, params missing (one
// that differs is a conflict), metric points it does not hold, files
// missing or of other content, and a new status. The mlflow.modelVersions
// tag is not copied: it lists the destination's versions made from the
// model, as MLflow's client writes it. The run outputs linking a synced
// run to synced models are logged on the destination run (those it has
// are kept), and a model version whose source is a synced model's
// models:/<id> URI (or a place among its artifacts) gets the
// destination model's URI (or place) as its source and its id as
// model_id, and is synced as the others.
//
// Nothing is written before the whole source has been checked against
// dst (validation, conflicts, and whether the server can be reached): the
// first pass reads everything and writes nothing. What is not synced, and
// noted in SyncStats.Notes: deleted experiments and runs of the source,
// runs deleted on the destination (left as they are), logged models
// whose source run is not synced, logged models with their run outputs
// and versions when the destination has none (an MLflow 2 server), and
// model versions that point at neither a synced run's artifacts nor a
// synced logged model. A logged model deleted on the destination after
// it was synced is created again.
func Sync(ctx context.Context, src, dst store.Store, opts SyncOptions) (SyncStats, error) {
	var notes []string
	st, err := syncSource(ctx, dst, storeSource(src, ExportOptions{Experiments: opts.Experiments, RunIDs: opts.RunIDs, Filter: opts.Filter}, &notes), opts)
	st.Notes = append(st.Notes, dedupe(notes)...)
	return st, err
}

// SyncArchive pushes the runs of an archive file (written by Export) to
// dst, as Sync does: it is `mlrun import` into an http(s) tracking
// server. The archive is checked whole (checksums, format, structure)
// and against dst before anything is written.
func SyncArchive(ctx context.Context, path string, dst store.Store, opts SyncOptions) (SyncStats, error) {
	var done, total int64
	phase := ""
	read := func(n int64) {
		done += n
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: phase, Unit: "bytes", Done: done, Total: total})
		}
	}
	src, size, err := fileSource(path, read)
	if err != nil {
		return SyncStats{}, err
	}
	total = size
	inner := opts
	inner.Progress = nil
	inner.phase = func(p string) { phase, done = p, 0 }
	return syncSource(ctx, dst, src, inner)
}

func syncSource(ctx context.Context, dst store.Store, src source, opts SyncOptions) (SyncStats, error) {
	if opts.OpenArtifacts == nil {
		if r, ok := dst.(interface {
			ArtifactRepo(string) (artifactrepo.Repo, error)
		}); ok {
			opts.OpenArtifacts = r.ArtifactRepo
		} else {
			opts.OpenArtifacts = func(uri string) (artifactrepo.Repo, error) { return artifactrepo.Open(uri, nil) }
		}
	}
	sy := &syncer{ctx: ctx, dst: dst, opts: opts, srcExps: map[string]*syncExp{},
		runs: map[string]*store.Run{}, loaded: map[string]bool{}, inStream: map[string]bool{},
		versions: map[string]map[versionKey]*store.ModelVersion{}, aliases: map[string]map[string]int64{},
		models: map[string]*store.LoggedModel{}, lmLoaded: map[string]bool{}, lmInStream: map[string]bool{}}
	sy.lms, _ = store.AsLoggedModels(dst)
	if opts.phase != nil {
		opts.phase("check")
	}
	if err := sy.pass(src, true); err != nil {
		return SyncStats{}, err
	}
	sy.nruns = 0
	if opts.phase != nil {
		opts.phase("sync")
	}
	sy.stats = SyncStats{}
	err := sy.pass(src, false)
	if err == nil {
		err = sy.finishParents()
	}
	if err == nil {
		err = sy.finishOutputs()
	}
	sy.stats.Notes = append(sy.stats.Notes, sy.skipNotes()...)
	return sy.stats, err
}

// syncer is the state of a sync: the two passes share what they learn of
// the destination.
type syncer struct {
	ctx  context.Context
	dst  store.Store
	opts SyncOptions
	dry  bool

	srcExps map[string]*syncExp // source experiment id -> its place on dst
	// runs maps source run ids to their runs on dst, for the destination
	// experiments loaded (loaded) and the runs created.
	runs   map[string]*store.Run
	loaded map[string]bool
	// versions maps a registered model's name to its versions on dst
	// that were synced, by SourceVersionTag and run (loaded once).
	versions map[string]map[versionKey]*store.ModelVersion
	aliases  map[string]map[string]int64 // a registered model's aliases on dst (loaded with versions)
	inStream map[string]bool             // source runs the first pass found to sync
	deferred []deferredParent

	lms store.LoggedModels // nil: dst has no logged models (an MLflow 2 server)
	// models maps source logged model ids to their models on dst, for the
	// destination experiments loaded (lmLoaded) and the models created.
	models     map[string]*store.LoggedModel
	lmLoaded   map[string]bool
	lmInStream map[string]bool // source models the first pass found to sync
	outputs    []pendingOutput // second pass: logged after the models

	stats SyncStats
	nruns int64
	skip  skipped

	stream
}

type syncExp struct {
	id   string // on dst; "" in the check pass for one still to create
	skip bool   // deleted in the source: not synced
}

// deferredParent is a nested run synced before its parent.
type deferredParent struct {
	runID, parentSrcID string // the child's id on dst, the parent's in the source
}

// skipped counts what the sync leaves out (second pass).
type skipped struct {
	deletedExps, deletedRuns, dstDeleted, loggedModels, lmNoRun, lmPoints, outputs, registered, versions, parents int
}

func (sy *syncer) skipNotes() []string {
	var out []string
	k := sy.skip
	add := func(n int, format string) {
		if n > 0 {
			out = append(out, fmt.Sprintf(format, n))
		}
	}
	add(k.deletedExps, "%d deleted experiments of the source were not synced (nor their runs)")
	add(k.deletedRuns, "%d deleted runs of the source were not synced")
	add(k.dstDeleted, "%d runs synced before are deleted on the destination and were left as they are")
	add(k.loggedModels, "%d logged models were not synced: the destination has no MLflow 3 logged models (an MLflow 2 server)")
	add(k.lmNoRun, "%d logged models were not synced: their source run is not synced (not selected, deleted, or deleted on the destination)")
	add(k.lmPoints, "%d metric points of logged models were not synced: the run they were logged in is not synced")
	add(k.outputs, "%d run outputs (links to logged models) were not synced: their logged model is not synced")
	add(k.registered, "%d registered models were not synced (the destination has no model registry)")
	add(k.versions, "%d model versions were not synced: they point neither into the artifacts of a synced run nor at a synced logged model (a run or model not synced, a place outside the store)")
	add(k.parents, "%d nested runs name a parent run that is neither synced nor selected: their mlflow.parentRunId tag was dropped")
	return out
}

func (sy *syncer) pass(src source, dry bool) error {
	sy.dry = dry
	sy.skip = skipped{}
	sy.outputs = nil
	next, stop := iter.Pull2(src(sy.ctx))
	defer stop()
	sy.start(next)
	for {
		it, err, ok := sy.take()
		if !ok {
			return nil
		}
		if err != nil {
			return err
		}
		if it.file != nil {
			return badf("artifact file %s of %s %s does not follow its %s", it.file.path, ownerKind(it.file.model), it.file.owner, ownerKind(it.file.model))
		}
		switch r := it.rec; r.Kind {
		case kindExperiment:
			err = sy.experiment(r.Experiment)
		case kindRun:
			err = sy.run(r.Run)
		case kindLoggedModel:
			err = sy.loggedModel(r.LoggedModel)
		case kindRegisteredModel:
			err = sy.registeredModel(r.RegisteredModel)
		case kindModelVersion:
			err = sy.modelVersion(r.ModelVersion)
		default:
			err = badf("a %s record outside of its run", r.Kind)
		}
		if err != nil {
			return err
		}
	}
}

func (sy *syncer) experiment(e *experimentRec) error {
	if _, ok := sy.srcExps[e.ExperimentID]; ok && sy.dry {
		return badf("experiment %s appears twice", e.ExperimentID)
	}
	if e.LifecycleStage == store.LifecycleDeleted {
		sy.srcExps[e.ExperimentID] = &syncExp{skip: true}
		sy.skip.deletedExps++
		return nil
	}
	if err := store.ValidateImportExperiment(store.ImportExperiment{ID: e.ExperimentID, Name: e.Name, LifecycleStage: e.LifecycleStage, Tags: e.Tags}); err != nil {
		return fmt.Errorf("sync: experiment %q: %w", e.Name, err)
	}
	have, err := sy.dst.GetExperimentByName(sy.ctx, e.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if sy.dry {
			sy.srcExps[e.ExperimentID] = &syncExp{}
			sy.stats.Experiments.add(true)
			return nil
		}
		id, err := sy.dst.CreateExperiment(sy.ctx, e.Name, "", sortedTags(e.Tags))
		if err != nil {
			return fmt.Errorf("sync: create experiment %q: %w", e.Name, err)
		}
		sy.srcExps[e.ExperimentID] = &syncExp{id: id}
		sy.loaded[id] = true // new: none of its runs are synced
		sy.stats.Experiments.add(true)
		return nil
	case err != nil:
		return fmt.Errorf("sync: experiment %q: %w", e.Name, err)
	}
	if have.LifecycleStage == store.LifecycleDeleted {
		return store.InvalidStatef("sync: experiment %q is deleted on the destination (id %s): restore it there, or rename the source experiment", e.Name, have.ID)
	}
	sy.srcExps[e.ExperimentID] = &syncExp{id: have.ID}
	sy.stats.Experiments.add(false)
	for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
		v, ok := have.Tags[k]
		switch {
		case !ok:
			if !sy.dry {
				if err := sy.dst.SetExperimentTag(sy.ctx, have.ID, store.Tag{Key: k, Value: e.Tags[k]}); err != nil {
					return fmt.Errorf("sync: experiment %q: %w", e.Name, err)
				}
			}
		case v != e.Tags[k]:
			if !sy.dry {
				sy.stats.Notes = append(sy.stats.Notes, fmt.Sprintf("experiment %q: tag %q kept as the destination has it (%s there, %s in the source)", e.Name, k, shortValue(v), shortValue(e.Tags[k])))
			}
		}
	}
	return nil
}

func shortValue(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("%q…", string(r[:40]))
	}
	return fmt.Sprintf("%q", s)
}

func sortedTags(m map[string]string) []store.Tag {
	out := make([]store.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, store.Tag{Key: k, Value: m[k]})
	}
	return out
}

// loadRuns reads which runs of a destination experiment were synced
// (those with a SourceRunIDTag), once.
func (sy *syncer) loadRuns(expID string) error {
	if expID == "" || sy.loaded[expID] {
		return nil
	}
	q := store.RunQuery{ExperimentIDs: []string{expID}, Filter: "tags.`" + SourceRunIDTag + "` LIKE '%'",
		ViewType: store.AllViews, MaxResults: store.DefaultMaxResults}
	for {
		page, err := sy.dst.SearchRuns(sy.ctx, q)
		if err != nil {
			return fmt.Errorf("sync: runs of experiment %s on the destination: %w", expID, err)
		}
		for _, r := range page.Runs {
			src := tagValue(r.Data.Tags, SourceRunIDTag)
			if src == "" {
				continue
			}
			if prev, ok := sy.runs[src]; ok && prev.Info.RunID != r.Info.RunID {
				return store.InvalidStatef("sync: source run %s is on the destination twice (runs %s and %s): delete one", src, prev.Info.RunID, r.Info.RunID)
			}
			sy.runs[src] = r
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	sy.loaded[expID] = true
	return nil
}

func tagValue(tags []store.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// skipRun consumes a run's metrics, run_end record and files.
func (sy *syncer) skipRun(runID string) error {
	for {
		m, err := sy.takeMetrics(runID)
		if err != nil {
			return err
		}
		if m == nil {
			break
		}
	}
	it, err, ok := sy.take()
	switch {
	case err != nil:
		return err
	case !ok || it.rec == nil || it.rec.Kind != kindRunEnd || it.rec.RunEnd.RunID != runID:
		return badf("run %s: its metrics do not end with a run_end record", runID)
	}
	return sy.skipFiles()
}

// skipFiles drains the artifact files that follow a record.
func (sy *syncer) skipFiles() error {
	for {
		f, err := sy.takeFile()
		if err != nil || f == nil {
			return err
		}
		if err := drain(f.r); err != nil {
			return err
		}
	}
}

// runWrites collects what one run's sync sends, to tell created, updated
// and unchanged runs apart.
type runWrites struct{ n int64 }

func (sy *syncer) run(r *runRec) error {
	what := "run " + r.RunID
	exp, ok := sy.srcExps[r.ExperimentID]
	if !ok {
		return badf("%s belongs to experiment %s, which comes before it nowhere in the stream", what, r.ExperimentID)
	}
	if exp.skip || r.LifecycleStage == store.LifecycleDeleted {
		if !exp.skip {
			sy.skip.deletedRuns++
		}
		return sy.skipRun(r.RunID)
	}
	status, err := store.ParseRunStatus(r.Status)
	if err != nil {
		return badf("%s: %v", what, err)
	}
	ir := store.ImportRun{Info: store.RunInfo{RunID: r.RunID, RunName: r.RunName, UserID: r.UserID, Status: status,
		StartTime: r.StartTime, EndTime: r.EndTime, LifecycleStage: r.LifecycleStage}, Tags: tagsOf(r.Tags)}
	for _, p := range r.Params {
		ir.Params = append(ir.Params, store.Param{Key: p.Key, Value: p.Value})
	}
	for _, d := range r.Inputs {
		ir.Inputs = append(ir.Inputs, store.DatasetInput{Dataset: store.Dataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType,
			Source: d.Source, Schema: d.Schema, Profile: d.Profile}, Tags: tagsOf(d.Tags)})
	}
	if err := store.ValidateImportRun(ir); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := sy.loadRuns(exp.id); err != nil {
		return err
	}
	have := sy.runs[r.RunID]
	if have != nil && have.Info.LifecycleStage == store.LifecycleDeleted {
		sy.skip.dstDeleted++
		return sy.skipRun(r.RunID)
	}
	if have != nil {
		for _, p := range ir.Params {
			for _, hp := range have.Data.Params {
				if hp.Key == p.Key && hp.Value != p.Value {
					return store.Conflictf("sync: %s: param %q is %s on the destination (run %s), %s in the source; MLflow params cannot change",
						what, p.Key, shortValue(hp.Value), have.Info.RunID, shortValue(p.Value))
				}
			}
		}
	}
	name := cmp.Or(r.RunName, tagValue(ir.Tags, store.RunNameTag))
	tags := make([]store.Tag, 0, len(ir.Tags)+1)
	parentSrc := ""
	for _, t := range ir.Tags {
		switch t.Key {
		case SourceRunIDTag:
			continue
		case store.RunNameTag:
			t.Value = name
		case store.ParentRunTag:
			parentSrc = t.Value
			continue
		}
		tags = append(tags, t)
	}
	tags = append(tags, store.Tag{Key: SourceRunIDTag, Value: r.RunID})
	if sy.dry {
		sy.inStream[r.RunID] = true
		if have == nil {
			sy.stats.Runs.Created++
		}
		sy.nruns++
		if sy.opts.Progress != nil {
			sy.opts.Progress(Progress{Phase: "check", Unit: "runs", Done: sy.nruns})
		}
		return sy.checkMetrics(r.RunID)
	}
	if parentSrc != "" {
		if p := sy.runs[parentSrc]; p != nil {
			tags = append(tags, store.Tag{Key: store.ParentRunTag, Value: p.Info.RunID})
		} else if sy.inStream[parentSrc] {
			// set once the parent is synced (finishParents)
		} else {
			sy.skip.parents++
		}
	}
	var w runWrites
	created := have == nil
	if created {
		req := store.CreateRunRequest{ExperimentID: exp.id, UserID: r.UserID, RunName: name, StartTime: r.StartTime}
		for _, t := range tags {
			if t.Key != store.RunNameTag {
				req.Tags = append(req.Tags, t)
			}
		}
		run, err := sy.dst.CreateRun(sy.ctx, req)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		have = run
		sy.runs[r.RunID] = run
		w.n++
		sy.stats.Tags += int64(len(req.Tags))
	} else {
		var set []store.Tag
		for _, t := range tags {
			if v, ok := tagOf(have.Data.Tags, t.Key); !ok || v != t.Value {
				set = append(set, t)
			}
		}
		if err := sy.logBatch(have.Info.RunID, nil, nil, set, &w); err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		sy.stats.Tags += int64(len(set))
	}
	for _, o := range r.Outputs {
		sy.outputs = append(sy.outputs, pendingOutput{runID: have.Info.RunID, created: created, srcModel: o.ModelID, step: o.Step})
	}
	if parentSrc != "" && sy.runs[parentSrc] == nil && sy.inStream[parentSrc] {
		sy.deferred = append(sy.deferred, deferredParent{runID: have.Info.RunID, parentSrcID: parentSrc})
	}
	var params []store.Param
	for _, p := range ir.Params {
		if _, ok := paramOf(have.Data.Params, p.Key); !ok {
			params = append(params, p)
		}
	}
	if err := sy.logBatch(have.Info.RunID, nil, params, nil, &w); err != nil {
		return fmt.Errorf("sync: %s: %w", what, err)
	}
	sy.stats.Params += int64(len(params))
	if err := sy.metrics(r.RunID, have, created, &w); err != nil {
		return err
	}
	var inputs []store.DatasetInput
	for _, d := range ir.Inputs {
		if !slices.ContainsFunc(have.Inputs, func(h store.DatasetInput) bool {
			return h.Dataset.Name == d.Dataset.Name && h.Dataset.Digest == d.Dataset.Digest
		}) {
			inputs = append(inputs, d)
		}
	}
	if len(inputs) > 0 {
		if err := sy.dst.LogInputs(sy.ctx, have.Info.RunID, inputs); err != nil {
			return fmt.Errorf("sync: %s: dataset inputs: %w", what, err)
		}
		w.n++
		sy.stats.Inputs += int64(len(inputs))
	}
	hi := have.Info
	if hi.Status != status || !equalEnd(hi.EndTime, r.EndTime) || hi.RunName != name {
		u := store.RunUpdate{Status: status, EndTime: r.EndTime}
		if hi.RunName != name {
			u.RunName = name
		}
		if _, err := sy.dst.UpdateRun(sy.ctx, hi.RunID, u); err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		w.n++
	}
	files, err := sy.files(false, r.RunID, have.Info.ArtifactURI, created)
	if err != nil {
		return err
	}
	w.n += files
	switch {
	case created:
		sy.stats.Runs.Created++
	case w.n > 0:
		sy.stats.Runs.Updated++
	default:
		sy.stats.Runs.Unchanged++
	}
	sy.nruns++
	if sy.opts.Progress != nil {
		sy.opts.Progress(Progress{Phase: "sync", Unit: "runs", Done: sy.nruns})
	}
	return nil
}

func equalEnd(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func tagOf(tags []store.Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

func paramOf(ps []store.Param, key string) (string, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// MLflow's log-batch limits.
const (
	batchMetrics = 1000
	batchParams  = 100
	batchTags    = 100
)

// logBatch sends metrics, params and tags in batches within MLflow's
// limits.
func (sy *syncer) logBatch(runID string, metrics []store.Metric, params []store.Param, tags []store.Tag, w *runWrites) error {
	for len(metrics)+len(params)+len(tags) > 0 {
		m, p, t := metrics[:min(len(metrics), batchMetrics)], params[:min(len(params), batchParams)], tags[:min(len(tags), batchTags)]
		if err := sy.dst.LogBatch(sy.ctx, runID, m, p, t); err != nil {
			return err
		}
		metrics, params, tags = metrics[len(m):], params[len(p):], tags[len(t):]
		w.n++
	}
	return nil
}

// checkMetrics validates a run's metric points (the check pass) and reads
// its run_end record and files.
func (sy *syncer) checkMetrics(runID string) error {
	var points int64
	for {
		m, err := sy.takeMetrics(runID)
		if err != nil {
			return err
		}
		if m == nil {
			break
		}
		for _, p := range m.Points {
			if err := store.ValidateMetric(store.Metric{Key: m.Key, Value: p.Value, Timestamp: p.Timestamp, Step: p.Step}); err != nil {
				return fmt.Errorf("sync: run %s: %w", runID, err)
			}
		}
		points += int64(len(m.Points))
	}
	if err := sy.runEnd(runID, points); err != nil {
		return err
	}
	return sy.skipFiles()
}

func (sy *syncer) runEnd(runID string, points int64) error {
	it, err, ok := sy.take()
	switch {
	case err != nil:
		return err
	case !ok || it.rec == nil || it.rec.Kind != kindRunEnd:
		return badf("run %s: its metrics do not end with a run_end record", runID)
	case it.rec.RunEnd.RunID != runID || it.rec.RunEnd.MetricPoints != points:
		return badf("run %s: run_end says %d metric points of run %s, the stream has %d", runID, it.rec.RunEnd.MetricPoints, it.rec.RunEnd.RunID, points)
	}
	return nil
}

// pointKey is a metric point as MLflow's SQL store tells points apart.
type pointKey struct {
	ts, step int64
	bits     uint64
}

func keyOf(m store.Metric) pointKey {
	switch {
	case math.IsNaN(m.Value):
		return pointKey{m.Timestamp, m.Step, 1<<64 - 1}
	case math.IsInf(m.Value, 1):
		m.Value = math.MaxFloat64
	case math.IsInf(m.Value, -1):
		m.Value = -math.MaxFloat64
	case m.Value == 0:
		m.Value = 0 // -0.0 too
	}
	return pointKey{m.Timestamp, m.Step, math.Float64bits(m.Value)}
}

// metrics sends the points of a run's streamed history that the
// destination run lacks (see Sync), key by key.
func (sy *syncer) metrics(srcID string, have *store.Run, created bool, w *runWrites) error {
	haveKeys := map[string]bool{}
	if !created {
		for _, m := range have.Data.Metrics {
			haveKeys[m.Key] = true
		}
	}
	var (
		key     string
		counts  map[pointKey]int  // the destination's points of key
		seen    map[pointKey]bool // SQL: points of key already taken from the source
		pending []store.Metric
		points  int64
	)
	flush := func() error {
		if err := sy.logBatch(have.Info.RunID, pending, nil, nil, w); err != nil {
			return fmt.Errorf("sync: run %s: metrics: %w", srcID, err)
		}
		sy.stats.MetricPoints += int64(len(pending))
		pending = pending[:0]
		return nil
	}
	for {
		m, err := sy.takeMetrics(srcID)
		if err != nil {
			return err
		}
		if m == nil {
			break
		}
		if m.Key != key || counts == nil {
			key = m.Key
			counts, seen = map[pointKey]int{}, map[pointKey]bool{}
			if haveKeys[key] {
				h, err := sy.dst.GetMetricHistory(sy.ctx, have.Info.RunID, key)
				if err != nil {
					return fmt.Errorf("sync: run %s: history of metric %q on the destination: %w", srcID, key, err)
				}
				for _, p := range h {
					counts[keyOf(p)]++
				}
			}
		}
		for _, p := range m.Points {
			pt := store.Metric{Key: m.Key, Value: p.Value, Timestamp: p.Timestamp, Step: p.Step}
			k := keyOf(pt)
			if seen[k] {
				continue
			}
			seen[k] = true
			if counts[k] > 0 {
				counts[k]--
				continue
			}
			pending = append(pending, pt)
			if len(pending) == batchMetrics {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		points += int64(len(m.Points))
	}
	if len(pending) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	return sy.runEnd(srcID, points)
}

// finishParents sets mlflow.parentRunId on the nested runs synced before
// their parent.
func (sy *syncer) finishParents() error {
	for _, d := range sy.deferred {
		p := sy.runs[d.parentSrcID]
		if p == nil {
			sy.skip.parents++
			continue
		}
		if err := sy.dst.LogBatch(sy.ctx, d.runID, nil, nil, []store.Tag{{Key: store.ParentRunTag, Value: p.Info.RunID}}); err != nil {
			return fmt.Errorf("sync: parent of run %s: %w", d.runID, err)
		}
		sy.stats.Tags++
	}
	sy.deferred = nil
	return nil
}

// memSpool is the largest artifact file kept in memory for its upload;
// larger ones are spooled to a temporary file (an upload may be retried,
// and the stream can be read only once).
const memSpool = 8 << 20

// files uploads the artifact files that follow a run (or a logged model,
// if model), skipping those the destination holds with the same bytes; it
// returns how many it uploaded.
func (sy *syncer) files(model bool, srcID, artifactURI string, created bool) (int64, error) {
	var repo artifactrepo.Repo
	listed := map[string]map[string]artifactrepo.FileInfo{} // dir -> name -> entry
	var uploaded int64
	for {
		f, err := sy.takeFile()
		if err != nil || f == nil {
			return uploaded, err
		}
		if f.model != model || f.owner != srcID {
			return uploaded, badf("artifact file %s of %s %s does not follow its %s", f.path, ownerKind(f.model), f.owner, ownerKind(f.model))
		}
		what := fmt.Sprintf("%s %s: artifact %s", ownerKind(model), srcID, f.path)
		if repo == nil {
			if repo, err = sy.opts.OpenArtifacts(artifactURI); err != nil {
				return uploaded, fmt.Errorf("sync: %s: %w", what, err)
			}
		}
		if !created {
			same, err := sy.sameFile(repo, listed, f)
			if err != nil {
				return uploaded, fmt.Errorf("sync: %s: %w", what, err)
			}
			if same {
				sy.stats.Artifacts.add(false)
				if err := drain(f.r); err != nil {
					return uploaded, err
				}
				continue
			}
		}
		if err := sy.upload(repo, f); err != nil {
			if errors.Is(err, ErrBadArchive) {
				return uploaded, err
			}
			return uploaded, fmt.Errorf("sync: %s: %w", what, err)
		}
		uploaded++
		sy.stats.Artifacts.add(true)
		sy.stats.ArtifactBytes += f.size
	}
}

// sameFile reports whether the destination holds f with the same bytes
// (same size, then same SHA-256 of what it serves).
func (sy *syncer) sameFile(repo artifactrepo.Repo, listed map[string]map[string]artifactrepo.FileInfo, f *file) (bool, error) {
	dir := path.Dir(f.path)
	if dir == "." {
		dir = ""
	}
	entries, ok := listed[dir]
	if !ok {
		fis, err := repo.List(sy.ctx, dir)
		if err != nil {
			return false, err
		}
		entries = map[string]artifactrepo.FileInfo{}
		for _, fi := range fis {
			entries[strings.TrimSuffix(fi.Path, "/")] = fi
		}
		listed[dir] = entries
	}
	fi, ok := entries[f.path]
	if !ok || fi.IsDir || fi.Size != f.size {
		return false, nil
	}
	rc, err := repo.Get(sy.ctx, f.path)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == f.sha256, nil
}

// upload reads f whole (verifying it) and puts it on the destination.
func (sy *syncer) upload(repo artifactrepo.Repo, f *file) error {
	if f.size <= memSpool {
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, f.r); err != nil {
			return err
		}
		return repo.Put(sy.ctx, f.path, artifactrepo.Bytes(buf.Bytes()))
	}
	tmp, err := os.CreateTemp("", "mlrun-sync-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, f.r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return repo.Put(sy.ctx, f.path, artifactrepo.File(tmp.Name()))
}

// versionKey identifies a synced model version: its source number and
// the destination id of its run.
type versionKey struct {
	version string
	runID   string
}

func (sy *syncer) registeredModel(m *registeredModelRec) error {
	reg, ok := sy.dst.(store.Registry)
	if !ok {
		sy.skip.registered++
		return nil
	}
	rm := &store.RegisteredModel{Name: m.Name, Description: m.Description, Tags: m.Tags}
	if err := store.ValidateImportRegisteredModel(rm); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	have, err := reg.GetRegisteredModel(sy.ctx, m.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !sy.dry {
			if _, err := reg.CreateRegisteredModel(sy.ctx, m.Name, sortedTags(m.Tags), m.Description); err != nil {
				return fmt.Errorf("sync: registered model %q: %w", m.Name, err)
			}
		}
		sy.versions[m.Name] = map[versionKey]*store.ModelVersion{} // new: no version synced yet
		sy.aliases[m.Name] = map[string]int64{}
		sy.stats.RegisteredModels.add(true)
		return nil
	case err != nil:
		return fmt.Errorf("sync: registered model %q: %w", m.Name, err)
	}
	sy.stats.RegisteredModels.add(false)
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		if _, ok := have.Tags[k]; ok {
			continue
		}
		if !sy.dry {
			if err := reg.SetRegisteredModelTag(sy.ctx, m.Name, store.Tag{Key: k, Value: m.Tags[k]}); err != nil {
				return fmt.Errorf("sync: registered model %q: %w", m.Name, err)
			}
			sy.stats.registryUpdates++
		}
	}
	return nil
}

// loadVersions reads the synced versions of a registered model on dst.
func (sy *syncer) loadVersions(reg store.Registry, name string) (map[versionKey]*store.ModelVersion, error) {
	if vs, ok := sy.versions[name]; ok {
		return vs, nil
	}
	vs := map[versionKey]*store.ModelVersion{}
	q := store.ModelVersionQuery{Filter: "name = '" + name + "'", MaxResults: 1000}
	quoted := strings.ContainsAny(name, `'"\`)
	if quoted {
		q.Filter = "" // every version, matched by name here
	}
	for {
		page, err := reg.SearchModelVersions(sy.ctx, q)
		if err != nil {
			return nil, fmt.Errorf("sync: versions of registered model %q: %w", name, err)
		}
		for _, v := range page.Versions {
			if v.Name != name {
				continue
			}
			if src, ok := v.Tags[SourceVersionTag]; ok {
				vs[versionKey{src, v.RunID}] = v
			}
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	m, err := reg.GetRegisteredModel(sy.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("sync: registered model %q: %w", name, err)
	}
	sy.aliases[name] = maps.Clone(m.Aliases)
	if sy.aliases[name] == nil {
		sy.aliases[name] = map[string]int64{}
	}
	sy.versions[name] = vs
	return vs, nil
}

func (sy *syncer) modelVersion(v *modelVersionRec) error {
	reg, ok := sy.dst.(store.Registry)
	target, pointed := targetOf(v)
	if !ok || !pointed {
		sy.skip.versions++
		return nil
	}
	what := fmt.Sprintf("model version %s/%d", v.Name, v.Version)
	if err := store.ValidateImportModelVersion(&store.ModelVersion{Name: v.Name, Version: v.Version, CurrentStage: cmp.Or(v.CurrentStage, "None"),
		Source: v.Source, Tags: v.Tags, Aliases: v.Aliases}); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := store.ValidateArtifactPath(target.path); err != nil {
		return badf("%s: %v", what, err)
	}
	// The version's run (required for a place among a run's artifacts;
	// a logged model's version keeps its run if that is synced) and
	// logged model on dst; in the check pass, nil for one still to sync.
	var run *store.Run
	var model *store.LoggedModel
	if target.run != "" {
		run = sy.runs[target.run]
	}
	if target.model != "" {
		if model = sy.models[target.model]; model == nil && !(sy.dry && sy.lmInStream[target.model]) {
			sy.skip.versions++
			return nil
		}
	} else if run == nil && !(sy.dry && sy.inStream[target.run]) {
		sy.skip.versions++
		return nil
	}
	runID := ""
	if run != nil {
		runID = run.Info.RunID
	}
	key := versionKey{strconv.FormatInt(v.Version, 10), runID}
	if sy.dry {
		exists := false
		if model != nil || target.model == "" && run != nil {
			vs, err := sy.loadVersions(reg, v.Name)
			if err != nil {
				return err
			}
			_, exists = vs[key]
		}
		sy.stats.ModelVersions.add(!exists)
		return nil
	}
	vs, err := sy.loadVersions(reg, v.Name)
	if err != nil {
		return err
	}
	have := vs[key]
	sy.stats.ModelVersions.add(have == nil)
	if have == nil {
		tags := sortedTags(v.Tags)
		tags = append(tags, store.Tag{Key: SourceVersionTag, Value: key.version})
		req := store.CreateModelVersionRequest{Name: v.Name, Source: versionSource(target, run, model), RunID: runID,
			Description: v.Description, Tags: tags}
		if model != nil && (v.ModelID != "" || target.modelURI) {
			req.ModelID = model.ModelID
		}
		mv, err := reg.CreateModelVersion(sy.ctx, req)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		vs[key] = mv
		have = mv
		if model != nil {
			if err := sy.noteModelVersion(target.model, mv); err != nil {
				return err
			}
		}
	} else {
		for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
			if hv, ok := have.Tags[k]; ok && hv == v.Tags[k] {
				continue
			}
			if err := reg.SetModelVersionTag(sy.ctx, v.Name, have.Version, store.Tag{Key: k, Value: v.Tags[k]}); err != nil {
				return fmt.Errorf("sync: %s: %w", what, err)
			}
			sy.stats.registryUpdates++
		}
	}
	if st := cmp.Or(v.CurrentStage, "None"); !strings.EqualFold(st, cmp.Or(have.CurrentStage, "None")) {
		mv, err := reg.TransitionModelVersionStage(sy.ctx, v.Name, have.Version, st, false)
		if err != nil {
			return fmt.Errorf("sync: %s: stage %s: %w", what, st, err)
		}
		vs[key], have = mv, mv
		sy.stats.registryUpdates++
	}
	for _, a := range v.Aliases {
		if n, ok := sy.aliases[v.Name][a]; ok && n == have.Version {
			continue
		}
		if err := reg.SetRegisteredModelAlias(sy.ctx, v.Name, a, have.Version); err != nil {
			return fmt.Errorf("sync: %s: alias %q: %w", what, a, err)
		}
		sy.aliases[v.Name][a] = have.Version
		sy.stats.registryUpdates++
	}
	return nil
}
