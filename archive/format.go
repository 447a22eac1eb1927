package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// FormatVersion is the version of the archive format this package writes
// and the only one it reads.
const FormatVersion = 1

// formatName is the "format" field of an archive's header and manifest.
const formatName = "mlrun-archive"

// Member names. Every member is a regular file.
const (
	headerMember    = "mlrun-archive.json"
	recordsPrefix   = "records/"
	artifactsPrefix = "artifacts/"
	runFilesPrefix  = artifactsPrefix + "runs/"
	lmFilesPrefix   = artifactsPrefix + "models/"
	sumsMember      = "SHA256SUMS"
	manifestMember  = "manifest.json"
	// paxSHA256 is the PAX header record holding a member's SHA-256.
	paxSHA256 = "MLRUN.sha256"
)

// ErrBadArchive marks an archive that cannot be imported: not an mlrun
// archive, truncated, damaged or tampered with (a checksum mismatch), of an
// unknown format version, or with a member that is not allowed (a path
// escaping its directory, a symlink, a hard link, a device).
var ErrBadArchive = errors.New("bad archive")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, args...))
}

// header is the first member, mlrun-archive.json.
type header struct {
	Format        string     `json:"format"`
	FormatVersion int        `json:"format_version"`
	MlrunVersion  string     `json:"mlrun_version"`
	Created       string     `json:"created"` // RFC 3339, UTC
	Source        sourceInfo `json:"source"`
}

// sourceInfo describes the store an archive was made from.
type sourceInfo struct {
	Kind          string `json:"kind"`                     // "file" or "sqlite"
	MLflowVersion string `json:"mlflow_version,omitempty"` // of a SQLite schema
}

// manifest is the last member, manifest.json.
type manifest struct {
	Format        string     `json:"format"`
	FormatVersion int        `json:"format_version"`
	MlrunVersion  string     `json:"mlrun_version"`
	Created       string     `json:"created"`
	Source        sourceInfo `json:"source"`
	Counts        Counts     `json:"counts"`
	// Members counts the members before SHA256SUMS; SHA256SUMS is the
	// SHA-256 of that member, which lists the SHA-256 of each of them.
	Members    int    `json:"members"`
	SHA256SUMS string `json:"sha256sums"`
}

// Counts are the number of entities in an archive (or a stream).
type Counts struct {
	Experiments      int   `json:"experiments"`
	Runs             int   `json:"runs"`
	MetricPoints     int64 `json:"metric_points"`
	LoggedModels     int   `json:"logged_models"`
	RegisteredModels int   `json:"registered_models"`
	ModelVersions    int   `json:"model_versions"`
	Artifacts        int   `json:"artifacts"`
	ArtifactBytes    int64 `json:"artifact_bytes"`
}

// Record kinds.
const (
	kindExperiment      = "experiment"
	kindRun             = "run"
	kindMetrics         = "metrics"
	kindRunEnd          = "run_end"
	kindLoggedModel     = "logged_model"
	kindRegisteredModel = "registered_model"
	kindModelVersion    = "model_version"
)

// record is one line of a records/NNNNNN.jsonl member: a kind and the one
// field it names.
type record struct {
	Kind            string              `json:"kind"`
	Experiment      *experimentRec      `json:"experiment,omitempty"`
	Run             *runRec             `json:"run,omitempty"`
	Metrics         *metricsRec         `json:"metrics,omitempty"`
	RunEnd          *runEndRec          `json:"run_end,omitempty"`
	LoggedModel     *loggedModelRec     `json:"logged_model,omitempty"`
	RegisteredModel *registeredModelRec `json:"registered_model,omitempty"`
	ModelVersion    *modelVersionRec    `json:"model_version,omitempty"`
}

// check verifies that a record sets the one field its kind names.
func (r *record) check() error {
	set := 0
	for _, p := range []bool{r.Experiment != nil, r.Run != nil, r.Metrics != nil, r.RunEnd != nil,
		r.LoggedModel != nil, r.RegisteredModel != nil, r.ModelVersion != nil} {
		if p {
			set++
		}
	}
	ok := set == 1
	switch r.Kind {
	case kindExperiment:
		ok = ok && r.Experiment != nil
	case kindRun:
		ok = ok && r.Run != nil
	case kindMetrics:
		ok = ok && r.Metrics != nil
	case kindRunEnd:
		ok = ok && r.RunEnd != nil
	case kindLoggedModel:
		ok = ok && r.LoggedModel != nil
	case kindRegisteredModel:
		ok = ok && r.RegisteredModel != nil
	case kindModelVersion:
		ok = ok && r.ModelVersion != nil
	default:
		return fmt.Errorf("unknown record kind %q", r.Kind)
	}
	if !ok {
		return fmt.Errorf("a %q record must hold exactly its %q field", r.Kind, r.Kind)
	}
	return nil
}

