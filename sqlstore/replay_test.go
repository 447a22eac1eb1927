package sqlstore_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// op is one tracking operation of TestSameRowsAsMLflow, run by mlrun and by
// testdata/replay.py with MlflowClient.
type op struct {
	Op        string            `json:"op"`
	Name      string            `json:"name,omitempty"`
	Exp       string            `json:"exp,omitempty"`
	Run       string            `json:"run,omitempty"`
	User      string            `json:"user,omitempty"`
	StartTime int64             `json:"start_time,omitempty"`
	EndTime   int64             `json:"end_time,omitempty"`
	Status    string            `json:"status,omitempty"`
	Location  string            `json:"location,omitempty"`
	Tags      map[string]string `json:"-"`
	TagMap    any               `json:"tags,omitempty"`
	Metrics   [][4]any          `json:"metrics,omitempty"` // key, value string, timestamp, step
	Metric    *[4]any           `json:"metric,omitempty"`
	Params    [][2]string       `json:"params,omitempty"`
	RunTags   [][2]string       `json:"-"`
	Key       string            `json:"key,omitempty"`
	Value     string            `json:"value"`
	Datasets  []opDataset       `json:"datasets,omitempty"`
	V3Only    bool              `json:"-"` // MLflow 2.22.5 does otherwise; see the op's comment
}

type opDataset struct {
	Name       string      `json:"name"`
	Digest     string      `json:"digest"`
	SourceType string      `json:"source_type"`
	Source     string      `json:"source"`
	Schema     *string     `json:"schema"`
	Profile    *string     `json:"profile"`
	Tags       [][2]string `json:"tags"`
}

// MarshalJSON writes run tags of log_batch and the tag map of
// create_experiment and create_run both under "tags", as replay.py reads
// them.
func (o op) MarshalJSON() ([]byte, error) {
	type plain op
	p := plain(o)
	switch {
	case o.RunTags != nil:
		p.TagMap = o.RunTags
	case o.Tags != nil:
		p.TagMap = o.Tags
	}
	return json.Marshal(p)
}

func pt(key, value string, ts, step int64) [4]any { return [4]any{key, value, ts, step} }

func strp(s string) *string { return &s }

