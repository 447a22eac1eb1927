package storetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func testDefaultExperiment(t *testing.T, s store.Store) {
	e := getExperiment(t, s, store.DefaultExperimentID)
	if e.Name != store.DefaultExperimentName || e.LifecycleStage != store.LifecycleActive || e.ID != "0" {
		t.Errorf("default experiment = %+v", e)
	}
	if e.ArtifactLocation == "" {
		t.Error("default experiment has no artifact location")
	}
	byName, err := s.GetExperimentByName(ctx, store.DefaultExperimentName)
	must(t, err, "GetExperimentByName(Default)")
	if byName.ID != store.DefaultExperimentID {
		t.Errorf("GetExperimentByName(Default).ID = %q", byName.ID)
	}
	p, err := s.SearchExperiments(ctx, store.ExperimentQuery{})
	must(t, err, "SearchExperiments")
	if got := experimentIDs(p.Experiments); !slices.Equal(got, []string{"0"}) {
		t.Errorf("experiments of a new store = %v, want [0]", got)
	}
}

func testCreateGetExperiment(t *testing.T, s store.Store) {
	before := store.NowMillis()
	id := createExperiment(t, s, "my experiment", store.Tag{Key: "team", Value: "vision"}, store.Tag{Key: "a/b", Value: "nested"})
	if err := store.ValidateExperimentID(id); err != nil {
		t.Errorf("experiment id %q: %v", id, err)
	}
	e := getExperiment(t, s, id)
	if e.ID != id || e.Name != "my experiment" || e.LifecycleStage != store.LifecycleActive {
		t.Errorf("GetExperiment = %+v", e)
	}
	if e.ArtifactLocation == "" {
		t.Error("no default artifact location")
	}
	if e.CreationTime < before || e.LastUpdateTime < e.CreationTime {
		t.Errorf("creation time %d, last update %d, want >= %d", e.CreationTime, e.LastUpdateTime, before)
	}
	if !mapsEqual(e.Tags, map[string]string{"team": "vision", "a/b": "nested"}) {
		t.Errorf("tags = %v", e.Tags)
	}
	byName, err := s.GetExperimentByName(ctx, "my experiment")
	must(t, err, "GetExperimentByName")
	if byName.ID != id {
		t.Errorf("GetExperimentByName.ID = %q, want %q", byName.ID, id)
	}
	// An explicit artifact location is kept.
	id2, err := s.CreateExperiment(ctx, "with location", "s3://bucket/path", nil)
	must(t, err, "CreateExperiment with location")
	if got := getExperiment(t, s, id2).ArtifactLocation; got != "s3://bucket/path" {
		t.Errorf("artifact location = %q, want s3://bucket/path", got)
	}
	if id2 == id {
		t.Error("two experiments share an id")
	}
}

func testCreateExperimentInvalid(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		tags []store.Tag
	}{
		{"", nil},
		{strings.Repeat("x", store.MaxExperimentNameLength+1), nil},
		{"bad tag", []store.Tag{{Key: "../x", Value: "v"}}},
		{"long tag", []store.Tag{{Key: "k", Value: strings.Repeat("v", store.MaxExperimentTagValLength+1)}}},
	} {
		_, err := s.CreateExperiment(ctx, tc.name, "", tc.tags)
		wantErr(t, err, store.ErrInvalidParameter, "CreateExperiment("+trunc(tc.name)+")")
		if tc.name != "" {
			_, err := s.GetExperimentByName(ctx, tc.name)
			wantErr(t, err, store.ErrNotFound, "GetExperimentByName after a failed create")
		}
	}
	// 500 characters (not bytes) is fine.
	limit := store.MaxExperimentNameLength
	if l := options(s).ExperimentNameLimit; l > 0 && l < limit {
		limit = l
	}
	name := strings.Repeat("é", limit)
	id := createExperiment(t, s, name)
	if got := getExperiment(t, s, id).Name; got != name {
		t.Errorf("500-character name came back as %d characters", len([]rune(got)))
	}
}

