package mlrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pyyaml"
	"github.com/mlrun-go/mlrun/store"
)

// ModelLayout selects how [Run.LogModel] writes a model.
type ModelLayout int

// Model layouts.
const (
	// LayoutAuto (the default) means LayoutMLflow3 when the store has
	// MLflow 3 logged models (store.AsLoggedModels: the file store, and a
	// SQLite store in an MLflow 3 schema) and the client targets MLflow 3
	// (the default; see WithMLflowVersion), else LayoutMLflow2. The
	// environment variable MLRUN_MODEL_LAYOUT ("mlflow2"/"2" or
	// "mlflow3"/"3"), read once by Open, overrides the default, not the
	// options (see Client.ModelLayout).
	LayoutAuto ModelLayout = iota
	// LayoutMLflow2 writes the model into the run's artifacts
	// (runs:/<run_id>/<path>) with a mlflow.log-model.history tag, as
	// MLflow 2.x's log_model does. Every MLflow version reads it.
	LayoutMLflow2
	// LayoutMLflow3 writes an MLflow 3 LoggedModel (models:/<model_id>),
	// as MLflow 3's log_model does: the model entity with its params and
	// tags, its files under <experiment>/models/<model_id>/artifacts, and
	// a run output linking it to the run. MLflow 2.x cannot read it: its
	// UI dataset summary (_search_datasets) fails on an experiment of a
	// file store that holds logged models, and an MLflow 2.22.5 SQLite
	// schema has no tables for them.
	LayoutMLflow3
)

// String returns "auto", "mlflow2" or "mlflow3".
func (l ModelLayout) String() string {
	switch l {
	case LayoutMLflow2:
		return "mlflow2"
	case LayoutMLflow3:
		return "mlflow3"
	case LayoutAuto:
		return "auto"
	}
	return fmt.Sprintf("ModelLayout(%d)", int(l))
}

// DefaultMLflowVersion is the MLflow version clients target by default:
// the newest supported one. It is written as mlflow_version into MLmodel
// files of MLflow 3 models.
const DefaultMLflowVersion = "3.17.2"

// EnvModelLayout overrides the default model layout: "mlflow2" or "2",
// "mlflow3" or "3".
const EnvModelLayout = "MLRUN_MODEL_LAYOUT"

// modelConfig is the client's model configuration.
type modelConfig struct {
	layout        ModelLayout
	mlflowVersion string // "" means DefaultMLflowVersion
}

// WithModelLayout selects how Run.LogModel writes models (default
// LayoutAuto).
func WithModelLayout(l ModelLayout) Option {
	return func(c *config) error {
		if l < LayoutAuto || l > LayoutMLflow3 {
			return fmt.Errorf("mlrun: unknown model layout %d", int(l))
		}
		c.models.layout = l
		return nil
	}
}

// WithMLflowVersion names the MLflow version that will read the store
// (e.g. "2.22.5"). With LayoutAuto, a 2.x version selects LayoutMLflow2
// and 3.x LayoutMLflow3; the version is written as mlflow_version in MLflow
// 3 MLmodel files. Default: DefaultMLflowVersion.
func WithMLflowVersion(v string) Option {
	return func(c *config) error {
		major, _, _ := strings.Cut(v, ".")
		if major == "" || strings.Trim(major, "0123456789") != "" {
			return fmt.Errorf("mlrun: invalid MLflow version %q", v)
		}
		c.models.mlflowVersion = v
		return nil
	}
}

// readEnv applies MLRUN_MODEL_LAYOUT ([EnvModelLayout]) when neither
// WithModelLayout nor WithMLflowVersion chose the layout. Open calls it
// once; an unknown value is ignored.
func (m *modelConfig) readEnv() {
	if m.layout != LayoutAuto || m.mlflowVersion != "" {
		return
	}
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvModelLayout))) {
	case "mlflow2", "2":
		m.layout = LayoutMLflow2
	case "mlflow3", "3":
		m.layout = LayoutMLflow3
	}
}

func (c *Client) mlflowVersion() string {
	if c.models.mlflowVersion != "" {
		return c.models.mlflowVersion
	}
	return DefaultMLflowVersion
}

