package storetest

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// testSearchRunsFilter checks that a backend applies MLflow's filter
// language and order_by (store/search) through SearchRuns: the
// semantics themselves are proven against MLflow by store/search's parity
// corpus; this checks each backend wires them in, incl. NaN, missing keys,
// LIKE, IN, tags with spaces and slashes, attributes and paging.
func testSearchRunsFilter(t *testing.T, s store.Store) {
	exp := createExperiment(t, s, "filters")
	type spec struct {
		name   string
		start  int64
		rmse   float64
		alpha  string
		tag    string
		status store.RunStatus
	}
	specs := []spec{
		{"r1", 1000, 0.5, "0.1", "gpu", store.StatusFinished},
		{"r2", 2000, 0.9, "0.5", "cpu", store.StatusFinished},
		{"r3", 3000, math.NaN(), "0.5", "gpu", store.StatusFailed},
		{"r4", 4000, 0.7, "1.0", "", store.StatusRunning},
		{"r5", 5000, 0.7, "", "tpu", store.StatusFinished}, // no alpha param
	}
	// r3's rmse is NaN: it matches a filter only where NaN compares as 0.
	nanAsZero := func(want, asZero []string) []string {
		if options(s).NaNFilterAsZero {
			return asZero
		}
		return want
	}
	names := map[string]string{}
	for _, sp := range specs {
		r := createRun(t, s, exp, sp.name, sp.start)
		names[r.Info.RunID] = sp.name
		ms := []store.Metric{{Key: "rmse", Value: sp.rmse, Timestamp: sp.start, Step: 0}}
		var ps []store.Param
		if sp.alpha != "" {
			ps = append(ps, store.Param{Key: "alpha", Value: sp.alpha})
		}
		var tags []store.Tag
		if sp.tag != "" {
			tags = append(tags, store.Tag{Key: "hw/kind x", Value: sp.tag})
		}
		logBatch(t, s, r.Info.RunID, ms, ps, tags)
		if sp.status != store.StatusRunning {
			end := sp.start + 10
			if _, err := s.UpdateRun(ctx, r.Info.RunID, store.RunUpdate{Status: sp.status, EndTime: &end}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		filter  string
		orderBy []string
		want    []string
	}{
		{"", nil, []string{"r5", "r4", "r3", "r2", "r1"}},
		{"metrics.rmse < 0.8", nil, nanAsZero([]string{"r5", "r4", "r1"}, []string{"r5", "r4", "r3", "r1"})},
		{"metrics.rmse < 0.8 and params.alpha = '1.0'", nil, []string{"r4"}},
		{"metric.rmse >= 0.7", []string{"metrics.rmse ASC"}, []string{"r5", "r4", "r2"}}, // ties: start_time DESC
		{"", []string{"metrics.rmse DESC", "attributes.start_time ASC"}, []string{"r2", "r4", "r5", "r1", "r3"}},
		{"metrics.rmse != 0.5", nil, []string{"r5", "r4", "r3", "r2"}},
		{"params.alpha != '0.5'", nil, []string{"r4", "r1"}}, // r5 has no alpha: no match
		{"params.alpha LIKE '0.%'", []string{"params.alpha ASC", "start_time ASC"}, []string{"r1", "r2", "r3"}},
		{"tags.`hw/kind x` = 'gpu'", nil, []string{"r3", "r1"}},
		{"tags.`hw/kind x` ILIKE 'G%'", nil, []string{"r3", "r1"}},
		{"attributes.status = 'FINISHED'", nil, []string{"r5", "r2", "r1"}},
		{"attributes.run_name = 'r2'", nil, []string{"r2"}},
		{"run_name LIKE 'r%' and metrics.rmse > 0.6", nil, []string{"r5", "r4", "r2"}},
		{"params.missing = 'x'", nil, nil},
	} {
		got := allRuns(t, s, store.RunQuery{ExperimentIDs: []string{exp}, Filter: tc.filter, OrderBy: tc.orderBy})
		var gotNames []string
		for _, r := range got {
			gotNames = append(gotNames, names[r.Info.RunID])
		}
		if !slices.Equal(gotNames, tc.want) {
			t.Errorf("filter %q order %q: got %v, want %v", tc.filter, tc.orderBy, gotNames, tc.want)
		}
	}
	// Paging through a filtered, ordered search.
	q := store.RunQuery{ExperimentIDs: []string{exp}, Filter: "metrics.rmse >= 0", OrderBy: []string{"metrics.rmse ASC"}, MaxResults: 2}
	var paged []string
	for range 5 {
		p, err := s.SearchRuns(ctx, q)
		must(t, err, "SearchRuns page")
		for _, r := range p.Runs {
			paged = append(paged, names[r.Info.RunID])
		}
		if p.NextPageToken == "" {
			break
		}
		q.PageToken = p.NextPageToken
	}
	if want := nanAsZero([]string{"r1", "r5", "r4", "r2"}, []string{"r1", "r5", "r4", "r2", "r3"}); !slices.Equal(paged, want) {
		t.Errorf("paged: %v, want %v", paged, want)
	}
	// MLflow's errors for bad filters and order_by.
	for _, bad := range []store.RunQuery{
		{ExperimentIDs: []string{exp}, Filter: "metrics.rmse < 0.8 or params.alpha = '1'"},
		{ExperimentIDs: []string{exp}, Filter: "foo.bar = 1"},
		{ExperimentIDs: []string{exp}, Filter: "metrics.rmse = 'x'"},
		{ExperimentIDs: []string{exp}, OrderBy: []string{"metrics.rmse SIDEWAYS"}},
		{ExperimentIDs: []string{exp}, PageToken: "not a token"},
	} {
		if _, err := s.SearchRuns(ctx, bad); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("SearchRuns(%+v): err = %v, want ErrInvalidParameter", bad, err)
		}
	}
}

// testSearchExperimentsFilter checks that a backend applies MLflow's
// experiment filters and order_by.
func testSearchExperimentsFilter(t *testing.T, s store.Store) {
	a := createExperiment(t, s, "alpha-exp", store.Tag{Key: "team", Value: "go"})
	b := createExperiment(t, s, "beta-exp", store.Tag{Key: "team", Value: "py"})
	for _, tc := range []struct {
		filter  string
		orderBy []string
		want    []string
	}{
		{"name LIKE '%-exp'", []string{"name ASC"}, []string{a, b}},
		{"name LIKE '%-exp'", []string{"name DESC"}, []string{b, a}},
		{"tags.team = 'go'", nil, []string{a}},
		{"name = 'Default'", nil, []string{store.DefaultExperimentID}},
	} {
		p, err := s.SearchExperiments(ctx, store.ExperimentQuery{Filter: tc.filter, OrderBy: tc.orderBy})
		must(t, err, "SearchExperiments "+tc.filter)
		var got []string
		for _, e := range p.Experiments {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("experiments %q %q: got %v, want %v", tc.filter, tc.orderBy, got, tc.want)
		}
	}
	if _, err := s.SearchExperiments(ctx, store.ExperimentQuery{Filter: "name = 'a' or name = 'b'"}); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("OR filter: err = %v, want ErrInvalidParameter", err)
	}
}