type experimentRec struct {
	ExperimentID     string            `json:"experiment_id"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location"` // in the source store
	LifecycleStage   string            `json:"lifecycle_stage"`
	CreationTime     int64             `json:"creation_time"`
	LastUpdateTime   int64             `json:"last_update_time"`
	Tags             map[string]string `json:"tags"`
}

type kvRec struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type datasetRec struct {
	Name       string  `json:"name"`
	Digest     string  `json:"digest"`
	SourceType string  `json:"source_type"`
	Source     string  `json:"source"`
	Schema     string  `json:"schema,omitempty"`
	Profile    string  `json:"profile,omitempty"`
	Tags       []kvRec `json:"tags"`
}

type outputRec struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

type runRec struct {
	RunID          string       `json:"run_id"`
	ExperimentID   string       `json:"experiment_id"` // in the source store
	RunName        string       `json:"run_name"`
	UserID         string       `json:"user_id"`
	Status         string       `json:"status"`
	StartTime      int64        `json:"start_time"`
	EndTime        *int64       `json:"end_time"`
	LifecycleStage string       `json:"lifecycle_stage"`
	DeletedTime    *int64       `json:"deleted_time"`
	ArtifactURI    string       `json:"artifact_uri"` // in the source store
	Params         []kvRec      `json:"params"`
	Tags           []kvRec      `json:"tags"`
	Inputs         []datasetRec `json:"inputs"`
	Outputs        []outputRec  `json:"outputs"`
}

// metricsRec is a chunk of one metric's history, in logging order.
type metricsRec struct {
	RunID  string  `json:"run_id"`
	Key    string  `json:"key"`
	Points []point `json:"points"`
}

// point is a metric point written [timestamp, value, step].
type point struct {
	Timestamp int64
	Value     float64
	Step      int64
}

func (p point) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 48)
	b = append(b, '[')
	b = strconv.AppendInt(b, p.Timestamp, 10)
	b = append(b, ',')
	b = appendFloat(b, p.Value)
	b = append(b, ',')
	b = strconv.AppendInt(b, p.Step, 10)
	return append(b, ']'), nil
}

func (p *point) UnmarshalJSON(b []byte) error {
	var raw [3]json.RawMessage
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 3 {
		return fmt.Errorf("a metric point must be [timestamp, value, step], got %s", shortJSON(b))
	}
	copy(raw[:], parts)
	if err := json.Unmarshal(raw[0], &p.Timestamp); err != nil {
		return fmt.Errorf("metric point %s: timestamp: %v", shortJSON(b), err)
	}
	var v jsonFloat
	if err := json.Unmarshal(raw[1], &v); err != nil {
		return fmt.Errorf("metric point %s: value: %v", shortJSON(b), err)
	}
	p.Value = float64(v)
	if err := json.Unmarshal(raw[2], &p.Step); err != nil {
		return fmt.Errorf("metric point %s: step: %v", shortJSON(b), err)
	}
	return nil
}

func shortJSON(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// jsonFloat is a metric value: a JSON number (the shortest that reads back
// the same float64, -0 kept), or "NaN", "Infinity", "-Infinity".
type jsonFloat float64

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func (f jsonFloat) MarshalJSON() ([]byte, error) { return appendFloat(nil, float64(f)), nil }

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jsonFloat(math.NaN())
		return nil
	case `"Infinity"`:
		*f = jsonFloat(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = jsonFloat(math.Inf(-1))
		return nil
	}
	if len(b) == 0 || b[0] == '"' || bytes.Equal(b, []byte("null")) {
		return fmt.Errorf("invalid metric value %s", shortJSON(b))
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("invalid metric value %s", shortJSON(b))
	}
	*f = jsonFloat(v)
	return nil
}

type runEndRec struct {
	RunID        string `json:"run_id"`
	MetricPoints int64  `json:"metric_points"`
}

