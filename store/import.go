package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"
)

// Importer is an optional capability of a Store: it writes entities with
// the ids, names, times, statuses and lifecycle stages they had in another
// MLflow store, exactly as this store's own writes would have left them
// (same files or rows as MLflow writes). mlrun's archive package (mlrun
// import, mlrun convert) uses it; callers check with a type assertion.
//
// Every method
//
//   - validates its whole input before the first write;
//   - is idempotent: an entity that already exists with the same content
//     is left as it is (ImportResult.Created false);
//   - never overwrites: an entity that exists with other content fails
//     with an error matching ErrConflict (and ErrAlreadyExists) that names
//     the entity, and nothing is written;
//   - with ImportOptions.DryRun, makes every check and writes nothing.
//
// Artifact locations are not imported: experiments, runs and logged
// models get this store's default layout (<experiment location>/<run
// id>/artifacts, <experiment location>/models/<model id>/artifacts), which
// ImportResult.ArtifactLocation reports. Copying artifact files is the
// caller's job.
type Importer interface {
	// ImportExperiment maps an experiment of another store onto this one,
	// by MLflow's rule that experiment names are unique: an experiment
	// with the same name (active or deleted) is the same experiment
	// (Created false; its tags that the import lacks are added, tags whose
	// values differ are kept and reported in Notes); otherwise the
	// experiment is created with e.ID if that id is free here and valid
	// for the backend, else with a new id. ImportResult.ID is the id here
	// ("" in a dry run when a new id would be chosen).
	ImportExperiment(ctx context.Context, e ImportExperiment, opts ImportOptions) (ImportResult, error)

	// ImportRun writes a run with its params, tags, dataset inputs,
	// outputs and full metric history (metrics), into experiment
	// r.Info.ExperimentID of this store, which must exist (except in a dry
	// run, where an experiment still to be created is given as ""). The
	// run may be deleted, and may go into a deleted experiment. A run that
	// exists is compared as this store reads it back (metric values and
	// repeated points as the backend keeps them, see HistoryCheck).
	ImportRun(ctx context.Context, r ImportRun, metrics MetricChunks, opts ImportOptions) (ImportResult, error)

	// ImportLoggedModel writes an MLflow 3 logged model with its tags,
	// params and metric points (m.Metrics: every point to write), into
	// experiment m.ExperimentID of this store ("" in a dry run for an
	// experiment still to be created). m.ArtifactLocation is ignored. The
	// runs the points name must be in this store (a dry run does not check
	// them: they may still be to import). A store without logged models
	// fails with ErrInvalidState.
	ImportLoggedModel(ctx context.Context, m *LoggedModel, opts ImportOptions) (ImportResult, error)

	// ImportRegisteredModel writes a registered model (name, timestamps,
	// description, tags) without versions or aliases.
	ImportRegisteredModel(ctx context.Context, m *RegisteredModel, opts ImportOptions) (ImportResult, error)

	// ImportModelVersion writes a version with its number, timestamps,
	// stage, status, source and tags, and points v.Aliases at it, into an
	// existing registered model, without touching the model's
	// last_updated_timestamp. An alias that points at another version is
	// a conflict.
	ImportModelVersion(ctx context.Context, v *ModelVersion, opts ImportOptions) (ImportResult, error)
}

// ImportOptions tune an Importer call.
type ImportOptions struct {
	// DryRun makes every check (validation, conflicts) and writes nothing.
	DryRun bool
}

// ImportResult is what an Importer call did.
type ImportResult struct {
	// ID is the entity's id in this store: an experiment's may differ
	// from the one it had.
	ID string
	// Created is false when the store already held the entity with this
	// content (nothing was written).
	Created bool
	// ArtifactLocation is where the entity's artifact files belong in this
	// store: a run's artifact_uri, a logged model's or an experiment's
	// artifact_location ("" in a dry run for an entity not yet created).
	ArtifactLocation string
	// Notes lists differences that were not conflicts and were kept as
	// this store had them (an experiment tag with another value).
	Notes []string
}

// ImportExperiment is an experiment of another store.
type ImportExperiment struct {
	ID             string // its id there; kept here if free
	Name           string
	LifecycleStage string // active or deleted
	CreationTime   int64
	LastUpdateTime int64
	Tags           map[string]string
}