// ModelLayout returns the layout Run.LogModel uses, never LayoutAuto (but
// for a nil Client): WithModelLayout if given, else the major version of
// WithMLflowVersion if given, else MLRUN_MODEL_LAYOUT as it was when Open
// ran, else that of DefaultMLflowVersion (MLflow 3). LayoutMLflow3 falls
// back to LayoutMLflow2 on a store without MLflow 3 logged models
// (store.AsLoggedModels): a SQLite database in the MLflow 2.22.5 schema.
func (c *Client) ModelLayout() ModelLayout {
	if c.valid() != nil {
		return LayoutAuto
	}
	_, hasLM := store.AsLoggedModels(c.store)
	layout := c.models.layout
	if layout == LayoutAuto { // WithMLflowVersion, else DefaultMLflowVersion
		major, _, _ := strings.Cut(c.mlflowVersion(), ".")
		if n, err := strconv.Atoi(major); err == nil && n < 3 {
			layout = LayoutMLflow2
		} else {
			layout = LayoutMLflow3
		}
	}
	if layout == LayoutMLflow3 && !hasLM {
		return LayoutMLflow2
	}
	return layout
}

// LoggedModels returns the store's MLflow 3 logged models, if it has them:
// a file store does, and a SQLite store in an MLflow 3 schema.
func (c *Client) LoggedModels() (store.LoggedModels, error) {
	if err := c.valid(); err != nil {
		return nil, err
	}
	lms, ok := store.AsLoggedModels(c.store)
	if !ok {
		return nil, store.InvalidStatef("the store at %q has no MLflow 3 logged models", c.uri)
	}
	return lms, nil
}

// GetLoggedModel returns an MLflow 3 logged model by id (m-…).
func (c *Client) GetLoggedModel(ctx context.Context, modelID string) (*store.LoggedModel, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return nil, err
	}
	return lms.GetLoggedModel(ctx, modelID)
}

// SearchLoggedModels returns one page of the logged models of
// q.ExperimentIDs matching q (see search.ParseLoggedModelFilter for the
// filter language).
func (c *Client) SearchLoggedModels(ctx context.Context, q store.LoggedModelQuery) (*store.LoggedModelPage, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return nil, err
	}
	return lms.SearchLoggedModels(ctx, q)
}

// SetLoggedModelTags sets tags on a logged model.
func (c *Client) SetLoggedModelTags(ctx context.Context, modelID string, tags map[string]string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return err
	}
	return lms.SetLoggedModelTags(ctx, modelID, sortedTags(tags))
}

// DeleteLoggedModelTag removes a tag of a logged model.
func (c *Client) DeleteLoggedModelTag(ctx context.Context, modelID, key string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return err
	}
	return lms.DeleteLoggedModelTag(ctx, modelID, key)
}

// LogLoggedModelParams sets params on a logged model.
func (c *Client) LogLoggedModelParams(ctx context.Context, modelID string, params map[string]string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return err
	}
	ps := make([]store.Param, 0, len(params))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		ps = append(ps, store.Param{Key: k, Value: params[k]})
	}
	return lms.LogLoggedModelParams(ctx, modelID, ps)
}

// FinalizeLoggedModel sets a logged model's status (READY or FAILED).
func (c *Client) FinalizeLoggedModel(ctx context.Context, modelID string, status store.LoggedModelStatus) (*store.LoggedModel, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return nil, err
	}
	return lms.FinalizeLoggedModel(ctx, modelID, status)
}

// DeleteLoggedModel marks a logged model deleted.
func (c *Client) DeleteLoggedModel(ctx context.Context, modelID string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return err
	}
	return lms.DeleteLoggedModel(ctx, modelID)
}

// GetRunOutputs returns the logged models a run produced (MLflow's
// run.outputs.model_outputs).
func (c *Client) GetRunOutputs(ctx context.Context, runID string) ([]store.LoggedModelOutput, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	lms, err := c.LoggedModels()
	if err != nil {
		return nil, err
	}
	return lms.GetRunOutputs(ctx, runID)
}

