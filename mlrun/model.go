package mlrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/mlrun-go/mlrun/internal/pystr"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mlrun-go/mlrun/internal/pyyaml"
	"github.com/mlrun-go/mlrun/store"
)

// LogModelHistoryTag is the run tag listing the models logged to a run
// (MLflow's mlflow.log-model.history): a JSON list of
// {run_id, artifact_path, utc_time_created, model_uuid, flavors}.
const LogModelHistoryTag = "mlflow.log-model.history"

// Model describes a model to log with [Run.LogModel]: its files and its
// MLflow flavors.
type Model struct {
	// Flavors maps flavor names to their configuration, written into the
	// MLmodel file, e.g. {"onnx": {"onnx_version": "1.16.0", "data":
	// "model.onnx"}} or a custom {"go_ridge": {"data": "weights.json"}}.
	// A python_function flavor is optional: without one, MLflow lists and
	// downloads the model but cannot load it with mlflow.pyfunc.
	Flavors map[string]map[string]any
	// Files are written into the model directory (names relative to it,
	// '/'-separated).
	Files map[string][]byte
	// Dir, if set, is a local directory copied into the model directory.
	Dir string
	// Metadata is MLmodel's optional metadata map.
	Metadata map[string]any

	// The fields below apply to the MLflow 3 layout (LayoutMLflow3) only.

	// Params and Tags are set on the logged model (with the run's params
	// and the context tags mlflow.user, mlflow.source.*, as Model.log does).
	Params map[string]string
	Tags   map[string]string
	// ModelType is the logged model's model_type (e.g. "regressor").
	ModelType string
	// Step is the step of the run output linking the run to the model;
	// the run's metrics logged at that step are copied to the model.
	Step int64
}

// LoggedModel is a model logged with [Run.LogModel].
type LoggedModel struct {
	RunID string
	// ArtifactPath is the model directory relative to the run's artifact
	// root (2.x layout), or the model's artifact location URI (MLflow 3
	// layout), as MLflow's ModelInfo.artifact_path.
	ArtifactPath   string
	ModelUUID      string // the model id in the MLflow 3 layout
	ModelID        string // the MLflow 3 logged model (m-…); "" in the 2.x layout
	UTCTimeCreated string
	URI            string // runs:/<run_id>/<artifact_path>, or models:/<model_id>
	LocalPath      string // the model directory on disk
}

// LogModel logs a model in the client's model layout ([Client.ModelLayout]).
//
// In LayoutMLflow2 it writes a model directory with an MLmodel file into the
// run's artifacts at artifactPath, in the layout MLflow 2.x's log_model
// produces (runs:/<run_id>/<artifactPath> resolves to it for every MLflow
// version), and appends the model to the run's mlflow.log-model.history
// tag.
//
// In LayoutMLflow3 it creates an MLflow 3 LoggedModel named artifactPath
// (no '/', ':', '.', '%' or quotes) as MLflow 3's log_model does (see
// LayoutMLflow3); the result's URI is models:/<model_id>, and MLflow 3
// also resolves runs:/<run_id>/<artifactPath> to it.
//
// Register the model with [Client.RegisterModel](ctx, m.URI, name).
func (r *Run) LogModel(ctx context.Context, artifactPath string, m Model) (*LoggedModel, error) {
	if err := r.checkActive(); err != nil {
		return nil, err
	}
	artifactPath = strings.Trim(artifactPath, "/")
	if artifactPath == "" {
		return nil, store.Invalidf("LogModel: artifact path must not be empty")
	}
	if err := store.ValidateArtifactPath(artifactPath); err != nil {
		return nil, err
	}
	if len(m.Flavors) == 0 {
		return nil, store.Invalidf("LogModel: a model needs at least one flavor")
	}
	for name := range m.Files {
		if name == "MLmodel" || store.ValidateArtifactPath(name) != nil || name == "" {
			return nil, store.Invalidf("LogModel: invalid model file name %q", name)
		}
	}
	if r.c.ModelLayout() == LayoutMLflow3 {
		return r.logModelV3(ctx, artifactPath, m, copyFlavors(m.Flavors))
	}
	now := r.c.now().UTC()
	lm := &LoggedModel{
		RunID:          r.id,
		ArtifactPath:   artifactPath,
		ModelUUID:      strings.ReplaceAll(uuid.NewString(), "-", ""),
		UTCTimeCreated: pyDatetime(now),
		URI:            "runs:/" + r.id + "/" + artifactPath,
	}
	flavors := copyFlavors(m.Flavors)
	doc := map[string]any{
		"artifact_path":    artifactPath,
		"flavors":          flavors,
		"model_uuid":       lm.ModelUUID,
		"run_id":           r.id,
		"utc_time_created": lm.UTCTimeCreated,
	}
	if len(m.Metadata) > 0 {
		doc["metadata"] = m.Metadata
	}
	mlmodel, err := pyyaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("LogModel: encode MLmodel: %w", err)
	}
	if m.Dir != "" {
		err := filepath.WalkDir(m.Dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(m.Dir, p)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return r.writeArtifact(ctx, artifactPath+"/"+filepath.ToSlash(rel), f)
		})
		if err != nil {
			return nil, fmt.Errorf("LogModel: copy %s: %w", m.Dir, err)
		}
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := r.writeArtifact(ctx, artifactPath+"/"+n, bytes.NewReader(m.Files[n])); err != nil {
			return nil, err
		}
	}
	// MLmodel last: its presence marks a complete model directory.
	if err := r.writeArtifact(ctx, artifactPath+"/MLmodel", bytes.NewReader(mlmodel)); err != nil {
		return nil, err
	}
	if lm.LocalPath, err = r.localArtifactPath(artifactPath); err != nil {
		return nil, err
	}
	if err := r.appendModelHistory(ctx, lm, flavors); err != nil {
		return nil, err
	}
	return lm, nil
}