// replayOps covers the semantics MLflow's SQL store defines row by row.
var replayOps = []op{
	{Op: "create_experiment", Name: "replay ✓", Tags: map[string]string{"team": "a", "note": "line\nline"}},
	{Op: "create_experiment", Name: "second"},
	{Op: "set_experiment_tag", Exp: "replay ✓", Key: "team", Value: "b"},
	{Op: "create_run", Exp: "replay ✓", Run: "r1", Name: "first run", User: "alice", StartTime: 1000, Tags: map[string]string{"k": "v"}},
	{Op: "create_run", Exp: "replay ✓", Run: "r2", Name: "second run", User: "bob", StartTime: 2000},
	{Op: "create_run", Exp: "second", Run: "r3", Name: "third", User: "carol", StartTime: 3000},
	{Op: "create_run", Exp: "second", Run: "r4", Name: "fourth", User: "dave", StartTime: 4000},
	// Awkward values, negative steps, duplicates within and across batches.
	{Op: "log_batch", Run: "r1", Metrics: [][4]any{
		pt("v", "nan", 10, 0), pt("v", "inf", 11, 1), pt("v", "-inf", 12, 2), pt("v", "-0.0", 13, 3),
		pt("v", "1e-05", 14, 4), pt("v", "0.30000000000000004", 15, 5), pt("v", "1e+16", 16, -6),
		pt("dup", "1.5", 1, 1), pt("dup", "2.5", 1, 1), pt("nan dup", "nan", 1, 1),
		pt("neg", "3", 5, -10), pt("neg", "4", 4, -3),
	}, Params: [][2]string{{"p", "1"}, {"long", strings.Repeat("x", 6000)}, {"ü", "ÿ"}}, RunTags: [][2]string{{"t", "1"}, {"t", "2"}}},
	// Points equal to stored rows are dropped.
	{Op: "log_batch", Run: "r1", Metrics: [][4]any{pt("dup", "1.5", 1, 1), pt("dup", "0.5", 1, 1)}, Params: [][2]string{{"p", "1"}}},
	// MLflow 2.22.5 fails on a NaN point equal to a stored one (its
	// duplicate recovery compares NaN values, which are never equal).
	{Op: "log_batch", Run: "r1", V3Only: true, Metrics: [][4]any{pt("nan dup", "nan", 1, 1)}},
	// Points equal to each other in one batch: MLflow 3 keeps the first;
	// MLflow 2.22.5 fails the batch (see TestMLflow2BatchDuplicates).
	{Op: "log_batch", Run: "r1", V3Only: true, Metrics: [][4]any{
		pt("v", "1.7976931348623157e+308", 11, 1), // the same row as +inf
		pt("w", "1.5", 1, 1), pt("w", "1.5", 1, 1), pt("wn", "nan", 1, 1), pt("wn", "nan", 1, 1),
	}},
	// Latest-metric ties with NaN, one call per point.
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"a", "nan", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"a", "1", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"b", "-1", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"b", "nan", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"c", "0", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"c", "nan", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"d", "1.7976931348623157e+308", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"d", "inf", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"e", "5", 20, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"e", "9", 10, 1}},
	{Op: "log_metric", Run: "r2", Metric: &[4]any{"e", "1", 5, 2}},
	// The same ties within one batch.
	{Op: "log_batch", Run: "r3", Metrics: [][4]any{
		pt("a", "nan", 10, 1), pt("a", "1", 10, 1), pt("b", "-1", 10, 1), pt("b", "nan", 10, 1),
		pt("c", "0", 10, 1), pt("c", "nan", 10, 1), pt("e", "5", 20, 1), pt("e", "9", 10, 1), pt("e", "1", 5, 2),
	}},
	// A changed param fails the whole batch.
	{Op: "log_batch", Run: "r1", Metrics: [][4]any{pt("never", "1", 1, 1)}, Params: [][2]string{{"p", "2"}}, RunTags: [][2]string{{"never", "x"}}},
	// Run names and tags.
	{Op: "set_tag", Run: "r3", Key: "mlflow.runName", Value: "third renamed"},
	{Op: "set_tag", Run: "r3", Key: "mlflow.runName", Value: ""},
	{Op: "update_run", Run: "r4", Name: "fourth renamed"},
	{Op: "set_tag", Run: "r4", Key: "gone", Value: "x"},
	{Op: "delete_tag", Run: "r4", Key: "gone"},
	{Op: "set_terminated", Run: "r1", Status: "FINISHED", EndTime: 9000},
	{Op: "set_terminated", Run: "r3", Status: "KILLED", EndTime: 9001},
	{Op: "update_run", Run: "r4", Status: "FAILED"},
	// Datasets.
	{Op: "log_inputs", Run: "r1", Datasets: []opDataset{
		{Name: "train", Digest: "d1", SourceType: "local", Source: `{"uri": "/x"}`, Schema: strp(`{"s": 1}`), Profile: strp(`{"p": 2}`), Tags: [][2]string{{"mlflow.data.context", "training"}}},
		{Name: "train", Digest: "d1", SourceType: "local", Source: `{"uri": "/other"}`, Tags: [][2]string{{"mlflow.data.context", "eval"}}},
		{Name: "bare", Digest: "d2", SourceType: "code", Source: "{}"},
	}},
	{Op: "log_inputs", Run: "r1", Datasets: []opDataset{{Name: "train", Digest: "d1", SourceType: "local", Source: "{}", Tags: [][2]string{{"mlflow.data.context", "again"}}}}},
	{Op: "log_inputs", Run: "r2", Datasets: []opDataset{{Name: "train", Digest: "d1", SourceType: "local", Source: "{}", Tags: [][2]string{{"mlflow.data.context", "r2"}}}}},
	// A dataset of the same name and digest in another experiment: MLflow
	// 3 records it in the run's experiment, MLflow 2.22.5 links the first
	// experiment's dataset.
	{Op: "log_inputs", Run: "r3", V3Only: true, Datasets: []opDataset{{Name: "train", Digest: "d1", SourceType: "local", Source: `{"in": "second"}`}}},
	// Life cycle.
	{Op: "delete_run", Run: "r2"},
	{Op: "delete_run", Run: "r4"},
	{Op: "delete_experiment", Exp: "second"},
	{Op: "restore_experiment", Exp: "second"},
	{Op: "rename_experiment", Exp: "replay ✓", Name: "replay renamed"},
}

