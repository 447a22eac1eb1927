package compat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// archiveGen runs py/archive_gen.py with MLflow m in dir.
func archiveGen(t *testing.T, m *compat.MLflow, dir string, args ...string) {
	t.Helper()
	scripts, err := compat.Scripts()
	if err != nil {
		t.Fatal(err)
	}
	cmd := m.Command(context.Background(), "python", append([]string{filepath.Join(scripts, "archive_gen.py")}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("MLflow %s: archive_gen.py %v: %v\n%s", m.Version, args, err, out)
	}
}

// mlflowView is what MLflow (MlflowClient) reads of a store: runs and
// experiments (dump.py), the registry (registry_dump.py) and the logged
// models with run outputs, read by archive_gen.py view in one process,
// with artifact locations normalised (compat.NormalizeLocation).
type mlflowView struct {
	Snap     *compat.Snapshot
	Registry any
	Models   any
}

func readMLflowView(t *testing.T, m *compat.MLflow, uri string) mlflowView {
	t.Helper()
	out := filepath.Join(t.TempDir(), "view.json")
	archiveGen(t, m, t.TempDir(), "view", "--tracking-uri", uri, "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Snapshot json.RawMessage `json:"snapshot"`
		Registry map[string]any  `json:"registry"`
		Models   any             `json:"models"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	snap, err := compat.ParseSnapshot(raw.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, "MLflow dump of "+uri, snap)
	snap.NormalizeLocations()
	if errs, _ := raw.Registry["errors"].([]any); len(errs) > 0 {
		t.Errorf("MLflow registry dump of %s: %v", uri, errs)
	}
	if strings.HasPrefix(uri, "sqlite:") {
		sqlSearchAliases(t, raw.Registry)
	}
	return mlflowView{Snap: snap, Registry: compat.NormalizeTree(compat.ComparableRegistryDump(raw.Registry), "message"),
		Models: compat.NormalizeTree(raw.Models)}
}

// sqlView returns what a view becomes in an MLflow SQL store: metric
// values as it keeps them (±inf, -0.0), and model versions without model
// ids (an MLflow SQL registry has no such column).
func sqlView(v mlflowView) mlflowView {
	b, _ := json.Marshal(v.Snap)
	snap, err := compat.ParseSnapshot(b)
	if err != nil {
		panic(err)
	}
	snap.SQLMetrics()
	models := compat.NormalizeTree(v.Models)
	if mm, ok := models.(map[string]any)["models"].(map[string]any); ok {
		for _, m := range mm {
			for _, x := range m.(map[string]any)["metrics"].([]any) {
				p := x.([]any)
				p[1] = compat.SQLValue(p[1].(string))
			}
		}
	}
	return mlflowView{Snap: snap, Registry: compat.NormalizeTree(v.Registry, "model_id"), Models: models}
}

// inFileStore returns what a file store written by mlrun keeps of a view:
// the strings MLflow keeps in YAML as they read back from fsstore's YAML
// (fsstore.YAMLString). fsstore writes YAML as PyYAML's pure-Python
// SafeDumper does, which loses U+0085 (NEL) in a string; an MLflow whose
// PyYAML has libyaml (CSafeDumper) escapes and keeps it.
func inFileStore(v mlflowView) mlflowView {
	snap := *v.Snap
	snap.Experiments = slices.Clone(v.Snap.Experiments)
	for i := range snap.Experiments {
		snap.Experiments[i].Name = fsstore.YAMLString(snap.Experiments[i].Name)
	}
	snap.Runs = slices.Clone(v.Snap.Runs)
	for i := range snap.Runs {
		r := &snap.Runs[i]
		r.RunName, r.UserID = fsstore.YAMLString(r.RunName), fsstore.YAMLString(r.UserID)
		r.Inputs = slices.Clone(r.Inputs)
		for j := range r.Inputs {
			in := &r.Inputs[j]
			for _, f := range []*string{&in.Name, &in.Digest, &in.SourceType, &in.Source, &in.Schema, &in.Profile} {
				*f = fsstore.YAMLString(*f)
			}
			tags := map[string]string{}
			for k, val := range in.Tags {
				tags[fsstore.YAMLString(k)] = fsstore.YAMLString(val)
			}
			in.Tags = tags
		}
	}
	v.Snap = &snap
	return v
}

// checkRich guards against a vacuous comparison: the view must hold what
// the round trips are meant to carry.
func checkRich(t *testing.T, v mlflowView, version string, sql bool) {
	t.Helper()
	if !sql {
		checkFixtureRich(t, v.Snap) // whose metric values are a file store's
	} else if len(v.Snap.Experiments) < 12 || len(v.Snap.Runs) < 40 {
		t.Errorf("the source has %d experiments and %d runs", len(v.Snap.Experiments), len(v.Snap.Runs))
	}
	deleted, nested := 0, 0
	for _, r := range v.Snap.Runs {
		if r.LifecycleStage == store.LifecycleDeleted {
			deleted++
		}
		if r.Tags["mlflow.parentRunId"] != "" {
			nested++
		}
	}
	if deleted == 0 || nested == 0 {
		t.Errorf("the source has %d deleted and %d nested runs", deleted, nested)
	}
	reg := v.Registry.(map[string]any)
	if n := len(reg["versions"].([]any)); n < 3 {
		t.Errorf("the source registry has %d versions", n)
	}
	if b, _ := json.Marshal(reg["by_alias"]); !strings.Contains(string(b), "champion") {
		t.Errorf("the source registry has no alias: %s", b)
	}
	if strings.HasPrefix(version, "3.") {
		if n := len(v.Models.(map[string]any)["models"].(map[string]any)); n != 2 {
			t.Errorf("the source has %d logged models, want 2 (READY and FAILED)", n)
		}
	}
}

func sameMLflowView(t *testing.T, what string, want, got mlflowView) {
	t.Helper()
	checkSame(t, what, want.Snap, got.Snap)
	for _, part := range []struct {
		name string
		a, b any
	}{{"registry", want.Registry, got.Registry}, {"logged models", want.Models, got.Models}} {
		a, _ := json.MarshalIndent(part.a, "", " ")
		b, _ := json.MarshalIndent(part.b, "", " ")
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the %s differ:\n%s", what, part.name, lineDiff(string(a), string(b), 40))
		}
	}
}

func lineDiff(a, b string, n int) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "want: "+x, "got:  "+y)
		}
		if len(out) >= n {
			break
		}
	}
	return strings.Join(out, "\n")
}

func openSQLite(t *testing.T, dir, version string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(dir, "mlflow.db"),
		&sqlstore.Options{MLflowVersion: version, ArtifactRoot: filepath.Join(dir, "artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openFile(t *testing.T, root string) *fsstore.Store {
	t.Helper()
	s, err := fsstore.Open(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// exportTo exports a store to an archive file.
func exportTo(t *testing.T, s store.Store, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, notes, err := archive.Export(context.Background(), s, f, archive.ExportOptions{}); err != nil || len(notes) > 0 {
		t.Fatalf("export: %v (notes %v)", err, notes)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// importInto imports an archive and checks that a second import changes
// nothing.
func importInto(t *testing.T, s store.Store, path string) {
	t.Helper()
	ctx := context.Background()
	st, err := archive.Import(ctx, s, path, archive.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Changed() {
		t.Fatalf("import changed nothing: %+v", st)
	}
	again, err := archive.Import(ctx, s, path, archive.ImportOptions{})
	if err != nil || again.Changed() {
		t.Fatalf("a second import: %+v, %v", again, err)
	}
}

// TestArchiveRoundTrips moves stores that real MLflow wrote between the
// two kinds and requires real MLflow to read the same everywhere: every
// MlflowClient view (experiments, runs, params, metric histories, tags,
// inputs, artifacts byte for byte, logged models and run outputs, the
// registry with stages and aliases) equal, up to artifact locations (the
// destination's layout) and what a SQL store keeps of metric values
// (±inf, -0.0) and of model versions (no model_id). For each pinned
// MLflow version:
//
//   - file -> archive -> SQLite: the MLflow-written fixture (unicode,
//     NaN/±Inf, deleted and restored experiments and runs, nested runs,
//     datasets, artifacts), with a registry and (MLflow 3) logged models
//     MLflow adds, exported and imported into a database of that
//     version's schema;
//   - SQLite -> archive -> file: a database MLflow itself wrote (the same
//     content logged by MLflow into SQLite), exported and imported into an
//     mlruns directory;
//   - file -> SQLite -> file: the fixture converted (mlrun convert) to
//     SQLite and back.
//
// Each import is done twice; the second changes nothing.
func TestArchiveRoundTrips(t *testing.T) {
	for _, v := range compat.PinnedVersions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			t.Parallel()
			m := compat.Require(t, v)
			ctx := context.Background()
			src := relocateFixture(t, filepath.Join(fixturesDir, "mlflow-"+v))
			archiveGen(t, m, t.TempDir(), "gen", "--tracking-uri", fileURI(src))
			want := readMLflowView(t, m, fileURI(src))
			checkRich(t, want, v, false)
			wantSQL := sqlView(want)

			t.Run("file-archive-sqlite", func(t *testing.T) {
				dir := t.TempDir()
				fs := openFile(t, src)
				exportTo(t, fs, filepath.Join(dir, "a.tar.gz"))
				fs.Close()
				db := openSQLite(t, dir, v)
				importInto(t, db, filepath.Join(dir, "a.tar.gz"))
				db.Close()
				sameMLflowView(t, "MLflow "+v+": file -> archive -> SQLite", wantSQL, sqlView(readMLflowView(t, m, "sqlite:///"+filepath.Join(dir, "mlflow.db"))))
			})

			t.Run("sqlite-archive-file", func(t *testing.T) {
				dir := t.TempDir()
				work := t.TempDir() // MLflow's ./mlruns artifact root
				uri := "sqlite:///" + filepath.Join(dir, "mlflow.db")
				archiveGen(t, m, work, "gen", "--full", "--tracking-uri", uri, "--cwd", work)
				sqlWant := sqlView(readMLflowView(t, m, uri))
				checkRich(t, sqlWant, v, true)
				db, err := sqlstore.Open(ctx, filepath.Join(dir, "mlflow.db"), &sqlstore.Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				exportTo(t, db, filepath.Join(dir, "a.tar.gz"))
				db.Close()
				root := filepath.Join(t.TempDir(), "mlruns")
				fs := openFile(t, root)
				importInto(t, fs, filepath.Join(dir, "a.tar.gz"))
				fs.Close()
				sameMLflowView(t, "MLflow "+v+": SQLite (written by MLflow) -> archive -> file", inFileStore(sqlWant), sqlView(readMLflowView(t, m, fileURI(root))))
			})

			t.Run("file-sqlite-file", func(t *testing.T) {
				fs := openFile(t, src)
				defer fs.Close()
				dir := t.TempDir()
				db := openSQLite(t, dir, v)
				if _, err := archive.Convert(ctx, db, []store.Store{fs}, archive.ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				root := filepath.Join(t.TempDir(), "mlruns")
				back := openFile(t, root)
				if _, err := archive.Convert(ctx, back, []store.Store{db}, archive.ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				if st, err := archive.Convert(ctx, back, []store.Store{db}, archive.ImportOptions{}); err != nil || st.Changed() {
					t.Fatalf("a second conversion: %+v, %v", st, err)
				}
				db.Close()
				back.Close()
				sameMLflowView(t, "MLflow "+v+": file -> SQLite -> file", inFileStore(wantSQL), sqlView(readMLflowView(t, m, fileURI(root))))
			})
		})
	}
}

// TestGoGCMatchesMLflowGC runs mlrun's gc (archive.GC) on a store real
// MLflow wrote, and `mlflow gc` on a copy, for each pinned version, on the
// file store and on a SQLite copy of it: MLflow must read the two results
// identically (the store without its deleted runs and experiments), and
// cleanly.
func TestGoGCMatchesMLflowGC(t *testing.T) {
	for _, v := range compat.PinnedVersions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			t.Parallel()
			m := compat.Require(t, v)
			ctx := context.Background()
			fixture := filepath.Join(fixturesDir, "mlflow-"+v)
			want, err := compat.ReadSnapshot(filepath.Join(fixture, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			want = withoutDeleted(want)
			want.NormalizeLocations()
			// Each store is made twice: one for mlrun's gc, one for MLflow's.
			type target struct{ uri, backend string }
			stores := map[string][2]target{}
			var files [2]target
			var dbs [2]target
			for i := range 2 {
				root := relocateFixture(t, fixture)
				files[i] = target{fileURI(root), root}
				dir := t.TempDir()
				db := openSQLite(t, dir, v)
				fs := openFile(t, root)
				if _, err := archive.Convert(ctx, db, []store.Store{fs}, archive.ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				fs.Close()
				db.Close()
				u := "sqlite:///" + filepath.Join(dir, "mlflow.db")
				dbs[i] = target{u, u}
			}
			stores["file"], stores["sqlite"] = files, dbs
			for kind, pair := range stores {
				sql := kind == "sqlite"
				s, err := archive.OpenExisting(ctx, pair[0].uri, false)
				if err != nil {
					t.Fatal(err)
				}
				res, err := archive.GC(ctx, s, archive.GCOptions{})
				s.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Runs) == 0 || len(res.Experiments) == 0 || len(res.Notes) > 0 {
					t.Errorf("%s: mlrun gc removed %+v", kind, res)
				}
				out, err := m.GC(ctx, pair[1].backend, pair[1].uri)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range logProblems(out) {
					t.Errorf("mlflow gc: %s", l)
				}
				ours, err := m.DumpClient(ctx, pair[0].uri, nil)
				if err != nil {
					t.Fatal(err)
				}
				theirs, err := m.DumpClient(ctx, pair[1].uri, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, kind+" store after mlrun gc", ours)
				checkClean(t, kind+" store after mlflow gc", theirs)
				ours.NormalizeLocations()
				theirs.NormalizeLocations()
				checkSame(t, "MLflow "+v+": the "+kind+" store after mlflow gc and after mlrun gc", theirs, ours)
				w := want
				if sql {
					c := *want
					c.Runs = append([]compat.Run(nil), want.Runs...)
					for i := range c.Runs {
						r := c.Runs[i]
						r.LatestMetrics = maps.Clone(r.LatestMetrics)
						r.Metrics = maps.Clone(r.Metrics)
						for k, h := range r.Metrics {
							r.Metrics[k] = append([]compat.MetricPoint(nil), h...)
						}
						c.Runs[i] = r
					}
					c.SQLMetrics()
					w = &c
				}
				checkSame(t, "MLflow "+v+": the "+kind+" store after mlrun gc, against the fixture less its deleted entities", w, ours)
			}
		})
	}
}

// TestArchiveMergesRealStores merges the stores MLflow 2.22.5 and MLflow
// 3.17.2 wrote (disjoint run ids, the same experiment names) into one
// SQLite database, and requires the newest MLflow to read their union:
// every run of each as MLflow read it in its own store, under the
// experiment of the same name. Merging again changes nothing.
func TestArchiveMergesRealStores(t *testing.T) {
	m := compat.Require(t, compat.NewestVersion())
	ctx := context.Background()
	var srcs []store.Store
	var wants []*compat.Snapshot
	for _, v := range compat.PinnedVersions() {
		dir := filepath.Join(fixturesDir, "mlflow-"+v)
		want, err := compat.ReadSnapshot(filepath.Join(dir, "expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		want.SQLMetrics()
		wants = append(wants, want)
		s := openFile(t, relocateFixture(t, dir))
		defer s.Close()
		srcs = append(srcs, s)
	}
	dir := t.TempDir()
	db := openSQLite(t, dir, compat.NewestVersion())
	st, err := archive.Convert(ctx, db, srcs, archive.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := archive.Convert(ctx, db, srcs, archive.ImportOptions{})
	if err != nil || again.Changed() || again.Runs.Unchanged != st.Runs.Created {
		t.Fatalf("a second merge: %+v, %v", again, err)
	}
	db.Close()
	got, err := m.DumpClient(ctx, "sqlite:///"+filepath.Join(dir, "mlflow.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, "MLflow reading the merged store", got)
	names := map[string]string{}
	for _, e := range got.Experiments {
		names[e.ExperimentID] = e.Name
	}
	total := 0
	for i, want := range wants {
		wnames := map[string]string{}
		for _, e := range want.Experiments {
			wnames[e.ExperimentID] = e.Name
		}
		total += len(want.Runs)
		for _, r := range want.Runs {
			g := got.Run(r.RunID)
			if g == nil {
				t.Errorf("source %d: run %s (%q) is missing from the merged store", i+1, r.RunID, r.RunName)
				continue
			}
			if names[g.ExperimentID] != wnames[r.ExperimentID] {
				t.Errorf("run %s is in experiment %q, want %q", r.RunID, names[g.ExperimentID], wnames[r.ExperimentID])
			}
			a, b := r, *g
			a.ExperimentID, b.ExperimentID, a.ArtifactURI, b.ArtifactURI = "", "", "", ""
			one := &compat.Snapshot{FormatVersion: compat.FormatVersion, Runs: []compat.Run{a}}
			two := &compat.Snapshot{FormatVersion: compat.FormatVersion, Runs: []compat.Run{b}}
			checkSame(t, "run "+r.RunID+" in the merged store", one, two)
		}
	}
	if len(got.Runs) != total {
		t.Errorf("the merged store has %d runs, want %d", len(got.Runs), total)
	}
}