func trunc(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func testDuplicateExperimentName(t *testing.T, s store.Store) {
	id := createExperiment(t, s, "dup")
	_, err := s.CreateExperiment(ctx, "dup", "", nil)
	wantErr(t, err, store.ErrAlreadyExists, "CreateExperiment of an active name")
	_, err = s.CreateExperiment(ctx, store.DefaultExperimentName, "", nil)
	wantErr(t, err, store.ErrAlreadyExists, "CreateExperiment(Default)")
	must(t, s.DeleteExperiment(ctx, id), "DeleteExperiment")
	_, err = s.CreateExperiment(ctx, "dup", "", nil)
	wantErr(t, err, store.ErrAlreadyExists, "CreateExperiment of a deleted experiment's name")
	// Names are case-sensitive.
	createExperiment(t, s, "DUP")
}

func testExperimentNotFound(t *testing.T, s store.Store) {
	_, err := s.GetExperiment(ctx, "123456789012345678")
	wantErr(t, err, store.ErrNotFound, "GetExperiment(unknown)")
	_, err = s.GetExperimentByName(ctx, "no such experiment")
	wantErr(t, err, store.ErrNotFound, "GetExperimentByName(unknown)")
	wantErr(t, s.RenameExperiment(ctx, "123456789012345678", "x"), store.ErrNotFound, "RenameExperiment(unknown)")
	wantErr(t, s.DeleteExperiment(ctx, "123456789012345678"), store.ErrNotFound, "DeleteExperiment(unknown)")
	wantErr(t, s.RestoreExperiment(ctx, "123456789012345678"), store.ErrNotFound, "RestoreExperiment(unknown)")
	wantErr(t, s.SetExperimentTag(ctx, "123456789012345678", store.Tag{Key: "k", Value: "v"}), store.ErrNotFound, "SetExperimentTag(unknown)")
}

func testRenameExperiment(t *testing.T, s store.Store) {
	id := createExperiment(t, s, "old", store.Tag{Key: "k", Value: "v"})
	other := createExperiment(t, s, "other")
	created := getExperiment(t, s, id)
	must(t, s.RenameExperiment(ctx, id, "new"), "RenameExperiment")
	e := getExperiment(t, s, id)
	if e.Name != "new" || e.LifecycleStage != store.LifecycleActive || e.CreationTime != created.CreationTime {
		t.Errorf("after rename: %+v", e)
	}
	if e.LastUpdateTime < created.LastUpdateTime {
		t.Errorf("last update time went back: %d < %d", e.LastUpdateTime, created.LastUpdateTime)
	}
	if !mapsEqual(e.Tags, map[string]string{"k": "v"}) {
		t.Errorf("tags after rename = %v", e.Tags)
	}
	if byName, err := s.GetExperimentByName(ctx, "new"); err != nil || byName.ID != id {
		t.Errorf("GetExperimentByName(new) = %v, %v", byName, err)
	}
	_, err := s.GetExperimentByName(ctx, "old")
	wantErr(t, err, store.ErrNotFound, "GetExperimentByName(old name)")
	// The old name is free again.
	createExperiment(t, s, "old")

	wantErr(t, s.RenameExperiment(ctx, id, "other"), store.ErrAlreadyExists, "rename to a taken name")
	wantErr(t, s.RenameExperiment(ctx, id, ""), store.ErrInvalidParameter, "rename to an empty name")
	must(t, s.DeleteExperiment(ctx, other), "DeleteExperiment")
	wantErr(t, s.RenameExperiment(ctx, other, "renamed while deleted"), store.ErrInvalidState, "rename a deleted experiment")
	if got := getExperiment(t, s, other).Name; got != "other" {
		t.Errorf("deleted experiment renamed to %q", got)
	}
}

func testDeleteRestoreExperiment(t *testing.T, s store.Store) {
	id := createExperiment(t, s, "to delete")
	r1 := createRun(t, s, id, "r1", 1000)
	r2 := createRun(t, s, id, "r2", 2000)
	logBatch(t, s, r1.Info.RunID, []store.Metric{{Key: "m", Value: 1, Timestamp: 1, Step: 0}}, nil, nil)

	must(t, s.DeleteExperiment(ctx, id), "DeleteExperiment")
	e := getExperiment(t, s, id)
	if e.LifecycleStage != store.LifecycleDeleted {
		t.Errorf("lifecycle after delete = %q", e.LifecycleStage)
	}
	for _, r := range []*store.Run{r1, r2} {
		if got := getRun(t, s, r.Info.RunID); got.Info.LifecycleStage != store.LifecycleDeleted {
			t.Errorf("run %s lifecycle after experiment delete = %q", r.Info.RunName, got.Info.LifecycleStage)
		}
	}
	if got := getRun(t, s, r1.Info.RunID); len(got.Data.Metrics) != 1 {
		t.Errorf("run data lost on delete: %+v", got.Data)
	}
	if byName, err := s.GetExperimentByName(ctx, "to delete"); err != nil || byName.ID != id {
		t.Errorf("GetExperimentByName of a deleted experiment = %v, %v", byName, err)
	}
	active := searchExperiments(t, s, store.ActiveOnly)
	if slices.Contains(experimentIDs(active), id) {
		t.Error("deleted experiment listed as active")
	}
	deleted := searchExperiments(t, s, store.DeletedOnly)
	if !slices.Equal(experimentIDs(deleted), []string{id}) {
		t.Errorf("deleted experiments = %v, want [%s]", experimentIDs(deleted), id)
	}
	_, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: id, UserID: "u"})
	wantErr(t, err, store.ErrInvalidState, "CreateRun in a deleted experiment")
	wantErr(t, s.RestoreExperiment(ctx, store.DefaultExperimentID), store.ErrInvalidState, "RestoreExperiment of an active experiment")

	must(t, s.RestoreExperiment(ctx, id), "RestoreExperiment")
	if e := getExperiment(t, s, id); e.LifecycleStage != store.LifecycleActive || e.Name != "to delete" {
		t.Errorf("after restore: %+v", e)
	}
	for _, r := range []*store.Run{r1, r2} {
		got := getRun(t, s, r.Info.RunID)
		if got.Info.LifecycleStage != store.LifecycleActive {
			t.Errorf("run %s lifecycle after restore = %q", r.Info.RunName, got.Info.LifecycleStage)
		}
	}
	if !slices.Contains(experimentIDs(searchExperiments(t, s, store.ActiveOnly)), id) {
		t.Error("restored experiment not listed as active")
	}
	createRun(t, s, id, "after restore", 0)
}

