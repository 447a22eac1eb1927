package archive

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kind is a kind of store to test with.
type kind struct {
	name    string
	version string // SQLite schema; "" for an mlruns directory
}

var (
	fileKind   = kind{"file", ""}
	sqlite3    = kind{"sqlite-3.17.2", "3.17.2"}
	sqlite2    = kind{"sqlite-2.22.5", "2.22.5"}
	everyKinds = []kind{fileKind, sqlite3, sqlite2}
)

// openKind opens a new store of kind k in dir (artifacts of a SQLite store
// under dir/artifacts).
func openKind(t testing.TB, k kind, dir string) store.Store {
	t.Helper()
	var s store.Store
	var err error
	if k.version == "" {
		s, err = fsstore.Open(ctx, filepath.Join(dir, "mlruns"), nil)
	} else {
		s, err = sqlstore.Open(ctx, filepath.Join(dir, "mlflow.db"), &sqlstore.Options{MLflowVersion: k.version, ArtifactRoot: filepath.Join(dir, "artifacts")})
	}
	must(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

const t0 = int64(1_700_000_000_000)

// fill logs a rich store through the public API: experiments (tagged and
// unicode, deleted, deleted and restored), runs in several statuses,
// nested and deleted runs, NaN/±Inf/-0.0 metrics with negative steps and
// long histories, params with odd characters, dataset inputs, artifacts
// in subdirectories, an MLflow 3 logged model (where the store has them)
// and registered versions with stages and aliases. It returns the ids of
// the runs logged.
func fill(t testing.TB, s store.Store, prefix string) []string {
	t.Helper()
	clock := time.UnixMilli(t0)
	c, err := mlrun.Open(ctx, mlrun.WithStore(s), mlrun.WithUser("alice ✓"), mlrun.WithClock(func() time.Time {
		clock = clock.Add(time.Millisecond)
		return clock
	}))
	must(t, err)
	exp, err := c.CreateExperiment(ctx, prefix+"sweep ünïcødé ✓", mlrun.WithExperimentTags(map[string]string{"team": "ml", "nested/key": "v"}))
	must(t, err)
	must(t, c.SetExperimentTag(ctx, exp.ID, "mlflow.note.content", "desc\r\nwith CRLF"))
	var ids []string
	parent, err := c.StartRun(ctx, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName(prefix+"parent"))
	must(t, err)
	ids = append(ids, parent.ID())
	must(t, parent.LogParam(ctx, "alpha", "0.5"))
	must(t, parent.LogParam(ctx, "weird", "tab\there 'q' \"dq\" ✓"))
	for i := range 1500 {
		must(t, parent.LogMetric(ctx, "loss", 1/float64(i+1), mlrun.WithStep(int64(i-10))))
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e-05} {
		must(t, parent.LogMetric(ctx, "odd", v, mlrun.WithStep(1)))
	}
	must(t, parent.LogInput(ctx, store.Dataset{Name: "train", Digest: "d1", SourceType: "local", Source: `{"uri": "/data/train"}`}, mlrun.WithInputContext("training")))
	must(t, parent.LogText(ctx, "hello ✓\n", "notes/hello.txt"))
	must(t, parent.LogJSON(ctx, map[string]any{"a": 1}, "deep/er/x.json"))
	for i, st := range []store.RunStatus{store.StatusFinished, store.StatusFailed, store.StatusKilled} {
		child, err := c.StartRun(ctx, mlrun.WithExperimentID(exp.ID), mlrun.WithParent(parent), mlrun.WithRunName(prefix+"child-"+st.String()))
		must(t, err)
		ids = append(ids, child.ID())
		must(t, child.LogMetric(ctx, "rmse", float64(i)/10))
		must(t, child.LogParam(ctx, "i", i))
		must(t, child.End(ctx, mlrun.WithStatus(st)))
	}
	if _, ok := store.AsLoggedModels(s); ok {
		lm, err := parent.LogModel(ctx, "model", mlrun.Model{
			Flavors: map[string]map[string]any{"go_ridge": {"data": "weights.json"}},
			Files:   map[string][]byte{"weights.json": []byte(`{"w": [1, 2]}`)},
			Params:  map[string]string{"p": "1"}, ModelType: "regressor", Step: 3,
		})
		must(t, err)
		must(t, parent.LogModelMetric(ctx, lm.ModelID, "acc", 0.9, mlrun.WithStep(3)))
		mv, err := c.RegisterModel(ctx, lm.URI, prefix+"ridge", mlrun.WithVersionDescription("first"))
		must(t, err)
		must(t, c.SetRegisteredModelAlias(ctx, mv.Name, "champion", mv.Version))
	}
	must(t, parent.End(ctx))
	mv, err := c.RegisterModel(ctx, "runs:/"+ids[1]+"/model", prefix+"plain", mlrun.WithVersionTags(map[string]string{"v": "1"}))
	must(t, err)
	_, err = c.TransitionModelVersionStage(ctx, mv.Name, mv.Version, "Production", false)
	must(t, err)
	mv2, err := c.RegisterModel(ctx, "runs:/"+ids[2]+"/model", prefix+"plain")
	must(t, err)
	_, err = c.TransitionModelVersionStage(ctx, mv2.Name, mv2.Version, "Staging", false)
	must(t, err)
	must(t, c.SetRegisteredModelAlias(ctx, mv2.Name, "candidate", mv2.Version))

	// A deleted run, a deleted experiment with a run, a restored one.
	must(t, c.DeleteRun(ctx, ids[3]))
	gone, err := c.CreateExperiment(ctx, prefix+"gone")
	must(t, err)
	r, err := c.StartRun(ctx, mlrun.WithExperimentID(gone.ID), mlrun.WithRunName(prefix+"in-gone"))
	must(t, err)
	ids = append(ids, r.ID())
	must(t, r.LogMetric(ctx, "m", 1))
	must(t, r.End(ctx))
	must(t, c.DeleteExperiment(ctx, gone.ID))
	back, err := c.CreateExperiment(ctx, prefix+"restored")
	must(t, err)
	r, err = c.StartRun(ctx, mlrun.WithExperimentID(back.ID), mlrun.WithRunName(prefix+"running"))
	must(t, err)
	ids = append(ids, r.ID())
	must(t, c.DeleteExperiment(ctx, back.ID))
	must(t, c.RestoreExperiment(ctx, back.ID))
	// A run in the Default experiment.
	d, err := c.StartRun(ctx, mlrun.WithExperimentID(store.DefaultExperimentID), mlrun.WithRunName(prefix+"default"))
	must(t, err)
	ids = append(ids, d.ID())
	must(t, d.End(ctx))
	return ids
}

// view is what a store shows: its canonical dump (compat.Dump), its
// registry and its logged models, with what legitimately differs between
// stores normalised.
type view struct {
	Snap     *compat.Snapshot
	Registry map[string]any
	Models   map[string]any
}

// viewOf reads a store's view. sql normalises metric values as a SQL
// store keeps them (±Inf as ±MaxFloat64, -0.0 as 0.0), for comparing a
// file store with what a SQL store holds of it.
func viewOf(t testing.TB, s store.Store, sql bool) view {
	t.Helper()
	snap, err := compat.Dump(ctx, s, nil)
	must(t, err)
	if len(snap.Errors) > 0 {
		t.Fatalf("dump errors: %v", snap.Errors)
	}
	snap.NormalizeLocations()
	if sql {
		snap.SQLMetrics()
	}
	v := view{Snap: snap}
	if reg, ok := s.(store.Registry); ok {
		d, err := compat.GoRegistryDump(ctx, reg, nil, "")
		must(t, err)
		// MLflow's SQL registry has no model_id column.
		v.Registry = compat.NormalizeTree(d, "model_id").(map[string]any)
	}
	if lms, ok := store.AsLoggedModels(s); ok {
		v.Models = map[string]any{}
		for _, e := range snap.Experiments {
			page, err := lms.SearchLoggedModels(ctx, store.LoggedModelQuery{ExperimentIDs: []string{e.ExperimentID}, MaxResults: 1000})
			must(t, err)
			for _, m := range page.Models {
				m.ArtifactLocation = compat.NormalizeLocation(m.ArtifactLocation)
				slices.SortFunc(m.Metrics, func(a, b store.LoggedModelMetric) int {
					return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.DatasetName, b.DatasetName), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Timestamp, b.Timestamp))
				})
				for i := range m.Metrics {
					if sql {
						m.Metrics[i].Value, _ = pyfloat.Parse(compat.SQLValue(pyfloat.Repr(m.Metrics[i].Value)))
					}
				}
				b, _ := json.Marshal(m)
				var x any
				must(t, json.Unmarshal(b, &x))
				v.Models[m.ModelID] = x
			}
		}
	}
	return v
}