type lmMetricRec struct {
	Key           string    `json:"key"`
	Value         jsonFloat `json:"value"`
	Timestamp     int64     `json:"timestamp"`
	Step          int64     `json:"step"`
	RunID         string    `json:"run_id"`
	DatasetName   string    `json:"dataset_name,omitempty"`
	DatasetDigest string    `json:"dataset_digest,omitempty"`
}

type loggedModelRec struct {
	ModelID              string            `json:"model_id"`
	ExperimentID         string            `json:"experiment_id"` // in the source store
	Name                 string            `json:"name"`
	ArtifactLocation     string            `json:"artifact_location"` // in the source store
	ModelType            string            `json:"model_type,omitempty"`
	SourceRunID          string            `json:"source_run_id,omitempty"`
	Status               string            `json:"status"`
	StatusMessage        string            `json:"status_message,omitempty"`
	CreationTimestamp    int64             `json:"creation_timestamp"`
	LastUpdatedTimestamp int64             `json:"last_updated_timestamp"`
	Tags                 map[string]string `json:"tags"`
	Params               map[string]string `json:"params"`
	Metrics              []lmMetricRec     `json:"metrics"`
}

type registeredModelRec struct {
	Name                 string            `json:"name"`
	CreationTimestamp    int64             `json:"creation_timestamp"`
	LastUpdatedTimestamp int64             `json:"last_updated_timestamp"`
	Description          string            `json:"description,omitempty"`
	Tags                 map[string]string `json:"tags"`
}

// artifactRef names a place among a run's or a logged model's artifacts:
// a model version's source or storage location that pointed into the
// source store, rewritten on import to the same place in the destination.
type artifactRef struct {
	RunID   string `json:"run_id,omitempty"`
	ModelID string `json:"model_id,omitempty"`
	Path    string `json:"path"` // relative, "" for the root
}

type modelVersionRec struct {
	Name                 string            `json:"name"`
	Version              int64             `json:"version"`
	CreationTimestamp    int64             `json:"creation_timestamp"`
	LastUpdatedTimestamp int64             `json:"last_updated_timestamp"`
	Description          string            `json:"description,omitempty"`
	UserID               string            `json:"user_id,omitempty"`
	CurrentStage         string            `json:"current_stage"`
	Source               string            `json:"source"`
	SourceArtifact       *artifactRef      `json:"source_artifact,omitempty"`
	RunID                string            `json:"run_id,omitempty"`
	RunLink              string            `json:"run_link,omitempty"`
	Status               string            `json:"status"`
	StatusMessage        string            `json:"status_message,omitempty"`
	StorageLocation      string            `json:"storage_location,omitempty"`
	StorageArtifact      *artifactRef      `json:"storage_artifact,omitempty"`
	ModelID              string            `json:"model_id,omitempty"`
	Tags                 map[string]string `json:"tags"`
	Aliases              []string          `json:"aliases"`
}

// fileMember returns the member name of an artifact file of a run (or of a
// logged model, if model).
func fileMember(model bool, id, rel string) string {
	if model {
		return lmFilesPrefix + id + "/" + rel
	}
	return runFilesPrefix + id + "/" + rel
}

// parseFileMember splits an artifact member name into its owner and its
// path, which must be a clean relative path.
func parseFileMember(name string) (model bool, id, rel string, err error) {
	var rest string
	switch {
	case strings.HasPrefix(name, runFilesPrefix):
		rest = name[len(runFilesPrefix):]
	case strings.HasPrefix(name, lmFilesPrefix):
		model, rest = true, name[len(lmFilesPrefix):]
	default:
		return false, "", "", fmt.Errorf("unexpected member %q", name)
	}
	id, rel, ok := strings.Cut(rest, "/")
	if !ok || rel == "" {
		return false, "", "", fmt.Errorf("member %q names no file", name)
	}
	if model {
		err = store.ValidateLoggedModelID(id)
	} else {
		err = store.ValidateRunID(id)
	}
	if err != nil {
		return false, "", "", fmt.Errorf("member %q: %v", name, err)
	}
	if err := store.ValidateArtifactPath(rel); err != nil {
		return false, "", "", fmt.Errorf("member %q: path escapes its directory or is not clean: %v", name, err)
	}
	return model, id, rel, nil
}
