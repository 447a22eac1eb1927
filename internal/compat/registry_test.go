package compat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// regQueries are the searches every reader runs on the Go registry.
func regQueries(runID string) *compat.RegistryQueries {
	return &compat.RegistryQueries{
		RM: []string{
			"name = 'ridge'", "name LIKE 'r%'", "name ILIKE 'R%'", "name != 'ridge'",
			"tags.team = 'ml'", "tags.team = 'ml' AND name LIKE '%e'", "name = 'old-name'",
		},
		MV: []string{
			"name = 'ridge'", "name = 'ridge' AND version_number >= 3", "run_id = '" + runID + "'",
			"tags.validated = 'yes'", "name = 'renamed-ünï'", "version_number = 5",
		},
		Missing: [][2]string{{"ridge", "5"}, {"ridge", "99"}, {"old-name", "1"}, {"renamed-ünï", "1"}},
	}
}

// writeGoRegistry writes, through fsstore, a run with a model artifact and
// a registry with several models, versions in every stage (some archived
// by archiveExisting), aliases, tags, unicode descriptions, a deleted
// version and a renamed model (see writeRegistry). It returns the run id.
func writeGoRegistry(t *testing.T, root string) string {
	t.Helper()
	s, err := fsstore.Open(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return writeRegistry(t, s, false)
}

// registryWriter is a store with runs and a model registry.
type registryWriter interface {
	CreateExperiment(ctx context.Context, name, artifactLocation string, tags []store.Tag) (string, error)
	CreateRun(ctx context.Context, req store.CreateRunRequest) (*store.Run, error)
	store.Registry
}

// writeRegistry writes, through s, a run with a model artifact and a
// registry with several models, versions in every stage (some archived by
// archiveExisting), aliases, tags, unicode descriptions, a deleted version,
// a renamed model (with, if renamedVersionTag, a version tag that must
// follow the rename) and a deleted model. It returns the run id.
func writeRegistry(t *testing.T, s registryWriter, renamedVersionTag bool) string {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	expID, err := s.CreateExperiment(ctx, "registry", "", nil)
	must(err)
	run, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: expID, UserID: "alice", RunName: "trainer"})
	must(err)
	rid := run.Info.RunID
	art := run.Info.ArtifactURI + "/model"
	var r store.Registry = s
	_, err = r.CreateRegisteredModel(ctx, "ridge", []store.Tag{{Key: "team", Value: "ml"}, {Key: "task", Value: "regression"}}, "Ridge regression — ünïcödé ✓\nline 2: 'q' #h")
	must(err)
	for i := range 6 {
		_, err := r.CreateModelVersion(ctx, store.CreateModelVersionRequest{
			Name: "ridge", Source: art, RunID: rid, Description: fmt.Sprintf("version %d — ✓", i+1),
			Tags: []store.Tag{{Key: "i", Value: strconv.Itoa(i)}},
		})
		must(err)
	}
	_, err = r.TransitionModelVersionStage(ctx, "ridge", 1, "Production", false)
	must(err)
	_, err = r.TransitionModelVersionStage(ctx, "ridge", 2, "staging", false)
	must(err)
	_, err = r.TransitionModelVersionStage(ctx, "ridge", 3, "production", true) // archives 1
	must(err)
	_, err = r.TransitionModelVersionStage(ctx, "ridge", 4, "Staging", true) // archives 2
	must(err)
	must(r.DeleteModelVersion(ctx, "ridge", 5))
	_, err = r.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "ridge", Source: art, RunID: rid}) // 7
	must(err)
	must(r.SetRegisteredModelAlias(ctx, "ridge", "champion", 3))
	must(r.SetRegisteredModelAlias(ctx, "ridge", "challenger", 4))
	must(r.SetRegisteredModelAlias(ctx, "ridge", "doomed", 4))
	must(r.DeleteRegisteredModelAlias(ctx, "ridge", "doomed"))
	must(r.SetModelVersionTag(ctx, "ridge", 3, store.Tag{Key: "validated", Value: "yes"}))
	_, err = r.UpdateModelVersion(ctx, "ridge", 4, "candidate: 日本語")
	must(err)

	_, err = r.CreateRegisteredModel(ctx, "old-name", []store.Tag{{Key: "owner", Value: "bob"}}, "")
	must(err)
	_, err = r.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "old-name", Source: art, RunID: rid, RunLink: "http://x/run"})
	must(err)
	must(r.SetRegisteredModelAlias(ctx, "old-name", "prod_1", 1))
	if renamedVersionTag {
		must(r.SetModelVersionTag(ctx, "old-name", 1, store.Tag{Key: "validated", Value: "yes"}))
	}
	_, err = r.RenameRegisteredModel(ctx, "old-name", "renamed-ünï")
	must(err)

	_, err = r.CreateRegisteredModel(ctx, "empty model", nil, "no versions yet")
	must(err)
	_, err = r.CreateRegisteredModel(ctx, "doomed", nil, "")
	must(err)
	must(r.DeleteRegisteredModel(ctx, "doomed"))
	return rid
}

func regJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func checkSameRegistry(t *testing.T, what string, want, got map[string]any) {
	t.Helper()
	w, g := compat.ComparableRegistryDump(want), compat.ComparableRegistryDump(got)
	if regJSON(w) != regJSON(g) {
		for _, k := range []string{"models", "versions", "latest", "by_alias", "searches", "missing"} {
			if regJSON(w[k]) != regJSON(g[k]) {
				t.Errorf("%s: %s differs:\nwant %s\ngot  %s", what, k, regJSON(w[k]), regJSON(g[k]))
			}
		}
	}
	if errs, _ := got["errors"].([]any); len(errs) > 0 {
		t.Errorf("%s: errors %v", what, errs)
	}
	if ws, _ := got["warnings"].([]any); len(ws) > 0 {
		var bad []string
		for _, w := range ws {
			s := fmt.Sprint(w)
			if strings.Contains(s, "FutureWarning") && strings.Contains(s, "stage") {
				continue // MLflow deprecates stages, whoever wrote them
			}
			if strings.HasPrefix(s, "DeprecationWarning: label() is deprecated") {
				continue // MLflow 2.22.5's REST client calls protobuf's deprecated FieldDescriptor.label
			}
			bad = append(bad, s)
		}
		if u := unexpected(bad); len(u) > 0 {
			t.Errorf("%s: warnings %v", what, u)
		}
	}
}

// TestMLflowReadsGoRegistry proves that each pinned MLflow reads a registry
// written by fsstore exactly as mlrun does, through MlflowClient
// (search_registered_models, get_registered_model, get_latest_versions,
// get_model_version_by_alias, get_model_version, get_model_version_download_uri,
// search_model_versions with filters) and through mlflow server's REST API.
func TestMLflowReadsGoRegistry(t *testing.T) {
	for _, v := range compat.Versions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			t.Parallel()
			m := compat.Require(t, v)
			ctx := context.Background()
			root := filepath.Join(t.TempDir(), "reg root ✓", "mlruns")
			rid := writeGoRegistry(t, root)
			s, err := fsstore.Open(ctx, root, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			q := regQueries(rid)
			want, err := compat.GoRegistryDump(ctx, s, q, "")
			if err != nil {
				t.Fatal(err)
			}
			checkGoRegistryContent(t, want)
			t.Run("client", func(t *testing.T) {
				got, err := m.DumpRegistry(ctx, fileURI(root), q, "")
				if err != nil {
					t.Fatal(err)
				}
				checkSameRegistry(t, "MlflowClient "+v, want, got)
			})
			t.Run("server", func(t *testing.T) {
				srv, err := m.StartServer(ctx, root)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(srv.Stop)
				got, err := m.DumpRegistry(ctx, srv.URL, q, "")
				if err != nil {
					t.Fatal(err)
				}
				log := srv.Log()
				srv.Stop()
				checkSameRegistry(t, "mlflow server "+v+" REST", want, got)
				for _, l := range logProblems(log) {
					t.Errorf("server log: %s", l)
				}
			})
		})
	}
}