// runOps runs the operations on an mlrun store, returning the run ids by
// label and the MLflow error code of each failed operation by index.
func runOps(t *testing.T, s *sqlstore.Store, ops []op) (map[string]string, map[string]string) {
	t.Helper()
	runs, exps, errs := map[string]string{}, map[string]string{}, map[string]string{}
	metric := func(m [4]any) store.Metric {
		v, err := strconv.ParseFloat(m[1].(string), 64)
		must(t, err)
		return store.Metric{Key: m[0].(string), Value: v, Timestamp: toInt64(m[2]), Step: toInt64(m[3])}
	}
	tags := func(kv [][2]string) []store.Tag {
		var out []store.Tag
		for _, p := range kv {
			out = append(out, store.Tag{Key: p[0], Value: p[1]})
		}
		return out
	}
	mapTags := func(m map[string]string) []store.Tag {
		var out []store.Tag
		for k, v := range m {
			out = append(out, store.Tag{Key: k, Value: v})
		}
		return out
	}
	for i, o := range ops {
		var err error
		switch o.Op {
		case "create_experiment":
			exps[o.Name], err = s.CreateExperiment(ctx, o.Name, o.Location, mapTags(o.Tags))
		case "create_run":
			tg := mapTags(o.Tags)
			tg = append(tg, store.Tag{Key: "mlflow.user", Value: o.User})
			var r *store.Run
			r, err = s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: exps[o.Exp], UserID: o.User, StartTime: o.StartTime, RunName: o.Name, Tags: tg})
			if err == nil {
				runs[o.Run] = r.Info.RunID
			}
		case "log_batch":
			var ms []store.Metric
			for _, m := range o.Metrics {
				ms = append(ms, metric(m))
			}
			var ps []store.Param
			for _, p := range o.Params {
				ps = append(ps, store.Param{Key: p[0], Value: p[1]})
			}
			err = s.LogBatch(ctx, runs[o.Run], ms, ps, tags(o.RunTags))
		case "log_metric":
			err = s.LogBatch(ctx, runs[o.Run], []store.Metric{metric(*o.Metric)}, nil, nil)
		case "set_tag":
			err = s.LogBatch(ctx, runs[o.Run], nil, nil, []store.Tag{{Key: o.Key, Value: o.Value}})
		case "delete_tag":
			err = s.DeleteTag(ctx, runs[o.Run], o.Key)
		case "update_run":
			var st store.RunStatus
			if o.Status != "" {
				st, err = store.ParseRunStatus(o.Status)
				must(t, err)
			}
			_, err = s.UpdateRun(ctx, runs[o.Run], store.RunUpdate{Status: st, RunName: o.Name})
		case "set_terminated":
			st, perr := store.ParseRunStatus(o.Status)
			must(t, perr)
			end := o.EndTime
			_, err = s.UpdateRun(ctx, runs[o.Run], store.RunUpdate{Status: st, EndTime: &end})
		case "delete_run":
			err = s.DeleteRun(ctx, runs[o.Run])
		case "restore_run":
			err = s.RestoreRun(ctx, runs[o.Run])
		case "delete_experiment":
			err = s.DeleteExperiment(ctx, exps[o.Exp])
		case "restore_experiment":
			err = s.RestoreExperiment(ctx, exps[o.Exp])
		case "rename_experiment":
			err = s.RenameExperiment(ctx, exps[o.Exp], o.Name)
		case "set_experiment_tag":
			err = s.SetExperimentTag(ctx, exps[o.Exp], store.Tag{Key: o.Key, Value: o.Value})
		case "log_inputs":
			var ins []store.DatasetInput
			for _, d := range o.Datasets {
				ds := store.Dataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType, Source: d.Source}
				if d.Schema != nil {
					ds.Schema = *d.Schema
				}
				if d.Profile != nil {
					ds.Profile = *d.Profile
				}
				ins = append(ins, store.DatasetInput{Dataset: ds, Tags: tags(d.Tags)})
			}
			err = s.LogInputs(ctx, runs[o.Run], ins)
		default:
			t.Fatalf("unknown op %q", o.Op)
		}
		if err != nil {
			errs[strconv.Itoa(i)] = store.Code(err)
		}
	}
	return runs, errs
}

