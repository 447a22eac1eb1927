package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// RegistryOpener returns a fresh, empty store with a model registry.
type RegistryOpener func(t *testing.T) store.Registry

// RunRegistry runs the model-registry conformance suite against stores made
// by open. Every backend with a registry must pass it.
func RunRegistry(t *testing.T, open RegistryOpener) {
	t.Helper()
	RunRegistryWith(t, open, RegistryOptions{})
}

// RegistryOptions describe a registry backend where MLflow's own stores
// and server differ, so the suite expects what the backend's MLflow does.
type RegistryOptions struct {
	// ServerSources means the backend checks model-version sources as
	// MLflow's tracking server does (a local path must lie in the
	// artifact directory of an existing run, a runs:/ source needs that
	// run) and resolves a version's storage location itself: the suite
	// then registers s3:// sources and expects the download URI to be the
	// source.
	ServerSources bool
	// UntypedVersionFilter means a model-version filter comparing
	// version_number with a string is accepted (MLflow 2's server).
	UntypedVersionFilter bool
	// RacyArchive means concurrent transitions with archiveExisting may
	// leave several versions in the target stage: MLflow's SQL store on
	// PostgreSQL runs them in READ COMMITTED transactions that do not see
	// each other's updates (SQLite serializes them).
	RacyArchive bool
	// State, as Options.State: fingerprints the registry's store so the
	// suite can check that refused requests change nothing.
	State func(t *testing.T, s any) string
}

// RunRegistryWith runs the model-registry suite with the given options.
func RunRegistryWith(t *testing.T, open RegistryOpener, opts RegistryOptions) {
	t.Helper()
	for _, tc := range registryCases {
		t.Run(tc.name, func(t *testing.T) {
			r := open(t)
			if c, ok := r.(interface{ Close() error }); ok {
				t.Cleanup(func() { _ = c.Close() })
			}
			tc.fn(t, &suiteRegistry{Registry: r, opts: opts})
		})
	}
	t.Run("InvalidUTF8", func(t *testing.T) {
		r := open(t)
		if c, ok := r.(interface{ Close() error }); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
		testRegInvalidUTF8(t, r, opts)
	})
}

// suiteRegistry carries the suite's RegistryOptions with the registry
// under test.
type suiteRegistry struct {
	store.Registry
	opts RegistryOptions
}

func regOptions(r store.Registry) RegistryOptions {
	if sr, ok := r.(*suiteRegistry); ok {
		return sr.opts
	}
	return RegistryOptions{}
}

// source returns the model-version source the suite registers for s: s
// itself, or an s3:// stand-in where the backend checks sources as
// MLflow's server does.
func source(r store.Registry, s string) string {
	if !regOptions(r).ServerSources || strings.HasPrefix(s, "s3://") {
		return s
	}
	s = strings.TrimPrefix(s, "file://")
	s = strings.Replace(s, ":/", "/", 1)
	return "s3://bucket/" + strings.TrimPrefix(s, "/")
}

var registryCases = []struct {
	name string
	fn   func(t *testing.T, r store.Registry)
}{
	{"CreateGetModel", testRegCreateGet},
	{"DuplicateModel", testRegDuplicate},
	{"BadNames", testRegBadNames},
	{"UpdateRenameDelete", testRegUpdateRenameDelete},
	{"ModelTags", testRegModelTags},
	{"Versions", testRegVersions},
	{"VersionNumbersNeverReused", testRegVersionsNotReused},
	{"Stages", testRegStages},
	{"BadTransitions", testRegBadTransitions},
	{"Aliases", testRegAliases},
	{"BadAliases", testRegBadAliases},
	{"LatestVersions", testRegLatest},
	{"SearchModels", testRegSearchModels},
	{"SearchVersions", testRegSearchVersions},
	{"Unicode", testRegUnicode},
	{"ConcurrentTransitions", testRegConcurrentTransitions},
	{"ConcurrentCreateVersion", testRegConcurrentCreateVersion},
}

func bg() context.Context { return context.Background() }

func mustModel(t *testing.T, r store.Registry, name string) {
	t.Helper()
	if _, err := r.CreateRegisteredModel(bg(), name, nil, ""); err != nil {
		t.Fatalf("CreateRegisteredModel(%q): %v", name, err)
	}
}