// checkGoRegistryContent checks the Go dump itself holds what was written.
func checkGoRegistryContent(t *testing.T, d map[string]any) {
	t.Helper()
	lat := d["latest"].(map[string]any)["ridge"].(map[string]any)
	want := `{"Archived":["2"],"None":["7"],"Production":["3"],"Staging":["4"],"all":[["Archived","2"],["None","7"],["Production","3"],["Staging","4"]]}`
	if b, _ := json.Marshal(lat); string(b) != want {
		t.Errorf("ridge latest %s, want %s", b, want)
	}
	miss := d["missing"].(map[string]any)
	if miss["ridge/5"] != "RESOURCE_DOES_NOT_EXIST" || miss["old-name/1"] != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("missing %v", miss)
	}
	if _, ok := miss["renamed-ünï/1"].(map[string]any); !ok {
		t.Errorf("renamed model's version: %v", miss["renamed-ünï/1"])
	}
}

// TestRegistryFixtures proves that mlrun reads registries written by real
// MLflow (testdata/registry/mlflow-<v>) with the results MLflow itself
// gave (expected.json, made by py/registry_dump.py).
func TestRegistryFixtures(t *testing.T) {
	for _, v := range compat.PinnedVersions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "registry", "mlflow-"+v)
			b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			root := relocateFixture(t, dir)
			s, err := fsstore.Open(context.Background(), root, &fsstore.Options{NoSweep: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := compat.GoRegistryDump(context.Background(), s, nil, root)
			if err != nil {
				t.Fatal(err)
			}
			checkSameRegistry(t, "mlrun reading MLflow "+v+"'s registry", want, got)
		})
	}
}

// The two-process transition tests: children re-run this test binary.
const regHelperEnv = "MLRUN_REGISTRY_HELPER"

// TestRegistryHelperProcess is the body of a child process: it moves the
// versions given in MLRUN_REGISTRY_VERSIONS of the fsstore registry under
// MLRUN_REGISTRY_HELPER to Production (see transitionHelper). Skipped when
// run directly.
func TestRegistryHelperProcess(t *testing.T) {
	root := os.Getenv(regHelperEnv)
	if root == "" {
		t.Skip("helper process for TestRegistryTwoProcessTransitions")
	}
	transitionHelper(func(ctx context.Context) (registryCloser, error) {
		return fsstore.Open(ctx, root, &fsstore.Options{NoSweep: true})
	})
}

// registryCloser is a store the two-process transition tests use.
type registryCloser interface {
	store.Registry
	Close() error
}

// transitionHelper is the body of a child process of
// contendTransitions: it opens the store, waits for MLRUN_REGISTRY_START,
// and moves the versions given in MLRUN_REGISTRY_VERSIONS to Production,
// archiving the others, as fast as it can, five times over; then it
// prints "ok" and exits.
func transitionHelper(open func(context.Context) (registryCloser, error)) {
	ctx := context.Background()
	s, err := open(ctx)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	start, _ := strconv.ParseInt(os.Getenv("MLRUN_REGISTRY_START"), 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	for range 5 {
		for _, f := range strings.Fields(os.Getenv("MLRUN_REGISTRY_VERSIONS")) {
			v, _ := strconv.ParseInt(f, 10, 64)
			if _, err := s.TransitionModelVersionStage(ctx, "contended", v, "Production", true); err != nil {
				fmt.Println("error:", err)
				os.Exit(2)
			}
		}
	}
	s.Close()
	fmt.Println("ok")
	os.Exit(0)
}

// contendTransitions creates model "contended" with 10 versions in s,
// then runs two children (test helper, with env helperEnv=target) that
// move the odd and the even versions to Production with
// archive_existing_versions at once, and returns mlrun's dump of the
// registry they leave.
func contendTransitions(t *testing.T, s store.Registry, helper, helperEnv, target string) map[string]any {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateRegisteredModel(ctx, "contended", nil, ""); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "contended", Source: "file:///m"}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(500 * time.Millisecond).UnixNano()
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i, vs := range []string{"1 3 5 7 9", "2 4 6 8 10"} {
		cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+target, "MLRUN_REGISTRY_VERSIONS="+vs, fmt.Sprintf("MLRUN_REGISTRY_START=%d", start))
		wg.Go(func() {
			out, err := cmd.CombinedOutput()
			outs[i] = string(out)
			if err != nil {
				outs[i] += " (" + err.Error() + ")"
			}
		})
	}
	wg.Wait()
	for i, o := range outs {
		if strings.TrimSpace(o) != "ok" {
			t.Fatalf("child %d: %s", i, o)
		}
	}
	got, err := compat.GoRegistryDump(ctx, s, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	checkOneProduction(t, "mlrun", got)
	return got
}