// ImportRun is a run of another store. Info.ArtifactURI is ignored, and
// Info.ExperimentID is the id of its experiment in the importing store.
type ImportRun struct {
	Info    RunInfo
	Params  []Param
	Tags    []Tag
	Inputs  []DatasetInput
	Outputs []LoggedModelOutput
}

// MetricChunks streams a run's metric history: chunks of points, all the
// points of one key in consecutive chunks, in logging order.
type MetricChunks = iter.Seq2[[]Metric, error]

// ErrConflict marks an import that found an entity with the same id and
// other content. Such errors also match ErrAlreadyExists.
var ErrConflict = errors.New("conflicting content")

// Conflictf returns an error matching ErrConflict and ErrAlreadyExists.
func Conflictf(format string, args ...any) error {
	return &wrappedError{kind: ErrAlreadyExists, msg: fmt.Sprintf(format, args...), cause: ErrConflict}
}

// ValidateImportExperiment checks an experiment to import.
func ValidateImportExperiment(e ImportExperiment) error {
	if err := ValidateExperimentName(e.Name); err != nil {
		return err
	}
	if e.ID != "" {
		if err := ValidateExperimentID(e.ID); err != nil {
			return err
		}
	}
	if err := validateStage("experiment "+e.Name, e.LifecycleStage); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
		if err := ValidateExperimentTag(Tag{Key: k, Value: e.Tags[k]}); err != nil {
			return err
		}
	}
	return nil
}

func validateStage(what, stage string) error {
	if stage != LifecycleActive && stage != LifecycleDeleted {
		return Invalidf("%s: lifecycle stage %q is neither %s nor %s", what, stage, LifecycleActive, LifecycleDeleted)
	}
	return nil
}

// ValidateImportRun checks a run to import (its metric points are checked
// as they stream, with ValidateMetric).
func ValidateImportRun(r ImportRun) error {
	in := r.Info
	if err := ValidateRunID(in.RunID); err != nil {
		return err
	}
	if in.ExperimentID != "" {
		if err := ValidateExperimentID(in.ExperimentID); err != nil {
			return err
		}
	}
	if err := ValidateRunName(in.RunName); err != nil {
		return err
	}
	if !in.Status.Valid() {
		return Invalidf("run %s: invalid status %d", in.RunID, int(in.Status))
	}
	if err := validateStage("run "+in.RunID, in.LifecycleStage); err != nil {
		return err
	}
	if in.StartTime < 0 || in.EndTime != nil && *in.EndTime < 0 || in.DeletedTime != nil && *in.DeletedTime < 0 {
		return Invalidf("run %s: negative time", in.RunID)
	}
	seen := map[string]bool{}
	for _, p := range r.Params {
		if err := ValidateParam(p); err != nil {
			return err
		}
		if seen[p.Key] {
			return Invalidf("run %s: param %q given twice", in.RunID, p.Key)
		}
		seen[p.Key] = true
	}
	clear(seen)
	for _, t := range r.Tags {
		if err := ValidateTag(t); err != nil {
			return err
		}
		if seen[t.Key] {
			return Invalidf("run %s: tag %q given twice", in.RunID, t.Key)
		}
		seen[t.Key] = true
	}
	clear(seen)
	for _, d := range r.Inputs {
		if err := ValidateDatasetInput(d); err != nil {
			return err
		}
		k := d.Dataset.Name + "\x00" + d.Dataset.Digest
		if seen[k] {
			return Invalidf("run %s: dataset %q (digest %s) given twice", in.RunID, d.Dataset.Name, d.Dataset.Digest)
		}
		seen[k] = true
	}
	clear(seen)
	for _, o := range r.Outputs {
		if err := ValidateLoggedModelID(o.ModelID); err != nil {
			return err
		}
		if seen[o.ModelID] {
			return Invalidf("run %s: output %s given twice", in.RunID, o.ModelID)
		}
		seen[o.ModelID] = true
	}
	return nil
}

