package reststore

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/store"
)

// MLflow 3's logged models over REST (/api/2.0/mlflow/logged-models/...).
// MLflow 2 servers have no such endpoints: HasLoggedModels reports false
// for them, and every method then fails with ErrInvalidState.

type jsonLoggedModel struct {
	Info struct {
		ModelID                string `json:"model_id"`
		ExperimentID           string `json:"experiment_id"`
		Name                   string `json:"name"`
		CreationTimestampMs    i64    `json:"creation_timestamp_ms"`
		LastUpdatedTimestampMs i64    `json:"last_updated_timestamp_ms"`
		ArtifactURI            string `json:"artifact_uri"`
		Status                 string `json:"status"`
		ModelType              string `json:"model_type"`
		SourceRunID            string `json:"source_run_id"`
		StatusMessage          string `json:"status_message"`
		Tags                   []kv   `json:"tags"`
	} `json:"info"`
	Data struct {
		Params  []kv         `json:"params"`
		Metrics []jsonMetric `json:"metrics"`
	} `json:"data"`
}

var lmStatusNames = map[store.LoggedModelStatus]string{
	store.LoggedModelUnspecified: "LOGGED_MODEL_STATUS_UNSPECIFIED",
	store.LoggedModelPending:     "LOGGED_MODEL_PENDING",
	store.LoggedModelReady:       "LOGGED_MODEL_READY",
	store.LoggedModelFailed:      "LOGGED_MODEL_UPLOAD_FAILED",
}

func parseLMStatus(name string) store.LoggedModelStatus {
	for st, n := range lmStatusNames {
		if n == name {
			return st
		}
	}
	return store.LoggedModelUnspecified
}

func (m *jsonLoggedModel) entity() *store.LoggedModel {
	i := &m.Info
	lm := &store.LoggedModel{
		ModelID:              i.ModelID,
		ExperimentID:         i.ExperimentID,
		Name:                 i.Name,
		ArtifactLocation:     i.ArtifactURI,
		ModelType:            i.ModelType,
		SourceRunID:          i.SourceRunID,
		Status:               parseLMStatus(i.Status),
		StatusMessage:        i.StatusMessage,
		CreationTimestamp:    int64(i.CreationTimestampMs),
		LastUpdatedTimestamp: int64(i.LastUpdatedTimestampMs),
		Tags:                 tagMap(i.Tags),
		Params:               tagMap(m.Data.Params),
	}
	for _, x := range m.Data.Metrics {
		lm.Metrics = append(lm.Metrics, store.LoggedModelMetric{
			Key: x.Key, Value: float64(x.Value), Timestamp: int64(x.Timestamp), Step: int64(x.Step),
			RunID: x.RunID, DatasetName: x.DatasetName, DatasetDigest: x.DatasetDigest,
		})
	}
	return lm
}

// lmSupport records whether the server has logged models.
type lmSupport struct {
	known bool
	has   bool
}

// HasLoggedModels reports whether the server is MLflow 3 or later (GET
// /version), asked once. If the server cannot be asked (within 30 s), it
// reports true, MLflow 3's default, and asks again next time.
func (s *Store) HasLoggedModels() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	has, err := s.hasLoggedModels(ctx)
	return has || err != nil
}

func (s *Store) hasLoggedModels(ctx context.Context) (bool, error) {
	s.lmMu.Lock()
	defer s.lmMu.Unlock()
	if s.lm.known {
		return s.lm.has, nil
	}
	resp, err := s.http.Do(ctx, mlflowhttp.Request{Method: http.MethodGet, Path: "/version"})
	if err != nil {
		return false, fmt.Errorf("ask the MLflow server at %s for its version: %w", s.URI(), err)
	}
	v := strings.TrimSpace(string(resp.Body))
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		return false, fmt.Errorf("the MLflow server at %s answered GET /version with %q", s.URI(), v)
	}
	s.lm = lmSupport{known: true, has: major >= 3}
	return s.lm.has, nil
}

// enterLM checks that the store is open and the server has logged models,
// asking it (under ctx) the first time.
func (s *Store) enterLM(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	has, err := s.hasLoggedModels(ctx)
	if err != nil {
		return err
	}
	if !has {
		return store.InvalidStatef("the MLflow server at %s has no logged models (MLflow 2); they need MLflow 3", s.URI())
	}
	return nil
}