// TestRegistryTwoProcessTransitions has two processes move versions of the
// same model to Production with archive_existing_versions at once: the
// registry they leave has exactly one version in Production (all others
// Archived), for mlrun and for every pinned MLflow.
func TestRegistryTwoProcessTransitions(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := fsstore.Open(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := contendTransitions(t, s, "TestRegistryHelperProcess", regHelperEnv, root)
	for _, v := range compat.Versions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			m := compat.Require(t, v)
			py, err := m.DumpRegistry(ctx, fileURI(root), nil, "")
			if err != nil {
				t.Fatal(err)
			}
			checkOneProduction(t, "MLflow "+v, py)
			checkSameRegistry(t, "MLflow "+v, got, py)
		})
	}
}

func checkOneProduction(t *testing.T, who string, d map[string]any) {
	t.Helper()
	prod, archived := 0, 0
	for _, x := range d["versions"].([]any) {
		switch x.(map[string]any)["current_stage"] {
		case "Production":
			prod++
		case "Archived":
			archived++
		}
	}
	if prod != 1 || archived != 9 {
		t.Errorf("%s: %d in Production, %d Archived; want 1 and 9", who, prod, archived)
	}
}

// TestMLflowLoadsGoModel proves that a model logged and registered by
// mlrun loads with mlflow.models.Model.load, and that MLflow resolves and
// downloads it by runs:/, models:/name/Production and models:/name@alias.
func TestMLflowLoadsGoModel(t *testing.T) {
	ctx := context.Background()
	for _, v := range compat.Versions() {
		t.Run("mlflow-"+v, func(t *testing.T) {
			m := compat.Require(t, v)
			// Each version gets the model layout it reads (2.x: run artifacts, 3.x: LoggedModel).
			root := filepath.Join(t.TempDir(), "mlruns")
			c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(fileURI(root)), mlrun.WithMLflowVersion(v))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			run, err := c.StartRun(ctx, mlrun.WithRunName("train"))
			if err != nil {
				t.Fatal(err)
			}
			lm, err := run.LogModel(ctx, "model", mlrun.Model{
				Flavors: map[string]map[string]any{"go_ridge": {"data": "weights.json", "format": "json ✓"}},
				Files:   map[string][]byte{"weights.json": []byte("[0.5, 1.5]")},
			})
			if err != nil {
				t.Fatal(err)
			}
			run.End(ctx)
			mv, err := c.RegisterModel(ctx, lm.URI, "go-ridge")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.TransitionModelVersionStage(ctx, "go-ridge", mv.Version, "Production", true); err != nil {
				t.Fatal(err)
			}
			if err := c.SetRegisteredModelAlias(ctx, "go-ridge", "champion", mv.Version); err != nil {
				t.Fatal(err)
			}
			mlmodel := filepath.Join(lm.LocalPath, "MLmodel")
			q := &compat.RegistryQueries{MLmodel: []string{mlmodel}, Download: []string{lm.URI, "models:/go-ridge/Production", "models:/go-ridge@champion", "models:/go-ridge/1"}}
			d, err := m.DumpRegistry(ctx, fileURI(root), q, "")
			if err != nil {
				t.Fatal(err)
			}
			got := d["mlmodel"].(map[string]any)[mlmodel].(map[string]any)
			if got["run_id"] != run.ID() || got["model_uuid"] != lm.ModelUUID || fmt.Sprint(got["flavors"]) != "[go_ridge]" || got["utc_time_created"] != lm.UTCTimeCreated {
				t.Errorf("Model.load: %v", got)
			}
			for _, u := range q.Download {
				// MLflow adds registered_model_meta when it downloads by models:/.
				files := strings.Replace(fmt.Sprint(d["download"].(map[string]any)[u]), " registered_model_meta", "", 1)
				if files != "[MLmodel weights.json]" {
					t.Errorf("download %s: %s", u, files)
				}
			}
		})
	}
}
