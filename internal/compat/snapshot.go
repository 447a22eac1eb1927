package compat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
)

// FormatVersion is the version of the canonical dump format.
const FormatVersion = 1

// RootPlaceholder replaces the store root in URIs of a normalised dump.
const RootPlaceholder = "<ROOT>"

// Snapshot is the canonical dump of a tracking store (format version 1, see
// README.md). The Python scripts in py/ write the same JSON, so a Snapshot
// taken by Go and one taken by MLflow compare with [Compare].
type Snapshot struct {
	FormatVersion int          `json:"format_version"`
	Experiments   []Experiment `json:"experiments"` // sorted by ExperimentID
	Runs          []Run        `json:"runs"`        // sorted by RunID

	// Diagnostics; Compare ignores them. MLflowVersion is the reader's
	// version (Python side only). Warnings holds every Python warning and
	// WARNING+ log record seen while dumping; Errors holds failures to read
	// one run or artifact (the dump goes on after them).
	MLflowVersion string   `json:"mlflow_version,omitempty"`
	Warnings      []string `json:"warnings"`
	Errors        []string `json:"errors"`
}

// Experiment is an experiment in a Snapshot.
type Experiment struct {
	ExperimentID     string            `json:"experiment_id"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location"`
	LifecycleStage   string            `json:"lifecycle_stage"`
	Tags             map[string]string `json:"tags"`
}

// Run is a run in a Snapshot. Metric values are Python float reprs
// ("nan", "-0.0", "1e-05"), so that every bit pattern compares exactly.
type Run struct {
	RunID          string                   `json:"run_id"`
	ExperimentID   string                   `json:"experiment_id"`
	RunName        string                   `json:"run_name"`
	Status         string                   `json:"status"`
	StartTime      int64                    `json:"start_time"`
	EndTime        *int64                   `json:"end_time"`
	LifecycleStage string                   `json:"lifecycle_stage"`
	UserID         string                   `json:"user_id"`
	ArtifactURI    string                   `json:"artifact_uri"`
	Params         map[string]string        `json:"params"`
	Tags           map[string]string        `json:"tags"`
	LatestMetrics  map[string]string        `json:"latest_metrics"`
	Metrics        map[string][]MetricPoint `json:"metrics"`   // sorted by step, timestamp, value
	Artifacts      map[string]string        `json:"artifacts"` // slash path -> sha256 hex
	Inputs         []Input                  `json:"inputs"`    // sorted by name, digest
}

// MetricPoint is one point of a metric history.
type MetricPoint struct {
	Value     string `json:"value"`
	Step      int64  `json:"step"`
	Timestamp int64  `json:"timestamp"`
}

// Input is a dataset input of a run. An absent schema or profile is "".
type Input struct {
	Name       string            `json:"name"`
	Digest     string            `json:"digest"`
	SourceType string            `json:"source_type"`
	Source     string            `json:"source"`
	Schema     string            `json:"schema"`
	Profile    string            `json:"profile"`
	Tags       map[string]string `json:"tags"`
}

// ReadSnapshot reads a Snapshot from a JSON file. Unknown fields are an
// error, so a format change on one side cannot go unnoticed.
func ReadSnapshot(path string) (*Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSnapshot(b)
}

// ParseSnapshot parses a Snapshot from JSON, rejecting unknown fields and
// other format versions.
func ParseSnapshot(b []byte) (*Snapshot, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("compat: parse snapshot: %w", err)
	}
	if s.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("compat: snapshot format version %d, want %d", s.FormatVersion, FormatVersion)
	}
	s.normalize()
	return &s, nil
}

// WriteFile writes the snapshot as indented JSON.
func (s *Snapshot) WriteFile(path string) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Run returns the run with the given id, or nil.
func (s *Snapshot) Run(id string) *Run {
	for i := range s.Runs {
		if s.Runs[i].RunID == id {
			return &s.Runs[i]
		}
	}
	return nil
}

// RunByName returns the first run with the given name, or nil.
func (s *Snapshot) RunByName(name string) *Run {
	for i := range s.Runs {
		if s.Runs[i].RunName == name {
			return &s.Runs[i]
		}
	}
	return nil
}

// Experiment returns the experiment with the given id, or nil.
func (s *Snapshot) Experiment(id string) *Experiment {
	for i := range s.Experiments {
		if s.Experiments[i].ExperimentID == id {
			return &s.Experiments[i]
		}
	}
	return nil
}