// LogModelMetric logs a metric point to the run and links it to a logged
// model, as mlflow.log_metric(..., model_id=...) does: the point goes to
// the run's history and to the model's metrics (recording this run).
func (r *Run) LogModelMetric(ctx context.Context, modelID, key string, value float64, opts ...MetricOption) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	m, err := r.metric(key, value, opts)
	if err != nil {
		return err
	}
	lms, err := r.c.LoggedModels()
	if err != nil {
		return err
	}
	if err := store.ValidateLoggedModelID(modelID); err != nil {
		return err
	}
	if _, err := lms.GetLoggedModel(ctx, modelID); err != nil {
		return err
	}
	if err := r.LogBatch(ctx, []store.Metric{m}, nil, nil); err != nil {
		return err
	}
	return lms.LogLoggedModelMetrics(ctx, modelID, []store.LoggedModelMetric{{
		Key: m.Key, Value: m.Value, Timestamp: m.Timestamp, Step: m.Step, RunID: r.id,
	}})
}

// logModelV3 is Run.LogModel in LayoutMLflow3 of a model prepareModel
// checked, following MLflow 3.17.2's Model.log: create the LoggedModel
// (PENDING; name = the artifact path, params = the model's plus the run's,
// tags = the context tags plus the model's), link it to the run as an
// output at m.Step, copy the run's metrics logged at that step to the
// model, write the files and MLmodel (last) into the model's artifact
// location, and finalize it READY (FAILED on an error after creation,
// which only I/O can cause).
func (r *Run) logModelV3(ctx context.Context, p *preparedModel, m Model) (*ModelInfo, error) {
	lms, err := r.c.LoggedModels()
	if err != nil {
		return nil, err
	}
	run, err := r.c.store.GetRun(ctx, r.id)
	if err != nil {
		return nil, err
	}
	params := maps.Clone(m.Params)
	if params == nil {
		params = map[string]string{}
	}
	for _, p := range run.Data.Params {
		params[p.Key] = p.Value // the run's params win, as in Model.log
	}
	tags := r.c.systemTags()
	maps.Copy(tags, m.Tags)
	req := store.CreateLoggedModelRequest{
		ExperimentID: r.experimentID, Name: p.path, SourceRunID: r.id, ModelType: m.ModelType, Tags: sortedTags(tags),
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		req.Params = append(req.Params, store.Param{Key: k, Value: params[k]})
	}
	if err := validateLoggedModelRequest(req); err != nil {
		return nil, err
	}
	lm, err := lms.CreateLoggedModel(ctx, req)
	if err != nil {
		return nil, err
	}
	out, err := r.writeModelV3(ctx, lms, lm, p, m)
	if err != nil {
		if _, ferr := lms.FinalizeLoggedModel(context.WithoutCancel(ctx), lm.ModelID, store.LoggedModelFailed); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return nil, err
	}
	if _, err := lms.FinalizeLoggedModel(ctx, lm.ModelID, store.LoggedModelReady); err != nil {
		return nil, err
	}
	return out, nil
}

// validateLoggedModelRequest checks the params and tags of a new logged
// model as a run's, before it is created.
func validateLoggedModelRequest(req store.CreateLoggedModelRequest) error {
	for _, p := range req.Params {
		if err := store.ValidateParam(p); err != nil {
			return fmt.Errorf("LogModel: model param: %w", err)
		}
	}
	for _, t := range req.Tags {
		if err := store.ValidateTag(t); err != nil {
			return fmt.Errorf("LogModel: model tag: %w", err)
		}
	}
	return nil
}

func (r *Run) writeModelV3(ctx context.Context, lms store.LoggedModels, lm *store.LoggedModel, p *preparedModel, m Model) (*ModelInfo, error) {
	if err := lms.LogOutputs(ctx, r.id, []store.LoggedModelOutput{{ModelID: lm.ModelID, Step: m.Step}}); err != nil {
		return nil, err
	}
	if err := r.copyStepMetrics(ctx, lms, lm.ModelID, m.Step); err != nil {
		return nil, err
	}
	a, err := r.c.openArtifacts(lm.ArtifactLocation, true)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	dir := ""
	if l := a.local(); l != nil {
		dir = l.dir
	}
	out := &ModelInfo{
		RunID:          r.id,
		ArtifactPath:   lm.ArtifactLocation,
		ModelUUID:      lm.ModelID,
		ModelID:        lm.ModelID,
		UTCTimeCreated: pyDatetime(r.c.now().UTC()),
		URI:            lm.URI(),
		LocalPath:      dir,
	}
	doc := map[string]any{
		"artifact_path":    lm.ArtifactLocation,
		"flavors":          p.flavors,
		"mlflow_version":   r.c.mlflowVersion(),
		"model_id":         lm.ModelID,
		"model_uuid":       lm.ModelID,
		"prompts":          nil,
		"run_id":           r.id,
		"utc_time_created": out.UTCTimeCreated,
	}
	if len(m.Metadata) > 0 {
		doc["metadata"] = m.Metadata
	}
	mlmodel, err := pyyaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("LogModel: encode MLmodel: %w", err)
	}
	if err := p.writeFiles(ctx, a, "", m, mlmodel); err != nil {
		return nil, err
	}
	return out, nil
}

