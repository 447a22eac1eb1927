package archive

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// SourceModelIDTag is the tag every logged model Sync creates carries: the
// model's id in the store it was synced from (a server chooses the ids of
// the models created through its REST API). A later Sync finds the
// server's copy of a source model by it, in the model's experiment.
const SourceModelIDTag = "mlrun.sourceModelId"

// modelVersionsTag is the tag of a logged model listing the registry
// versions made from it; the server's versions are not numbered as the
// source's, so Sync writes its own.
const modelVersionsTag = "mlflow.modelVersions"

// pendingOutput is a run output of a synced run, logged once the logged
// models are synced (they follow the runs in the stream).
type pendingOutput struct {
	runID    string // on dst
	created  bool   // the run was created by this sync: it has no outputs
	srcModel string
	step     int64
}

// loadModels reads which logged models of a destination experiment were
// synced (those with a SourceModelIDTag), once.
func (sy *syncer) loadModels(expID string) error {
	if sy.lms == nil || expID == "" || sy.lmLoaded[expID] {
		return nil
	}
	q := store.LoggedModelQuery{ExperimentIDs: []string{expID}, MaxResults: store.DefaultLoggedModelMaxResults}
	for {
		page, err := sy.lms.SearchLoggedModels(sy.ctx, q)
		if err != nil {
			return fmt.Errorf("sync: logged models of experiment %s on the destination: %w", expID, err)
		}
		for _, m := range page.Models {
			src := m.Tags[SourceModelIDTag]
			if src == "" {
				continue
			}
			if prev, ok := sy.models[src]; ok && prev.ModelID != m.ModelID {
				return store.InvalidStatef("sync: source logged model %s is on the destination twice (models %s and %s): delete one", src, prev.ModelID, m.ModelID)
			}
			sy.models[src] = m
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	sy.lmLoaded[expID] = true
	return nil
}

// activeRun returns the destination's copy of a source run, if it is
// synced and not deleted there.
func (sy *syncer) activeRun(srcID string) *store.Run {
	if r := sy.runs[srcID]; r != nil && r.Info.LifecycleStage != store.LifecycleDeleted {
		return r
	}
	return nil
}

// lmMetricKey tells a logged model's metric points apart as MLflow's SQL
// store keys them (with the model), plus the dataset.
type lmMetricKey struct {
	key, run, dsName, dsDigest string
	ts, step                   int64
}

func lmKeyOf(m store.LoggedModelMetric) lmMetricKey {
	return lmMetricKey{m.Key, m.RunID, m.DatasetName, m.DatasetDigest, m.Timestamp, m.Step}
}

// loggedModel syncs one logged model and the files that follow it: the
// server's copy is found by its SourceModelIDTag, else created; then what
// it lacks is added (see Sync).
func (sy *syncer) loggedModel(m *loggedModelRec) error {
	what := "logged model " + m.ModelID
	exp, ok := sy.srcExps[m.ExperimentID]
	if !ok {
		return badf("%s belongs to experiment %s, which comes before it nowhere in the stream", what, m.ExperimentID)
	}
	if exp.skip {
		return sy.skipFiles()
	}
	status, err := store.ParseLoggedModelStatus(m.Status)
	if err != nil {
		return badf("%s: %v", what, err)
	}
	src := &store.LoggedModel{ModelID: m.ModelID, ExperimentID: exp.id, Name: m.Name, ModelType: m.ModelType, SourceRunID: m.SourceRunID,
		Status: status, Tags: m.Tags, Params: m.Params}
	for _, x := range m.Metrics {
		src.Metrics = append(src.Metrics, store.LoggedModelMetric{Key: x.Key, Value: float64(x.Value), Timestamp: x.Timestamp, Step: x.Step,
			RunID: x.RunID, DatasetName: x.DatasetName, DatasetDigest: x.DatasetDigest})
	}
	if err := store.ValidateImportLoggedModel(src); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if sy.lms == nil {
		sy.skip.loggedModels++
		return sy.skipFiles()
	}
	var run *store.Run
	if m.SourceRunID != "" {
		if run = sy.activeRun(m.SourceRunID); run == nil && !(sy.dry && sy.inStream[m.SourceRunID]) {
			sy.skip.lmNoRun++
			return sy.skipFiles()
		}
	}
	if err := sy.loadModels(exp.id); err != nil {
		return err
	}
	have := sy.models[m.ModelID]
	if have != nil {
		for _, k := range slices.Sorted(maps.Keys(m.Params)) {
			if hv, ok := have.Params[k]; ok && hv != m.Params[k] {
				return store.Conflictf("sync: %s: param %q is %s on the destination (model %s), %s in the source; MLflow params cannot change",
					what, k, shortValue(hv), have.ModelID, shortValue(m.Params[k]))
			}
		}
	}
	if sy.dry {
		sy.lmInStream[m.ModelID] = true
		if have == nil {
			sy.stats.LoggedModels.Created++
		}
		return sy.skipFiles()
	}
	var tags []store.Tag
	for _, t := range sortedTags(m.Tags) {
		if t.Key == SourceModelIDTag || t.Key == modelVersionsTag {
			continue
		}
		if have != nil {
			if hv, ok := have.Tags[t.Key]; ok && hv == t.Value {
				continue
			}
		}
		tags = append(tags, t)
	}
	var params []store.Param
	for _, k := range slices.Sorted(maps.Keys(m.Params)) {
		if have == nil || !hasKey(have.Params, k) {
			params = append(params, store.Param{Key: k, Value: m.Params[k]})
		}
	}
	var writes int64
	created := have == nil
	if created {
		req := store.CreateLoggedModelRequest{ExperimentID: exp.id, Name: m.Name, ModelType: m.ModelType,
			Tags: append(tags, store.Tag{Key: SourceModelIDTag, Value: m.ModelID}), Params: params}
		if run != nil {
			req.SourceRunID = run.Info.RunID
		}
		lm, err := sy.lms.CreateLoggedModel(sy.ctx, req)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		have = lm
		sy.models[m.ModelID] = lm
		sy.stats.Tags += int64(len(req.Tags))
		sy.stats.Params += int64(len(params))
	} else {
		if len(tags) > 0 {
			if err := sy.lms.SetLoggedModelTags(sy.ctx, have.ModelID, tags); err != nil {
				return fmt.Errorf("sync: %s: %w", what, err)
			}
			writes++
			sy.stats.Tags += int64(len(tags))
		}
		if len(params) > 0 {
			if err := sy.lms.LogLoggedModelParams(sy.ctx, have.ModelID, params); err != nil {
				return fmt.Errorf("sync: %s: %w", what, err)
			}
			writes++
			sy.stats.Params += int64(len(params))
		}
	}
	haveKeys := map[lmMetricKey]bool{}
	for _, x := range have.Metrics {
		haveKeys[lmKeyOf(x)] = true
	}
	var points []store.LoggedModelMetric
	for _, x := range src.Metrics {
		r := sy.activeRun(x.RunID)
		if r == nil {
			sy.skip.lmPoints++
			continue
		}
		x.RunID = r.Info.RunID
		if k := lmKeyOf(x); !haveKeys[k] {
			haveKeys[k] = true
			points = append(points, x)
		}
	}
	if len(points) > 0 {
		if err := sy.lms.LogLoggedModelMetrics(sy.ctx, have.ModelID, points); err != nil {
			return fmt.Errorf("sync: %s: metrics: %w", what, err)
		}
		writes++
		sy.stats.ModelMetricPoints += int64(len(points))
	}
	files, err := sy.files(true, m.ModelID, have.ArtifactLocation, created)
	if err != nil {
		return err
	}
	writes += files
	if status != have.Status && status != store.LoggedModelUnspecified && !(created && status == store.LoggedModelPending) {
		if _, err := sy.lms.FinalizeLoggedModel(sy.ctx, have.ModelID, status); err != nil {
			return fmt.Errorf("sync: %s: status %s: %w", what, status, err)
		}
		writes++
	}
	if created || writes > 0 {
		lm, err := sy.lms.GetLoggedModel(sy.ctx, have.ModelID)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", what, err)
		}
		sy.models[m.ModelID] = lm
	}
	switch {
	case created:
		sy.stats.LoggedModels.Created++
	case writes > 0:
		sy.stats.LoggedModels.Updated++
	default:
		sy.stats.LoggedModels.Unchanged++
	}
	return nil
}

// finishOutputs logs the run outputs of the synced runs that link them to
// synced logged models, and that the server runs lack.
func (sy *syncer) finishOutputs() error {
	pending := sy.outputs
	sy.outputs = nil
	if sy.lms == nil {
		sy.skip.outputs += len(pending)
		return nil
	}
	byRun := map[string][]pendingOutput{}
	var runs []string
	for _, o := range pending {
		if _, ok := byRun[o.runID]; !ok {
			runs = append(runs, o.runID)
		}
		byRun[o.runID] = append(byRun[o.runID], o)
	}
	for _, runID := range runs {
		have := map[string]bool{}
		if os := byRun[runID]; !os[0].created {
			outs, err := sy.lms.GetRunOutputs(sy.ctx, runID)
			if err != nil {
				return fmt.Errorf("sync: outputs of run %s: %w", runID, err)
			}
			for _, o := range outs {
				have[o.ModelID] = true
			}
		}
		var add []store.LoggedModelOutput
		for _, o := range byRun[runID] {
			m := sy.models[o.srcModel]
			switch {
			case m == nil:
				sy.skip.outputs++
			case !have[m.ModelID]:
				have[m.ModelID] = true
				add = append(add, store.LoggedModelOutput{ModelID: m.ModelID, Step: o.step})
			}
		}
		if len(add) == 0 {
			continue
		}
		if err := sy.lms.LogOutputs(sy.ctx, runID, add); err != nil {
			return fmt.Errorf("sync: outputs of run %s: %w", runID, err)
		}
		sy.stats.Outputs += int64(len(add))
	}
	return nil
}

// noteModelVersion adds a version created from a logged model to the
// model's mlflow.modelVersions tag on the destination, as MLflow's client
// does when it registers a logged model.
func (sy *syncer) noteModelVersion(srcModel string, mv *store.ModelVersion) error {
	m := sy.models[srcModel]
	if m == nil || sy.lms == nil {
		return nil
	}
	type entry struct {
		Name    string `json:"name"`
		Version int64  `json:"version"`
	}
	var list []entry
	if s := m.Tags[modelVersionsTag]; s != "" {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			list = nil // not a list MLflow wrote: replaced
		}
	}
	if slices.Contains(list, entry{mv.Name, mv.Version}) {
		return nil
	}
	list = append(list, entry{mv.Name, mv.Version})
	parts := make([]string, len(list))
	for i, e := range list {
		name, _ := json.Marshal(e.Name)
		parts[i] = fmt.Sprintf(`{"name": %s, "version": %d}`, name, e.Version)
	}
	value := "[" + strings.Join(parts, ", ") + "]"
	if err := sy.lms.SetLoggedModelTags(sy.ctx, m.ModelID, []store.Tag{{Key: modelVersionsTag, Value: value}}); err != nil {
		return fmt.Errorf("sync: logged model %s: tag %s: %w", m.ModelID, modelVersionsTag, err)
	}
	if m.Tags == nil {
		m.Tags = map[string]string{}
	}
	m.Tags[modelVersionsTag] = value
	return nil
}