// NormalizeRoot replaces the store root (an absolute directory) in every
// experiment artifact location and run artifact URI with <ROOT>, both in
// its file:// URI form and as a plain path.
func (s *Snapshot) NormalizeRoot(root string) {
	if root == "" {
		return
	}
	repl := []string{}
	if uri, err := fileuri.FromPath(root); err == nil {
		repl = append(repl, uri, "file://"+RootPlaceholder)
	}
	repl = append(repl, root, RootPlaceholder)
	r := strings.NewReplacer(repl...)
	for i := range s.Experiments {
		s.Experiments[i].ArtifactLocation = r.Replace(s.Experiments[i].ArtifactLocation)
	}
	for i := range s.Runs {
		s.Runs[i].ArtifactURI = r.Replace(s.Runs[i].ArtifactURI)
	}
}

// normalize sorts everything the format sorts and replaces nil maps and
// slices with empty ones, so JSON and comparisons are canonical.
func (s *Snapshot) normalize() {
	s.FormatVersion = FormatVersion
	if s.Experiments == nil {
		s.Experiments = []Experiment{}
	}
	if s.Runs == nil {
		s.Runs = []Run{}
	}
	if s.Warnings == nil {
		s.Warnings = []string{}
	}
	if s.Errors == nil {
		s.Errors = []string{}
	}
	sort.Slice(s.Experiments, func(i, j int) bool {
		return s.Experiments[i].ExperimentID < s.Experiments[j].ExperimentID
	})
	sort.Slice(s.Runs, func(i, j int) bool { return s.Runs[i].RunID < s.Runs[j].RunID })
	for i := range s.Experiments {
		s.Experiments[i].Tags = nonNil(s.Experiments[i].Tags)
	}
	for i := range s.Runs {
		r := &s.Runs[i]
		r.Params = nonNil(r.Params)
		r.Tags = nonNil(r.Tags)
		r.LatestMetrics = nonNil(r.LatestMetrics)
		r.Artifacts = nonNil(r.Artifacts)
		if r.Metrics == nil {
			r.Metrics = map[string][]MetricPoint{}
		}
		for _, h := range r.Metrics {
			SortHistory(h)
		}
		if r.Inputs == nil {
			r.Inputs = []Input{}
		}
		for j := range r.Inputs {
			r.Inputs[j].Tags = nonNil(r.Inputs[j].Tags)
		}
		sort.Slice(r.Inputs, func(a, b int) bool {
			x, y := r.Inputs[a], r.Inputs[b]
			if x.Name != y.Name {
				return x.Name < y.Name
			}
			return x.Digest < y.Digest
		})
	}
}