func mustVersion(t *testing.T, r store.Registry, name string) *store.ModelVersion {
	t.Helper()
	mv, err := r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: name, Source: source(r, "file:///tmp/m"), RunID: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatalf("CreateModelVersion(%q): %v", name, err)
	}
	return mv
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: got error %v, want %v", what, err, kind)
	}
}

func testRegCreateGet(t *testing.T, r store.Registry) {
	m, err := r.CreateRegisteredModel(bg(), "ridge", []store.Tag{{Key: "team", Value: "ml"}}, "desc")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "ridge" || m.Description != "desc" || m.Tags["team"] != "ml" || m.CreationTimestamp == 0 || m.LastUpdatedTimestamp != m.CreationTimestamp {
		t.Errorf("created %+v", m)
	}
	g, err := r.GetRegisteredModel(bg(), "ridge")
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "ridge" || g.Description != "desc" || g.Tags["team"] != "ml" || len(g.LatestVersions) != 0 || len(g.Aliases) != 0 {
		t.Errorf("got %+v", g)
	}
	_, err = r.GetRegisteredModel(bg(), "nope")
	wantKind(t, "get missing", err, store.ErrNotFound)
}

func testRegDuplicate(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	_, err := r.CreateRegisteredModel(bg(), "m", nil, "")
	wantKind(t, "duplicate", err, store.ErrAlreadyExists)
}

func testRegBadNames(t *testing.T, r store.Registry) {
	for _, n := range []string{"", "  ", "a/b", "a:b", "50%", "..", ".", "../x"} {
		_, err := r.CreateRegisteredModel(bg(), n, nil, "")
		wantKind(t, fmt.Sprintf("create %q", n), err, store.ErrInvalidParameter)
	}
	mustModel(t, r, "ok")
	_, err := r.RenameRegisteredModel(bg(), "ok", "a/b")
	wantKind(t, "rename to a/b", err, store.ErrInvalidParameter)
	_, err = r.CreateRegisteredModel(bg(), "t", []store.Tag{{Key: "../x", Value: "v"}}, "")
	wantKind(t, "bad tag", err, store.ErrInvalidParameter)
	_, err = r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: "ok"})
	wantKind(t, "no source", err, store.ErrInvalidParameter)
	page, err := r.SearchRegisteredModels(bg(), store.RegisteredModelQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Models) != 1 {
		t.Errorf("after bad input: %d models, want 1 (nothing written)", len(page.Models))
	}
	g, _ := r.GetRegisteredModel(bg(), "ok")
	if g == nil || len(g.LatestVersions) != 0 {
		t.Errorf("bad version request wrote something: %+v", g)
	}
}

func testRegUpdateRenameDelete(t *testing.T, r store.Registry) {
	m, _ := r.CreateRegisteredModel(bg(), "a", []store.Tag{{Key: "k", Value: "v"}}, "")
	u, err := r.UpdateRegisteredModel(bg(), "a", "new description")
	if err != nil {
		t.Fatal(err)
	}
	if u.Description != "new description" || u.LastUpdatedTimestamp < m.LastUpdatedTimestamp {
		t.Errorf("updated %+v", u)
	}
	mustVersion(t, r, "a")
	mustVersion(t, r, "a")
	if err := r.SetRegisteredModelAlias(bg(), "a", "champion", 2); err != nil {
		t.Fatal(err)
	}
	mustModel(t, r, "taken")
	_, err = r.RenameRegisteredModel(bg(), "a", "taken")
	wantKind(t, "rename onto existing", err, store.ErrAlreadyExists)
	_, err = r.RenameRegisteredModel(bg(), "missing", "x")
	wantKind(t, "rename missing", err, store.ErrNotFound)
	rn, err := r.RenameRegisteredModel(bg(), "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if rn.Name != "b" || rn.Description != "new description" {
		t.Errorf("renamed %+v", rn)
	}
	_, err = r.GetRegisteredModel(bg(), "a")
	wantKind(t, "old name", err, store.ErrNotFound)
	mv, err := r.GetModelVersion(bg(), "b", 2)
	if err != nil {
		t.Fatal(err)
	}
	if mv.Name != "b" || !slices.Equal(mv.Aliases, []string{"champion"}) {
		t.Errorf("renamed version %+v", mv)
	}
	if g, _ := r.GetRegisteredModel(bg(), "b"); g == nil || g.Tags["k"] != "v" || g.Aliases["champion"] != 2 {
		t.Errorf("renamed model lost tags or aliases: %+v", g)
	}
	if err := r.DeleteRegisteredModel(bg(), "b"); err != nil {
		t.Fatal(err)
	}
	_, err = r.GetRegisteredModel(bg(), "b")
	wantKind(t, "deleted", err, store.ErrNotFound)
	wantKind(t, "delete again", r.DeleteRegisteredModel(bg(), "b"), store.ErrNotFound)
	// The name can be reused; versions restart at 1.
	mustModel(t, r, "b")
	if mv := mustVersion(t, r, "b"); mv.Version != 1 {
		t.Errorf("recreated model: version %d, want 1", mv.Version)
	}
}