func testDefaultNotDeletable(t *testing.T, s store.Store) {
	err := s.DeleteExperiment(ctx, store.DefaultExperimentID)
	wantErr(t, err, store.ErrInvalidParameter, "DeleteExperiment(Default)")
	if e := getExperiment(t, s, store.DefaultExperimentID); e.LifecycleStage != store.LifecycleActive {
		t.Errorf("Default lifecycle = %q", e.LifecycleStage)
	}
}

func testExperimentTags(t *testing.T, s store.Store) {
	id := createExperiment(t, s, "tagged")
	for _, tg := range []store.Tag{
		{Key: "k", Value: "v1"},
		{Key: "k", Value: "v2"},
		{Key: "a/b", Value: "nested"},
		{Key: "ключ", Value: "значение ✓"},
		{Key: "multi", Value: "line one\nline two\n"},
		{Key: "empty", Value: ""},
		{Key: "long", Value: strings.Repeat("x", store.MaxExperimentTagValLength)},
	} {
		must(t, s.SetExperimentTag(ctx, id, tg), "SetExperimentTag "+tg.Key)
	}
	want := map[string]string{"k": "v2", "a/b": "nested", "ключ": "значение ✓", "multi": "line one\nline two\n", "empty": "", "long": strings.Repeat("x", store.MaxExperimentTagValLength)}
	if got := getExperiment(t, s, id).Tags; !mapsEqual(got, want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
	for _, bad := range []store.Tag{{Key: "", Value: "v"}, {Key: "../x", Value: "v"}, {Key: "k", Value: strings.Repeat("x", store.MaxExperimentTagValLength+1)}} {
		wantErr(t, s.SetExperimentTag(ctx, id, bad), store.ErrInvalidParameter, "SetExperimentTag "+trunc(bad.Key))
	}
	must(t, s.SetExperimentTag(ctx, store.DefaultExperimentID, store.Tag{Key: "on default", Value: "ok"}), "tag Default")
	must(t, s.DeleteExperiment(ctx, id), "DeleteExperiment")
	if err := s.SetExperimentTag(ctx, id, store.Tag{Key: "k", Value: "v3"}); err == nil {
		t.Error("SetExperimentTag on a deleted experiment succeeded")
	}
}

func searchExperiments(t *testing.T, s store.Store, view store.ViewType) []*store.Experiment {
	t.Helper()
	var out []*store.Experiment
	q := store.ExperimentQuery{ViewType: view}
	for {
		p, err := s.SearchExperiments(ctx, q)
		must(t, err, "SearchExperiments")
		out = append(out, p.Experiments...)
		if p.NextPageToken == "" {
			return out
		}
		q.PageToken = p.NextPageToken
	}
}

func testSearchExperiments(t *testing.T, s store.Store) {
	var ids []string
	for _, name := range []string{"e1", "e2", "e3", "e4"} {
		ids = append(ids, createExperiment(t, s, name))
	}
	must(t, s.DeleteExperiment(ctx, ids[1]), "DeleteExperiment")
	all := searchExperiments(t, s, store.AllViews)
	if len(all) != 5 {
		t.Fatalf("AllViews: %d experiments, want 5", len(all))
	}
	for _, tc := range []struct {
		view store.ViewType
		want []string
	}{
		{0, []string{"0", ids[0], ids[2], ids[3]}},
		{store.ActiveOnly, []string{"0", ids[0], ids[2], ids[3]}},
		{store.DeletedOnly, []string{ids[1]}},
		{store.AllViews, append([]string{"0"}, ids...)},
	} {
		got := experimentIDs(searchExperiments(t, s, tc.view))
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("view %d: %v, want %v", tc.view, got, want)
		}
	}
	// Default order: creation_time DESC, then experiment_id ASC.
	if !slices.IsSortedFunc(all, func(a, b *store.Experiment) int {
		if a.CreationTime != b.CreationTime {
			return int(b.CreationTime - a.CreationTime)
		}
		return strings.Compare(a.ID, b.ID)
	}) {
		t.Errorf("experiments not in default order: %v", experimentIDs(all))
	}
	// Paging returns the same list in pieces.
	var paged []string
	q := store.ExperimentQuery{ViewType: store.AllViews, MaxResults: 2}
	pages := 0
	for {
		p, err := s.SearchExperiments(ctx, q)
		must(t, err, "SearchExperiments page")
		pages++
		if len(p.Experiments) > 2 {
			t.Fatalf("page of %d experiments, max 2", len(p.Experiments))
		}
		paged = append(paged, experimentIDs(p.Experiments)...)
		if p.NextPageToken == "" {
			break
		}
		q.PageToken = p.NextPageToken
	}
	if pages != 3 || !slices.Equal(paged, experimentIDs(all)) {
		t.Errorf("paged (%d pages) %v, want %v", pages, paged, experimentIDs(all))
	}
	_, err := s.SearchExperiments(ctx, store.ExperimentQuery{PageToken: "not a token!"})
	wantErr(t, err, store.ErrInvalidParameter, "SearchExperiments with a bad page token")
}