// tableDump returns the rows of the tracking tables, normalised for
// comparison: run ids replaced by the operations' labels, dataset and
// input uuids by what they link, creation and update times by whether they
// are set.
func tableDump(t *testing.T, path string, runs map[string]string) map[string][]string {
	t.Helper()
	db := rawDB(t, path)
	label := strings.NewReplacer(func() []string {
		var r []string
		for l, id := range runs {
			r = append(r, id, "<"+l+">")
		}
		return r
	}()...)
	queries := map[string]string{
		"experiments":     "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time IS NOT NULL, last_update_time >= creation_time FROM experiments",
		"experiment_tags": "SELECT experiment_id, key, value FROM experiment_tags",
		"runs": "SELECT run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, " +
			"source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time IS NOT NULL FROM runs",
		"metrics":        "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics",
		"latest_metrics": "SELECT run_uuid, key, value, timestamp, step, is_nan FROM latest_metrics",
		"params":         "SELECT run_uuid, key, value FROM params",
		"tags":           "SELECT run_uuid, key, value FROM tags",
		"datasets":       "SELECT experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile, length(dataset_uuid) FROM datasets",
		"inputs": "SELECT i.source_type, d.experiment_id || '/' || d.name || '/' || d.digest, i.destination_type, i.destination_id, length(i.input_uuid) " +
			"FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id",
		"input_tags": "SELECT i.destination_id, d.name, t.name, t.value FROM input_tags t JOIN inputs i ON i.input_uuid = t.input_uuid JOIN datasets d ON d.dataset_uuid = i.source_id",
	}
	out := map[string][]string{}
	for table, q := range queries {
		rs, err := db.Query(q)
		must(t, err)
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			must(t, rs.Scan(ptrs...))
			parts := make([]string, len(vals))
			for i, v := range vals {
				switch v := v.(type) {
				case nil:
					parts[i] = "NULL"
				case float64:
					parts[i] = "real:" + strconv.FormatFloat(v, 'g', -1, 64)
				case []byte:
					parts[i] = fmt.Sprintf("%q", v)
				default:
					parts[i] = fmt.Sprintf("%T:%v", v, v)
				}
			}
			out[table] = append(out[table], label.Replace(strings.Join(parts, " | ")))
		}
		must(t, rs.Err())
		rs.Close()
		slices.Sort(out[table])
	}
	return out
}