func testRegModelTags(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	for _, tg := range []store.Tag{{Key: "a", Value: "1"}, {Key: "dir/key", Value: ""}, {Key: "a", Value: "2"}} {
		if err := r.SetRegisteredModelTag(bg(), "m", tg); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := r.GetRegisteredModel(bg(), "m")
	if g.Tags["a"] != "2" || g.Tags["dir/key"] != "" || len(g.Tags) != 2 {
		t.Errorf("tags %v", g.Tags)
	}
	if err := r.DeleteRegisteredModelTag(bg(), "m", "a"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteRegisteredModelTag(bg(), "m", "never"); err != nil {
		t.Errorf("delete missing tag: %v", err)
	}
	g, _ = r.GetRegisteredModel(bg(), "m")
	if _, ok := g.Tags["a"]; ok || len(g.Tags) != 1 {
		t.Errorf("after delete: %v", g.Tags)
	}
	wantKind(t, "tag on missing model", r.SetRegisteredModelTag(bg(), "x", store.Tag{Key: "a", Value: "b"}), store.ErrNotFound)

	mv := mustVersion(t, r, "m")
	if err := r.SetModelVersionTag(bg(), "m", mv.Version, store.Tag{Key: "stage/why", Value: "ok"}); err != nil {
		t.Fatal(err)
	}
	got, _ := r.GetModelVersion(bg(), "m", mv.Version)
	if got.Tags["stage/why"] != "ok" {
		t.Errorf("version tags %v", got.Tags)
	}
	if err := r.DeleteModelVersionTag(bg(), "m", mv.Version, "stage/why"); err != nil {
		t.Fatal(err)
	}
	got, _ = r.GetModelVersion(bg(), "m", mv.Version)
	if len(got.Tags) != 0 {
		t.Errorf("version tags after delete %v", got.Tags)
	}
	wantKind(t, "tag on missing version", r.SetModelVersionTag(bg(), "m", 9, store.Tag{Key: "a", Value: "b"}), store.ErrNotFound)
}

func testRegVersions(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	mv, err := r.CreateModelVersion(bg(), store.CreateModelVersionRequest{
		Name: "m", Source: source(r, "runs:/0123456789abcdef0123456789abcdef/model"), RunID: "0123456789abcdef0123456789abcdef",
		RunLink: "http://x", Description: "first", Tags: []store.Tag{{Key: "k", Value: "v"}},
		StorageLocation: "file:///tmp/mlruns/1/0123456789abcdef0123456789abcdef/artifacts/model",
	})
	if err != nil {
		t.Fatal(err)
	}
	if mv.Version != 1 || mv.CurrentStage != store.StageNone || mv.Status != store.ModelVersionReady || mv.Description != "first" || mv.Tags["k"] != "v" || mv.RunLink != "http://x" {
		t.Errorf("created %+v", mv)
	}
	wantURI := "file:///tmp/mlruns/1/0123456789abcdef0123456789abcdef/artifacts/model"
	if regOptions(r).ServerSources {
		wantURI = mv.Source
	}
	uri, err := r.GetModelVersionDownloadURI(bg(), "m", 1)
	if err != nil || uri != wantURI {
		t.Errorf("download uri %q, %v", uri, err)
	}
	u, err := r.UpdateModelVersion(bg(), "m", 1, "changed")
	if err != nil || u.Description != "changed" {
		t.Errorf("update: %+v %v", u, err)
	}
	g, _ := r.GetModelVersion(bg(), "m", 1)
	if g.Description != "changed" || g.Source != mv.Source || g.RunID != mv.RunID {
		t.Errorf("get %+v", g)
	}
	_, err = r.GetModelVersion(bg(), "m", 2)
	wantKind(t, "missing version", err, store.ErrNotFound)
	_, err = r.UpdateModelVersion(bg(), "m", 7, "x")
	wantKind(t, "update missing version", err, store.ErrNotFound)
	_, err = r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: "nope", Source: source(r, "s")})
	wantKind(t, "version of missing model", err, store.ErrNotFound)
	rm, _ := r.GetRegisteredModel(bg(), "m")
	if rm.LastUpdatedTimestamp < mv.CreationTimestamp {
		t.Errorf("model last_updated %d < version creation %d", rm.LastUpdatedTimestamp, mv.CreationTimestamp)
	}
}

