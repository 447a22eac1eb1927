package reststore

import (
	"cmp"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// The JSON shapes of MLflow's entities (mlflow/protos/service.proto,
// model_registry.proto), with proto field names as MLflow's server writes
// them. Fields a server leaves out read as their zero value.

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type jsonMetric struct {
	Key           string `json:"key"`
	Value         num    `json:"value"`
	Timestamp     i64    `json:"timestamp"`
	Step          i64    `json:"step"`
	DatasetName   string `json:"dataset_name,omitempty"`
	DatasetDigest string `json:"dataset_digest,omitempty"`
	ModelID       string `json:"model_id,omitempty"`
	RunID         string `json:"run_id,omitempty"`
}

type jsonExperiment struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	CreationTime     i64    `json:"creation_time"`
	LastUpdateTime   i64    `json:"last_update_time"`
	Tags             []kv   `json:"tags"`
}

type jsonRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      i64    `json:"start_time"`
	EndTime        *i64   `json:"end_time"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type jsonDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type jsonDatasetInput struct {
	Tags    []kv        `json:"tags,omitempty"`
	Dataset jsonDataset `json:"dataset"`
}

type jsonModelOutput struct {
	ModelID string `json:"model_id"`
	Step    i64    `json:"step"`
}

type jsonRun struct {
	Info jsonRunInfo `json:"info"`
	Data struct {
		Metrics []jsonMetric `json:"metrics"`
		Params  []kv         `json:"params"`
		Tags    []kv         `json:"tags"`
	} `json:"data"`
	Inputs struct {
		DatasetInputs []jsonDatasetInput `json:"dataset_inputs"`
	} `json:"inputs"`
	Outputs struct {
		ModelOutputs []jsonModelOutput `json:"model_outputs"`
	} `json:"outputs"`
}

func tagsJSON(tags []store.Tag) []kv {
	out := make([]kv, len(tags))
	for i, t := range tags {
		out[i] = kv{t.Key, t.Value}
	}
	return out
}

func paramsJSON(ps []store.Param) []kv {
	out := make([]kv, len(ps))
	for i, p := range ps {
		out[i] = kv{p.Key, p.Value}
	}
	return out
}

func tagMap(tags []kv) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func (e *jsonExperiment) entity() *store.Experiment {
	return &store.Experiment{
		ID:               e.ExperimentID,
		Name:             e.Name,
		ArtifactLocation: e.ArtifactLocation,
		LifecycleStage:   e.LifecycleStage,
		CreationTime:     int64(e.CreationTime),
		LastUpdateTime:   int64(e.LastUpdateTime),
		Tags:             tagMap(e.Tags),
	}
}

func (i *jsonRunInfo) entity() store.RunInfo {
	id := i.RunID
	if id == "" {
		id = i.RunUUID
	}
	st, _ := store.ParseRunStatus(i.Status)
	return store.RunInfo{
		RunID:          id,
		ExperimentID:   i.ExperimentID,
		RunName:        i.RunName,
		UserID:         i.UserID,
		Status:         st,
		StartTime:      int64(i.StartTime),
		EndTime:        fromPtrI64(i.EndTime),
		ArtifactURI:    i.ArtifactURI,
		LifecycleStage: i.LifecycleStage,
	}
}

func (m jsonMetric) entity() store.Metric {
	return store.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: int64(m.Timestamp), Step: int64(m.Step)}
}

func metricJSON(m store.Metric) jsonMetric {
	return jsonMetric{Key: m.Key, Value: num(m.Value), Timestamp: i64(m.Timestamp), Step: i64(m.Step)}
}

func (r *jsonRun) entity() *store.Run {
	run := &store.Run{Info: r.Info.entity()}
	d := &run.Data
	d.Metrics = make([]store.Metric, 0, len(r.Data.Metrics))
	for _, m := range r.Data.Metrics {
		if m.ModelID != "" || m.DatasetName != "" {
			// MLflow 3 also lists a logged model's points among the run's
			// latest metrics; the store contract keeps them apart.
			continue
		}
		d.Metrics = append(d.Metrics, m.entity())
	}
	d.Params = make([]store.Param, 0, len(r.Data.Params))
	for _, p := range r.Data.Params {
		d.Params = append(d.Params, store.Param{Key: p.Key, Value: p.Value})
	}
	d.Tags = make([]store.Tag, 0, len(r.Data.Tags))
	for _, t := range r.Data.Tags {
		d.Tags = append(d.Tags, store.Tag{Key: t.Key, Value: t.Value})
	}
	slices.SortFunc(d.Metrics, func(a, b store.Metric) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(d.Params, func(a, b store.Param) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(d.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	for _, in := range r.Inputs.DatasetInputs {
		di := store.DatasetInput{Dataset: store.Dataset{
			Name: in.Dataset.Name, Digest: in.Dataset.Digest, SourceType: in.Dataset.SourceType,
			Source: in.Dataset.Source, Schema: in.Dataset.Schema, Profile: in.Dataset.Profile,
		}}
		for _, t := range in.Tags {
			di.Tags = append(di.Tags, store.Tag{Key: t.Key, Value: t.Value})
		}
		slices.SortFunc(di.Tags, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
		run.Inputs = append(run.Inputs, di)
	}
	slices.SortFunc(run.Inputs, func(a, b store.DatasetInput) int {
		return cmp.Or(strings.Compare(a.Dataset.Name, b.Dataset.Name), strings.Compare(a.Dataset.Digest, b.Dataset.Digest))
	})
	return run
}

func datasetInputJSON(in store.DatasetInput) jsonDatasetInput {
	d := in.Dataset
	return jsonDatasetInput{
		Tags: tagsJSON(in.Tags),
		Dataset: jsonDataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType,
			Source: d.Source, Schema: d.Schema, Profile: d.Profile},
	}
}

func viewTypeName(v store.ViewType) string {
	switch v {
	case store.DeletedOnly:
		return "DELETED_ONLY"
	case store.AllViews:
		return "ALL"
	default:
		return "ACTIVE_ONLY"
	}
}
