package mlrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/internal/pystr"
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

// ModelInfo describes a model [Run.LogModel] logged, as MLflow's ModelInfo
// (the result of log_model) does. The MLflow 3 logged model entity itself
// is a [store.LoggedModel] (see [Client.GetLoggedModel]).
type ModelInfo struct {
	RunID string
	// ArtifactPath is the model directory relative to the run's artifact
	// root (2.x layout), or the model's artifact location URI (MLflow 3
	// layout), as MLflow's ModelInfo.artifact_path.
	ArtifactPath   string
	ModelUUID      string // the model id in the MLflow 3 layout
	ModelID        string // the MLflow 3 logged model (m-…); "" in the 2.x layout
	UTCTimeCreated string
	URI            string // runs:/<run_id>/<artifact_path>, or models:/<model_id>
	LocalPath      string // the model directory on disk ("" when the artifacts are on a tracking server)
}

// LogModel logs a model in the client's model layout ([Client.ModelLayout]).
//
// In LayoutMLflow2 it writes a model directory with an MLmodel file into the
// run's artifacts at artifactPath, in the layout MLflow 2.x's log_model
// produces (runs:/<run_id>/<artifactPath> resolves to it for every MLflow
// version), and appends the model to the run's mlflow.log-model.history
// tag. Like MLflow's record_logged_model, that tag grows past MLflow's
// 8000-character tag limit rather than fail the 38th or so model of a run.
//
// In LayoutMLflow3 it creates an MLflow 3 LoggedModel named artifactPath
// (no '/', ':', '.', '%' or quotes) as MLflow 3's log_model does (see
// LayoutMLflow3); the result's URI is models:/<model_id>, and MLflow 3
// also resolves runs:/<run_id>/<artifactPath> to it.
//
// The model is checked whole before anything is written or created: the
// artifact path, every flavor and the metadata (they must encode as
// MLmodel YAML), the name of every file in Files and in Dir (a valid
// artifact path, no element over 255 bytes; Dir's symlinks as for
// LogArtifacts). An invalid model is ErrInvalidParameter and leaves no
// trace: no files, no logged model, no run output.
//
// Register the model with [Client.RegisterModel](ctx, m.URI, name). To log
// a model to a run that has ended (the best run of a sweep), use
// [Client.LogModel].
func (r *Run) LogModel(ctx context.Context, artifactPath string, m Model) (lm *ModelInfo, err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return nil, err
	}
	return r.logModel(ctx, artifactPath, m)
}

// LogModel logs a model to the run runID as [Run.LogModel] does, whether
// the run is running or has ended, without changing its status or end time
// (as MLflow's log_model(..., run_id=...) does): the way to log the best
// model after a sweep. A deleted run is ErrInvalidState.
func (c *Client) LogModel(ctx context.Context, runID, artifactPath string, m Model) (*ModelInfo, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRunID(runID); err != nil {
		return nil, err
	}
	run, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	if run.Info.LifecycleStage == store.LifecycleDeleted {
		return nil, store.InvalidStatef("Cannot log a model to run %s because it is in the deleted state.", runID)
	}
	return c.handle(&run.Info).logModel(ctx, artifactPath, m)
}

// preparedModel is a Model checked by prepareModel.
type preparedModel struct {
	path    string         // the artifact path (MLflow 2) or model name (MLflow 3)
	flavors map[string]any // MLmodel's flavors
	dir     *sourceTree    // Model.Dir's files, or nil
	names   []string       // Model.Files' names, sorted
}

// prepareModel checks everything LogModel will write, before it writes
// anything (see Run.LogModel).
func (r *Run) prepareModel(artifactPath string, m Model, layout ModelLayout) (*preparedModel, error) {
	p := &preparedModel{path: strings.Trim(artifactPath, "/")}
	if p.path == "" {
		return nil, store.Invalidf("LogModel: artifact path must not be empty")
	}
	if err := store.ValidateArtifactPath(p.path); err != nil {
		return nil, err
	}
	if err := checkNameLengths(p.path); err != nil {
		return nil, err
	}
	prefix := p.path // where the files go, relative to their root
	if layout == LayoutMLflow3 {
		if err := store.ValidateLoggedModelName(p.path); err != nil {
			return nil, err
		}
		prefix = ""
	}
	if len(m.Flavors) == 0 {
		return nil, store.Invalidf("LogModel: a model needs at least one flavor")
	}
	for name := range m.Flavors {
		if name == "" || !utf8.ValidString(name) {
			return nil, store.Invalidf("LogModel: invalid flavor name %q", name)
		}
	}
	p.flavors = copyFlavors(m.Flavors)
	probe := map[string]any{"flavors": p.flavors}
	if len(m.Metadata) > 0 {
		probe["metadata"] = m.Metadata
	}
	if _, err := pyyaml.Marshal(probe); err != nil {
		return nil, store.Invalidf("LogModel: the flavors or metadata cannot be written to MLmodel: %v", err)
	}
	for name := range m.Files {
		if name == "MLmodel" {
			return nil, store.Invalidf("LogModel: invalid model file name %q: LogModel writes MLmodel", name)
		}
		if err := checkArtifactFile(path.Join(prefix, name)); err != nil || name == "" || store.ValidateArtifactPath(name) != nil {
			return nil, store.Invalidf("LogModel: invalid model file name %q: %v", name, err)
		}
		p.names = append(p.names, name)
	}
	sort.Strings(p.names)
	if m.Dir != "" {
		tree, err := collectSource(m.Dir, prefix)
		if err != nil {
			return nil, fmt.Errorf("LogModel: %w", err)
		}
		p.dir = tree
	}
	return p, nil
}

