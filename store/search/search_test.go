package search

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func TestParseRunFilter(t *testing.T) {
	str := func(s string) Value { return Value{Kind: StringValue, Str: s} }
	num := func(f float64) Value { return Value{Kind: NumberValue, Num: f} }
	tests := []struct {
		filter string
		want   []Clause
	}{
		{"", nil},
		{"metrics.acc >= 0.94", []Clause{{Metric, "acc", Ge, num(0.94)}}},
		{"metric.acc>=100", []Clause{{Metric, "acc", Ge, num(100)}}},
		{`params."m"!="tf"`, []Clause{{Param, "m", Ne, str("tf")}}},
		{"metrics.`spacey name` > 5", []Clause{{Metric, "spacey name", Gt, num(5)}}},
		{`metrics."accuracy.2.0" > 5`, []Clause{{Metric, "accuracy.2.0", Gt, num(5)}}},
		{"params.a.b = 'c'", []Clause{{Param, "a.b", Eq, str("c")}}},
		{"run.status = 'RUNNING'", []Clause{{Attribute, "status", Eq, str("RUNNING")}}},
		{"status = 'RUNNING'", []Clause{{Attribute, "status", Eq, str("RUNNING")}}},
		{`params.m = "L'Hosp"`, []Clause{{Param, "m", Eq, str("L'Hosp")}}},
		{"params.x = 'it''s'", []Clause{{Param, "x", Eq, str("it''s")}}},
		{"metrics.rmse < 1 and params.model_class = 'LR'", []Clause{{Metric, "rmse", Lt, num(1)}, {Param, "model_class", Eq, str("LR")}}},
		{"params.model like 'L%'", []Clause{{Param, "model", Like, str("L%")}}},
		{"tags.t ILIKE '%x'", []Clause{{Tag, "t", ILike, str("%x")}}},
		{"attributes.created > 1", []Clause{{Attribute, "start_time", Gt, Value{Kind: NumberValue, Num: 1, IsInt: true, Int: 1}}}},
		{"attributes.`Run name` = 'r'", []Clause{{Attribute, "run_name", Eq, str("r")}}},
		{"run_id IN ('ABC','abc')", []Clause{{Attribute, "run_id", In, Value{Kind: ListValue, List: []string{"ABC", "abc"}}}}},
		{"run_id not in ('a')", []Clause{{Attribute, "run_id", NotIn, Value{Kind: ListValue, List: []string{"a"}}}}},
		{"datasets.context = 'train'", []Clause{{Dataset, "context", Eq, str("train")}}},
		{"params.lr IS NULL AND tags.t is not null", []Clause{{Param, "lr", IsNull, Value{}}, {Tag, "t", IsNotNull, Value{}}}},
		{"metrics.x > 1e309", []Clause{{Metric, "x", Gt, num(math.Inf(1))}}},
		{"metrics.x > -.5", []Clause{{Metric, "x", Gt, num(-0.5)}}},
		{"metrics.acc > 0.9 AND", []Clause{{Metric, "acc", Gt, num(0.9)}}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := ParseRunFilter(tc.filter)
			if err != nil {
				t.Fatalf("ParseRunFilter(%q): %v", tc.filter, err)
			}
			got := f.Clauses
			for i := range got {
				got[i].Value.Raw = ""
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ParseRunFilter(%q) = %+v, want %+v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestParseRunFilterErrors(t *testing.T) {
	tests := []struct {
		filter string
		want   string // the message, or its prefix ending in "…"
	}{
		{"metric.acc >= 0.94; metrics.rmse < 1", `Search filter contained multiple expression 'metric.acc >= 0.94; metrics.rmse < 1'. Provide AND-ed expression list.`},
		{"  ", "Invalid filter '  '. Could not be parsed."},
		{"metrics.A > 0.1 OR params.B = 'LR'", "Invalid clause(s) in filter string: 'OR'"},
		{"metrics.A > 0.1 AND (params.B = 'LR')", "Invalid clause(s) in filter string: '(params.B = 'LR')'"},
		{"m.acc >= 0.94", "Invalid entity type 'm'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"},
		{"METRICS.acc > 1", "Invalid entity type 'METRICS'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"},
		{"acc >= 0.94", "Invalid attribute key 'acc' specified. Valid keys are '{'Created', 'Run Name', 'Run name', 'artifact_uri', 'created', 'end_time', 'run name', 'run_id', 'run_name', 'start_time', 'status', 'user_id'}'"},
		{"metric.model = 'LR'", "Expected numeric value type for metric. Found 'LR'"},
		{"params.acc = 5", "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 5"},
		{"tags.acc = 5", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 5"},
		{"params.acc = LR", "Parameter value is either not quoted or unidentified quote types used for string value LR. Use either single or double quotes."},
		{"params.acc = 'LR", "Invalid clause(s) in filter string: 'params.acc', '=', ''', 'LR'"},
		{"1=1", "Invalid comparison clause. Expected 'Identifier' found '1'"},
		{"attribute.start_time = '1234'", "Expected numeric value type for numeric attribute: start_time. Found '1234'"},
		{"attributes.status IN ('RUNNING')", "Only ['run_id'] attributes support comparison with a list of quoted string values."},
		{"run_id IN ()", "While parsing a list in the query, expected a non-empty list of string values, but got empty list"},
		{"run_id IN (1, 2)", "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)"},
		{"run_id IN (,)", "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."},
		{"params.model > 'A'", "Invalid comparator '>' not one of '{'!=', '=', 'ILIKE', 'IS NOT NULL', 'IS NULL', 'LIKE'}'"},
		{"metrics.acc LIKE 1", "Invalid comparator 'LIKE' not one of '{'!=', '<', '<=', '=', '>', '>='}"},
		{"params.model NOT LIKE 'A'", "Invalid comparator 'NOT LIKE' not one of '{'!=', '=', 'ILIKE', 'IS NOT NULL', 'IS NULL', 'LIKE'}'"},
		{"metrics.acc IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'acc'"},
		{"datasets.foo = 'x'", "Invalid dataset key 'foo' specified. Valid keys are '{'context', 'digest', 'name'}'"},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := ParseRunFilter(tc.filter)
			if err == nil {
				t.Fatalf("ParseRunFilter(%q) succeeded, want error %q", tc.filter, tc.want)
			}
			if !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("error %v does not wrap ErrInvalidParameter", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("ParseRunFilter(%q) error\n got %q\nwant %q", tc.filter, got, tc.want)
			}
		})
	}
}

func TestParseOrderByErrors(t *testing.T) {
	tests := []struct {
		orderBy  []string
		want     string
		internal bool
	}{
		{[]string{"params.my_param "}, "Invalid order_by clause 'params.my_param '. Could not be parsed.", false},
		{[]string{"attribute.run_id ACS"}, "Invalid ordering key in order_by clause 'attribute.run_id ACS'.", false},
		{[]string{"metrics.A != 1"}, "Invalid order_by clause 'metrics.A != 1'. Could not be parsed.", false},
		{[]string{"`metrics.A`"}, "Invalid entity type '`metrics'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']", false},
		{[]string{"datasets.name"}, "Invalid identifier type 'dataset'", false},
		{[]string{"metrics.a", "metric.a DESC"}, "`order_by` contains duplicate fields: ['metrics.a', 'metric.a DESC']", true},
	}
	for _, tc := range tests {
		_, err := ParseRunOrderBy(tc.orderBy)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseRunOrderBy(%q) = %v, want %q", tc.orderBy, err, tc.want)
			continue
		}
		if IsInternal(err) != tc.internal || errors.Is(err, store.ErrInvalidParameter) == tc.internal {
			t.Errorf("ParseRunOrderBy(%q): internal=%v, want %v", tc.orderBy, IsInternal(err), tc.internal)
		}
	}
}

func TestParseExperimentFilter(t *testing.T) {
	for filter, want := range map[string]string{
		"name like 'a%'":             "Invalid comparator 'like' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}'",
		"name IN ('a')":              "Only ['experiment_id'] attributes support comparison with a list of quoted string values.",
		"attributes.name = 'a'":      "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')",
		"creation_time > 1.5":        "Invalid value for numeric attribute 'creation_time': '1.5'",
		"experiment_id = 'x'":        "Invalid experiment ID 'x'. Experiment ID must be a valid integer.",
		"tags.team > 'a'":            "Invalid comparator for tag: >",
		"name IS NULL":               "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'",
		"name = 'a' OR name = 'b'":   "Invalid clause(s) in filter string: OR",
		"experiment_id LIKE '1%'":    "Invalid comparator for experiment_id: LIKE",
		"lifecycle_stage = 'x'":      "Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{'creation_time', 'experiment_id', 'last_update_time', 'name'}'",
		"tags.team IN ('ml')":        "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('ml')",
		"creation_time LIKE 1":       "Invalid comparator 'LIKE' not one of '{'!=', '=', 'ILIKE', 'IN', 'LIKE', 'NOT IN'}",
		"name = 'a' AND name != 'b'": "",
	} {
		_, err := ParseExperimentFilter(filter)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("ParseExperimentFilter(%q) error\n got %q\nwant %q", filter, got, want)
		}
	}
}

// The fixtures of MLflow's tests/utils/test_search_utils.py
// (test_correct_filtering and test_correct_sorting).
func fixtureRuns() []*store.Run {
	mk := func(id string, status store.RunStatus, start int64, key1 float64, param string, tag string, ds store.DatasetInput) *store.Run {
		r := &store.Run{Info: store.RunInfo{RunID: id, ExperimentID: "0", Status: status, StartTime: start, LifecycleStage: store.LifecycleActive}}
		r.Data.Metrics = []store.Metric{{Key: "key1", Value: key1}}
		r.Data.Params = []store.Param{{Key: "my_param", Value: param}}
		if tag != "" {
			r.Data.Tags = []store.Tag{{Key: "tag1", Value: tag}}
		}
		r.Inputs = []store.DatasetInput{ds}
		return r
	}
	train := []store.Tag{{Key: "mlflow.data.context", Value: "train"}}
	return []*store.Run{
		mk("9", store.StatusFailed, 0, 121, "A", "", store.DatasetInput{Dataset: store.Dataset{Name: "name1", Digest: "digest1"}, Tags: train}),
		mk("8", store.StatusFinished, 1, 123, "A", "C", store.DatasetInput{Dataset: store.Dataset{Name: "name1", Digest: "digest1"}}),
		mk("7", store.StatusFailed, 1, 125, "B", "D", store.DatasetInput{Dataset: store.Dataset{Name: "name2", Digest: "digest2"}}),
	}
}

func TestMatchRunFixtures(t *testing.T) {
	runs := fixtureRuns()
	for filter, want := range map[string][]string{
		"attributes.status = 'FAILED'": {"9", "7"},
		"metrics.key1 != 123":          {"9", "7"},
		"metrics.key1 >= 123":          {"8", "7"},
		"tags.tag1 != 'D'":             {"8"},
		"params.my_param = 'A' AND attributes.status = 'FAILED'":     {"9"},
		"params.my_param LIKE 'a'":                                   nil,
		"params.my_param ILIKE 'a'":                                  {"9", "8"},
		"params.my_param LIKE '%'":                                   {"9", "8", "7"},
		"datasets.name IN ('name1','name2')":                         {"9", "8", "7"},
		"datasets.name = 'name1' AND datasets.digest = 'digest2'":    nil,
		"datasets.context = 'train'":                                 {"9"},
		"datasets.name IN ('Name1')":                                 nil,
		"metrics.missing < 1":                                        nil,
		"params.missing != 'x'":                                      nil,
		"params.missing IS NULL AND tags.tag1 IS NOT NULL":           {"8", "7"},
		"attributes.start_time >= 1 AND attributes.start_time < 1.5": {"8", "7"},
		"run_id NOT IN ('9') AND datasets.digest LIKE 'digest_'":     {"8", "7"},
		"datasets.context != 'train'":                                nil,
		"datasets.name = 'name1' AND datasets.context ILIKE 'TRAIN'": {"9"},
		"params.my_param ILIKE '_' AND params.my_param NOT IN ('B')": nil, // NOT IN is for run_id and datasets
	} {
		f, err := ParseRunFilter(filter)
		if err != nil {
			if want == nil && strings.Contains(filter, "NOT IN ('B')") {
				continue
			}
			t.Errorf("ParseRunFilter(%q): %v", filter, err)
			continue
		}
		var got []string
		for _, r := range runs {
			if MatchRun(f, r) {
				got = append(got, r.Info.RunID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q matches %v, want %v", filter, got, want)
		}
	}
}

func TestRunOrderFixtures(t *testing.T) {
	for _, tc := range []struct {
		orderBy []string
		want    string
	}{
		{nil, "7,8,9"},
		{[]string{"attributes.status"}, "7,9,8"},
		{[]string{"tags.tag1"}, "8,7,9"},
		{[]string{"params.my_param", "attributes.status DESC"}, "8,9,7"},
		{[]string{"tags.tag1 DESC"}, "7,8,9"},
	} {
		o, err := ParseRunOrderBy(tc.orderBy)
		if err != nil {
			t.Fatal(err)
		}
		runs := fixtureRuns()
		slices.SortFunc(runs, o.Compare)
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.Info.RunID)
		}
		if got := strings.Join(ids, ","); got != tc.want {
			t.Errorf("order_by %q: %s, want %s", tc.orderBy, got, tc.want)
		}
	}
}

func TestMetricOrderNaNAndMissing(t *testing.T) {
	vals := map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "-inf": math.Inf(-1), "-1000": -1000, "0": 0, "1000": 1000}
	var runs []*store.Run
	for name, v := range vals {
		runs = append(runs, &store.Run{Info: store.RunInfo{RunID: name}, Data: store.RunData{Metrics: []store.Metric{{Key: "x", Value: v}}}})
	}
	runs = append(runs, &store.Run{Info: store.RunInfo{RunID: "missing"}})
	for dir, want := range map[string]string{
		"asc":  "-inf,-1000,0,1000,inf,nan,missing",
		"desc": "inf,1000,0,-1000,-inf,nan,missing",
	} {
		o, err := ParseRunOrderBy([]string{"metrics.x " + dir})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(runs, o.Compare)
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.Info.RunID)
		}
		if got := strings.Join(ids, ","); got != want {
			t.Errorf("metrics.x %s: %s, want %s", dir, got, want)
		}
	}
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, p  string
		fold  bool
		match bool
	}{
		{"abc", "abc", false, true},
		{"abc", "a_c", false, true},
		{"abc", "a%", false, true},
		{"abc", "A%", false, false},
		{"abc", "A%", true, true},
		{"abc", "a.c", false, false},
		{"a.c", "a.c", false, true},
		{"line1\nline2", "line1_line2", false, true},
		{"line1\nline2", "%line2", false, true},
		{"Ünicode", "ü%", true, false}, // SQLite's lower() is ASCII-only
		{"ünicode", "_nicode", false, true},
		{"", "%", false, true},
		{"", "_", false, false},
		{"a%c", "a\\%c", false, false}, // no escape character
		{"aaa", "%a%a%a%", false, true},
		{"aab", "%a%a%a%", false, false},
	} {
		if got := sqlLike(tc.s, tc.p, tc.fold); got != tc.match {
			t.Errorf("sqlLike(%q, %q, %v) = %v, want %v", tc.s, tc.p, tc.fold, got, tc.match)
		}
	}
}

