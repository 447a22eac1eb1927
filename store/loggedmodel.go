package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/internal/pystr"

	"github.com/google/uuid"
)

// LoggedModels is MLflow 3's LoggedModel tracking: models that are
// first-class entities of an experiment, with their own id (m-<32 hex>),
// artifacts, params, tags and metrics, linked to the run that produced them
// by a run output. It is an optional capability of a Store: backends that
// write MLflow 3's layout implement it, and callers check with a type
// assertion (lms, ok := s.(store.LoggedModels)).
//
// MLflow 2.x knows nothing of logged models: a store holding them is only
// fully readable by MLflow 3 (see the fsstore package documentation).
type LoggedModels interface {
	// CreateLoggedModel creates a model in status PENDING in an active
	// experiment, with its params and tags. An empty Name gets a
	// generated adjective-noun-NNN name.
	CreateLoggedModel(ctx context.Context, req CreateLoggedModelRequest) (*LoggedModel, error)
	// GetLoggedModel returns a model with its tags, params and latest
	// metrics. A deleted model is ErrNotFound.
	GetLoggedModel(ctx context.Context, modelID string) (*LoggedModel, error)
	// FinalizeLoggedModel sets a model's status (normally READY or FAILED).
	FinalizeLoggedModel(ctx context.Context, modelID string, status LoggedModelStatus) (*LoggedModel, error)
	// SetLoggedModelTags sets (or replaces) tags of a model.
	SetLoggedModelTags(ctx context.Context, modelID string, tags []Tag) error
	// DeleteLoggedModelTag removes a tag; a missing tag is ErrNotFound.
	DeleteLoggedModelTag(ctx context.Context, modelID, key string) error
	// LogLoggedModelParams sets params of a model. As in MLflow, a param
	// logged again is overwritten.
	LogLoggedModelParams(ctx context.Context, modelID string, params []Param) error
	// LogLoggedModelMetrics appends metric points to a model. Every point
	// names the run it was logged in (RunID is required: MLflow's line
	// format has no room for an empty one). A point logged again is not a
	// second point. Two points of a key at the same timestamp and step of
	// a run (which a run's own metrics allow, and which LogModel copies)
	// are both accepted: the model's metric is then the larger value, on
	// both local backends (the SQL store keeps that one row; see
	// sqlstore.Store.LogLoggedModelMetrics). Over REST the larger value of
	// one request is kept, but a stored point is never replaced: MLflow's
	// server cannot update it (see reststore.Store.LogLoggedModelMetrics).
	LogLoggedModelMetrics(ctx context.Context, modelID string, metrics []LoggedModelMetric) error
	// DeleteLoggedModel marks a model deleted; it then reads as not found.
	DeleteLoggedModel(ctx context.Context, modelID string) error
	// SearchLoggedModels lists the active models of experiments, filtered
	// and ordered as in q.
	SearchLoggedModels(ctx context.Context, q LoggedModelQuery) (*LoggedModelPage, error)
	// LogOutputs links models to an active run as its outputs, each at a
	// step. Linking a model the run already has is a no-op.
	LogOutputs(ctx context.Context, runID string, outputs []LoggedModelOutput) error
	// GetRunOutputs returns a run's model outputs, sorted by model id.
	GetRunOutputs(ctx context.Context, runID string) ([]LoggedModelOutput, error)
}

// LoggedModelStatus is a logged model's status. The values are MLflow's
// LoggedModelStatus.to_int(), which the file store writes into meta.yaml.
type LoggedModelStatus int

// Logged model statuses.
const (
	LoggedModelUnspecified LoggedModelStatus = 0
	LoggedModelPending     LoggedModelStatus = 1
	LoggedModelReady       LoggedModelStatus = 2
	LoggedModelFailed      LoggedModelStatus = 3
)

var loggedModelStatusNames = [...]string{"UNSPECIFIED", "PENDING", "READY", "FAILED"}

// String returns MLflow's name of the status, e.g. "READY".
func (s LoggedModelStatus) String() string {
	if s.Valid() {
		return loggedModelStatusNames[s]
	}
	return fmt.Sprintf("LoggedModelStatus(%d)", int(s))
}