func lmPath(id string, rest ...string) string {
	p := "logged-models/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

func (s *Store) lmResponse(ctx context.Context, method, path string, policy mlflowhttp.Idempotency, in any) (*store.LoggedModel, error) {
	var out struct {
		Model jsonLoggedModel `json:"model"`
	}
	if err := s.call(ctx, method, path, policy, in, &out); err != nil {
		return nil, err
	}
	return out.Model.entity(), nil
}

// CreateLoggedModel creates a logged model (POST logged-models; not
// retried once it may have been processed).
func (s *Store) CreateLoggedModel(ctx context.Context, req store.CreateLoggedModelRequest) (*store.LoggedModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	expID := cmp.Or(req.ExperimentID, store.DefaultExperimentID)
	if err := store.ValidateExperimentID(expID); err != nil {
		return nil, err
	}
	if err := store.ValidateCreateLoggedModel(req); err != nil {
		return nil, err
	}
	if err := s.enterLM(ctx); err != nil {
		return nil, err
	}
	in := struct {
		ExperimentID string `json:"experiment_id"`
		Name         string `json:"name,omitempty"`
		ModelType    string `json:"model_type,omitempty"`
		SourceRunID  string `json:"source_run_id,omitempty"`
		Params       []kv   `json:"params,omitempty"`
		Tags         []kv   `json:"tags,omitempty"`
	}{expID, req.Name, req.ModelType, req.SourceRunID, paramsJSON(req.Params), tagsJSON(req.Tags)}
	return s.lmResponse(ctx, http.MethodPost, "logged-models", notIdem, in)
}

// GetLoggedModel returns a logged model (GET logged-models/{id}).
func (s *Store) GetLoggedModel(ctx context.Context, id string) (*store.LoggedModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return nil, err
	}
	if err := s.enterLM(ctx); err != nil {
		return nil, err
	}
	return s.lmResponse(ctx, http.MethodGet, lmPath(id), idem, nil)
}

// FinalizeLoggedModel sets a model's status (PATCH logged-models/{id}).
func (s *Store) FinalizeLoggedModel(ctx context.Context, id string, status store.LoggedModelStatus) (*store.LoggedModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return nil, err
	}
	name, ok := lmStatusNames[status]
	if !ok || status == store.LoggedModelUnspecified {
		return nil, store.Invalidf("Unknown model status: %d", int(status))
	}
	if err := s.enterLM(ctx); err != nil {
		return nil, err
	}
	// MLflow's server finalizes a deleted model too; the store contract
	// says it is not found.
	if _, err := s.GetLoggedModel(ctx, id); err != nil {
		return nil, err
	}
	in := struct {
		ModelID string `json:"model_id"`
		Status  string `json:"status"`
	}{id, name}
	return s.lmResponse(ctx, http.MethodPatch, lmPath(id), idem, in)
}

// SetLoggedModelTags sets tags (PATCH logged-models/{id}/tags).
func (s *Store) SetLoggedModelTags(ctx context.Context, id string, tags []store.Tag) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return err
	}
	if err := store.ValidateTags(tags); err != nil {
		return err
	}
	if err := s.enterLM(ctx); err != nil {
		return err
	}
	// MLflow's server tags a deleted model too; the store contract says
	// it is not found.
	if _, err := s.GetLoggedModel(ctx, id); err != nil {
		return err
	}
	in := struct {
		Tags []kv `json:"tags"`
	}{tagsJSON(tags)}
	return s.call(ctx, http.MethodPatch, lmPath(id, "tags"), idem, in, nil)
}

// DeleteLoggedModelTag removes a tag (DELETE logged-models/{id}/tags/{key};
// not retried once it may have been processed, as a repeat would answer
// that the tag is missing).
func (s *Store) DeleteLoggedModelTag(ctx context.Context, id, key string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return err
	}
	if err := store.ValidateTag(store.Tag{Key: key}); err != nil {
		return err
	}
	if err := s.enterLM(ctx); err != nil {
		return err
	}
	return s.call(ctx, http.MethodDelete, lmPath(id, "tags", key), notIdem, struct{}{}, nil)
}

// LogLoggedModelParams logs params (POST logged-models/{id}/params). As in
// MLflow's SQL store, a param logged again fails, so it is not retried
// once it may have been processed.
func (s *Store) LogLoggedModelParams(ctx context.Context, id string, params []store.Param) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return err
	}
	for _, p := range params {
		if err := store.ValidateParam(p); err != nil {
			return err
		}
	}
	if err := s.enterLM(ctx); err != nil {
		return err
	}
	in := struct {
		ModelID string `json:"model_id"`
		Params  []kv   `json:"params"`
	}{id, paramsJSON(params)}
	return s.call(ctx, http.MethodPost, lmPath(id, "params"), notIdem, in, nil)
}