func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

// sameView fails the test where two views differ.
func sameView(t testing.TB, what string, want, got view) {
	t.Helper()
	if d := compat.Compare(want.Snap, got.Snap); len(d) > 0 {
		if len(d) > 40 {
			d = d[:40]
		}
		t.Errorf("%s: %d differences:\n  %s", what, len(d), strings.Join(d, "\n  "))
	}
	if a, b := jsonText(want.Registry), jsonText(got.Registry); a != b {
		t.Errorf("%s: registries differ:\n%s", what, firstLines(diffLines(a, b), 30))
	}
	if a, b := jsonText(want.Models), jsonText(got.Models); want.Models != nil && got.Models != nil && a != b {
		t.Errorf("%s: logged models differ:\n%s", what, firstLines(diffLines(a, b), 30))
	}
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}

func firstLines(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[:min(n, len(l))], "\n")
}

// exportFile exports s to a file in dir and returns its path.
func exportFile(t testing.TB, s store.Store, dir string, opts ExportOptions) string {
	t.Helper()
	path := filepath.Join(dir, "out.tar.gz")
	var buf bytes.Buffer
	_, notes, err := Export(ctx, s, &buf, opts)
	must(t, err)
	if len(notes) > 0 {
		t.Logf("export notes: %v", notes)
	}
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}
