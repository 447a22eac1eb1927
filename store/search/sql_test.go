package search

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	_ "modernc.org/sqlite"
)

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
func loadSQLite(t *testing.T, c *corpus) *sql.DB {
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
			v := parseCorpusFloat(m.Value)
			isNaN := math.IsNaN(v)
			if isNaN {
				v = 0
			}
			exec(`INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)`, m.Key, clampInf(v), m.Timestamp, m.Step, isNaN, r.RunID)
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

// TestSQLTranslation runs every successful search_runs case of the corpus
// as SQL (RunSearch.SQL) on SQLite and checks it returns MLflow's answer.
func TestSQLTranslation(t *testing.T) {
	c := loadCorpus(t, targetVersion)
	db := loadSQLite(t, c)
	var checked int
	for _, rc := range c.RunCases {
		want := answerOutcome(rc.SQL)
		if want.kind != "" || rc.MaxResults == 0 {
			continue
		}
		q := store.RunQuery{ExperimentIDs: rc.ExperimentIDs, Filter: rc.Filter, OrderBy: rc.OrderBy, MaxResults: rc.MaxResults, ViewType: viewTypes[rc.View]}
		if rc.PageToken != nil {
			q.PageToken = *rc.PageToken
		}
		if len(q.ExperimentIDs) == 0 {
			continue
		}
		s, err := NewRunSearch(q)
		if err != nil {
			t.Errorf("%s: %v", describeRunCase(rc), err)
			continue
		}
		query, args := s.SQL()
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Errorf("%s: %s: %v", describeRunCase(rc), query, err)
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
			next = NewPageToken(s.Offset + s.MaxResults)
		}
		if ids == nil {
			ids = []string{}
		}
		checked++
		if !slices.Equal(ids, want.ids) || next != want.next {
			t.Errorf("%s\n  sql:  %s %v\n  got:  %q next=%q\n  want: %v", describeRunCase(rc), query, args, ids, next, want)
		}
	}
	t.Logf("%d search_runs cases checked through SQL", checked)
}

func TestExperimentSQLTranslation(t *testing.T) {
	c := loadCorpus(t, targetVersion)
	db := loadSQLite(t, c)
	var checked int
	for _, ec := range c.ExperimentCases {
		want := answerOutcome(ec.SQL)
		if want.kind != "" || ec.PageToken != nil || ec.MaxResults != 1000 {
			continue
		}
		f, err := ParseExperimentFilter(ec.Filter)
		if err != nil {
			t.Fatal(err)
		}
		o, err := ParseExperimentOrderBy(ec.OrderBy)
		if err != nil {
			t.Fatal(err)
		}
		where, args := ExperimentFilterSQL(f)
		stage := map[string]string{"active": "lifecycle_stage = 'active'", "deleted": "lifecycle_stage = 'deleted'", "all": "1"}[ec.View]
		query := "SELECT experiment_id FROM experiments WHERE " + stage + " AND (" + where + ") ORDER BY " + ExperimentOrderSQL(o)
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		ids := []string{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		rows.Close()
		checked++
		if !slices.Equal(ids, want.ids) {
			t.Errorf("filter=%q order_by=%q\n  sql:  %s\n  got:  %q\n  want: %v", ec.Filter, ec.OrderBy, query, ids, want)
		}
	}
	t.Logf("%d search_experiments cases checked through SQL", checked)
}
