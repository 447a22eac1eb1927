package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// This file is search_logged_models as MLflow 3.17.2's SQL store runs it
// (SqlAlchemyStore.search_logged_models, _apply_filter_string_datasets_-
// search_logged_models, _apply_order_by_search_logged_models), translated
// to the same SQL, so that SQLite evaluates it exactly as for MLflow:
//
//   - an attribute clause compares the logged_models column (status is
//     the integer column, so status = 'READY' matches nothing and
//     status = '2' matches READY models; a NULL model_type or
//     source_run_id matches no comparison, != included);
//   - metrics.<key> matches a model with ANY point of the key satisfying
//     the comparison (on one of the search's datasets, if it names some;
//     without a metric clause, datasets keep the models with some point on
//     one of them); params.<key> and tags.<key> compare the value;
//   - LIKE is case-sensitive and ILIKE folds ASCII only (likeSQL);
//   - deleted models and other experiments are left out;
//   - order_by entries sort NULLs last; metrics.<key> sorts by the point
//     with the latest timestamp (then the largest step, then the smallest
//     run id), among the points of its dataset name and digest if given; then creation_timestamp DESC and model_id ASC unless given;
//   - max_results 0 means 100, and the page token is MLflow's
//     (search.NewLoggedModelPageToken, search.ParseLoggedModelPageToken:
//     base64 of JSON with the offset and the experiment ids, filter and
//     order_by it was made for, which must match the request's).
//
// The filter is parsed by search.SQLLoggedModels.ParseFilter, MLflow's SQL
// store grammar (entities attributes, metrics, params, tags; IN and NOT
// IN lists; any logged_models column; errors MLflow raises as internal
// errors keep that code).

// lmAttrColumns maps the attributes a filter or order_by may name to their
// logged_models columns (SqlLoggedModel.ALIASES resolved).
var lmAttrColumns = map[string]string{
	"name": "name", "model_id": "model_id", "model_type": "model_type", "status": "status",
	"source_run_id":      "source_run_id",
	"creation_timestamp": "creation_timestamp_ms", "creation_time": "creation_timestamp_ms",
	"last_updated_timestamp": "last_updated_timestamp_ms", "last_updated_time": "last_updated_timestamp_ms",
}

// lmNumericColumns are the columns compared as numbers (SqlLoggedModel.is_numeric).
var lmNumericColumns = []string{"creation_timestamp_ms", "last_updated_timestamp_ms"}

// lmNumericOps are the comparators written as SQL operators.
var lmNumericOps = []string{"=", "!=", "<", "<=", ">", ">="}

// lmQuery accumulates the SQL of a logged model search.
type lmQuery struct {
	joins    []string
	joinArgs []any
	where    []string
	args     []any
	order    []string
}