// Valid reports whether s is one of MLflow's logged model statuses.
func (s LoggedModelStatus) Valid() bool { return s >= 0 && int(s) < len(loggedModelStatusNames) }

// ParseLoggedModelStatus parses a status name ("READY", any case).
func ParseLoggedModelStatus(name string) (LoggedModelStatus, error) {
	for i, n := range loggedModelStatusNames {
		if strings.EqualFold(n, name) {
			return LoggedModelStatus(i), nil
		}
	}
	return 0, Invalidf("Unknown model status: %s", name)
}

// LoggedModel is an MLflow 3 logged model.
type LoggedModel struct {
	ModelID      string // m-<32 hex>
	ExperimentID string
	Name         string
	// ArtifactLocation is <experiment artifact_location>/models/<id>/artifacts.
	ArtifactLocation     string
	ModelType            string // "" when unset
	SourceRunID          string // "" when unset
	Status               LoggedModelStatus
	StatusMessage        string
	CreationTimestamp    int64 // ms since the epoch
	LastUpdatedTimestamp int64
	Tags                 map[string]string
	Params               map[string]string
	// Metrics holds, for each key and dataset (name, digest), the latest
	// point by (step, timestamp, value), as MLflow reads them; sorted by
	// key, then dataset name and digest.
	Metrics []LoggedModelMetric
}

// URI returns the model's URI, models:/<model_id>.
func (m *LoggedModel) URI() string { return "models:/" + m.ModelID }

// Metric returns the latest point of a metric (on no dataset, or else the
// first dataset) and whether it exists.
func (m *LoggedModel) Metric(key string) (LoggedModelMetric, bool) {
	for _, x := range m.Metrics {
		if x.Key == key {
			return x, true
		}
	}
	return LoggedModelMetric{}, false
}

// LoggedModelMetric is one metric point of a logged model.
type LoggedModelMetric struct {
	Key           string
	Value         float64
	Timestamp     int64 // ms since the epoch
	Step          int64
	RunID         string // the run the point was logged in; required
	DatasetName   string // optional; set together with DatasetDigest
	DatasetDigest string
}

// LoggedModelOutput links a run to a model it produced, at a step.
type LoggedModelOutput struct {
	ModelID string
	Step    int64
}

// CreateLoggedModelRequest describes a new logged model.
type CreateLoggedModelRequest struct {
	ExperimentID string // "" means Default ("0")
	Name         string // "" means a generated name
	SourceRunID  string
	ModelType    string
	Tags         []Tag
	Params       []Param
}

// LoggedModelQuery selects logged models.
type LoggedModelQuery struct {
	ExperimentIDs []string
	// Filter is MLflow's filter string for search_logged_models (see
	// [LoggedModelSemantics.ParseFilter]); "" matches all.
	Filter string
	// Datasets, if set, restricts metric clauses to metrics logged on one
	// of these datasets, and without a metric clause keeps only models
	// with some metric on one of them.
	Datasets []LoggedModelDataset
	// OrderBy defaults to creation_timestamp DESC; model_id ASC always
	// breaks ties, as in MLflow.
	OrderBy    []LoggedModelOrderBy
	MaxResults int // 0 means 100
	PageToken  string
}

// LoggedModelDataset is one entry of search_logged_models' datasets: a
// dataset name (required) and optionally its digest ("" matches any).
type LoggedModelDataset struct {
	Name   string
	Digest string
}

// LoggedModelOrderBy is one order_by entry of search_logged_models: an
// attribute (name, model_id, model_type, status, source_run_id,
// creation_timestamp, last_updated_timestamp) or metrics.<key>. For a
// metric, DatasetName and DatasetDigest ("" for none) restrict the points
// the order uses.
type LoggedModelOrderBy struct {
	FieldName     string
	Ascending     bool
	DatasetName   string
	DatasetDigest string
}

// LoggedModelPage is one page of logged models.
type LoggedModelPage struct {
	Models        []*LoggedModel
	NextPageToken string
}

// DefaultLoggedModelMaxResults is MLflow's SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT.
const DefaultLoggedModelMaxResults = 100