// ValidateImportLoggedModel checks a logged model to import.
func ValidateImportLoggedModel(m *LoggedModel) error {
	if m == nil {
		return Invalidf("import: no logged model given")
	}
	if err := ValidateLoggedModelID(m.ModelID); err != nil {
		return err
	}
	if m.ExperimentID != "" { // "": in a dry run, an experiment still to be created
		if err := ValidateExperimentID(m.ExperimentID); err != nil {
			return err
		}
	}
	if err := ValidateLoggedModelName(m.Name); err != nil {
		return err
	}
	if m.SourceRunID != "" {
		if err := ValidateRunID(m.SourceRunID); err != nil {
			return err
		}
	}
	if !m.Status.Valid() {
		return Invalidf("logged model %s: invalid status %d", m.ModelID, int(m.Status))
	}
	for _, k := range slices.Sorted(maps.Keys(m.Params)) {
		if err := ValidateParam(Param{Key: k, Value: m.Params[k]}); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		if err := ValidateTag(Tag{Key: k, Value: m.Tags[k]}); err != nil {
			return err
		}
	}
	for _, x := range m.Metrics {
		if err := ValidateLoggedModelMetric(x); err != nil {
			return err
		}
	}
	return nil
}

// ValidateImportRegisteredModel checks a registered model to import.
func ValidateImportRegisteredModel(m *RegisteredModel) error {
	if m == nil {
		return Invalidf("import: no registered model given")
	}
	if err := ValidateRegisteredModelName(m.Name); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		if err := ValidateRegistryTag(Tag{Key: k, Value: m.Tags[k]}); err != nil {
			return err
		}
	}
	return nil
}

// ValidateImportModelVersion checks a model version to import.
func ValidateImportModelVersion(v *ModelVersion) error {
	if v == nil {
		return Invalidf("import: no model version given")
	}
	if err := ValidateRegisteredModelName(v.Name); err != nil {
		return err
	}
	if v.Version < 1 {
		return Invalidf("model version %s/%d: versions are numbered from 1", v.Name, v.Version)
	}
	if _, err := CanonicalStage(v.CurrentStage); err != nil || v.CurrentStage == "" {
		return Invalidf("model version %s/%d: invalid stage %q", v.Name, v.Version, v.CurrentStage)
	}
	if v.Source == "" {
		return Invalidf("model version %s/%d: a source is required", v.Name, v.Version)
	}
	if v.RunID != "" {
		if err := ValidateRunID(v.RunID); err != nil {
			return err
		}
	}
	if v.ModelID != "" {
		if err := ValidateLoggedModelID(v.ModelID); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
		if err := ValidateRegistryTag(Tag{Key: k, Value: v.Tags[k]}); err != nil {
			return err
		}
	}
	for _, a := range v.Aliases {
		if err := ValidateAlias(a); err != nil {
			return err
		}
		if err := ValidateAliasNotReserved(a); err != nil {
			return err
		}
	}
	return nil
}

// DiffRun compares a run as a store holds it (have, with its outputs) with
// the run an import would write, and describes the first difference ("" if
// none). Metric histories are compared separately (HistoryCheck). The run
// name is compared as MLflow reads it (an empty run_name reads as the
// mlflow.runName tag), deleted_time only for a deleted run.
func DiffRun(have *Run, haveOutputs []LoggedModelOutput, want ImportRun) string {
	h, w := have.Info, want.Info
	wantName := w.RunName
	if wantName == "" {
		for _, t := range want.Tags {
			if t.Key == RunNameTag {
				wantName = t.Value
			}
		}
	}
	switch {
	case h.ExperimentID != w.ExperimentID:
		return fmt.Sprintf("it is in experiment %s here, the import puts it in experiment %s", h.ExperimentID, cmp.Or(w.ExperimentID, "(new)"))
	case h.RunName != wantName:
		return fmt.Sprintf("run name %q here, %q imported", h.RunName, wantName)
	case h.UserID != w.UserID:
		return fmt.Sprintf("user %q here, %q imported", h.UserID, w.UserID)
	case h.Status != w.Status:
		return fmt.Sprintf("status %s here, %s imported", h.Status, w.Status)
	case h.StartTime != w.StartTime:
		return fmt.Sprintf("start time %d here, %d imported", h.StartTime, w.StartTime)
	case !equalPtr(h.EndTime, w.EndTime):
		return fmt.Sprintf("end time %s here, %s imported", showPtr(h.EndTime), showPtr(w.EndTime))
	case h.LifecycleStage != w.LifecycleStage:
		return fmt.Sprintf("lifecycle stage %s here, %s imported", h.LifecycleStage, w.LifecycleStage)
	case w.LifecycleStage == LifecycleDeleted && !equalPtr(h.DeletedTime, w.DeletedTime):
		return fmt.Sprintf("deleted time %s here, %s imported", showPtr(h.DeletedTime), showPtr(w.DeletedTime))
	}
	if d := diffKV("param", paramMap(have.Data.Params), paramMap(want.Params)); d != "" {
		return d
	}
	if d := diffKV("tag", tagMap(have.Data.Tags), tagMap(want.Tags)); d != "" {
		return d
	}
	if d := diffInputs(have.Inputs, want.Inputs); d != "" {
		return d
	}
	ho, wo := sortedOutputs(haveOutputs), sortedOutputs(want.Outputs)
	if !slices.Equal(ho, wo) {
		return fmt.Sprintf("outputs %v here, %v imported", ho, wo)
	}
	return ""
}

