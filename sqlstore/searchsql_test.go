package sqlstore

// These tests run the search corpus recorded with MLflow
// (testdata/search/corpus-<version>.json, see store/search's parity tests)
// through the SQL translation of searchsql.go, on a database holding the
// corpus as MLflow's SQL store stores it.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// searchCorpusVersion is the MLflow version whose answers the translation
// must give.
const searchCorpusVersion = "3.17.2"

// searchCorpus is the part of a search corpus these tests read.
type searchCorpus struct {
	Experiments []struct {
		ID             string            `json:"experiment_id"`
		Name           string            `json:"name"`
		LifecycleStage string            `json:"lifecycle_stage"`
		CreationTime   int64             `json:"creation_time"`
		LastUpdateTime int64             `json:"last_update_time"`
		Tags           map[string]string `json:"tags"`
	} `json:"experiments"`
	Runs []struct {
		RunID          string            `json:"run_id"`
		ExperimentID   string            `json:"experiment_id"`
		RunName        string            `json:"run_name"`
		UserID         string            `json:"user_id"`
		Status         string            `json:"status"`
		StartTime      int64             `json:"start_time"`
		EndTime        *int64            `json:"end_time"`
		ArtifactURI    string            `json:"artifact_uri"`
		LifecycleStage string            `json:"lifecycle_stage"`
		Params         map[string]string `json:"params"`
		Tags           map[string]string `json:"tags"`
		Metrics        []struct {
			Key       string `json:"key"`
			Value     string `json:"value"` // a number, NaN, Infinity or -Infinity
			Timestamp int64  `json:"timestamp"`
			Step      int64  `json:"step"`
		} `json:"metrics"`
		Inputs []struct {
			Name   string            `json:"name"`
			Digest string            `json:"digest"`
			Tags   map[string]string `json:"tags"`
		} `json:"inputs"`
	} `json:"runs"`
	RunCases []struct {
		Filter        string             `json:"filter"`
		OrderBy       []string           `json:"order_by"`
		View          string             `json:"view"`
		ExperimentIDs []string           `json:"experiment_ids"`
		MaxResults    int                `json:"max_results"`
		PageToken     *string            `json:"page_token"`
		SQL           searchCorpusAnswer `json:"sql"`
	} `json:"run_cases"`
	ExperimentCases []struct {
		Filter     string             `json:"filter"`
		OrderBy    []string           `json:"order_by"`
		View       string             `json:"view"`
		MaxResults int                `json:"max_results"`
		PageToken  *string            `json:"page_token"`
		SQL        searchCorpusAnswer `json:"sql"`
	} `json:"experiment_cases"`
}

// searchCorpusAnswer is MLflow's SQL store's answer to a case: the ids
// found, or an error.
type searchCorpusAnswer struct {
	OK *struct {
		RunIDs        []string `json:"run_ids"`
		ExperimentIDs []string `json:"experiment_ids"`
		NextPageToken string   `json:"next_page_token"`
	} `json:"ok"`
	Error json.RawMessage `json:"error"`
}

var searchViewTypes = map[string]store.ViewType{"active": store.ActiveOnly, "deleted": store.DeletedOnly, "all": store.AllViews}