// TestSameRowsAsMLflow runs the same operations through mlrun and through
// MlflowClient on databases of each MLflow version, and compares the two
// databases row by row (values, with their SQLite types): experiment ids
// and locations, run columns, stored metric values and is_nan, which
// duplicates are dropped, latest_metrics, params, tags, run names,
// deletion, datasets and inputs. The error code of every failed operation
// must match too.
func TestSameRowsAsMLflow(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel() // the versions' Python processes overlap
			m := requireMLflow(t, v)
			dir := t.TempDir()
			ops := replayOps
			if strings.HasPrefix(v, "2.") {
				ops = slices.DeleteFunc(slices.Clone(ops), func(o op) bool { return o.V3Only })
			}
			opsFile := filepath.Join(dir, "ops.json")
			b, err := json.Marshal(ops)
			must(t, err)
			must(t, os.WriteFile(opsFile, b, 0o644))

			// MLflow, on a database it creates, with the client default
			// artifact root ./mlruns in dir.
			pyDB := filepath.Join(dir, "python.db")
			script, err := filepath.Abs("testdata/replay.py")
			must(t, err)
			cmd := m.Command(ctx, "python", script, opsFile, "sqlite:///"+pyDB)
			cmd.Dir = dir
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("replay.py: %v\n%s", err, stderr.String())
			}
			var py struct {
				Runs   map[string]string `json:"runs"`
				Errors map[string]string `json:"errors"`
			}
			must(t, json.Unmarshal(out, &py))

			// mlrun, on a database it creates with the same root.
			goDB := filepath.Join(dir, "go.db")
			realDir, _ := filepath.EvalSymlinks(dir)
			s, err := sqlstore.Open(ctx, goDB, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: filepath.Join(realDir, "mlruns")})
			must(t, err)
			runs, errs := runOps(t, s, ops)
			must(t, s.Close())

			for i, code := range py.Errors {
				code, _, _ = strings.Cut(code, ":")
				if errs[i] != code {
					t.Errorf("op %s %+v: mlrun error %q, MLflow %q", i, ops[mustAtoi(i)].Op, errs[i], py.Errors[i])
				}
			}
			for i := range errs {
				if _, ok := py.Errors[i]; !ok {
					t.Errorf("op %s (%s): mlrun failed with %s, MLflow succeeded", i, ops[mustAtoi(i)].Op, errs[i])
				}
			}
			want, got := tableDump(t, pyDB, py.Runs), tableDump(t, goDB, runs)
			for table, w := range want {
				if g := got[table]; !slices.Equal(g, w) {
					t.Errorf("table %s differs (- MLflow, + mlrun):\n%s", table, lineDiff(w, g))
				}
			}
			if len(want["metrics"]) < 20 || len(want["latest_metrics"]) < 10 || len(want["inputs"]) < 3 {
				t.Errorf("MLflow wrote fewer rows than expected: %d metrics", len(want["metrics"]))
			}
		})
	}
}

func toInt64(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	}
	panic(fmt.Sprintf("not an integer: %T", v))
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// lineDiff lists the lines only in a (-) and only in b (+).
func lineDiff(a, b []string) string {
	in := func(s []string, x string) bool { _, ok := slices.BinarySearch(s, x); return ok }
	var out []string
	for _, l := range a {
		if !in(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !in(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMLflow2BatchDuplicates documents where mlrun deliberately differs
// from MLflow 2.22.5: a batch holding two points that are the same stored
// row (here +Inf and 1.7976931348623157e308 at one step and timestamp)
// fails in MLflow 2.22.5 (an IntegrityError during autoflush, reported as
// BAD_REQUEST) after its params were committed, while MLflow 3 and mlrun
// (for both schemas) keep the first point and write the whole batch.
func TestMLflow2BatchDuplicates(t *testing.T) {
	m := requireMLflow(t, "2.22.5")
	dir := t.TempDir()
	ops := []op{
		{Op: "create_run", Run: "r", Name: "r", User: "u", StartTime: 1},
		{Op: "log_batch", Run: "r", Metrics: [][4]any{pt("w", "inf", 1, 1), pt("w", "1.7976931348623157e+308", 1, 1)}, Params: [][2]string{{"p", "1"}}},
	}
	b, err := json.Marshal(ops)
	must(t, err)
	opsFile := filepath.Join(dir, "ops.json")
	must(t, os.WriteFile(opsFile, b, 0o644))
	script, err := filepath.Abs("testdata/replay.py")
	must(t, err)
	cmd := m.Command(ctx, "python", script, opsFile, "sqlite:///"+filepath.Join(dir, "py.db"))
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("replay.py: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(string(out), `"1": "BAD_REQUEST`) {
		t.Errorf("MLflow 2.22.5 accepted a batch with a duplicate point: %s", out)
	}
	s := newStore(t, "2.22.5")
	_, errs := runOps(t, s, ops)
	if len(errs) != 0 {
		t.Errorf("mlrun: %v", errs)
	}
}