func testConcurrentCreateExperiment(t *testing.T, s store.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = s.CreateExperiment(ctx, "race", "", nil) })
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrAlreadyExists):
		default:
			t.Errorf("creator %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creators succeeded, want 1", wins)
	}
	n2 := 0
	for _, e := range searchExperiments(t, s, store.AllViews) {
		if e.Name == "race" {
			n2++
		}
	}
	if n2 != 1 {
		t.Errorf("%d experiments named race", n2)
	}
}

// testArtifactLocations checks the artifact locations CreateExperiment
// accepts and how it stores them (store.ExperimentArtifactLocation, the
// same on every backend), and that it refuses, with nothing written, those
// MLflow would store but could not use: NUL, an over-long path element, a
// Windows device name as scheme, and what MLflow's server refuses.
func testArtifactLocations(t *testing.T, s store.Store) {
	opts := options(s)
	for i, loc := range []string{"/abs/mlruns", "relative/mlruns", "../up", "file:///tmp/mlruns", "file:rel", "s3://bucket/prefix",
		"s3://bucket/a?versionId=3", "gs://bucket/x", "mlflow-artifacts:/exp", "/data/été/日本"} {
		want, err := store.ExperimentArtifactLocation(loc)
		must(t, err, "ExperimentArtifactLocation "+loc)
		id := createExperimentAt(t, s, fmt.Sprintf("loc-%d", i), loc)
		got := getExperiment(t, s, id).ArtifactLocation
		if opts.ServerLocations && want != loc {
			// Resolved against the server's directory, which the suite
			// does not know: the stored location is want with another
			// absolute directory in place of the caller's.
			want = serverResolved(t, got, want)
		}
		if got != want {
			t.Errorf("artifact location %q stored as %q, want %q", loc, got, want)
		}
		r := createRun(t, s, id, "r", 0)
		if got, wantURI := r.Info.ArtifactURI, runArtifactURI(want, r.Info.RunID); got != wantURI {
			t.Errorf("run artifact URI in %q = %q, want %q", loc, got, wantURI)
		}
	}
	for _, loc := range []string{"con:", "NUL:x", "com1:/y", "/tmp/a\x00b", "/tmp/a\nb", "/tmp/" + strings.Repeat("x", 256),
		"s3://b/" + strings.Repeat("k", 256) + "/x", "runs:/0123/artifacts", "file:///tmp/x#frag", "/tmp/x;p", "s3://b/k?x=../y",
		"s3://b/k?x=%2e%2e/y", "file://remote-host/x", "/" + strings.Repeat("a/", store.MaxArtifactLocationLength/2)} {
		wantRefused(t, opts, s, fmt.Sprintf("CreateExperiment(artifact location %q)", trunc(loc)), func() error {
			_, err := s.CreateExperiment(ctx, "refused", loc, nil)
			return err
		})
	}
	_, err := s.GetExperimentByName(ctx, "refused")
	wantErr(t, err, store.ErrNotFound, "GetExperimentByName after refused locations")
}