func loadSearchCorpus(t *testing.T) *searchCorpus {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "search", "corpus-"+searchCorpusVersion+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c searchCorpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// corpusMetric returns a corpus metric value as MLflow's SQL store stores
// it: NaN as 0 with is_nan, ±Inf as ±MaxFloat64.
func corpusMetric(s string) (value float64, isNaN bool) {
	switch s {
	case "NaN":
		return 0, true
	case "Infinity":
		return math.MaxFloat64, false
	case "-Infinity":
		return -math.MaxFloat64, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return v, false
}

// mlflowSchema is the part of MLflow's SQLite schema that search reads,
// with MLflow's column types.
const mlflowSchema = `
CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256), creation_time BIGINT, last_update_time BIGINT, lifecycle_stage VARCHAR(32));
CREATE TABLE experiment_tags (key VARCHAR(250), value VARCHAR(5000), experiment_id INTEGER, PRIMARY KEY (key, experiment_id));
CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), user_id VARCHAR(256), status VARCHAR(9), start_time BIGINT, end_time BIGINT, artifact_uri VARCHAR(200), experiment_id INTEGER, lifecycle_stage VARCHAR(20));
CREATE TABLE tags (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32), PRIMARY KEY (key, run_uuid));
CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32), PRIMARY KEY (key, run_uuid));
CREATE TABLE latest_metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, step BIGINT, is_nan BOOLEAN, run_uuid VARCHAR(32), PRIMARY KEY (key, run_uuid));
CREATE TABLE datasets (dataset_uuid VARCHAR(36), experiment_id INTEGER, name VARCHAR(500), digest VARCHAR(36), PRIMARY KEY (experiment_id, name, digest));
CREATE TABLE inputs (input_uuid VARCHAR(36), source_type VARCHAR(36), source_id VARCHAR(36), destination_type VARCHAR(36), destination_id VARCHAR(36), PRIMARY KEY (source_type, source_id, destination_type, destination_id));
CREATE TABLE input_tags (input_uuid VARCHAR(36), name VARCHAR(255), value VARCHAR(500), PRIMARY KEY (input_uuid, name));
`

// loadSQLite writes the corpus into an in-memory database the way MLflow's
// SQL store stores it (NaN as 0 with is_nan, ±Inf clamped).
func loadSearchCorpusDB(t *testing.T, c *searchCorpus) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(mlflowSchema)
	for _, e := range c.Experiments {
		exec(`INSERT INTO experiments VALUES (?, ?, ?, ?, ?)`, e.ID, e.Name, e.CreationTime, e.LastUpdateTime, e.LifecycleStage)
		for k, v := range e.Tags {
			exec(`INSERT INTO experiment_tags VALUES (?, ?, ?)`, k, v, e.ID)
		}
	}
	datasets := map[string]string{}
	for _, r := range c.Runs {
		exec(`INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.RunID, r.RunName, r.UserID, r.Status, r.StartTime, r.EndTime, r.ArtifactURI, r.ExperimentID, r.LifecycleStage)
		for k, v := range r.Tags {
			exec(`INSERT INTO tags VALUES (?, ?, ?)`, k, v, r.RunID)
		}
		for k, v := range r.Params {
			exec(`INSERT INTO params VALUES (?, ?, ?)`, k, v, r.RunID)
		}
		for _, m := range r.Metrics {
			v, isNaN := corpusMetric(m.Value)
			exec(`INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)`, m.Key, v, m.Timestamp, m.Step, isNaN, r.RunID)
		}
		for i, in := range r.Inputs {
			dk := r.ExperimentID + "/" + in.Name + "/" + in.Digest
			du, ok := datasets[dk]
			if !ok {
				du = fmt.Sprintf("ds%d", len(datasets))
				datasets[dk] = du
				exec(`INSERT INTO datasets VALUES (?, ?, ?, ?)`, du, r.ExperimentID, in.Name, in.Digest)
			}
			iu := fmt.Sprintf("%s-in%d", r.RunID, i)
			exec(`INSERT INTO inputs VALUES (?, 'DATASET', ?, 'RUN', ?)`, iu, du, r.RunID)
			for k, v := range in.Tags {
				exec(`INSERT INTO input_tags VALUES (?, ?, ?)`, iu, k, v)
			}
		}
	}
	return db
}

// TestSearchRunsSQL runs every successful search_runs case of the corpus
// as SQL (runSearchSQL) on SQLite and checks it returns MLflow's answer.
func TestSearchRunsSQL(t *testing.T) {
	c := loadSearchCorpus(t)
	db := loadSearchCorpusDB(t, c)
	var checked int
	for _, rc := range c.RunCases {
		want := rc.SQL.OK
		if want == nil || rc.MaxResults == 0 {
			continue
		}
		q := store.RunQuery{ExperimentIDs: rc.ExperimentIDs, Filter: rc.Filter, OrderBy: rc.OrderBy, MaxResults: rc.MaxResults, ViewType: searchViewTypes[rc.View]}
		if rc.PageToken != nil {
			q.PageToken = *rc.PageToken
		}
		if len(q.ExperimentIDs) == 0 {
			continue
		}
		desc := fmt.Sprintf("filter=%q order_by=%q view=%s exps=%v max=%d token=%q", q.Filter, q.OrderBy, rc.View, q.ExperimentIDs, q.MaxResults, q.PageToken)
		s, err := search.NewRunSearch(q)
		if err != nil {
			t.Errorf("%s: %v", desc, err)
			continue
		}
		query, args := runSearchSQL(s)
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Errorf("%s: %s: %v", desc, query, err)
			continue
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		next := ""
		if len(ids) > s.MaxResults {
			ids = ids[:s.MaxResults]
			next = search.NewPageToken(s.Offset + s.MaxResults)
		}
		checked++
		if !slices.Equal(ids, want.RunIDs) || next != want.NextPageToken {
			t.Errorf("%s\n  sql:  %s %v\n  got:  %q next=%q\n  want: %q next=%q", desc, query, args, ids, next, want.RunIDs, want.NextPageToken)
		}
	}
	t.Logf("%d search_runs cases checked through SQL", checked)
}

// TestSearchExperimentsSQL runs the successful one-page
// search_experiments cases of the corpus as SQL (experimentFilterSQL,
// experimentOrderSQL) on SQLite and checks they return MLflow's answer.
func TestSearchExperimentsSQL(t *testing.T) {
	c := loadSearchCorpus(t)
	db := loadSearchCorpusDB(t, c)
	var checked int
	for _, ec := range c.ExperimentCases {
		want := ec.SQL.OK
		if want == nil || ec.PageToken != nil || ec.MaxResults != 1000 {
			continue
		}
		f, err := search.ParseExperimentFilter(ec.Filter)
		if err != nil {
			t.Fatal(err)
		}
		o, err := search.ParseExperimentOrderBy(ec.OrderBy)
		if err != nil {
			t.Fatal(err)
		}
		where, args := experimentFilterSQL(f)
		stage := map[string]string{"active": "lifecycle_stage = 'active'", "deleted": "lifecycle_stage = 'deleted'", "all": "1"}[ec.View]
		query := "SELECT experiment_id FROM experiments WHERE " + stage + " AND (" + where + ") ORDER BY " + experimentOrderSQL(o)
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		var ids []string
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		rows.Close()
		checked++
		if !slices.Equal(ids, want.ExperimentIDs) {
			t.Errorf("filter=%q order_by=%q\n  sql:  %s\n  got:  %q\n  want: %q", ec.Filter, ec.OrderBy, query, ids, want.ExperimentIDs)
		}
	}
	t.Logf("%d search_experiments cases checked through SQL", checked)
}