// versionTarget is what a source model version points at: a place among
// a run's artifacts, a logged model (its models:/ URI), or a place among a
// logged model's artifacts.
type versionTarget struct {
	run, model string // source ids; model set for a logged model's version
	path       string // under the run's or model's artifacts
	modelURI   bool   // the source is models:/<model>
}

func targetOf(v *modelVersionRec) (versionTarget, bool) {
	if id, ok := store.IsLoggedModelURI(v.Source); ok {
		return versionTarget{run: v.RunID, model: id, modelURI: true}, true
	}
	switch ref := v.SourceArtifact; {
	case ref == nil:
		return versionTarget{}, false
	case ref.RunID != "":
		return versionTarget{run: ref.RunID, path: ref.Path}, true
	case ref.ModelID != "":
		return versionTarget{run: v.RunID, model: ref.ModelID, path: ref.Path}, true
	}
	return versionTarget{}, false
}

// versionSource returns the source a version of target has on dst.
func versionSource(t versionTarget, run *store.Run, model *store.LoggedModel) string {
	if t.modelURI {
		return model.URI()
	}
	root := cmp.Or(modelLocation(model), runLocation(run))
	if t.path == "" {
		return root
	}
	return strings.TrimRight(root, "/") + "/" + t.path
}

func modelLocation(m *store.LoggedModel) string {
	if m == nil {
		return ""
	}
	return m.ArtifactLocation
}

func runLocation(r *store.Run) string {
	if r == nil {
		return ""
	}
	return r.Info.ArtifactURI
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