func equalPtr(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func showPtr(p *int64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func paramMap(ps []Param) map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}

func tagMap(ts []Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.Key] = t.Value
	}
	return m
}

// diffKV describes the first difference between two key/value sets.
func diffKV(what string, have, want map[string]string) string {
	keys := slices.Sorted(maps.Keys(have))
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := have[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		h, hok := have[k]
		w, wok := want[k]
		switch {
		case !wok:
			return fmt.Sprintf("%s %q is set here, not in the import", what, k)
		case !hok:
			return fmt.Sprintf("%s %q is imported, not set here", what, k)
		case h != w:
			return fmt.Sprintf("%s %q differs (%s here, %s imported)", what, k, shorten(h), shorten(w))
		}
	}
	return ""
}

func shorten(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return fmt.Sprintf("%q…", string(r[:40]))
	}
	return fmt.Sprintf("%q", s)
}

func inputKey(d DatasetInput) string { return d.Dataset.Name + "\x00" + d.Dataset.Digest }

func diffInputs(have, want []DatasetInput) string {
	hm := map[string]DatasetInput{}
	for _, d := range have {
		hm[inputKey(d)] = d
	}
	if len(have) != len(want) {
		return fmt.Sprintf("%d dataset inputs here, %d imported", len(have), len(want))
	}
	for _, w := range want {
		h, ok := hm[inputKey(w)]
		if !ok {
			return fmt.Sprintf("dataset %q (digest %s) is imported, not an input here", w.Dataset.Name, w.Dataset.Digest)
		}
		if h.Dataset != w.Dataset {
			return fmt.Sprintf("dataset %q (digest %s) differs", w.Dataset.Name, w.Dataset.Digest)
		}
		if d := diffKV("input tag", tagMap(h.Tags), tagMap(w.Tags)); d != "" {
			return fmt.Sprintf("dataset %q: %s", w.Dataset.Name, d)
		}
	}
	return ""
}

func sortedOutputs(o []LoggedModelOutput) []LoggedModelOutput {
	out := slices.Clone(o)
	slices.SortFunc(out, func(a, b LoggedModelOutput) int { return strings.Compare(a.ModelID, b.ModelID) })
	return out
}

