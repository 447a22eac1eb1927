package sqlstore_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// searchCase is a search_runs or search_experiments request run by mlrun
// and by MLflow on the same database.
type searchCase struct {
	Experiments bool     `json:"experiments"` // search_experiments instead of search_runs
	Filter      string   `json:"filter"`
	OrderBy     []string `json:"order_by"`
	MaxResults  int      `json:"max_results"`
	View        int      `json:"view"`
}

var searchCases = []searchCase{
	{},
	{View: 3},
	{View: 2},
	{Filter: "metrics.m >= 1"},
	{Filter: "metrics.loss < 0.01"},
	{Filter: "metrics.`single/09` != 1"},
	{Filter: "metrics.`single/09` = 0"},
	{Filter: "metrics.`single/10` = 1.7976931348623157e308"},
	{Filter: "metrics.`single/11` < -1e308"},
	{Filter: "params.i = '2'"},
	{Filter: "params.`学习率` LIKE '0.001%'"},
	{Filter: "params.empty = ''"},
	{Filter: "tags.keep = '1'"},
	{Filter: "tags.`mlflow.runName` ILIKE '%RENAMED%'"},
	{Filter: "tags.multi LIKE '%two%'"},
	{Filter: "attributes.status = 'FAILED'"},
	{Filter: "attributes.status IN ('FAILED', 'KILLED')"},
	{Filter: "attributes.status != 'RUNNING' and params.i != '0'"},
	{Filter: "run_name = 'datasets'"},
	{Filter: "attributes.run_name LIKE '%run'", View: 3},
	{Filter: "datasets.name = 'train'"},
	{Filter: "datasets.context = 'training'"},
	{Filter: "datasets.digest IN ('ffff', '0')"},
	{Filter: "attributes.start_time > 1700000300000 and attributes.start_time <= 1700000600000"},
	{Filter: "attributes.end_time > 0"},
	{Filter: "tags.`mlflow.user` = 'ünï user'"},
	{OrderBy: []string{"metrics.m DESC"}},
	{OrderBy: []string{"params.i ASC", "start_time DESC"}},
	{OrderBy: []string{"attributes.run_name ASC"}},
	{OrderBy: []string{"metrics.`single/09` ASC"}},
	{OrderBy: []string{"metrics.`same point` DESC"}},
	{OrderBy: []string{"tags.keep DESC"}},
	{OrderBy: []string{"attributes.end_time ASC"}, View: 3},
	{Filter: "metrics.m >= 0", OrderBy: []string{"metrics.m ASC"}, MaxResults: 2},
	{OrderBy: []string{"attributes.status DESC", "run_name"}, MaxResults: 3},
	{Experiments: true},
	{Experiments: true, View: 3},
	{Experiments: true, Filter: "name LIKE '%experiment'", View: 3},
	{Experiments: true, Filter: "tags.team = 'vision-2'"},
	{Experiments: true, OrderBy: []string{"name ASC"}, View: 3},
	{Experiments: true, OrderBy: []string{"experiment_id DESC"}, MaxResults: 2},
	// Errors.
	{Filter: "metrics.m < 1 or params.i = '2'"},
	{Filter: "nonsense.x = 1"},
	{OrderBy: []string{"metrics.m SIDEWAYS"}},
	{MaxResults: 50001},
}

// searchScript runs searchCases with MlflowClient and prints, per case,
// the ids found (all pages) or the error code.
const searchScript = `
import json, sys
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
c = MlflowClient(sys.argv[1])
exps, out = json.loads(sys.argv[2]), []
for case in json.load(open(sys.argv[3])):
    ids, token = [], None
    try:
        while True:
            kw = dict(filter_string=case["filter"] or None, order_by=case["order_by"] or None,
                      max_results=case["max_results"] or 1000, page_token=token)
            if case["experiments"]:
                page = c.search_experiments(view_type=case["view"] or 1, **kw)
                ids += [e.experiment_id for e in page]
            else:
                page = c.search_runs(exps, run_view_type=case["view"] or 1, **kw)
                ids += [r.info.run_id for r in page]
            token = page.token
            if not token:
                break
        out.append(ids)
    except MlflowException as e:
        out.append("error " + e.error_code)
print(json.dumps(out))
`