// serverResolved returns want, a relative location resolved against the
// current directory, with the absolute directory got was resolved against
// in its place, if got is want's relative part resolved against some
// absolute directory; otherwise it returns want (and the caller reports
// the difference).
func serverResolved(t *testing.T, got, want string) string {
	t.Helper()
	wd, err := os.Getwd()
	must(t, err, "Getwd")
	wdSlash := filepath.ToSlash(wd)
	i := strings.Index(want, wdSlash)
	if i < 0 {
		return want
	}
	prefix, rel := want[:i], want[i+len(wdSlash):]
	if !strings.HasPrefix(got, prefix+"/") || !strings.HasSuffix(got, rel) || len(got) <= len(prefix)+len(rel) {
		return want
	}
	return got
}

func createExperimentAt(t *testing.T, s store.Store, name, loc string) string {
	t.Helper()
	id, err := s.CreateExperiment(ctx, name, loc, nil)
	must(t, err, "CreateExperiment "+name+" at "+loc)
	return id
}

// runArtifactURI is <location>/<run id>/artifacts, with a query string
// kept at the end (MLflow's append_to_uri_path).
func runArtifactURI(loc, runID string) string {
	base, query, _ := strings.Cut(loc, "?")
	u := strings.TrimRight(base, "/") + "/" + runID + "/artifacts"
	if query != "" {
		u += "?" + query
	}
	return u
}