// DiffLoggedModel compares a logged model as a store holds it with the
// one an import would write (want.Metrics already as the store reads them
// back), and describes the first difference ("" if none).
func DiffLoggedModel(have, want *LoggedModel) string {
	switch {
	case have.ExperimentID != want.ExperimentID:
		return fmt.Sprintf("it is in experiment %s here, the import puts it in experiment %s", have.ExperimentID, cmp.Or(want.ExperimentID, "(new)"))
	case have.Name != want.Name:
		return fmt.Sprintf("name %q here, %q imported", have.Name, want.Name)
	case have.ModelType != want.ModelType:
		return fmt.Sprintf("model type %q here, %q imported", have.ModelType, want.ModelType)
	case have.SourceRunID != want.SourceRunID:
		return fmt.Sprintf("source run %q here, %q imported", have.SourceRunID, want.SourceRunID)
	case have.Status != want.Status:
		return fmt.Sprintf("status %s here, %s imported", have.Status, want.Status)
	case have.StatusMessage != want.StatusMessage:
		return "status message differs"
	case have.CreationTimestamp != want.CreationTimestamp:
		return fmt.Sprintf("creation time %d here, %d imported", have.CreationTimestamp, want.CreationTimestamp)
	case have.LastUpdatedTimestamp != want.LastUpdatedTimestamp:
		return fmt.Sprintf("last update time %d here, %d imported", have.LastUpdatedTimestamp, want.LastUpdatedTimestamp)
	}
	if d := diffKV("param", have.Params, want.Params); d != "" {
		return d
	}
	if d := diffKV("tag", have.Tags, want.Tags); d != "" {
		return d
	}
	hm, wm := sortedModelMetrics(have.Metrics), sortedModelMetrics(want.Metrics)
	if len(hm) != len(wm) {
		return fmt.Sprintf("%d metric points here, %d imported", len(hm), len(wm))
	}
	for i := range hm {
		if !sameModelMetric(hm[i], wm[i]) {
			return fmt.Sprintf("metric %q differs", wm[i].Key)
		}
	}
	return ""
}

func sortedModelMetrics(ms []LoggedModelMetric) []LoggedModelMetric {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b LoggedModelMetric) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.DatasetName, b.DatasetName),
			strings.Compare(a.DatasetDigest, b.DatasetDigest), cmp.Compare(a.Step, b.Step),
			cmp.Compare(a.Timestamp, b.Timestamp), strings.Compare(a.RunID, b.RunID), cmp.Compare(a.Value, b.Value))
	})
	return out
}

func sameModelMetric(a, b LoggedModelMetric) bool {
	av, bv := a.Value, b.Value
	a.Value, b.Value = 0, 0
	return a == b && SameValue(av, bv)
}