// copyFlavors copies the flavors into the map MLmodel holds.
func copyFlavors(in map[string]map[string]any) map[string]any {
	flavors := map[string]any{}
	for k, v := range in {
		fv := map[string]any{}
		for kk, vv := range v {
			fv[kk] = vv
		}
		flavors[k] = fv
	}
	return flavors
}

// appendModelHistory adds the model to the run's mlflow.log-model.history
// tag, in Python's json.dumps format.
func (r *Run) appendModelHistory(ctx context.Context, lm *LoggedModel, flavors map[string]any) error {
	run, err := r.c.store.GetRun(ctx, r.id)
	if err != nil {
		return err
	}
	var hist []json.RawMessage
	if old, ok := run.Tag(LogModelHistoryTag); ok && old != "" {
		if err := json.Unmarshal([]byte(old), &hist); err != nil {
			hist = nil // MLflow would fail; mlrun starts a fresh list
		}
	}
	entry := pyJSON(map[string]any{
		"run_id":           lm.RunID,
		"artifact_path":    lm.ArtifactPath,
		"utc_time_created": lm.UTCTimeCreated,
		"model_uuid":       lm.ModelUUID,
		"flavors":          flavors,
	}, []string{"run_id", "artifact_path", "utc_time_created", "model_uuid", "flavors"})
	parts := make([]string, 0, len(hist)+1)
	for _, h := range hist {
		var v any
		if json.Unmarshal(h, &v) == nil {
			parts = append(parts, pyJSON(v, nil))
		}
	}
	parts = append(parts, entry)
	return r.SetTag(ctx, LogModelHistoryTag, "["+strings.Join(parts, ", ")+"]")
}

// pyDatetime formats t as Python's str(datetime): microseconds only when
// non-zero.
func pyDatetime(t time.Time) string {
	s := t.Format("2006-01-02 15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return s
}

// pyJSON encodes v as Python's json.dumps (", " and ": " separators,
// ensure_ascii). Maps keep the key order in order (then the rest, sorted
// for determinism; Python keeps insertion order).
func pyJSON(v any, order []string) string {
	var b strings.Builder
	writePyJSON(&b, v, order)
	return b.String()
}

func writePyJSON(w io.StringWriter, v any, order []string) {
	switch x := v.(type) {
	case nil:
		w.WriteString("null")
	case bool:
		if x {
			w.WriteString("true")
		} else {
			w.WriteString("false")
		}
	case string:
		w.WriteString(pystr.JSONQuote(x))
	case int:
		w.WriteString(strconv.Itoa(x))
	case int64:
		w.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if x == float64(int64(x)) && !strings.ContainsAny(strconv.FormatFloat(x, 'g', -1, 64), "e") {
			w.WriteString(strconv.FormatFloat(x, 'f', 1, 64))
		} else {
			w.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case []any:
		w.WriteString("[")
		for i, e := range x {
			if i > 0 {
				w.WriteString(", ")
			}
			writePyJSON(w, e, nil)
		}
		w.WriteString("]")
	case []string:
		a := make([]any, len(x))
		for i, s := range x {
			a[i] = s
		}
		writePyJSON(w, a, nil)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for _, k := range order {
			if _, ok := x[k]; ok {
				keys = append(keys, k)
			}
		}
		var rest []string
		for k := range x {
			if !slices.Contains(keys, k) {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		keys = append(keys, rest...)
		w.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				w.WriteString(", ")
			}
			w.WriteString(pystr.JSONQuote(k))
			w.WriteString(": ")
			writePyJSON(w, x[k], nil)
		}
		w.WriteString("}")
	case map[string]string:
		m := map[string]any{}
		for k, s := range x {
			m[k] = s
		}
		writePyJSON(w, m, order)
	default:
		b, _ := json.Marshal(x)
		w.WriteString(string(b))
	}
}