// copyStepMetrics logs to the model the run's metric points at step, as
// Model.log's log_model_metrics_for_step does (without MLflow's re-logging
// of the same points to the run).
func (r *Run) copyStepMetrics(ctx context.Context, lms store.LoggedModels, modelID string, step int64) error {
	run, err := r.c.store.GetRun(ctx, r.id)
	if err != nil {
		return err
	}
	var pts []store.LoggedModelMetric
	for _, latest := range run.Data.Metrics {
		h, err := r.c.store.GetMetricHistory(ctx, r.id, latest.Key)
		if err != nil {
			return err
		}
		for _, p := range h {
			if p.Step == step {
				pts = append(pts, store.LoggedModelMetric{Key: p.Key, Value: p.Value, Timestamp: p.Timestamp, Step: p.Step, RunID: r.id})
			}
		}
	}
	if len(pts) == 0 {
		return nil
	}
	return lms.LogLoggedModelMetrics(ctx, modelID, pts)
}

// modelVersionsTag is the logged-model tag listing the registry versions
// made from it (MLflow's mlflow.modelVersions).
const modelVersionsTag = "mlflow.modelVersions"

// linkModelVersion appends {"name", "version"} to a logged model's
// mlflow.modelVersions tag, as mlflow.register_model does (json.dumps).
func linkModelVersion(ctx context.Context, lms store.LoggedModels, modelID, name string, version int64) error {
	lm, err := lms.GetLoggedModel(ctx, modelID)
	if err != nil {
		return err
	}
	var entries []any
	if old := lm.Tags[modelVersionsTag]; old != "" {
		dec := json.NewDecoder(strings.NewReader(old))
		dec.UseNumber()
		if dec.Decode(&entries) != nil {
			entries = nil
		}
	}
	entries = append(entries, map[string]any{"name": name, "version": version})
	return lms.SetLoggedModelTags(ctx, modelID, []store.Tag{{Key: modelVersionsTag, Value: pyJSON(entries, nil)}})
}

// loggedModelForRunPath finds the logged model a runs:/<run_id>/<path> URI
// names in MLflow 3 (no MLmodel at that run path: the model named path
// whose source run is run_id, the one logged at the largest step if
// several), as mlflow.register_model does.
func (c *Client) loggedModelForRunPath(ctx context.Context, run *store.Run, path string) (*store.LoggedModel, error) {
	lms, ok := store.AsLoggedModels(c.store)
	if !ok || path == "" || strings.Contains(path, "/") {
		return nil, nil
	}
	if a, err := c.openArtifacts(run.Info.ArtifactURI, false); err == nil {
		ok, err := exists(ctx, a, "register model", path+"/MLmodel")
		a.Close()
		if ok && err == nil {
			return nil, nil // a 2.x-layout model: register the run's files
		}
	}
	page, err := lms.SearchLoggedModels(ctx, store.LoggedModelQuery{
		ExperimentIDs: []string{run.Info.ExperimentID},
		Filter:        fmt.Sprintf("name = '%s' AND source_run_id = '%s'", path, run.Info.RunID),
		MaxResults:    1000,
	})
	if err != nil || len(page.Models) == 0 {
		return nil, err
	}
	outs, err := lms.GetRunOutputs(ctx, run.Info.RunID)
	if err != nil {
		return nil, err
	}
	step := map[string]int64{}
	for _, o := range outs {
		step[o.ModelID] = o.Step
	}
	best := page.Models[0]
	for _, m := range page.Models[1:] {
		if step[m.ModelID] > step[best.ModelID] {
			best = m
		}
	}
	return best, nil
}