// SameValue reports whether two metric values are the same point value:
// equal bits for zeros (so -0.0 differs from 0.0), NaN equal to NaN.
func SameValue(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

// DiffRegisteredModel compares a registered model as a store holds it with
// the one an import would write: description, tags and creation time (the
// last update time moves with every version, so it is not compared).
func DiffRegisteredModel(have, want *RegisteredModel) string {
	if have.Description != want.Description {
		return "description differs"
	}
	if have.CreationTimestamp != want.CreationTimestamp {
		return fmt.Sprintf("creation time %d here, %d imported", have.CreationTimestamp, want.CreationTimestamp)
	}
	return diffKV("tag", have.Tags, want.Tags)
}

// DiffModelVersion compares a model version as a store holds it with the
// one an import would write (want already as the store reads it back),
// aliases included.
func DiffModelVersion(have, want *ModelVersion) string {
	type fields struct {
		created, updated                             int64
		desc, user, stage, source, run, link, status string
		statusMsg, storage, model                    string
	}
	f := func(v *ModelVersion) fields {
		return fields{v.CreationTimestamp, v.LastUpdatedTimestamp, v.Description, v.UserID, v.CurrentStage, v.Source,
			v.RunID, v.RunLink, v.Status, v.StatusMessage, v.StorageLocation, v.ModelID}
	}
	hf, wf := f(have), f(want)
	if hf != wf {
		return fmt.Sprintf("fields differ (%+v here, %+v imported)", hf, wf)
	}
	if d := diffKV("tag", have.Tags, want.Tags); d != "" {
		return d
	}
	ha, wa := slices.Sorted(slices.Values(have.Aliases)), slices.Sorted(slices.Values(want.Aliases))
	if !slices.Equal(ha, wa) {
		return fmt.Sprintf("aliases %v here, %v imported", ha, wa)
	}
	return ""
}

// HistoryCheck compares, chunk by chunk, the metric history an import
// streams with the history a run already has, as the store reads it back
// after logging those points: it tells whether importing them would
// change nothing. Load returns the stored history of a key (in logging
// order; empty for a key the run lacks).
type HistoryCheck struct {
	// Stored returns a point as the store reads it back after logging it
	// (MLflow's SQL store: ±Inf as ±math.MaxFloat64, -0.0 as 0.0); nil
	// means as logged (the file store).
	Stored func(Metric) Metric
	// Dedup says the store keeps a point equal to a stored one (key,
	// timestamp, step, stored value) once, as MLflow's SQL store does.
	Dedup bool
	Load  func(key string) ([]Metric, error)
	// StoredKeys lists the keys the run has.
	StoredKeys []string

	key    string
	stored []Metric
	next   int
	seen   map[storedPoint]bool // Dedup: points already matched (repeats are dropped)
	done   map[string]bool      // keys compared
	diff   string
}

type storedPoint struct {
	ts, step int64
	bits     uint64
}

func pointOf(m Metric) storedPoint {
	if math.IsNaN(m.Value) {
		return storedPoint{m.Timestamp, m.Step, 1<<64 - 1}
	}
	return storedPoint{m.Timestamp, m.Step, math.Float64bits(m.Value)}
}

// Add compares a chunk of imported points (of one key, or of the key that
// follows the previous chunk's). It returns an error if the chunk breaks
// the streaming order or cannot be read; differences are reported by
// Diff.
func (c *HistoryCheck) Add(chunk []Metric) error {
	for _, m := range chunk {
		if c.diff != "" {
			return nil
		}
		if m.Key != c.key {
			if err := c.switchKey(m.Key); err != nil {
				return err
			}
		}
		if c.diff != "" {
			return nil
		}
		if c.Stored != nil {
			m = c.Stored(m)
		}
		if c.next < len(c.stored) && samePoint(c.stored[c.next], m) {
			if c.seen != nil {
				c.seen[pointOf(m)] = true
			}
			c.next++
			continue
		}
		if c.seen != nil && c.seen[pointOf(m)] {
			continue // a repeated point, kept once by the store
		}
		c.diff = fmt.Sprintf("metric %q differs at point %d (step %d, timestamp %d)", m.Key, c.next+1, m.Step, m.Timestamp)
	}
	return nil
}

func samePoint(a, b Metric) bool {
	return a.Timestamp == b.Timestamp && a.Step == b.Step && SameValue(a.Value, b.Value)
}

func (c *HistoryCheck) switchKey(key string) error {
	if c.done == nil {
		c.done = map[string]bool{}
	}
	if c.key != "" {
		c.finishKey()
		if c.diff != "" {
			return nil
		}
	}
	if c.done[key] {
		return Invalidf("metric %q: its points do not come together in the import", key)
	}
	h, err := c.Load(key)
	if err != nil {
		return err
	}
	c.key, c.stored, c.next, c.done[key] = key, h, 0, true
	if c.Dedup {
		c.seen = map[storedPoint]bool{}
	}
	return nil
}

func (c *HistoryCheck) finishKey() {
	if c.next < len(c.stored) && c.diff == "" {
		c.diff = fmt.Sprintf("metric %q has %d points here, the import has fewer", c.key, len(c.stored))
	}
}

// Diff finishes the comparison and describes the first difference, ""
// if importing the points would change nothing.
func (c *HistoryCheck) Diff() string {
	if c.diff != "" {
		return c.diff
	}
	if c.key != "" {
		c.finishKey()
	}
	if c.diff != "" {
		return c.diff
	}
	for _, k := range c.StoredKeys {
		if !c.done[k] {
			return fmt.Sprintf("metric %q is logged here, not in the import", k)
		}
	}
	return ""
}

// KeyOrder checks that a metric stream gives each key's points together,
// as MetricChunks must.
type KeyOrder struct {
	key  string
	done map[string]bool
}

// Check validates the points of a chunk and their order.
func (o *KeyOrder) Check(chunk []Metric) error {
	for i := range chunk {
		m := &chunk[i]
		if m.Key != o.key {
			if o.done == nil {
				o.done = map[string]bool{}
			}
			if o.done[m.Key] {
				return Invalidf("metric %q: its points do not come together in the import", m.Key)
			}
			o.done[o.key], o.key = true, m.Key
			if err := ValidateMetric(*m); err != nil {
				return err
			}
		} else if m.Timestamp < 0 {
			return ValidateMetric(*m)
		}
	}
	return nil
}