// goSearch runs a case with mlrun, following page tokens.
func goSearch(t *testing.T, s *sqlstore.Store, exps []string, c searchCase) any {
	t.Helper()
	ids := []string{}
	token := ""
	for {
		var err error
		var next string
		if c.Experiments {
			var p *store.ExperimentPage
			p, err = s.SearchExperiments(ctx, store.ExperimentQuery{Filter: c.Filter, OrderBy: c.OrderBy, MaxResults: c.MaxResults, PageToken: token, ViewType: store.ViewType(c.View)})
			if err == nil {
				for _, e := range p.Experiments {
					ids = append(ids, e.ID)
				}
				next = p.NextPageToken
			}
		} else {
			var p *store.RunPage
			p, err = s.SearchRuns(ctx, store.RunQuery{ExperimentIDs: exps, Filter: c.Filter, OrderBy: c.OrderBy, MaxResults: c.MaxResults, PageToken: token, ViewType: store.ViewType(c.View)})
			if err == nil {
				for _, r := range p.Runs {
					ids = append(ids, r.Info.RunID)
				}
				next = p.NextPageToken
			}
		}
		if err != nil {
			if errors.Is(err, store.ErrInvalidParameter) {
				return "error INVALID_PARAMETER_VALUE"
			}
			return "error " + err.Error()
		}
		if next == "" {
			return ids
		}
		token = next
	}
}

// TestSearchMatchesMLflow runs filter, order_by and paging requests on a
// rich database with mlrun and with MLflow 3.17.2's MlflowClient, and
// requires the same runs and experiments in the same order (or the same
// error code).
func TestSearchMatchesMLflow(t *testing.T) {
	const v = "3.17.2"
	m := requireMLflow(t, v)
	path := filepath.Join(t.TempDir(), "mlflow.db")
	s := openAt(t, path, v)
	rich := writeRich(t, s)
	var exps []string
	for _, id := range rich.experiments {
		exps = append(exps, id)
	}
	exps = append(exps, "0")
	slices.Sort(exps)
	casesFile := filepath.Join(t.TempDir(), "cases.json")
	b, err := json.Marshal(searchCases)
	must(t, err)
	must(t, writeFile(casesFile, b))
	expsJSON, _ := json.Marshal(exps)
	out := mlflowExec(t, m, searchScript, "sqlite:///"+path, string(expsJSON), casesFile)
	var want []any
	must(t, json.Unmarshal([]byte(out), &want))
	if len(want) != len(searchCases) {
		t.Fatalf("MLflow answered %d cases of %d", len(want), len(searchCases))
	}
	names := map[string]string{}
	for n, id := range rich.runs {
		names[id] = n
	}
	for n, id := range rich.experiments {
		names[id] = n
	}
	show := func(v any) string {
		ids, ok := v.([]string)
		if !ok {
			return v.(string)
		}
		var out []string
		for _, id := range ids {
			out = append(out, names[id])
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	nonEmpty := 0
	for i, c := range searchCases {
		got := goSearch(t, s, exps, c)
		if ids, ok := got.([]string); ok && len(ids) > 0 {
			nonEmpty++
		}
		var w any = want[i]
		if l, ok := w.([]any); ok {
			ids := []string{}
			for _, x := range l {
				ids = append(ids, x.(string))
			}
			w = ids
		}
		if !jsonEqual(got, w) {
			t.Errorf("case %+v:\n got %s\nwant %s (MLflow)", c, show(got), show(w))
		}
	}
	if nonEmpty < 30 {
		t.Errorf("only %d cases found anything", nonEmpty)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
