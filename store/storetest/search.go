package storetest

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func testSearchRunsViewTypes(t *testing.T, s store.Store) {
	exp := createExperiment(t, s, "views")
	a := createRun(t, s, exp, "a", 1000)
	b := createRun(t, s, exp, "b", 2000)
	c := createRun(t, s, exp, "c", 3000)
	must(t, s.DeleteRun(ctx, b.Info.RunID), "DeleteRun")
	for _, tc := range []struct {
		view store.ViewType
		want []string
	}{
		{0, []string{c.Info.RunID, a.Info.RunID}},
		{store.ActiveOnly, []string{c.Info.RunID, a.Info.RunID}},
		{store.DeletedOnly, []string{b.Info.RunID}},
		{store.AllViews, []string{c.Info.RunID, b.Info.RunID, a.Info.RunID}},
	} {
		got := runIDs(allRuns(t, s, store.RunQuery{ExperimentIDs: []string{exp}, ViewType: tc.view}))
		if !slices.Equal(got, tc.want) {
			t.Errorf("view %d: %v, want %v", tc.view, got, tc.want)
		}
	}
	// Search returns full runs.
	logBatch(t, s, a.Info.RunID, []store.Metric{{Key: "m", Value: 1, Timestamp: 2, Step: 3}}, []store.Param{{Key: "p", Value: "v"}}, nil)
	rs := allRuns(t, s, store.RunQuery{ExperimentIDs: []string{exp}})
	if len(rs) != 2 || rs[1].Info.RunID != a.Info.RunID {
		t.Fatalf("runs = %v", runIDs(rs))
	}
	wantRunData(t, rs[1], []store.Metric{{Key: "m", Value: 1, Timestamp: 2, Step: 3}}, map[string]string{"p": "v"}, map[string]string{"mlflow.runName": "a"})
	if rs[1].Info.RunName != "a" || rs[1].Info.UserID != "alice" || rs[1].Info.ExperimentID != exp {
		t.Errorf("run info = %+v", rs[1].Info)
	}
	// No experiments, no runs; unknown experiments are skipped.
	if got := allRuns(t, s, store.RunQuery{}); len(got) != 0 {
		t.Errorf("search without experiments returned %d runs", len(got))
	}
	if got := allRuns(t, s, store.RunQuery{ExperimentIDs: []string{"123456789012345678", exp}}); len(got) != 2 {
		t.Errorf("search with an unknown experiment returned %d runs, want 2", len(got))
	}
	// Runs of a deleted experiment are deleted.
	must(t, s.DeleteExperiment(ctx, exp), "DeleteExperiment")
	if got := allRuns(t, s, store.RunQuery{ExperimentIDs: []string{exp}}); len(got) != 0 {
		t.Errorf("active runs of a deleted experiment: %v", runIDs(got))
	}
	if got := allRuns(t, s, store.RunQuery{ExperimentIDs: []string{exp}, ViewType: store.DeletedOnly}); len(got) != 3 {
		t.Errorf("deleted runs of a deleted experiment: %d, want 3", len(got))
	}
}

func testSearchRunsPaging(t *testing.T, s store.Store) {
	e1 := createExperiment(t, s, "p1")
	e2 := createExperiment(t, s, "p2")
	var runs []*store.Run
	// Start times with ties, across two experiments.
	for i, st := range []int64{5000, 1000, 3000, 3000, 3000, 7000, 1000, 2000, 6000, 3000, 4000} {
		exp := e1
		if i%2 == 1 {
			exp = e2
		}
		runs = append(runs, createRun(t, s, exp, "", st))
	}
	other := createRun(t, s, store.DefaultExperimentID, "not searched", 9000)
	want := slices.Clone(runs)
	slices.SortFunc(want, func(a, b *store.Run) int {
		return cmp.Or(cmp.Compare(b.Info.StartTime, a.Info.StartTime), strings.Compare(a.Info.RunID, b.Info.RunID))
	})
	wantIDs := runIDs(want)
	q := store.RunQuery{ExperimentIDs: []string{e1, e2}}
	if got := runIDs(allRuns(t, s, q)); !slices.Equal(got, wantIDs) {
		t.Fatalf("default order:\n got %v\nwant %v", got, wantIDs)
	}
	for _, size := range []int{1, 2, 3, 4, 10, 11, 12} {
		q := store.RunQuery{ExperimentIDs: []string{e2, e1}, MaxResults: size}
		var got []string
		pages := 0
		for {
			p, err := s.SearchRuns(ctx, q)
			must(t, err, "SearchRuns page")
			pages++
			if len(p.Runs) > size {
				t.Fatalf("MaxResults %d: page of %d", size, len(p.Runs))
			}
			got = append(got, runIDs(p.Runs)...)
			if p.NextPageToken == "" {
				break
			}
			if len(p.Runs) != size {
				t.Fatalf("MaxResults %d: short page of %d before the end", size, len(p.Runs))
			}
			q.PageToken = p.NextPageToken
		}
		if !slices.Equal(got, wantIDs) {
			t.Errorf("MaxResults %d:\n got %v\nwant %v", size, got, wantIDs)
		}
		if wantPages := (len(wantIDs) + size - 1) / size; pages != wantPages {
			t.Errorf("MaxResults %d: %d pages, want %d", size, pages, wantPages)
		}
	}
	if slices.Contains(wantIDs, other.Info.RunID) {
		t.Fatal("test bug")
	}
	if got := runIDs(allRuns(t, s, store.RunQuery{ExperimentIDs: []string{"0", e1, e2}, MaxResults: 5})); len(got) != 12 || got[0] != other.Info.RunID {
		t.Errorf("three experiments: %v", got)
	}
}

func testSearchRunsLimits(t *testing.T, s store.Store) {
	createRun(t, s, store.DefaultExperimentID, "", 0)
	_, err := s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}, MaxResults: store.MaxResultsLimit + 1})
	wantErr(t, err, store.ErrInvalidParameter, "MaxResults over the limit")
	_, err = s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}, MaxResults: -1})
	wantErr(t, err, store.ErrInvalidParameter, "negative MaxResults")
	p, err := s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}, MaxResults: store.MaxResultsLimit})
	must(t, err, "MaxResults at the limit")
	if len(p.Runs) != 1 || p.NextPageToken != "" {
		t.Errorf("page = %d runs, token %q", len(p.Runs), p.NextPageToken)
	}
	for _, tok := range []string{"garbage!", "e30=" /* {} */} {
		_, err = s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}, PageToken: tok})
		wantErr(t, err, store.ErrInvalidParameter, "bad page token "+tok)
	}
}

func testClose(t *testing.T, s store.Store) {
	r := createRun(t, s, store.DefaultExperimentID, "", 0)
	must(t, s.Close(), "Close")
	_, err := s.GetRun(ctx, r.Info.RunID)
	wantErr(t, err, store.ErrClosed, "GetRun after Close")
	err = s.LogBatch(ctx, r.Info.RunID, []store.Metric{{Key: "m", Value: 1}}, nil, nil)
	wantErr(t, err, store.ErrClosed, "LogBatch after Close")
	_, err = s.CreateExperiment(ctx, "x", "", nil)
	wantErr(t, err, store.ErrClosed, "CreateExperiment after Close")
	_, err = s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: []string{"0"}})
	wantErr(t, err, store.ErrClosed, "SearchRuns after Close")
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}
