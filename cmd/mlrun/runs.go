package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/mlrun-go/mlrun/internal/pyfloat"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// runJSON is one run in `mlrun runs --json` output.
type runJSON struct {
	RunID          string            `json:"run_id"`
	RunName        string            `json:"run_name"`
	ExperimentID   string            `json:"experiment_id"`
	Status         string            `json:"status"`
	StartTime      int64             `json:"start_time"`
	EndTime        *int64            `json:"end_time"`
	LifecycleStage string            `json:"lifecycle_stage"`
	ArtifactURI    string            `json:"artifact_uri"`
	Params         map[string]string `json:"params"`
	Metrics        map[string]any    `json:"metrics"`
	Tags           map[string]string `json:"tags"`
}

// jsonFloat renders a metric value for JSON as MLflow's REST API does:
// a number, or "NaN", "Infinity", "-Infinity".
func jsonFloat(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return v
}

func toRunJSON(r *store.Run) runJSON {
	out := runJSON{
		RunID: r.Info.RunID, RunName: r.Info.RunName, ExperimentID: r.Info.ExperimentID,
		Status: r.Info.Status.String(), StartTime: r.Info.StartTime, EndTime: r.Info.EndTime,
		LifecycleStage: r.Info.LifecycleStage, ArtifactURI: r.Info.ArtifactURI,
		Params: map[string]string{}, Metrics: map[string]any{}, Tags: map[string]string{},
	}
	for _, p := range r.Data.Params {
		out.Params[p.Key] = p.Value
	}
	for _, m := range r.Data.Metrics {
		out.Metrics[m.Key] = jsonFloat(m.Value)
	}
	for _, t := range r.Data.Tags {
		out.Tags[t.Key] = t.Value
	}
	return out
}

func runRuns(ctx context.Context, cmd *cmdEnv) error {
	fs := cmd.flags()
	uri := trackingURIFlag(fs)
	var experiments, orderBy listFlag
	fs.Var(&experiments, "experiment", "experiment name (repeatable; default: every active experiment)")
	filter := fs.String("filter", "", "MLflow filter string, e.g. \"metrics.rmse < 0.8 and params.alpha = '0.5'\"")
	fs.Var(&orderBy, "order-by", "order-by clause, e.g. \"metrics.rmse ASC\" (repeatable)")
	maxResults := fs.Int("max-results", 0, "print at most N runs (default: all)")
	view := fs.String("view", "active", "which runs: active, deleted or all")
	asJSON := fs.Bool("json", false, "print one JSON array")
	if _, err := cmd.parse(fs, 0, 0); err != nil {
		return err
	}
	vt, err := parseView(cmd.name, *view)
	if err != nil {
		return err
	}
	if *maxResults < 0 {
		return usagef(cmd.name, "--max-results must not be negative")
	}
	cols, err := runColumns(*filter, orderBy)
	if err != nil {
		return err
	}
	c, done, err := openExisting(ctx, *uri)
	if err != nil {
		return err
	}
	defer done()

	var ids []string
	for _, name := range experiments {
		exp, err := c.GetExperimentByName(ctx, name)
		if err != nil {
			return fmt.Errorf("experiment %q: %w", name, err)
		}
		ids = append(ids, exp.ID)
	}
	if len(experiments) == 0 {
		q := store.ExperimentQuery{ViewType: store.ActiveOnly}
		for {
			page, err := c.SearchExperiments(ctx, q)
			if err != nil {
				return err
			}
			for _, e := range page.Experiments {
				ids = append(ids, e.ID)
			}
			if page.NextPageToken == "" {
				break
			}
			q.PageToken = page.NextPageToken
		}
	}

	var runs []*store.Run
	q := store.RunQuery{ExperimentIDs: ids, Filter: *filter, OrderBy: orderBy, ViewType: vt}
	for {
		q.MaxResults = store.DefaultMaxResults
		if *maxResults > 0 {
			q.MaxResults = min(store.MaxResultsLimit, *maxResults-len(runs))
		}
		page, err := c.SearchRuns(ctx, q)
		if err != nil {
			return err
		}
		runs = append(runs, page.Runs...)
		if page.NextPageToken == "" || (*maxResults > 0 && len(runs) >= *maxResults) {
			break
		}
		q.PageToken = page.NextPageToken
	}

	if *asJSON {
		out := make([]runJSON, len(runs))
		for i, r := range runs {
			out[i] = toRunJSON(r)
		}
		enc := json.NewEncoder(cmd.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(cmd.stdout, 0, 4, 2, ' ', 0)
	head := "RUN ID\tNAME\tSTATUS\tEXPERIMENT\tSTART"
	for _, col := range cols {
		head += "\t" + col.String()
	}
	fmt.Fprintln(tw, head)
	for _, r := range runs {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.Info.RunID, r.Info.RunName, r.Info.Status,
			r.Info.ExperimentID, time.UnixMilli(r.Info.StartTime).UTC().Format(time.RFC3339))
		for _, col := range cols {
			line += "\t" + col.value(r)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// column is a param, metric or tag shown in `mlrun runs` text output.
type column struct {
	entity search.Entity
	key    string
}

func (c column) String() string {
	switch c.entity {
	case search.Metric:
		return "metrics." + c.key
	case search.Param:
		return "params." + c.key
	}
	return "tags." + c.key
}

// value returns the run's value of the column, "-" if it has none.
func (c column) value(r *store.Run) string {
	switch c.entity {
	case search.Metric:
		if m, ok := r.Metric(c.key); ok {
			return pyfloat.Repr(m.Value)
		}
	case search.Param:
		if v, ok := r.Param(c.key); ok {
			return v
		}
	default:
		if v, ok := r.Tag(c.key); ok {
			return v
		}
	}
	return "-"
}

// runColumns returns the params, metrics and tags a filter and order-by
// clauses name, in the order they first appear, for the text output.
func runColumns(filter string, orderBy []string) ([]column, error) {
	var cols []column
	add := func(e search.Entity, key string) {
		if e != search.Metric && e != search.Param && e != search.Tag {
			return
		}
		c := column{e, key}
		if !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	if filter != "" {
		f, err := search.ParseRunFilter(filter)
		if err != nil {
			return nil, err
		}
		for _, cl := range f.Clauses {
			add(cl.Entity, cl.Key)
		}
	}
	if len(orderBy) > 0 {
		o, err := search.ParseRunOrderBy(orderBy)
		if err != nil {
			return nil, err
		}
		for _, k := range o.Keys {
			add(k.Entity, k.Key)
		}
	}
	return cols, nil
}
