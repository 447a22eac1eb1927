package store

import (
	"fmt"
	"strings"
)

// Lifecycle stages of experiments and runs, as MLflow writes them.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// DefaultExperimentID and DefaultExperimentName name the experiment every
// new store starts with.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// RunStatus is a run's status. The numeric values are MLflow's protobuf enum
// values, which the file store writes into meta.yaml as integers.
type RunStatus int

// Run statuses.
const (
	StatusRunning   RunStatus = 1
	StatusScheduled RunStatus = 2
	StatusFinished  RunStatus = 3
	StatusFailed    RunStatus = 4
	StatusKilled    RunStatus = 5
)

var statusNames = map[RunStatus]string{
	StatusRunning:   "RUNNING",
	StatusScheduled: "SCHEDULED",
	StatusFinished:  "FINISHED",
	StatusFailed:    "FAILED",
	StatusKilled:    "KILLED",
}

// String returns MLflow's name of the status, e.g. "FINISHED".
func (s RunStatus) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("RunStatus(%d)", int(s))
}

// Valid reports whether s is one of MLflow's run statuses.
func (s RunStatus) Valid() bool { _, ok := statusNames[s]; return ok }

// Terminated reports whether s is FINISHED, FAILED or KILLED.
func (s RunStatus) Terminated() bool {
	return s == StatusFinished || s == StatusFailed || s == StatusKilled
}

// ParseRunStatus parses MLflow's name of a status ("FINISHED", any case).
func ParseRunStatus(name string) (RunStatus, error) {
	for s, n := range statusNames {
		if strings.EqualFold(n, name) {
			return s, nil
		}
	}
	return 0, Invalidf("Invalid run status %q: must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED", name)
}

// ViewType selects runs or experiments by lifecycle stage.
type ViewType int

// View types, with MLflow's values.
const (
	ActiveOnly  ViewType = 1
	DeletedOnly ViewType = 2
	AllViews    ViewType = 3
)

// Includes reports whether an entity in the given lifecycle stage is part of
// the view. The zero ViewType means ActiveOnly.
func (v ViewType) Includes(lifecycleStage string) bool {
	switch v {
	case DeletedOnly:
		return lifecycleStage == LifecycleDeleted
	case AllViews:
		return true
	default:
		return lifecycleStage != LifecycleDeleted
	}
}

// Experiment is an MLflow experiment.
type Experiment struct {
	ID               string
	Name             string
	ArtifactLocation string
	LifecycleStage   string
	CreationTime     int64 // ms since the epoch
	LastUpdateTime   int64 // ms since the epoch
	Tags             map[string]string
}

// Tag is a key/value pair: a run tag, an experiment tag or an input tag.
type Tag struct {
	Key   string
	Value string
}

// Param is a run parameter. Once logged, its value cannot change.
type Param struct {
	Key   string
	Value string
}

// Metric is one point of a metric's history. Value may be NaN or ±Inf.
type Metric struct {
	Key       string
	Value     float64
	Timestamp int64 // ms since the epoch
	Step      int64
}

// RunInfo is a run's metadata.
type RunInfo struct {
	RunID          string
	ExperimentID   string
	RunName        string
	UserID         string
	Status         RunStatus
	StartTime      int64  // ms since the epoch
	EndTime        *int64 // nil while the run has not ended
	ArtifactURI    string
	LifecycleStage string
	DeletedTime    *int64 // set by DeleteRun, if the backend records it
}

// RunData holds a run's latest metrics, params and tags.
type RunData struct {
	Metrics []Metric // the latest value of each metric key, sorted by key
	Params  []Param  // sorted by key
	Tags    []Tag    // sorted by key
}

// Dataset is a dataset logged as a run input.
type Dataset struct {
	Name       string
	Digest     string
	SourceType string
	Source     string // JSON
	Schema     string // JSON, may be empty
	Profile    string // JSON, may be empty
}

// DatasetInput is a dataset used by a run, with input tags such as
// mlflow.data.context.
type DatasetInput struct {
	Dataset Dataset
	Tags    []Tag
}

// Run is a run with its data and inputs.
type Run struct {
	Info   RunInfo
	Data   RunData
	Inputs []DatasetInput // sorted by dataset name, then digest
}

// Param returns the value of the param key and whether it is set.
func (r *Run) Param(key string) (string, bool) {
	for _, p := range r.Data.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Tag returns the value of the tag key and whether it is set.
func (r *Run) Tag(key string) (string, bool) {
	for _, t := range r.Data.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Metric returns the latest point of the metric key and whether it exists.
func (r *Run) Metric(key string) (Metric, bool) {
	for _, m := range r.Data.Metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// Supersedes reports whether metric point a replaces b as the latest value
// of its key, exactly as MLflow's file store computes it: the latest point is
// the maximum by (step, timestamp, value) taken over the history in logging
// order, with Python's tuple comparison. A NaN value never compares greater,
// so among points with equal step and timestamp a NaN neither replaces nor is
// replaced. MLflow's SQL store compares the stored values instead, where a
// NaN is 0 and ±Inf is ±math.MaxFloat64 (see storetest.SQLMetrics).
func Supersedes(a, b Metric) bool {
	if a.Step != b.Step {
		return a.Step > b.Step
	}
	if a.Timestamp != b.Timestamp {
		return a.Timestamp > b.Timestamp
	}
	return a.Value > b.Value
}

// Latest returns the latest point of a history given in logging order, as
// MLflow chooses it (see [Supersedes]). It returns false for an empty history.
func Latest(history []Metric) (Metric, bool) {
	if len(history) == 0 {
		return Metric{}, false
	}
	best := history[0]
	for _, m := range history[1:] {
		if Supersedes(m, best) {
			best = m
		}
	}
	return best, true
}