// NewLoggedModelID returns a new model id as MLflow makes it:
// "m-" + uuid4 hex.
func NewLoggedModelID() string {
	u := uuid.New()
	return fmt.Sprintf("m-%x", u[:])
}

var loggedModelIDRegex = regexp.MustCompile(`^m-[0-9a-zA-Z][\w\-]{0,253}$`)

// ValidateOutputs checks the arguments of LogOutputs: a run id and the
// model id of every output.
func ValidateOutputs(runID string, outputs []LoggedModelOutput) error {
	if err := ValidateRunID(runID); err != nil {
		return err
	}
	for _, o := range outputs {
		if err := ValidateLoggedModelID(o.ModelID); err != nil {
			return err
		}
	}
	return nil
}

// ValidateLoggedModelID checks that id looks like an MLflow model id
// (m-…), which also makes it safe as a directory name.
func ValidateLoggedModelID(id string) error {
	if !loggedModelIDRegex.MatchString(id) {
		return Invalidf("Invalid model id '%s': model ids have the form m-<hex>", id)
	}
	return nil
}

// IsLoggedModelURI reports whether uri is models:/<model_id> and returns
// the id.
func IsLoggedModelURI(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "models:/")
	if !ok {
		return "", false
	}
	rest = strings.Trim(rest, "/")
	if strings.ContainsAny(rest, "/@") || ValidateLoggedModelID(rest) != nil {
		return "", false
	}
	return rest, true
}

// ValidateLoggedModelName applies MLflow's _validate_logged_model_name:
// non-empty, and none of / : . % " '.
func ValidateLoggedModelName(name string) error {
	if err := ValidateText("Model name", name); err != nil {
		return err
	}
	if name == "" || strings.ContainsAny(name, `/:.%"'`) {
		return Invalidf("Invalid model name (%s) provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%%', '\"', \"'\")", pystr.Repr(name))
	}
	return nil
}

// ValidateCreateLoggedModel checks a CreateLoggedModelRequest, but for its
// experiment id, which each backend parses: the name (when set), the source
// run id (when set), the model type, and every param and tag.
func ValidateCreateLoggedModel(req CreateLoggedModelRequest) error {
	if req.Name != "" {
		if err := ValidateLoggedModelName(req.Name); err != nil {
			return err
		}
	}
	if req.SourceRunID != "" {
		if err := ValidateRunID(req.SourceRunID); err != nil {
			return err
		}
	}
	if err := ValidateText("Model type", req.ModelType); err != nil {
		return err
	}
	if err := ValidateParams(req.Params); err != nil {
		return err
	}
	return ValidateTags(req.Tags)
}

// ValidateLoggedModelMetrics checks every point of a LogLoggedModelMetrics
// call (see ValidateLoggedModelMetric).
func ValidateLoggedModelMetrics(metrics []LoggedModelMetric) error {
	for _, m := range metrics {
		if err := ValidateLoggedModelMetric(m); err != nil {
			return err
		}
	}
	return validateKeyPaths("metric", metrics, func(m *LoggedModelMetric) string { return m.Key })
}

// ValidateLoggedModelMetric checks a metric point of a logged model.
func ValidateLoggedModelMetric(m LoggedModelMetric) error {
	if err := ValidateMetric(Metric{Key: m.Key, Value: m.Value, Timestamp: m.Timestamp, Step: m.Step}); err != nil {
		return err
	}
	if err := ValidateRunID(m.RunID); err != nil {
		return Invalidf("logged model metric %q: a run id is required: %v", m.Key, err)
	}
	if (m.DatasetName == "") != (m.DatasetDigest == "") {
		return Invalidf("logged model metric %q: dataset name and digest must be set together", m.Key)
	}
	for _, f := range []string{m.DatasetName, m.DatasetDigest} {
		if !utf8.ValidString(f) {
			return invalidText(fmt.Sprintf("logged model metric %q: dataset", m.Key), f)
		}
		if strings.ContainsAny(f, " \t\r\n") {
			return Invalidf("logged model metric %q: dataset name and digest cannot contain whitespace in the file store", m.Key)
		}
	}
	return nil
}
