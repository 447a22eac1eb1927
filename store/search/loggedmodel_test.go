package search

// TestLoggedModelParity replays testdata/loggedmodels/corpus-3.17.2.json,
// which testdata/loggedmodels/make_corpus.py records with real MLflow: the
// answers of MLflow's FileStore and SqlAlchemyStore (SQLite)
// search_logged_models for the same models and requests, and of each
// store's filter parser. Every answer must be matched by the semantics
// named after that store: the same accept/reject decision (and error kind
// and message, for MLflow's own errors), the same model ids in the same
// order, the same page sizes and (where the request shape allows) the same
// next page token.
//
// Regenerate the corpus (needs ~/.cache/mlrun/venv-3.17.2) with
//
//	go test ./store/search -run TestLoggedModelParity -update

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

const lmCorpusVersion = "3.17.2"

type lmCorpusError struct {
	Class   string `json:"class"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *lmCorpusError) kind() string {
	if e.Class == "MlflowException" && (e.Code == "INVALID_PARAMETER_VALUE" || e.Code == "BAD_REQUEST") {
		return "invalid"
	}
	return "internal"
}

type lmCorpusAnswer struct {
	OK    json.RawMessage `json:"ok"`
	Error *lmCorpusError  `json:"error"`
}

type lmCorpusModel struct {
	ModelID      string            `json:"model_id"`
	ExperimentID string            `json:"experiment_id"`
	Name         string            `json:"name"`
	ModelType    *string           `json:"model_type"`
	SourceRunID  *string           `json:"source_run_id"`
	Status       string            `json:"status"`
	Created      int64             `json:"creation_timestamp"`
	Updated      int64             `json:"last_updated_timestamp"`
	Tags         map[string]string `json:"tags"`
	Params       map[string]string `json:"params"`
	Metrics      []struct {
		Key           string  `json:"key"`
		Value         string  `json:"value"`
		Timestamp     int64   `json:"timestamp"`
		Step          int64   `json:"step"`
		RunID         string  `json:"run_id"`
		DatasetName   *string `json:"dataset_name"`
		DatasetDigest *string `json:"dataset_digest"`
	} `json:"metrics"`
}

type lmCorpusCase struct {
	ExperimentIDs []string         `json:"experiment_ids"`
	Filter        string           `json:"filter"`
	Datasets      []map[string]any `json:"datasets"`
	OrderBy       []map[string]any `json:"order_by"`
	MaxResults    int              `json:"max_results"`
	PageToken     string           `json:"page_token"`
	OnePage       bool             `json:"one_page"`
	File          lmCorpusAnswer   `json:"file"`
	SQL           lmCorpusAnswer   `json:"sql"`
}

type lmCorpus struct {
	MLflowVersion string          `json:"mlflow_version"`
	FileModels    []lmCorpusModel `json:"file_models"`
	SQLModels     []lmCorpusModel `json:"sql_models"`
	ParseCases    []struct {
		Filter string         `json:"filter"`
		File   lmCorpusAnswer `json:"file"`
		SQL    lmCorpusAnswer `json:"sql"`
	} `json:"parse_cases"`
	SearchCases []lmCorpusCase `json:"search_cases"`
}

type lmSearchResult struct {
	IDs   []string `json:"ids"`
	Pages []int    `json:"pages"`
	Token string   `json:"token"`
}

func lmVenvPython() string {
	if p := os.Getenv("MLRUN_VENV_3_17_2"); p != "" {
		return filepath.Join(p, "bin", "python")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mlrun", "venv-"+lmCorpusVersion, "bin", "python")
}

func loadLMCorpus(t *testing.T) *lmCorpus {
	t.Helper()
	path := filepath.Join("testdata", "loggedmodels", "corpus-"+lmCorpusVersion+".json")
	if *update {
		cmd := exec.Command(lmVenvPython(), filepath.Join("testdata", "loggedmodels", "make_corpus.py"), "-o", path)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("regenerate %s: %v", path, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	var c lmCorpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if c.MLflowVersion != lmCorpusVersion {
		t.Fatalf("corpus recorded with MLflow %s, want %s", c.MLflowVersion, lmCorpusVersion)
	}
	return &c
}

func lmParseFloat(t *testing.T, s string) float64 {
	switch s {
	case "NaN":
		return math.NaN()
	case "Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("metric value %q: %v", s, err)
	}
	return f
}

func lmDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (cm lmCorpusModel) model(t *testing.T) *store.LoggedModel {
	st, err := store.ParseLoggedModelStatus(cm.Status)
	if err != nil {
		t.Fatal(err)
	}
	m := &store.LoggedModel{
		ModelID: cm.ModelID, ExperimentID: cm.ExperimentID, Name: cm.Name,
		ArtifactLocation: "file:///artifacts/" + cm.ModelID, ModelType: lmDeref(cm.ModelType),
		SourceRunID: lmDeref(cm.SourceRunID), Status: st, CreationTimestamp: cm.Created,
		LastUpdatedTimestamp: cm.Updated, Tags: cm.Tags, Params: cm.Params,
	}
	for _, x := range cm.Metrics {
		m.Metrics = append(m.Metrics, store.LoggedModelMetric{
			Key: x.Key, Value: lmParseFloat(t, x.Value), Timestamp: x.Timestamp, Step: x.Step, RunID: x.RunID,
			DatasetName: lmDeref(x.DatasetName), DatasetDigest: lmDeref(x.DatasetDigest),
		})
	}
	return m
}

// query turns a corpus case into a request, or reports false when the
// request cannot be expressed in Go.
func (c lmCorpusCase) query() (store.LoggedModelQuery, bool) {
	q := store.LoggedModelQuery{ExperimentIDs: c.ExperimentIDs, Filter: c.Filter, MaxResults: c.MaxResults, PageToken: c.PageToken}
	str := func(m map[string]any, k string) (string, bool) {
		v, ok := m[k]
		if !ok || v == nil {
			return "", true
		}
		s, ok := v.(string)
		return s, ok
	}
	for _, d := range c.Datasets {
		n, ok1 := str(d, "dataset_name")
		g, ok2 := str(d, "dataset_digest")
		if !ok1 || !ok2 {
			return q, false
		}
		q.Datasets = append(q.Datasets, store.LoggedModelDataset{Name: n, Digest: g})
	}
	for _, o := range c.OrderBy {
		f, ok := o["field_name"].(string)
		if !ok {
			return q, false
		}
		ob := store.LoggedModelOrderBy{FieldName: f, Ascending: true}
		if a, ok := o["ascending"]; ok {
			b, ok := a.(bool)
			if !ok {
				return q, false
			}
			ob.Ascending = b
		}
		var ok1, ok2 bool
		ob.DatasetName, ok1 = str(o, "dataset_name")
		ob.DatasetDigest, ok2 = str(o, "dataset_digest")
		if !ok1 || !ok2 {
			return q, false
		}
		q.OrderBy = append(q.OrderBy, ob)
	}
	return q, true
}

// candidates returns what each store's search reads for the experiments.
func lmCandidates(sem LoggedModelSemantics, models []*store.LoggedModel, expIDs []string) []*store.LoggedModel {
	var out []*store.LoggedModel
	if sem == FileLoggedModels {
		for _, id := range expIDs {
			for _, m := range models {
				if m.ExperimentID == id {
					out = append(out, m)
				}
			}
		}
		return out
	}
	for _, m := range models {
		if slices.Contains(expIDs, m.ExperimentID) {
			out = append(out, m)
		}
	}
	return out
}

func lmRunSearch(sem LoggedModelSemantics, models []*store.LoggedModel, q store.LoggedModelQuery, onePage bool) (lmSearchResult, error) {
	cands := lmCandidates(sem, models, q.ExperimentIDs)
	res := lmSearchResult{IDs: []string{}}
	first := true
	for range 100 {
		page, err := sem.Search(cands, q)
		if err != nil {
			return res, err
		}
		for _, m := range page.Models {
			res.IDs = append(res.IDs, m.ModelID)
		}
		res.Pages = append(res.Pages, len(page.Models))
		if first {
			res.Token, first = page.NextPageToken, false
		}
		if page.NextPageToken == "" || onePage {
			break
		}
		q.PageToken = page.NextPageToken
	}
	return res, nil
}

var lmSetRe = regexp.MustCompile(`\{'[^{}]*'\}`)

// lmNormMessage sorts the items of Python set literals in a message.
func lmNormMessage(s string) string {
	return lmSetRe.ReplaceAllStringFunc(s, func(set string) string {
		items := strings.Split(set[1:len(set)-1], ", ")
		sort.Strings(items)
		return "{" + strings.Join(items, ", ") + "}"
	})
}

// lmApproxMessages are messages that quote a Python library's own error
// text, compared up to this prefix.
var lmApproxMessages = []string{"Invalid page token: ", "(sqlite3.ProgrammingError) Error binding parameter"}

func lmErrKind(err error) string {
	if errors.Is(err, store.ErrInvalidParameter) {
		return "invalid"
	}
	return "internal"
}

// checkLMAnswer compares Go's result or error with MLflow's answer.
func checkLMAnswer(want lmCorpusAnswer, got any, err error, names map[string]string) string {
	if want.Error != nil {
		if err == nil {
			return fmt.Sprintf("got %v; MLflow raised %s %q", got, want.Error.kind(), want.Error.Message)
		}
		if k := lmErrKind(err); k != want.Error.kind() {
			return fmt.Sprintf("got %s error %q; MLflow raised %s %q", k, err, want.Error.kind(), want.Error.Message)
		}
		if want.Error.kind() != "invalid" {
			return ""
		}
		g, w := lmNormMessage(err.Error()), lmNormMessage(want.Error.Message)
		for _, p := range lmApproxMessages {
			if strings.HasPrefix(w, p) {
				g, w = g[:min(len(g), len(p))], p
			}
		}
		if g != w {
			return fmt.Sprintf("message %q; MLflow %q", err.Error(), want.Error.Message)
		}
		return ""
	}
	if err != nil {
		return fmt.Sprintf("got error %q; MLflow answered %s", err, want.OK)
	}
	return ""
}

func lmNames(ids []string, names map[string]string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = names[id]
	}
	return strings.Join(out, ",")
}

func TestLoggedModelParity(t *testing.T) {
	c := loadLMCorpus(t)
	stores := []struct {
		sem    LoggedModelSemantics
		models []*store.LoggedModel
	}{{FileLoggedModels, nil}, {SQLLoggedModels, nil}}
	names := map[string]string{}
	for _, cm := range c.FileModels {
		stores[0].models = append(stores[0].models, cm.model(t))
		names[cm.ModelID] = cm.Name
	}
	for _, cm := range c.SQLModels {
		stores[1].models = append(stores[1].models, cm.model(t))
	}
	t.Run("parse", func(t *testing.T) {
		for _, pc := range c.ParseCases {
			fc, ferr := FileLoggedModels.ParseFilter(pc.Filter)
			if msg := checkLMAnswer(pc.File, "clauses", ferr, names); msg != "" {
				t.Errorf("file parse %q: %s", pc.Filter, msg)
			} else if ferr == nil {
				checkLMClauses(t, "file", pc.Filter, pc.File.OK, fc)
			}
			sc, serr := parseLMFilterSQLSyntax(pc.Filter)
			if msg := checkLMAnswer(pc.SQL, "clauses", serr, names); msg != "" {
				t.Errorf("sql parse %q: %s", pc.Filter, msg)
			} else if serr == nil {
				checkLMClauses(t, "sql", pc.Filter, pc.SQL.OK, sc)
			}
		}
	})
	checked := 0
	for _, st := range stores {
		t.Run(st.sem.String(), func(t *testing.T) {
			for i, sc := range c.SearchCases {
				q, ok := sc.query()
				if !ok {
					t.Fatalf("case %d cannot be expressed in Go: %+v", i, sc)
				}
				want := sc.File
				if st.sem == SQLLoggedModels {
					want = sc.SQL
				}
				desc := fmt.Sprintf("case %d %+v", i, q)
				got, err := lmRunSearch(st.sem, st.models, q, sc.OnePage)
				if msg := checkLMAnswer(want, lmNames(got.IDs, names), err, names); msg != "" {
					t.Errorf("%s: %s", desc, msg)
					continue
				}
				if want.Error != nil {
					checked++
					continue
				}
				var w lmSearchResult
				if err := json.Unmarshal(want.OK, &w); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.IDs, w.IDs) {
					t.Errorf("%s:\n got  %s\n want %s", desc, lmNames(got.IDs, names), lmNames(w.IDs, names))
					continue
				}
				if !slices.Equal(got.Pages, w.Pages) {
					t.Errorf("%s: pages %v, want %v", desc, got.Pages, w.Pages)
				}
				// MLflow's SQL token embeds order_by as the caller passed
				// it; mlrun's uses the REST handler's form.
				if (st.sem == FileLoggedModels || len(sc.OrderBy) == 0) && got.Token != w.Token {
					t.Errorf("%s: token %q, want %q", desc, got.Token, w.Token)
				}
				checked++
			}
		})
	}
	t.Logf("checked %d answers, %d parse cases", checked, len(c.ParseCases))
	if checked < 2*len(c.SearchCases)-10 {
		t.Errorf("checked %d of %d answers", checked, 2*len(c.SearchCases))
	}
}

// checkLMClauses compares parsed clauses with the parser's output in the
// corpus: entity, key, comparator, and string values.
func checkLMClauses(t *testing.T, store, filter string, raw json.RawMessage, got []LoggedModelClause) {
	t.Helper()
	var want []struct {
		Type, Key, Comparator, Value string
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%s parse %q: %d clauses, MLflow %d", store, filter, len(got), len(want))
		return
	}
	entity := map[string]string{"attribute": "attribute", "metric": "metric", "parameter": "param", "tag": "tag",
		"dataset": "dataset", "attributes": "attribute", "metrics": "metric", "params": "param", "tags": "tag"}
	for i, w := range want {
		g := got[i]
		if entity[w.Type] != g.Entity || w.Key != g.Key || strings.ToUpper(w.Comparator) != g.Op {
			t.Errorf("%s parse %q clause %d: %s %q %s; MLflow %s %q %s", store, filter, i, g.Entity, g.Key, g.Op, w.Type, w.Key, w.Comparator)
		}
		if g.Entity != "metric" && !g.numeric && !g.isList && (strings.HasPrefix(w.Value, "'") || strings.HasPrefix(w.Value, `"`)) {
			if got := pysql.Repr(g.Str); got != w.Value {
				t.Errorf("%s parse %q clause %d: value %s; MLflow %s", store, filter, i, got, w.Value)
			}
		}
	}
}