func testRegVersionsNotReused(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	for range 3 {
		mustVersion(t, r, "m")
	}
	if err := r.SetRegisteredModelAlias(bg(), "m", "best", 3); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteModelVersion(bg(), "m", 3); err != nil {
		t.Fatal(err)
	}
	_, err := r.GetModelVersion(bg(), "m", 3)
	wantKind(t, "deleted version", err, store.ErrNotFound)
	wantKind(t, "delete again", r.DeleteModelVersion(bg(), "m", 3), store.ErrNotFound)
	_, err = r.GetModelVersionByAlias(bg(), "m", "best")
	wantKind(t, "alias of deleted version", err, store.ErrNotFound)
	if mv := mustVersion(t, r, "m"); mv.Version != 4 {
		t.Errorf("after deleting 3: new version %d, want 4", mv.Version)
	}
	if err := r.DeleteModelVersion(bg(), "m", 4); err != nil {
		t.Fatal(err)
	}
	if mv := mustVersion(t, r, "m"); mv.Version != 5 {
		t.Errorf("after deleting the latest: new version %d, want 5", mv.Version)
	}
	page, _ := r.SearchModelVersions(bg(), store.ModelVersionQuery{Filter: "name = 'm'"})
	var got []int64
	for _, v := range page.Versions {
		got = append(got, v.Version)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int64{1, 2, 5}) {
		t.Errorf("versions %v, want [1 2 5]", got)
	}
}

func testRegStages(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	for range 4 {
		mustVersion(t, r, "m")
	}
	if mv, err := r.TransitionModelVersionStage(bg(), "m", 1, "production", false); err != nil || mv.CurrentStage != store.StageProduction {
		t.Fatalf("transition: %+v %v", mv, err)
	}
	r.TransitionModelVersionStage(bg(), "m", 2, "Production", false)
	r.TransitionModelVersionStage(bg(), "m", 3, "STAGING", false)
	mv, err := r.TransitionModelVersionStage(bg(), "m", 4, "Production", true)
	if err != nil || mv.CurrentStage != store.StageProduction {
		t.Fatalf("archive transition: %+v %v", mv, err)
	}
	want := map[int64]string{1: "Archived", 2: "Archived", 3: "Staging", 4: "Production"}
	for v, st := range want {
		g, _ := r.GetModelVersion(bg(), "m", v)
		if g.CurrentStage != st {
			t.Errorf("version %d: stage %q, want %q", v, g.CurrentStage, st)
		}
	}
	// Any stage may move to any stage.
	if mv, err := r.TransitionModelVersionStage(bg(), "m", 1, "none", false); err != nil || mv.CurrentStage != store.StageNone {
		t.Errorf("archived -> None: %+v %v", mv, err)
	}
	if mv, err := r.TransitionModelVersionStage(bg(), "m", 3, "Staging", true); err != nil || mv.CurrentStage != "Staging" {
		t.Errorf("same stage with archive: %+v %v", mv, err)
	}
}

func testRegBadTransitions(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	mustVersion(t, r, "m")
	mustVersion(t, r, "m")
	r.TransitionModelVersionStage(bg(), "m", 1, "Production", false)
	for _, tc := range []struct {
		stage   string
		archive bool
		version int64
		kind    error
	}{
		{"Prod", false, 2, store.ErrInvalidParameter},
		{"", false, 2, store.ErrInvalidParameter},
		{"Deleted_Internal", false, 2, store.ErrInvalidParameter},
		{"Archived", true, 2, store.ErrInvalidParameter},
		{"None", true, 2, store.ErrInvalidParameter},
		{"Production", true, 9, store.ErrNotFound},
	} {
		_, err := r.TransitionModelVersionStage(bg(), "m", tc.version, tc.stage, tc.archive)
		wantKind(t, fmt.Sprintf("transition %d to %q archive=%v", tc.version, tc.stage, tc.archive), err, tc.kind)
	}
	_, err := r.TransitionModelVersionStage(bg(), "nope", 1, "Production", false)
	wantKind(t, "missing model", err, store.ErrNotFound)
	g, _ := r.GetModelVersion(bg(), "m", 1)
	if g.CurrentStage != "Production" {
		t.Errorf("a failed archive transition changed version 1 to %q", g.CurrentStage)
	}
}