// datasetCondition is the SQL condition on logged_model_metrics of a
// search's datasets (a point on any of them; a dataset without a digest
// matches any digest), and its arguments; "" when there are none.
func datasetCondition(datasets []store.LoggedModelDataset) (string, []any) {
	var conds []string
	var args []any
	for _, d := range datasets {
		if d.Digest == "" {
			conds = append(conds, "dataset_name = ?")
			args = append(args, d.Name)
			continue
		}
		conds = append(conds, "(dataset_name = ? AND dataset_digest = ?)")
		args = append(args, d.Name, d.Digest)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// filter adds the WHERE conditions of a filter parsed by
// search.SQLLoggedModels.ParseFilter (which checks entities, keys,
// comparators and values as MLflow's parse_filter_string does) and of the
// search's datasets: a metric clause then needs a matching point on one of
// them, and without a metric clause a model needs some point on one.
func (q *lmQuery) filter(clauses []search.LoggedModelClause, datasets []store.LoggedModelDataset) error {
	dsCond, dsArgs := datasetCondition(datasets)
	hasMetric := false
	for _, c := range clauses {
		var col, table, keyCol string
		switch c.Entity {
		case "attribute":
			col = "lm." + c.Column
		case "metric":
			col, table, keyCol = "metric_value", "logged_model_metrics", "metric_name"
		case "param":
			col, table, keyCol = "param_value", "logged_model_params", "param_key"
		case "tag":
			col, table, keyCol = "tag_value", "logged_model_tags", "tag_key"
		default:
			return store.Invalidf("Invalid entity type: '%s'. Expected one of ['attributes', 'metrics', 'params', 'tags'].", c.Entity)
		}
		cond, args, err := lmCondition(c, col)
		if err != nil {
			return err
		}
		if c.Entity == "metric" && dsCond != "" {
			cond += " AND " + dsCond
			args = append(args, dsArgs...)
		}
		hasMetric = hasMetric || c.Entity == "metric"
		if table != "" {
			cond = "lm.model_id IN (SELECT model_id FROM " + table + " WHERE " + keyCol + " = ? AND " + cond + ")"
			args = append([]any{c.Key}, args...)
		}
		q.where = append(q.where, cond)
		q.args = append(q.args, args...)
	}
	if dsCond != "" && !hasMetric {
		q.where = append(q.where, "lm.model_id IN (SELECT model_id FROM logged_model_metrics WHERE "+dsCond+")")
		q.args = append(q.args, dsArgs...)
	}
	return nil
}

// lmCondition returns the SQL of one comparison on col, and its arguments.
func lmCondition(c search.LoggedModelClause, col string) (string, []any, error) {
	numeric := c.Entity == "metric" || slices.Contains(lmNumericColumns, c.Column)
	switch {
	case c.Op == "IN" || c.Op == "NOT IN":
		args := make([]any, len(c.List))
		for i, v := range c.List {
			args[i] = v
		}
		return col + " " + c.Op + " (" + placeholders(len(args)) + ")", args, nil
	case c.Op == "LIKE" || c.Op == "ILIKE":
		cond, arg := likeSQL(col, c.Str, c.Op == "ILIKE")
		return cond, []any{arg}, nil
	case !slices.Contains(lmNumericOps, c.Op):
		return "", nil, store.Invalidf("Invalid comparison operator for %s.%s: '%s'.", c.Entity, c.Key, c.Op)
	case numeric:
		return col + " " + c.Op + " ?", []any{c.Num}, nil
	}
	return col + " " + c.Op + " ?", []any{c.Str}, nil
}

// orderBy adds the ORDER BY terms (and the joins metric orders need).
func (q *lmQuery) orderBy(orderBy []store.LoggedModelOrderBy) error {
	hasCreation, hasID := false, false
	for i, o := range orderBy {
		dir := " DESC"
		if o.Ascending {
			dir = " ASC"
		}
		key, isMetric := strings.CutPrefix(o.FieldName, "metrics.")
		if !isMetric {
			col, ok := lmAttrColumns[o.FieldName]
			if !ok || strings.Contains(o.FieldName, ".") {
				return store.Invalidf("Invalid order by field name: %s", o.FieldName)
			}
			hasCreation = hasCreation || col == "creation_timestamp_ms"
			hasID = hasID || col == "model_id"
			q.order = append(q.order, "CASE WHEN lm."+col+" IS NULL THEN 1 ELSE 0 END ASC", "lm."+col+dir)
			continue
		}
		alias := "o" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		where := "metric_name = ?"
		q.joinArgs = append(q.joinArgs, key)
		if o.DatasetName != "" {
			where += " AND dataset_name = ?"
			q.joinArgs = append(q.joinArgs, o.DatasetName)
		}
		if o.DatasetDigest != "" {
			where += " AND dataset_digest = ?"
			q.joinArgs = append(q.joinArgs, o.DatasetDigest)
		}
		q.joins = append(q.joins, "LEFT OUTER JOIN (SELECT model_id, metric_value FROM (SELECT model_id, metric_value, "+
			"row_number() OVER (PARTITION BY model_id, metric_name ORDER BY metric_timestamp_ms DESC, metric_step DESC, run_id ASC) AS row_num "+
			"FROM logged_model_metrics WHERE "+where+") WHERE row_num = 1) AS "+alias+" ON "+alias+".model_id = lm.model_id")
		q.order = append(q.order, "CASE WHEN "+alias+".metric_value IS NULL THEN 1 ELSE 0 END ASC", alias+".metric_value"+dir)
	}
	if !hasCreation {
		q.order = append(q.order, "lm.creation_timestamp_ms DESC")
	}
	if !hasID {
		q.order = append(q.order, "lm.model_id ASC")
	}
	return nil
}

// SearchLoggedModels implements store.LoggedModels with MLflow's SQL store
// semantics (see the top of this file).
func (s *Store) SearchLoggedModels(ctx context.Context, q store.LoggedModelQuery) (*store.LoggedModelPage, error) {
	if err := s.enterLM(ctx, false); err != nil {
		return nil, err
	}
	defer s.leave()
	var lq lmQuery
	lq.where = []string{"lm.lifecycle_stage != 'deleted'"}
	exps := make([]any, 0, len(q.ExperimentIDs))
	for _, id := range q.ExperimentIDs {
		n, err := parseExperimentID(id)
		if err != nil {
			return nil, err
		}
		exps = append(exps, n)
	}
	lq.where = append(lq.where, "lm.experiment_id IN ("+placeholders(len(exps))+")")
	lq.args = append(lq.args, exps...)
	offset, err := search.ParseLoggedModelPageToken(q)
	if err != nil {
		return nil, err
	}
	clauses, err := search.SQLLoggedModels.ParseFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	if err := lq.filter(clauses, q.Datasets); err != nil {
		return nil, err
	}
	if err := lq.orderBy(q.OrderBy); err != nil {
		return nil, err
	}
	if q.MaxResults < 0 {
		return nil, store.Invalidf("Invalid value for max_results: %d", q.MaxResults)
	}
	size := q.MaxResults
	if size == 0 {
		size = store.DefaultLoggedModelMaxResults
	}
	query := "SELECT " + prefixColumns("lm.", lmColumns) + " FROM logged_models AS lm " + strings.Join(lq.joins, " ") +
		" WHERE " + strings.Join(lq.where, " AND ") + " ORDER BY " + strings.Join(lq.order, ", ") + " LIMIT ? OFFSET ?"
	args := append(append(slices.Clone(lq.joinArgs), lq.args...), size+1, max(offset, 0))
	page := &store.LoggedModelPage{}
	err = s.read(ctx, "search logged models", func(tx *sql.Tx) error {
		page.Models = nil
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		err = eachRow(rows, func() error {
			m, err := scanLoggedModel(rows)
			if err == nil {
				page.Models = append(page.Models, m)
			}
			return err
		})
		if err != nil || len(page.Models) == 0 {
			return err
		}
		if len(page.Models) > size {
			page.Models = page.Models[:size]
			page.NextPageToken = search.NewLoggedModelPageToken(q, offset+size)
		}
		return s.loadModelData(ctx, tx, page.Models)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