// writeFiles writes the model's files into a under prefix: Dir's, then
// Files (which win over Dir's of the same name), then MLmodel, whose
// presence marks a complete model directory.
func (p *preparedModel) writeFiles(ctx context.Context, a artifactIO, prefix string, m Model, mlmodel []byte) error {
	if p.dir != nil {
		if err := p.dir.copyTo(ctx, a, "log model", prefix); err != nil {
			return err
		}
	}
	for _, n := range p.names {
		if err := a.write(ctx, "log model", path.Join(prefix, n), bytesSource(m.Files[n])); err != nil {
			return err
		}
	}
	return a.write(ctx, "log model", path.Join(prefix, "MLmodel"), bytesSource(mlmodel))
}

// logModel is LogModel on a run known to accept it.
func (r *Run) logModel(ctx context.Context, artifactPath string, m Model) (*ModelInfo, error) {
	layout := r.c.ModelLayout()
	p, err := r.prepareModel(artifactPath, m, layout)
	if err != nil {
		return nil, err
	}
	if layout == LayoutMLflow3 {
		return r.logModelV3(ctx, p, m)
	}
	now := r.c.now().UTC()
	lm := &ModelInfo{
		RunID:          r.id,
		ArtifactPath:   p.path,
		ModelUUID:      strings.ReplaceAll(uuid.NewString(), "-", ""),
		UTCTimeCreated: pyDatetime(now),
		URI:            "runs:/" + r.id + "/" + p.path,
	}
	doc := map[string]any{
		"artifact_path":    p.path,
		"flavors":          p.flavors,
		"model_uuid":       lm.ModelUUID,
		"run_id":           r.id,
		"utc_time_created": lm.UTCTimeCreated,
	}
	if len(m.Metadata) > 0 {
		doc["metadata"] = m.Metadata
	}
	mlmodel, err := pyyaml.Marshal(doc)
	if err != nil {
		return nil, store.Invalidf("LogModel: encode MLmodel: %v", err)
	}
	a, err := r.artifacts(true)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if l := a.local(); l != nil {
		// Refuse a model path that leads out of the root before writing.
		if _, err := l.stat("log model", p.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		lm.LocalPath = l.path(p.path)
	}
	if err := p.writeFiles(ctx, a, p.path, m, mlmodel); err != nil {
		return nil, err
	}
	if err := r.appendModelHistory(ctx, lm, p.flavors); err != nil {
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
// tag atomically, in Python's json.dumps format, keeping the entries there
// as they are (an old value that is not a JSON list is replaced: MLflow
// would fail on it). As MLflow's record_logged_model, it writes the tag at
// any length.
func (r *Run) appendModelHistory(ctx context.Context, lm *ModelInfo, flavors map[string]any) error {
	entry := pyJSON(map[string]any{
		"run_id":           lm.RunID,
		"artifact_path":    lm.ArtifactPath,
		"utc_time_created": lm.UTCTimeCreated,
		"model_uuid":       lm.ModelUUID,
		"flavors":          flavors,
	}, []string{"run_id", "artifact_path", "utc_time_created", "model_uuid", "flavors"})
	return r.c.updateRunTag(ctx, r.id, LogModelHistoryTag, func(old string, _ bool) (string, error) {
		var hist []json.RawMessage
		if old != "" && json.Unmarshal([]byte(old), &hist) != nil {
			hist = nil
		}
		parts := make([]string, 0, len(hist)+1)
		for _, h := range hist {
			parts = append(parts, string(h))
		}
		return "[" + strings.Join(append(parts, entry), ", ") + "]", nil
	})
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
// ensure_ascii, floats as Python's repr, NaN and Infinity as Python writes
// them). Maps keep the key order in order (then the rest, sorted for
// determinism; Python keeps insertion order). v holds what a flavor or
// MLmodel metadata may: nil, bools, numbers, strings, and slices, arrays,
// maps with string keys and pointers of them.
func pyJSON(v any, order []string) string {
	var b strings.Builder
	writePyJSON(&b, reflect.ValueOf(v), order, 0)
	return b.String()
}

func writePyJSON(w *strings.Builder, v reflect.Value, order []string, depth int) {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || depth > maxParamDepth {
		w.WriteString("null")
		return
	}
	if n, ok := v.Interface().(json.Number); ok {
		w.WriteString(n.String())
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			w.WriteString("true")
		} else {
			w.WriteString("false")
		}
	case reflect.String:
		w.WriteString(pystr.JSONQuote(v.String()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if v.Kind() == reflect.Float32 {
			f = float32Value(f)
		}
		switch {
		case math.IsNaN(f):
			w.WriteString("NaN")
		case math.IsInf(f, 1):
			w.WriteString("Infinity")
		case math.IsInf(f, -1):
			w.WriteString("-Infinity")
		default:
			w.WriteString(pyfloat.Repr(f))
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			w.WriteString("null")
			return
		}
		w.WriteString("[")
		for i := range v.Len() {
			if i > 0 {
				w.WriteString(", ")
			}
			writePyJSON(w, v.Index(i), nil, depth+1)
		}
		w.WriteString("]")
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			w.WriteString("null")
			return
		}
		keys := make([]string, 0, v.Len())
		for _, k := range order {
			if v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())).IsValid() {
				keys = append(keys, k)
			}
		}
		var rest []string
		for _, k := range v.MapKeys() {
			if !slices.Contains(keys, k.String()) {
				rest = append(rest, k.String())
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
			writePyJSON(w, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())), nil, depth+1)
		}
		w.WriteString("}")
	default:
		w.WriteString("null")
	}
}
