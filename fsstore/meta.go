package fsstore

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mlrun-go/mlrun/internal/pyyaml"
	"github.com/mlrun-go/mlrun/store"
)

// This file holds the meta.yaml documents: how they are parsed (tolerantly,
// as every MLflow version wrote them) and how they are emitted (exactly as
// MLflow's write_yaml, through internal/pyyaml).
//
// Parsing goes through yaml.Node rather than into Go values, because
// gopkg.in/yaml.v3 resolves plain scalars by YAML 1.2 rules while PyYAML
// uses YAML 1.1: a run name written plain as `1e3` is a str to PyYAML but a
// float to yaml.v3. Taking the scalar's text for string fields, and parsing
// it ourselves for integer fields, reads every document PyYAML writes the
// way MLflow reads it, and tolerates legacy int experiment ids for free.

// errEmptyYAML is returned by parseDoc for an empty or blank document.
var errEmptyYAML = errors.New("empty YAML document")

// yamlDoc is the top-level mapping of a parsed meta.yaml.
type yamlDoc struct {
	path string                // the file, for error messages
	m    map[string]*yaml.Node // key -> value node (aliases resolved)
}

// parseDoc parses a meta.yaml document. A blank document gives
// errEmptyYAML; anything that is not a YAML mapping an ErrCorrupt error
// naming path.
func parseDoc(path string, data []byte) (*yamlDoc, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errEmptyYAML
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, store.Corruptf("malformed YAML in %s: %v", path, err)
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, store.Corruptf("malformed %s: not a YAML mapping", path)
	}
	d := &yamlDoc{path: path, m: make(map[string]*yaml.Node, len(n.Content)/2)}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			return nil, store.Corruptf("malformed %s: non-scalar key on line %d", path, k.Line)
		}
		d.m[k.Value] = v
	}
	return d, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is a YAML null (a plain ~, null, Null, NULL or
// empty scalar).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 &&
		n.ShortTag() == "!!null"
}

func (d *yamlDoc) corrupt(key, format string, args ...any) error {
	return store.Corruptf("malformed %s: key %q: %s", d.path, key, fmt.Sprintf(format, args...))
}

// has reports whether key is present (possibly null).
func (d *yamlDoc) has(key string) bool { _, ok := d.m[key]; return ok }

// str returns the text of a scalar value; ok is false if the key is missing
// or null. Any scalar is accepted (an int experiment_id reads as "0").
func (d *yamlDoc) str(key string) (s string, ok bool, err error) {
	n := d.m[key]
	if n == nil || isNull(n) {
		return "", false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", false, d.corrupt(key, "want a scalar, got a %s", kindName(n.Kind))
	}
	return n.Value, true, nil
}

// reqStr is str for a key that must be present and not null.
func (d *yamlDoc) reqStr(key string) (string, error) {
	s, ok, err := d.str(key)
	if err == nil && !ok {
		err = d.corrupt(key, "missing")
	}
	return s, err
}

// int returns an integer value; ok is false if the key is missing or null.
func (d *yamlDoc) int(key string) (v int64, ok bool, err error) {
	s, ok, err := d.str(key)
	if err != nil || !ok {
		return 0, false, err
	}
	v, perr := parsePyInt(s)
	if perr != nil {
		return 0, false, d.corrupt(key, "want an integer, got %q", s)
	}
	return v, true, nil
}

// optInt is int as a pointer, nil when missing or null.
func (d *yamlDoc) optInt(key string) (*int64, error) {
	v, ok, err := d.int(key)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

// strMap returns a mapping of scalars (a missing or null key gives nil).
func (d *yamlDoc) strMap(key string) (map[string]string, error) {
	n := d.m[key]
	if n == nil || isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.corrupt(key, "want a mapping, got a %s", kindName(n.Kind))
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, d.corrupt(key, "want a mapping of scalars")
		}
		if isNull(v) {
			out[k.Value] = ""
		} else {
			out[k.Value] = v.Value
		}
	}
	return out, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.ScalarNode:
		return "scalar"
	default:
		return "node"
	}
}

// parsePyInt parses a decimal integer as PyYAML's int resolver accepts it
// (optional sign, underscores between digits).
func parsePyInt(s string) (int64, error) {
	return strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
}

// marshalYAML emits v exactly as MLflow's write_yaml does.
func marshalYAML(v map[string]any) ([]byte, error) {
	b, err := pyyaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode meta.yaml: %w", err)
	}
	return b, nil
}

// expMeta is an experiment's meta.yaml.
type expMeta struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     *int64
	LastUpdateTime   *int64
}