// SortHistory sorts metric points by step, timestamp and value repr, the
// canonical order of the format (the same as Python's tuple sort).
func SortHistory(h []MetricPoint) {
	sort.SliceStable(h, func(i, j int) bool {
		a, b := h[i], h[j]
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		if a.Timestamp != b.Timestamp {
			return a.Timestamp < b.Timestamp
		}
		return a.Value < b.Value
	})
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// DumpOptions configures [Dump].
type DumpOptions struct {
	// Root, if set, is the store root replaced by <ROOT> in URIs.
	Root string
	// PageSize is the page size of the searches; 0 means 100.
	PageSize int
}

// Dump reads every experiment and run of s, the way dump.py reads a store
// through MlflowClient: SearchExperiments and SearchRuns with AllViews and
// paging, GetRun for each run found, GetMetricHistory for each metric key,
// and every artifact file under the run's local file:// artifact URI,
// hashed. A failure to read one run's history or artifacts, or a search
// result that disagrees with GetRun, is recorded in Errors; a failed search
// or GetRun is returned as an error.
func Dump(ctx context.Context, s store.Store, opts *DumpOptions) (*Snapshot, error) {
	var o DumpOptions
	if opts != nil {
		o = *opts
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	snap := &Snapshot{}
	var exps []*store.Experiment
	for token := ""; ; {
		page, err := s.SearchExperiments(ctx, store.ExperimentQuery{
			MaxResults: o.PageSize, PageToken: token, ViewType: store.AllViews,
		})
		if err != nil {
			return nil, fmt.Errorf("compat: search experiments: %w", err)
		}
		exps = append(exps, page.Experiments...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	for _, e := range exps {
		snap.Experiments = append(snap.Experiments, Experiment{
			ExperimentID:     e.ID,
			Name:             e.Name,
			ArtifactLocation: e.ArtifactLocation,
			LifecycleStage:   e.LifecycleStage,
			Tags:             maps.Clone(e.Tags),
		})
		for token := ""; ; {
			page, err := s.SearchRuns(ctx, store.RunQuery{
				ExperimentIDs: []string{e.ID}, MaxResults: o.PageSize, PageToken: token,
				ViewType: store.AllViews,
			})
			if err != nil {
				return nil, fmt.Errorf("compat: search runs of experiment %s: %w", e.ID, err)
			}
			for _, found := range page.Runs {
				run, err := s.GetRun(ctx, found.Info.RunID)
				if err != nil {
					return nil, fmt.Errorf("compat: get run %s: %w", found.Info.RunID, err)
				}
				full := dumpRun(ctx, s, run, true, &snap.Errors)
				brief := dumpRun(ctx, s, found, false, &snap.Errors)
				snap.Errors = append(snap.Errors, disagreements("SearchRuns and GetRun", full, brief)...)
				snap.Runs = append(snap.Runs, full)
			}
			if token = page.NextPageToken; token == "" {
				break
			}
		}
	}
	snap.normalize()
	snap.NormalizeRoot(o.Root)
	return snap, nil
}

// dumpRun converts a run; with full set it also reads the metric histories
// and the artifacts.
func dumpRun(ctx context.Context, s store.Store, r *store.Run, full bool, errs *[]string) Run {
	out := Run{
		RunID:          r.Info.RunID,
		ExperimentID:   r.Info.ExperimentID,
		RunName:        r.Info.RunName,
		Status:         r.Info.Status.String(),
		StartTime:      r.Info.StartTime,
		EndTime:        r.Info.EndTime,
		LifecycleStage: r.Info.LifecycleStage,
		UserID:         r.Info.UserID,
		ArtifactURI:    r.Info.ArtifactURI,
		Params:         map[string]string{},
		Tags:           map[string]string{},
		LatestMetrics:  map[string]string{},
		Metrics:        map[string][]MetricPoint{},
		Artifacts:      map[string]string{},
		Inputs:         []Input{},
	}
	for _, p := range r.Data.Params {
		out.Params[p.Key] = p.Value
	}
	for _, t := range r.Data.Tags {
		out.Tags[t.Key] = t.Value
	}
	for _, m := range r.Data.Metrics {
		out.LatestMetrics[m.Key] = pyfloat.Repr(m.Value)
	}
	for _, in := range r.Inputs {
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		d := in.Dataset
		out.Inputs = append(out.Inputs, Input{
			Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source,
			Schema: d.Schema, Profile: d.Profile, Tags: tags,
		})
	}
	if !full {
		return out
	}
	for _, m := range r.Data.Metrics {
		hist, err := s.GetMetricHistory(ctx, r.Info.RunID, m.Key)
		if err != nil {
			*errs = append(*errs, fmt.Sprintf("GetMetricHistory %s %q: %v", r.Info.RunID, m.Key, err))
			continue
		}
		points := make([]MetricPoint, 0, len(hist))
		for _, h := range hist {
			points = append(points, MetricPoint{Value: pyfloat.Repr(h.Value), Step: h.Step, Timestamp: h.Timestamp})
		}
		out.Metrics[m.Key] = points
	}
	arts, err := HashArtifacts(r.Info.ArtifactURI)
	if err != nil {
		*errs = append(*errs, fmt.Sprintf("artifacts of %s: %v", r.Info.RunID, err))
	}
	out.Artifacts = arts
	return out
}

// disagreements lists the fields (other than histories and artifacts) in
// which two dumps of the same run differ.
func disagreements(what string, full, brief Run) []string {
	brief.Metrics, brief.Artifacts = full.Metrics, full.Artifacts
	if reflect.DeepEqual(full, brief) {
		return nil
	}
	var out []string
	for _, d := range diffJSON(full, brief) {
		out = append(out, fmt.Sprintf("%s disagree on run %s: %s", what, full.RunID, d))
	}
	return out
}

// HashArtifacts returns the sha256 of every file under a local file://
// artifact URI (or plain path), keyed by slash-separated relative path. A
// missing directory has no artifacts, as MLflow's list_artifacts says.
func HashArtifacts(artifactURI string) (map[string]string, error) {
	out := map[string]string{}
	if !fileuri.IsFileURI(artifactURI) && !filepath.IsAbs(artifactURI) {
		return out, fmt.Errorf("artifact URI %q is not local", artifactURI)
	}
	dir, err := fileuri.ToPath(artifactURI)
	if err != nil {
		return out, err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Stat(path) // follows symlinks, as MLflow does
		if err != nil || info.IsDir() {
			return err
		}
		sum, err := hashFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = sum
		return nil
	})
	return out, err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