// LogLoggedModelMetrics logs metric points of a model: MLflow's API has
// no call of its own for that, so they go by log-batch to the run each
// point names, with the model's id (and dataset), at most 1000 a request.
// MLflow's server also records each point as a metric of that run. Of
// points sharing a key, timestamp, step and run, the request sends the
// largest value only, and none where the model already holds such a
// point: the server's table keys points without their value, and it can
// neither update a stored point nor hold a second one.
func (s *Store) LogLoggedModelMetrics(ctx context.Context, id string, metrics []store.LoggedModelMetric) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return err
	}
	if err := store.ValidateLoggedModelMetrics(metrics); err != nil {
		return err
	}
	if err := s.enterLM(ctx); err != nil {
		return err
	}
	points := largestPoints(metrics)
	if len(points) > 0 {
		// A point at a stored point's key is dropped: the server can
		// neither replace that row nor hold a second (see largestPoints).
		lm, err := s.GetLoggedModel(ctx, id)
		if err != nil {
			return err
		}
		points = newPoints(points, lm.Metrics)
	}
	var runs []string
	byRun := map[string][]jsonMetric{}
	for _, m := range points {
		if _, ok := byRun[m.RunID]; !ok {
			runs = append(runs, m.RunID)
		}
		byRun[m.RunID] = append(byRun[m.RunID], jsonMetric{Key: m.Key, Value: num(m.Value), Timestamp: i64(m.Timestamp),
			Step: i64(m.Step), DatasetName: m.DatasetName, DatasetDigest: m.DatasetDigest, ModelID: id, RunID: m.RunID})
	}
	for _, run := range runs {
		for chunk := range slices.Chunk(byRun[run], store.MaxMetricsPerBatch) {
			if err := s.logBatch(ctx, run, chunk, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteLoggedModel deletes a model (DELETE logged-models/{id}; not
// retried once it may have been processed).
func (s *Store) DeleteLoggedModel(ctx context.Context, id string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateLoggedModelID(id); err != nil {
		return err
	}
	if err := s.enterLM(ctx); err != nil {
		return err
	}
	// MLflow's server deletes a deleted model again without complaint.
	if _, err := s.GetLoggedModel(ctx, id); err != nil {
		return err
	}
	return s.call(ctx, http.MethodDelete, lmPath(id), notIdem, struct{}{}, nil)
}

// SearchLoggedModels searches models (POST logged-models/search).
func (s *Store) SearchLoggedModels(ctx context.Context, q store.LoggedModelQuery) (*store.LoggedModelPage, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := s.enterLM(ctx); err != nil {
		return nil, err
	}
	if q.MaxResults < 0 {
		return nil, store.Invalidf("Invalid value for max_results: %d", q.MaxResults)
	}
	for _, id := range q.ExperimentIDs {
		if err := store.ValidateExperimentID(id); err != nil {
			return nil, err
		}
	}
	if q.PageToken != "" && !isPageToken(q.PageToken) {
		// MLflow's server fails on it with an HTML 500.
		return nil, store.Invalidf("Invalid page token: %s.", q.PageToken)
	}
	if len(q.ExperimentIDs) == 0 {
		return &store.LoggedModelPage{Models: []*store.LoggedModel{}}, nil
	}
	max := cmp.Or(q.MaxResults, store.DefaultLoggedModelMaxResults)
	type dataset struct {
		Name   string `json:"dataset_name"`
		Digest string `json:"dataset_digest,omitempty"`
	}
	type orderBy struct {
		FieldName     string `json:"field_name"`
		Ascending     bool   `json:"ascending"`
		DatasetName   string `json:"dataset_name,omitempty"`
		DatasetDigest string `json:"dataset_digest,omitempty"`
	}
	in := struct {
		ExperimentIDs []string  `json:"experiment_ids"`
		Filter        string    `json:"filter,omitempty"`
		Datasets      []dataset `json:"datasets,omitempty"`
		MaxResults    int       `json:"max_results"`
		OrderBy       []orderBy `json:"order_by,omitempty"`
		PageToken     string    `json:"page_token,omitempty"`
	}{ExperimentIDs: q.ExperimentIDs, Filter: q.Filter, MaxResults: max, PageToken: q.PageToken}
	for _, d := range q.Datasets {
		in.Datasets = append(in.Datasets, dataset{d.Name, d.Digest})
	}
	for _, o := range q.OrderBy {
		in.OrderBy = append(in.OrderBy, orderBy{o.FieldName, o.Ascending, o.DatasetName, o.DatasetDigest})
	}
	var out struct {
		Models        []jsonLoggedModel `json:"models"`
		NextPageToken string            `json:"next_page_token"`
	}
	if err := s.post(ctx, "logged-models/search", idem, in, &out); err != nil {
		return nil, err
	}
	p := &store.LoggedModelPage{Models: make([]*store.LoggedModel, 0, len(out.Models)), NextPageToken: out.NextPageToken}
	for i := range out.Models {
		p.Models = append(p.Models, out.Models[i].entity())
	}
	return p, nil
}

// LogOutputs links models to a run (POST runs/outputs; a link the run
// already has is kept once, so it is retried).
func (s *Store) LogOutputs(ctx context.Context, id string, outputs []store.LoggedModelOutput) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateOutputs(id, outputs); err != nil {
		return err
	}
	if err := s.enterLM(ctx); err != nil {
		return err
	}
	if len(outputs) == 0 {
		return nil
	}
	// MLflow's server refuses a link the run already has (a unique
	// violation on PostgreSQL); the store contract makes it a no-op, so
	// only new links are sent.
	have, err := s.GetRunOutputs(ctx, id)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range have {
		seen[o.ModelID] = true
	}
	var ms []jsonModelOutput
	for _, o := range outputs {
		if !seen[o.ModelID] {
			seen[o.ModelID] = true
			ms = append(ms, jsonModelOutput{ModelID: o.ModelID, Step: i64(o.Step)})
		}
	}
	if len(ms) == 0 {
		return nil
	}
	in := struct {
		RunID  string            `json:"run_id"`
		Models []jsonModelOutput `json:"models"`
	}{id, ms}
	return s.post(ctx, "runs/outputs", idem, in, nil)
}

// GetRunOutputs returns a run's model outputs (from GET runs/get), sorted
// by model id.
func (s *Store) GetRunOutputs(ctx context.Context, id string) ([]store.LoggedModelOutput, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRunID(id); err != nil {
		return nil, err
	}
	if err := s.enterLM(ctx); err != nil {
		return nil, err
	}
	var out struct {
		Run jsonRun `json:"run"`
	}
	if err := s.get(ctx, "runs/get", url.Values{"run_id": {id}}, &out); err != nil {
		return nil, err
	}
	outs := []store.LoggedModelOutput{}
	for _, o := range out.Run.Outputs.ModelOutputs {
		outs = append(outs, store.LoggedModelOutput{ModelID: o.ModelID, Step: int64(o.Step)})
	}
	slices.SortFunc(outs, func(a, b store.LoggedModelOutput) int { return strings.Compare(a.ModelID, b.ModelID) })
	return outs, nil
}

// largestPoints keeps, of the points that share a logged-model metric's
// key (model_id, key, timestamp, step, run), the one with the largest
// value, in the order of their first occurrence: the store contract's
// rule for such points (the larger value is kept). MLflow's server
// refuses a request holding two of them with its database's unique
// violation, as its dedupe compares values too.
func largestPoints(metrics []store.LoggedModelMetric) []store.LoggedModelMetric {
	at := make(map[pointKey]int, len(metrics))
	out := make([]store.LoggedModelMetric, 0, len(metrics))
	for _, m := range metrics {
		k := keyOf(m)
		i, ok := at[k]
		switch {
		case !ok:
			at[k] = len(out)
			out = append(out, m)
		case m.Value > out[i].Value:
			out[i] = m
		}
	}
	return out
}

// pointKey is the primary key of a logged-model metric point in MLflow's
// SQL store (with the model's id).
type pointKey struct {
	key, run        string
	timestamp, step int64
}

func keyOf(m store.LoggedModelMetric) pointKey {
	return pointKey{m.Key, m.RunID, m.Timestamp, m.Step}
}

// newPoints returns the points whose key no stored point has. A point
// logged again is not a second point (the store contract), and a larger
// value cannot replace the stored one over REST (the server has no
// update), so both are dropped.
func newPoints(points, stored []store.LoggedModelMetric) []store.LoggedModelMetric {
	have := make(map[pointKey]bool, len(stored))
	for _, m := range stored {
		have[keyOf(m)] = true
	}
	out := points[:0]
	for _, m := range points {
		if !have[keyOf(m)] {
			out = append(out, m)
		}
	}
	return out
}
