package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// viewStages returns the SQL condition on lifecycle_stage of a view type.
func viewStages(col string, v store.ViewType) (string, []any) {
	switch v {
	case store.DeletedOnly:
		return col + " = ?", []any{store.LifecycleDeleted}
	case store.AllViews:
		return col + " IN (?, ?)", []any{store.LifecycleActive, store.LifecycleDeleted}
	default:
		return col + " = ?", []any{store.LifecycleActive}
	}
}

// SearchRuns lists the runs of the given experiments in the view that
// match the filter, in the order_by order (then start_time DESC, run_id
// ASC, as MLflow), a page at a time; the next page token (base64 of
// {"offset": N}, as MLflow makes it) is set when more runs follow. The
// request is checked and translated to SQL by package store/search, which
// follows MLflow's SQL store: metric filters and orders read
// latest_metrics, run_name filters the mlflow.runName tag, and so on.
// Experiment ids that do not exist match nothing; an id that is not an
// integer is store.ErrInvalidParameter, as in MLflow; no experiment ids
// match no run.
func (s *Store) SearchRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	rs, check := search.NewRunSearch(q)
	if err := s.enter(ctx, check); err != nil {
		return nil, err
	}
	defer s.leave()
	for _, id := range q.ExperimentIDs {
		if _, err := parseExperimentID(id); err != nil {
			return nil, err
		}
	}
	page := &store.RunPage{Runs: []*store.Run{}}
	if len(q.ExperimentIDs) == 0 {
		return page, nil
	}
	query, args := runSearchSQL(rs)
	err := s.read(ctx, "search runs", func(tx *sql.Tx) error {
		var ids []any
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		page.Runs, page.NextPageToken = page.Runs[:0], ""
		if len(ids) > rs.MaxResults {
			ids = ids[:rs.MaxResults]
			page.NextPageToken = search.NewPageToken(rs.Offset + rs.MaxResults)
		}
		if len(ids) == 0 {
			return nil
		}
		byID := make(map[string]*store.Run, len(ids))
		err = inChunks(ids, func(chunk []any) error {
			rows, err := tx.QueryContext(ctx, "SELECT "+runColumns+" FROM runs WHERE run_uuid IN ("+placeholders(len(chunk))+")", chunk...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				info, err := scanRunInfo(rows)
				if err != nil {
					return err
				}
				byID[info.RunID] = &store.Run{Info: *info}
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if r := byID[id.(string)]; r != nil {
				page.Runs = append(page.Runs, r)
			}
		}
		return s.loadRunData(ctx, tx, page.Runs)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// prefixColumns qualifies each of a comma-separated list of columns.
func prefixColumns(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, p := range parts {
		parts[i] = prefix + p
	}
	return strings.Join(parts, ", ")
}

// SearchExperiments lists the experiments in the view that match the
// filter, in the order_by order (by default creation_time DESC, then
// experiment_id ASC, as integers), a page at a time. The request is checked
// and translated to SQL by package store/search.
func (s *Store) SearchExperiments(ctx context.Context, q store.ExperimentQuery) (*store.ExperimentPage, error) {
	es, check := search.NewExperimentSearch(q)
	if err := s.enter(ctx, check); err != nil {
		return nil, err
	}
	defer s.leave()
	stageCond, args := viewStages("experiments.lifecycle_stage", q.ViewType)
	query := "SELECT " + prefixColumns("experiments.", experimentColumns) + " FROM experiments WHERE " + stageCond
	if s.features.experimentWorkspace {
		query += " AND experiments.workspace = ?"
		args = append(args, defaultWorkspace)
	}
	cond, condArgs := experimentFilterSQL(es.Filter)
	query += " AND (" + cond + ") ORDER BY " + experimentOrderSQL(es.Order) + " LIMIT ? OFFSET ?"
	args = append(append(args, condArgs...), es.MaxResults+1, max(es.Offset, 0))
	page := &store.ExperimentPage{}
	err := s.read(ctx, "search experiments", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		page.Experiments = []*store.Experiment{}
		for rows.Next() {
			e, err := scanExperiment(rows)
			if err != nil {
				return err
			}
			page.Experiments = append(page.Experiments, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		page.NextPageToken = ""
		if len(page.Experiments) > es.MaxResults {
			page.Experiments = page.Experiments[:es.MaxResults]
			page.NextPageToken = search.NewPageToken(es.Offset + es.MaxResults)
		}
		byID := make(map[int64]*store.Experiment, len(page.Experiments))
		for _, e := range page.Experiments {
			n, _ := strconv.ParseInt(e.ID, 10, 64)
			byID[n] = e
		}
		return s.loadExperimentTags(ctx, tx, byID)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