// parseExpMeta reads an experiment meta.yaml. The keys MLflow's Experiment
// constructor needs are required; unknown keys (workspace, trace_location,
// tags, ...) are ignored, as MLflow ignores them.
func parseExpMeta(path string, data []byte) (*expMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m expMeta
	if m.ID, err = d.reqStr("experiment_id"); err != nil {
		return nil, err
	}
	if m.Name, err = d.reqStr("name"); err != nil {
		return nil, err
	}
	if m.ArtifactLocation, err = d.reqStr("artifact_location"); err != nil {
		return nil, err
	}
	if m.LifecycleStage, err = d.reqStr("lifecycle_stage"); err != nil {
		return nil, err
	}
	if m.CreationTime, err = d.optInt("creation_time"); err != nil {
		return nil, err
	}
	if m.LastUpdateTime, err = d.optInt("last_update_time"); err != nil {
		return nil, err
	}
	return &m, nil
}

// encode returns the meta.yaml bytes. A new experiment's file has no tags
// key (MLflow's _create_experiment_with_id deletes it); rewrites (rename,
// delete, restore) carry the current tags as a mapping, as MLflow's
// overwrite_yaml(dict(experiment)) does. tags == nil means "no tags key".
func (m *expMeta) encode(tags map[string]string) ([]byte, error) {
	doc := map[string]any{
		"artifact_location": m.ArtifactLocation,
		"creation_time":     optIntValue(m.CreationTime),
		"experiment_id":     m.ID,
		"last_update_time":  optIntValue(m.LastUpdateTime),
		"lifecycle_stage":   m.LifecycleStage,
		"name":              m.Name,
	}
	if tags != nil {
		doc["tags"] = maps.Clone(tags)
	}
	return marshalYAML(doc)
}