func TestPageTokens(t *testing.T) {
	if got := NewPageToken(2); got != "eyJvZmZzZXQiOiAyfQ==" {
		t.Errorf("NewPageToken(2) = %q", got)
	}
	for tok, want := range map[string]string{
		"e30=":                 "Invalid page token, parsed value={}",
		"not base64":           "Invalid page token, could not base64-decode",
		"eyJvZmZzZXQiOiAwfQ==": "Invalid page token, parsed value={'offset': 0}",
		"eyJvZmZzZXQiOiAiYSJ9": "Invalid page token, not stringable a",
	} {
		_, err := ParsePageToken(tok)
		if err == nil || err.Error() != want || !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("ParsePageToken(%q) = %v, want %q", tok, err, want)
		}
	}
	for _, n := range []int{-1, 0, 50001} {
		if err := ValidateMaxResults(n); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("ValidateMaxResults(%d) = %v", n, err)
		}
	}
}

func TestPaginate(t *testing.T) {
	var runs []*store.Run
	for i := range 7 {
		runs = append(runs, &store.Run{Info: store.RunInfo{RunID: fmt.Sprintf("r%d", i), ExperimentID: "1", StartTime: int64(i), LifecycleStage: store.LifecycleActive}})
	}
	var seen []string
	tok := ""
	for {
		page, err := Paginate(runs, store.RunQuery{ExperimentIDs: []string{"1"}, MaxResults: 3, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			seen = append(seen, r.Info.RunID)
		}
		if page.NextPageToken == "" {
			break
		}
		tok = page.NextPageToken
	}
	if got := strings.Join(seen, ","); got != "r6,r5,r4,r3,r2,r1,r0" {
		t.Errorf("pages: %s", got)
	}
}

// benchRuns builds n runs with 20 metrics, 20 params and 5 tags each.
func benchRuns(n int) []*store.Run {
	rng := rand.New(rand.NewPCG(1, 2))
	runs := make([]*store.Run, n)
	for i := range runs {
		r := &store.Run{Info: store.RunInfo{
			RunID: fmt.Sprintf("%032x", rng.Uint64()), ExperimentID: "1", Status: store.StatusFinished,
			StartTime: rng.Int64N(1e6), LifecycleStage: store.LifecycleActive,
		}}
		for m := range 20 {
			r.Data.Metrics = append(r.Data.Metrics, store.Metric{Key: fmt.Sprintf("metric_%02d", m), Value: rng.Float64()})
		}
		for p := range 20 {
			r.Data.Params = append(r.Data.Params, store.Param{Key: fmt.Sprintf("param_%02d", p), Value: fmt.Sprintf("v%d", rng.IntN(10))})
		}
		for k := range 5 {
			r.Data.Tags = append(r.Data.Tags, store.Tag{Key: fmt.Sprintf("tag_%d", k), Value: "x"})
		}
		runs[i] = r
	}
	return runs
}

// BenchmarkSearchRuns parses and evaluates a filter on one metric and one
// param, ordered by a metric, over 10,000 runs, and takes the top 100.
func BenchmarkSearchRuns(b *testing.B) {
	runs := benchRuns(10000)
	q := store.RunQuery{
		ExperimentIDs: []string{"1"},
		Filter:        "metrics.metric_07 > 0.3 AND params.param_13 != 'v3'",
		OrderBy:       []string{"metrics.metric_11 DESC"},
		MaxResults:    100,
	}
	b.ReportAllocs()
	for b.Loop() {
		page, err := Paginate(runs, q)
		if err != nil || len(page.Runs) != 100 {
			b.Fatalf("%v %d", err, len(page.Runs))
		}
	}
}
