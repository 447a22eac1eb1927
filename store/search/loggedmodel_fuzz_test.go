package search

import (
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// FuzzParseLoggedModelFilter checks that neither store's parser panics or
// loops, that every rejection is an ErrInvalidParameter error or one of
// MLflow's internal errors, and that accepted filters evaluate and search
// without panicking. Seeds: testdata/fuzz/FuzzParseLoggedModelFilter and
// the filters below.
func FuzzParseLoggedModelFilter(f *testing.F) {
	for _, s := range []string{
		"", "name = 'm01'", "name LIKE 'm%' AND metrics.acc > 0.5", "params.lr IN ('a', 'b')",
		"tags.t IS NULL", "creation_time > 5", "datasets.name = 'x'", "status = '2'",
		"name = ('a', 1)", "metrics.acc > nan", "a = 1 OR b = 2", "`metrics`.`a b` != 1e3",
	} {
		f.Add(s)
	}
	m := &store.LoggedModel{
		ModelID: "m-0123456789abcdef0123456789abcdef", ExperimentID: "1", Name: "m01", ModelType: "sklearn",
		Status: store.LoggedModelReady, CreationTimestamp: 5, LastUpdatedTimestamp: 6,
		Tags: map[string]string{"t": "v"}, Params: map[string]string{"lr": "0.1"},
		Metrics: []store.LoggedModelMetric{{Key: "acc", Value: 0.5, RunID: "r", DatasetName: "d", DatasetDigest: "x"}},
	}
	f.Fuzz(func(t *testing.T, filter string) {
		for _, sem := range []LoggedModelSemantics{FileLoggedModels, SQLLoggedModels} {
			clauses, err := sem.ParseFilter(filter)
			if err != nil {
				if store.Code(err) != "INVALID_PARAMETER_VALUE" && !IsInternal(err) {
					t.Fatalf("%s %q: error of unknown kind: %v", sem, filter, err)
				}
				continue
			}
			if _, err := sem.Match(clauses, nil, m); err != nil && store.Code(err) != "INVALID_PARAMETER_VALUE" && !IsInternal(err) {
				t.Fatalf("%s %q: match error of unknown kind: %v", sem, filter, err)
			}
			q := store.LoggedModelQuery{ExperimentIDs: []string{"1"}, Filter: filter, Datasets: []store.LoggedModelDataset{{Name: "d"}}}
			if _, err := sem.Search([]*store.LoggedModel{m, m}, q); err != nil && store.Code(err) != "INVALID_PARAMETER_VALUE" && !IsInternal(err) {
				t.Fatalf("%s %q: search error of unknown kind: %v", sem, filter, err)
			}
		}
	})
}