func optIntValue(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// runMeta is a run's meta.yaml.
type runMeta struct {
	RunID          string
	ExperimentID   string
	RunName        string
	UserID         string
	Status         store.RunStatus
	StartTime      int64
	EndTime        *int64
	ArtifactURI    string
	LifecycleStage string
	DeletedTime    *int64
}

// parseRunMeta reads a run meta.yaml as MLflow 2.x and 3.x wrote it. It
// requires the keys MLflow's RunInfo constructor needs (run_id or the
// legacy run_uuid, experiment_id, user_id, start_time, end_time), and
// defaults the others as MLflow does (status RUNNING, lifecycle_stage
// active). A string status is accepted as well as MLflow's int.
func parseRunMeta(path string, data []byte) (*runMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m runMeta
	var ok bool
	if m.RunID, ok, err = d.str("run_id"); err != nil {
		return nil, err
	} else if !ok {
		if m.RunID, ok, err = d.str("run_uuid"); err != nil {
			return nil, err
		} else if !ok {
			return nil, d.corrupt("run_id", "missing (and no run_uuid)")
		}
	}
	if m.ExperimentID, err = d.reqStr("experiment_id"); err != nil {
		return nil, err
	}
	if m.UserID, ok, err = d.str("user_id"); err != nil {
		return nil, err
	} else if !ok && !d.has("user_id") {
		return nil, d.corrupt("user_id", "missing")
	}
	if m.RunName, _, err = d.str("run_name"); err != nil {
		return nil, err
	}
	if m.StartTime, ok, err = d.int("start_time"); err != nil {
		return nil, err
	} else if !ok {
		return nil, d.corrupt("start_time", "missing")
	}
	if !d.has("end_time") {
		return nil, d.corrupt("end_time", "missing")
	}
	if m.EndTime, err = d.optInt("end_time"); err != nil {
		return nil, err
	}
	if m.DeletedTime, err = d.optInt("deleted_time"); err != nil {
		return nil, err
	}
	if m.ArtifactURI, _, err = d.str("artifact_uri"); err != nil {
		return nil, err
	}
	m.LifecycleStage = store.LifecycleActive
	if s, ok, err := d.str("lifecycle_stage"); err != nil {
		return nil, err
	} else if ok {
		m.LifecycleStage = s
	}
	m.Status = store.StatusRunning
	if s, ok, err := d.str("status"); err != nil {
		return nil, err
	} else if ok {
		if n, perr := parsePyInt(s); perr == nil {
			m.Status = store.RunStatus(n)
		} else if st, perr := store.ParseRunStatus(s); perr == nil {
			m.Status = st
		} else {
			return nil, d.corrupt("status", "unknown run status %q", s)
		}
		if !m.Status.Valid() {
			return nil, d.corrupt("status", "unknown run status %q", s)
		}
	}
	return &m, nil
}

// encode returns the run meta.yaml bytes with MLflow's key set: the legacy
// constant fields (entry_point_name, source_*, tags: []) that old readers
// need, status as MLflow's int enum, and run_uuid next to run_id so that
// MLflow 2.x (whose RunInfo requires run_uuid) reads the run too; MLflow
// 3.x ignores the extra key. deleted_time is written as null at creation
// (created == true) and with its value while the run is deleted; other
// rewrites drop it, as MLflow's _overwrite_run_info does.
func (m *runMeta) encode(created bool) ([]byte, error) {
	doc := map[string]any{
		"artifact_uri":     m.ArtifactURI,
		"end_time":         optIntValue(m.EndTime),
		"entry_point_name": "",
		"experiment_id":    m.ExperimentID,
		"lifecycle_stage":  m.LifecycleStage,
		"run_id":           m.RunID,
		"run_name":         m.RunName,
		"run_uuid":         m.RunID,
		"source_name":      "",
		"source_type":      sourceTypeLocal,
		"source_version":   "",
		"start_time":       m.StartTime,
		"status":           int(m.Status),
		"tags":             []any{},
		"user_id":          m.UserID,
	}
	switch {
	case created:
		doc["deleted_time"] = nil
	case m.LifecycleStage == store.LifecycleDeleted && m.DeletedTime != nil:
		doc["deleted_time"] = *m.DeletedTime
	}
	return marshalYAML(doc)
}

// sourceTypeLocal is MLflow's SourceType.LOCAL, the constant every run
// meta.yaml carries.
const sourceTypeLocal = 4

// info converts the meta to a store.RunInfo.
func (m *runMeta) info() store.RunInfo {
	return store.RunInfo{
		RunID:          m.RunID,
		ExperimentID:   m.ExperimentID,
		RunName:        m.RunName,
		UserID:         m.UserID,
		Status:         m.Status,
		StartTime:      m.StartTime,
		EndTime:        clonePtr(m.EndTime),
		ArtifactURI:    m.ArtifactURI,
		LifecycleStage: m.LifecycleStage,
		DeletedTime:    clonePtr(m.DeletedTime),
	}
}

func (m *runMeta) clone() *runMeta {
	c := *m
	c.EndTime = clonePtr(m.EndTime)
	c.DeletedTime = clonePtr(m.DeletedTime)
	return &c
}

func clonePtr(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// datasetMeta is <exp>/datasets/<id>/meta.yaml: dict(Dataset).
func encodeDataset(d store.Dataset) ([]byte, error) {
	return marshalYAML(map[string]any{
		"digest":      d.Digest,
		"name":        d.Name,
		"profile":     nullIfEmpty(d.Profile),
		"schema":      nullIfEmpty(d.Schema),
		"source":      d.Source,
		"source_type": d.SourceType,
	})
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func parseDataset(path string, data []byte) (store.Dataset, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return store.Dataset{}, err
	}
	var ds store.Dataset
	if ds.Name, err = d.reqStr("name"); err != nil {
		return ds, err
	}
	if ds.Digest, err = d.reqStr("digest"); err != nil {
		return ds, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"source_type", &ds.SourceType}, {"source", &ds.Source}, {"schema", &ds.Schema}, {"profile", &ds.Profile}} {
		if *f.dst, _, err = d.str(f.key); err != nil {
			return ds, err
		}
	}
	return ds, nil
}

// Input vertex types, by their protobuf enum names as MLflow writes them.
const (
	vertexDataset = "DATASET"
	vertexRun     = "RUN"
)

// encodeInput returns <run>/inputs/<id>/meta.yaml for a dataset input.
// destination_id holds the dataset id, not the run id: MLflow's
// _FileStoreInput.write_yaml has written source_id there since 2.4, and
// readers ignore the field for inputs.
func encodeInput(datasetID string, tags []store.Tag) ([]byte, error) {
	tm := make(map[string]any, len(tags))
	for _, t := range tags {
		tm[t.Key] = t.Value
	}
	return marshalYAML(map[string]any{
		"destination_id":   datasetID,
		"destination_type": vertexRun,
		"source_id":        datasetID,
		"source_type":      vertexDataset,
		"tags":             tm,
	})
}

// inputMeta is a parsed run input.
type inputMeta struct {
	SourceType string
	SourceID   string
	Tags       map[string]string
}

func parseInput(path string, data []byte) (*inputMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m inputMeta
	if m.SourceType, err = d.reqStr("source_type"); err != nil {
		return nil, err
	}
	if m.SourceID, err = d.reqStr("source_id"); err != nil {
		return nil, err
	}
	if m.Tags, err = d.strMap("tags"); err != nil {
		return nil, err
	}
	return &m, nil
}