func testRegAliases(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	for range 3 {
		mustVersion(t, r, "m")
	}
	if err := r.SetRegisteredModelAlias(bg(), "m", "champion", 1); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRegisteredModelAlias(bg(), "m", "champion", 2); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRegisteredModelAlias(bg(), "m", "challenger_1", 2); err != nil {
		t.Fatal(err)
	}
	mv, err := r.GetModelVersionByAlias(bg(), "m", "champion")
	if err != nil || mv.Version != 2 || !slices.Equal(mv.Aliases, []string{"challenger_1", "champion"}) {
		t.Errorf("by alias: %+v %v", mv, err)
	}
	g, _ := r.GetRegisteredModel(bg(), "m")
	if len(g.Aliases) != 2 || g.Aliases["champion"] != 2 {
		t.Errorf("model aliases %v", g.Aliases)
	}
	if v1, _ := r.GetModelVersion(bg(), "m", 1); len(v1.Aliases) != 0 {
		t.Errorf("version 1 aliases %v", v1.Aliases)
	}
	latest, err := r.GetModelVersionByAlias(bg(), "m", "Latest")
	if err != nil || latest.Version != 3 {
		t.Errorf("latest: %+v %v", latest, err)
	}
	if err := r.DeleteRegisteredModelAlias(bg(), "m", "champion"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteRegisteredModelAlias(bg(), "m", "champion"); err != nil {
		t.Errorf("delete missing alias: %v", err)
	}
	_, err = r.GetModelVersionByAlias(bg(), "m", "champion")
	if err == nil {
		t.Error("deleted alias still resolves")
	}
}

func testRegBadAliases(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	mustVersion(t, r, "m")
	for _, a := range []string{"latest", "LATEST", "v3", "V12", "", "a b", "a.b", "a/b"} {
		wantKind(t, fmt.Sprintf("alias %q", a), r.SetRegisteredModelAlias(bg(), "m", a, 1), store.ErrInvalidParameter)
	}
	wantKind(t, "alias to missing version", r.SetRegisteredModelAlias(bg(), "m", "ok", 5), store.ErrNotFound)
	wantKind(t, "alias on missing model", r.SetRegisteredModelAlias(bg(), "x", "ok", 1), store.ErrNotFound)
	g, _ := r.GetRegisteredModel(bg(), "m")
	if len(g.Aliases) != 0 {
		t.Errorf("rejected aliases were written: %v", g.Aliases)
	}
}

func testRegLatest(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	for range 6 {
		mustVersion(t, r, "m")
	}
	r.TransitionModelVersionStage(bg(), "m", 1, "Production", false)
	r.TransitionModelVersionStage(bg(), "m", 2, "Production", false)
	r.TransitionModelVersionStage(bg(), "m", 3, "Staging", false)
	r.TransitionModelVersionStage(bg(), "m", 4, "Archived", false)
	r.DeleteModelVersion(bg(), "m", 6)
	all, err := r.GetLatestVersions(bg(), "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mv := range all {
		got = append(got, fmt.Sprintf("%s:%d", mv.CurrentStage, mv.Version))
	}
	if want := []string{"None:5", "Staging:3", "Production:2", "Archived:4"}; !slices.Equal(got, want) {
		t.Errorf("latest %v, want %v", got, want)
	}
	prod, _ := r.GetLatestVersions(bg(), "m", []string{"production"})
	if len(prod) != 1 || prod[0].Version != 2 {
		t.Errorf("latest production %+v", prod)
	}
	_, err = r.GetLatestVersions(bg(), "m", []string{"bogus"})
	wantKind(t, "bad stage", err, store.ErrInvalidParameter)
	_, err = r.GetLatestVersions(bg(), "nope", nil)
	wantKind(t, "missing model", err, store.ErrNotFound)
	g, _ := r.GetRegisteredModel(bg(), "m")
	if len(g.LatestVersions) != 4 {
		t.Errorf("model latest_versions %d, want 4", len(g.LatestVersions))
	}
}

func testRegSearchModels(t *testing.T, r store.Registry) {
	for _, n := range []string{"alpha", "beta", "Alpine", "gamma_1"} {
		mustModel(t, r, n)
	}
	r.SetRegisteredModelTag(bg(), "beta", store.Tag{Key: "team", Value: "ml"})
	r.SetRegisteredModelTag(bg(), "gamma_1", store.Tag{Key: "team", Value: "ops"})
	r.CreateRegisteredModel(bg(), "prompt", []store.Tag{{Key: store.PromptTagKey, Value: "true"}}, "")
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{"Alpine", "alpha", "beta", "gamma_1"}},
		{"name = 'alpha'", []string{"alpha"}},
		{"name LIKE 'al%'", []string{"alpha"}},
		{"name ILIKE 'al%'", []string{"Alpine", "alpha"}},
		{"name != 'alpha'", []string{"Alpine", "beta", "gamma_1"}},
		{"tags.team = 'ml'", []string{"beta"}},
		{"tags.team != 'ml'", []string{"gamma_1"}},
		{"tag.team LIKE '%' AND name LIKE 'g%'", []string{"gamma_1"}},
		{"name LIKE 'gamma_1'", []string{"gamma_1"}},
		{"tags.`mlflow.prompt.is_prompt` = 'true'", []string{"prompt"}},
	} {
		page, err := r.SearchRegisteredModels(bg(), store.RegisteredModelQuery{Filter: tc.filter})
		if err != nil {
			t.Errorf("%q: %v", tc.filter, err)
			continue
		}
		var got []string
		for _, m := range page.Models {
			got = append(got, m.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{"run_id = 'x'", "name = alpha", "name > 'a'", "foo.bar = 'x'"} {
		_, err := r.SearchRegisteredModels(bg(), store.RegisteredModelQuery{Filter: bad})
		wantKind(t, bad, err, store.ErrInvalidParameter)
	}
	// Paging and ordering.
	var names []string
	token := ""
	for {
		page, err := r.SearchRegisteredModels(bg(), store.RegisteredModelQuery{MaxResults: 3, PageToken: token, OrderBy: []string{"name DESC"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Models {
			names = append(names, m.Name)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if want := []string{"gamma_1", "beta", "alpha", "Alpine"}; !slices.Equal(names, want) {
		t.Errorf("paged DESC: %v, want %v", names, want)
	}
	_, err := r.SearchRegisteredModels(bg(), store.RegisteredModelQuery{MaxResults: 1001})
	wantKind(t, "max_results 1001", err, store.ErrInvalidParameter)
	_, err = r.SearchRegisteredModels(bg(), store.RegisteredModelQuery{OrderBy: []string{"run_id"}})
	wantKind(t, "bad order_by", err, store.ErrInvalidParameter)
}

func testRegSearchVersions(t *testing.T, r store.Registry) {
	mustModel(t, r, "a")
	mustModel(t, r, "b")
	runA, runB := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	for i := range 3 {
		r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: "a", Source: fmt.Sprintf("s3://bucket/a/%d", i), RunID: runA, Tags: []store.Tag{{Key: "i", Value: fmt.Sprint(i)}}})
	}
	r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: "b", Source: "s3://bucket/b", RunID: runB})
	r.DeleteModelVersion(bg(), "a", 2)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"name = 'a'", []string{"a/1", "a/3"}},
		{"name = 'a' AND version_number > 1", []string{"a/3"}},
		{"version_number <= 1", []string{"a/1", "b/1"}},
		{"run_id = '" + runB + "'", []string{"b/1"}},
		{"run_id IN ('" + runA + "')", []string{"a/1", "a/3"}},
		{"source_path LIKE 's3://bucket/a/%'", []string{"a/1", "a/3"}},
		{"tags.i = '2'", []string{"a/3"}},
		{"tags.i != '0'", []string{"a/3"}},
	} {
		page, err := r.SearchModelVersions(bg(), store.ModelVersionQuery{Filter: tc.filter})
		if err != nil {
			t.Errorf("%q: %v", tc.filter, err)
			continue
		}
		var got []string
		for _, mv := range page.Versions {
			got = append(got, fmt.Sprintf("%s/%d", mv.Name, mv.Version))
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.filter, got, tc.want)
		}
	}
	page, err := r.SearchModelVersions(bg(), store.ModelVersionQuery{OrderBy: []string{"name ASC", "version_number ASC"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mv := range page.Versions {
		got = append(got, fmt.Sprintf("%s/%d", mv.Name, mv.Version))
	}
	if want := []string{"a/1", "a/3", "b/1"}; !slices.Equal(got, want) {
		t.Errorf("ordered: %v, want %v", got, want)
	}
	bads := []string{"version_number = 'x'", "current_stage = 'None'"}
	if regOptions(r).UntypedVersionFilter {
		bads = bads[1:]
	}
	for _, bad := range bads {
		_, err := r.SearchModelVersions(bg(), store.ModelVersionQuery{Filter: bad})
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func testRegUnicode(t *testing.T, r store.Registry) {
	name := "modèle 日本"
	desc := "Ridge — ünïcödé ✓\nsecond line: 'quoted' #hash"
	if _, err := r.CreateRegisteredModel(bg(), name, []store.Tag{{Key: "clé", Value: "välue ✓"}}, desc); err != nil {
		t.Fatal(err)
	}
	src := source(r, "file:///tmp/ü")
	r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: name, Source: src, Description: "yes"})
	g, err := r.GetRegisteredModel(bg(), name)
	if err != nil {
		t.Fatal(err)
	}
	if g.Description != desc || g.Tags["clé"] != "välue ✓" {
		t.Errorf("got %+v", g)
	}
	mv, _ := r.GetModelVersion(bg(), name, 1)
	if mv == nil || mv.Description != "yes" || mv.Source != src {
		t.Errorf("version %+v", mv)
	}
}

// testRegConcurrentTransitions has many goroutines move different versions
// to Production with archiveExisting: exactly one version ends there.
func testRegConcurrentTransitions(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	const n = 8
	for range n {
		mustVersion(t, r, "m")
	}
	var wg sync.WaitGroup
	for v := int64(1); v <= n; v++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.TransitionModelVersionStage(bg(), "m", v, "Production", true); err != nil {
				t.Errorf("transition %d: %v", v, err)
			}
		}()
	}
	wg.Wait()
	page, err := r.SearchModelVersions(bg(), store.ModelVersionQuery{Filter: "name = 'm'"})
	if err != nil {
		t.Fatal(err)
	}
	prod := 0
	for _, mv := range page.Versions {
		switch mv.CurrentStage {
		case store.StageProduction:
			prod++
		case store.StageArchived:
		default:
			t.Errorf("version %d in %s", mv.Version, mv.CurrentStage)
		}
	}
	switch {
	case regOptions(r).RacyArchive && prod >= 1:
		// MLflow's SQL store on PostgreSQL archives the others in READ
		// COMMITTED transactions that do not see each other's work.
		if prod > 1 {
			t.Logf("%d versions in Production after concurrent archiving transitions (a known race of the backend)", prod)
		}
	case prod != 1:
		t.Errorf("%d versions in Production, want 1", prod)
	}
	// A later transition with archiveExisting still leaves exactly one.
	if _, err := r.TransitionModelVersionStage(bg(), "m", 1, "Production", true); err != nil {
		t.Fatal(err)
	}
	latest, err := r.GetLatestVersions(bg(), "m", []string{"Production"})
	if err != nil || len(latest) != 1 || latest[0].Version != 1 {
		t.Errorf("latest Production after a lone archiving transition: %+v, %v", latest, err)
	}
	page, err = r.SearchModelVersions(bg(), store.ModelVersionQuery{Filter: "name = 'm'"})
	if err != nil {
		t.Fatal(err)
	}
	for _, mv := range page.Versions {
		if mv.Version != 1 && mv.CurrentStage != store.StageArchived {
			t.Errorf("version %d in %s after a lone archiving transition", mv.Version, mv.CurrentStage)
		}
	}
}

func testRegConcurrentCreateVersion(t *testing.T, r store.Registry) {
	mustModel(t, r, "m")
	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]bool{}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mv, err := r.CreateModelVersion(bg(), store.CreateModelVersionRequest{Name: "m", Source: source(r, "s")})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[mv.Version] {
				t.Errorf("version %d given twice", mv.Version)
			}
			seen[mv.Version] = true
		}()
	}
	wg.Wait()
	for v := int64(1); v <= n; v++ {
		if !seen[v] {
			t.Errorf("version %d missing", v)
		}
	}
}
