package sqlstore

import (
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// This file translates searches parsed by package store/search into SQL
// over MLflow's SQLite schema (tables experiments, experiment_tags, runs,
// tags, params, latest_metrics, datasets, inputs, input_tags), so that
// SQLite answers them as [search.MatchRun], [search.RunOrder.Compare],
// [search.MatchExperiment] and [search.ExperimentOrder.Compare] do in
// memory for the file store. User input never reaches the SQL text: every
// key and value is a ? placeholder with its argument in args.
//
// The translation reproduces MLflow's SQL store without depending on the
// connection's settings: LIKE is written as GLOB on a converted pattern,
// which is case-sensitive whatever PRAGMA case_sensitive_like says, and
// ILIKE as lower(column) GLOB the ASCII-lower-cased pattern (SQLite's
// lower() folds ASCII only, as MLflow's ILIKE does on SQLite). It expects
// the data as MLflow's SQL store writes it: NaN metrics as value 0 with
// is_nan = 1, ±Inf as ±1.7976931348623157e308.

// sqlBuilder accumulates SQL text and its arguments.
type sqlBuilder struct {
	b    strings.Builder
	args []any
	n    int // counter for aliases
}

func (s *sqlBuilder) write(parts ...string) {
	for _, p := range parts {
		s.b.WriteString(p)
	}
}

func (s *sqlBuilder) arg(v any) string {
	s.args = append(s.args, v)
	return "?"
}

func (s *sqlBuilder) alias(prefix string) string {
	s.n++
	return prefix + strconv.Itoa(s.n)
}

// likeSQL returns an SQLite condition on col equivalent to "col LIKE
// pattern" (fold false) or "col ILIKE pattern" (fold true) in MLflow's SQL
// store on SQLite, and its one argument: LIKE is case-sensitive, ILIKE
// compares lower(col) with the lower-cased pattern, folding ASCII only. It is
// written as GLOB, so it does not depend on PRAGMA case_sensitive_like.
func likeSQL(col, pattern string, fold bool) (cond string, arg any) {
	if fold {
		return "lower(" + col + ") GLOB ?", likeToGlob(search.LowerASCII(pattern))
	}
	return col + " GLOB ?", likeToGlob(pattern)
}

// likeToGlob converts a LIKE pattern (no escape character) to a GLOB
// pattern with the same meaning, case-sensitively.
func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*':
			b.WriteString("[*]")
		case '?':
			b.WriteString("[?]")
		case '[':
			b.WriteString("[[]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stringCond writes "<col> <op> <value>" for a string comparison.
func (s *sqlBuilder) stringCond(col string, c *search.Clause) {
	switch c.Op {
	case search.Eq, search.Ne:
		s.write(col, " ", opSQL(c.Op), " ", s.arg(c.Value.Str))
	case search.Like, search.ILike:
		cond, arg := likeSQL(col, c.Value.Str, c.Op == search.ILike)
		s.args = append(s.args, arg)
		s.write(cond)
	case search.In, search.NotIn:
		s.write(col, " ", opSQL(c.Op), " (")
		for i, v := range c.Value.List {
			if i > 0 {
				s.write(", ")
			}
			s.write(s.arg(v))
		}
		s.write(")")
	}
}

// opSQL returns the SQL text of a comparison operator; only these fixed
// strings ever reach the query.
func opSQL(op search.Op) string {
	switch op {
	case search.Eq:
		return "="
	case search.Ne:
		return "!="
	case search.Lt:
		return "<"
	case search.Le:
		return "<="
	case search.Gt:
		return ">"
	case search.Ge:
		return ">="
	case search.In:
		return "IN"
	case search.NotIn:
		return "NOT IN"
	}
	panic("sqlstore: no SQL for operator " + string(op))
}

// Columns that order_by and attribute filters may name, by MLflow key.
var (
	searchRunColumns = map[string]string{
		"run_id": "run_uuid", "run_name": "name", "status": "status", "user_id": "user_id",
		"artifact_uri": "artifact_uri", "start_time": "start_time", "end_time": "end_time",
	}
	searchExperimentColumns = map[string]string{
		"name": "name", "experiment_id": "experiment_id", "creation_time": "creation_time",
		"last_update_time": "last_update_time",
	}
	searchDatasetColumns = map[string]string{"name": "name", "digest": "digest"}
)

func column(m map[string]string, key string) string {
	c, ok := m[key]
	if !ok {
		panic("sqlstore: no column for key " + key)
	}
	return c
}

func numArg(v search.Value) any {
	if v.IsInt {
		return v.Int
	}
	return v.Num
}

// runFilter writes a condition on the runs table (aliased "runs") that
// holds exactly for the runs [search.MatchRun] accepts. An empty filter
// gives "1".
func (s *sqlBuilder) runFilter(f *search.Filter) {
	if f == nil || len(f.Clauses) == 0 {
		s.write("1")
		return
	}
	for i := range f.Clauses {
		if i > 0 {
			s.write(" AND ")
		}
		s.write("(")
		s.runClause(&f.Clauses[i])
		s.write(")")
	}
}

func (s *sqlBuilder) runClause(c *search.Clause) {
	switch c.Entity {
	case search.Metric:
		a := s.alias("m")
		s.write("EXISTS (SELECT 1 FROM latest_metrics ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(c.Key), " AND ")
		if c.Op == search.Ne {
			s.write("(", a, ".value != ", s.arg(c.Value.Num), " OR ", a, ".is_nan = 1))")
		} else {
			s.write(a, ".value ", opSQL(c.Op), " ", s.arg(c.Value.Num), " AND ", a, ".is_nan = 0)")
		}
	case search.Param, search.Tag:
		table := "params"
		if c.Entity == search.Tag {
			table = "tags"
		}
		a := s.alias("k")
		switch c.Op {
		case search.IsNull:
			s.write("NOT ")
			fallthrough
		case search.IsNotNull:
			s.write("EXISTS (SELECT 1 FROM ", table, " ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(c.Key), ")")
			return
		}
		s.write("EXISTS (SELECT 1 FROM ", table, " ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(c.Key), " AND ")
		s.stringCond(a+".value", c)
		s.write(")")
	case search.Dataset:
		i, d := s.alias("i"), s.alias("d")
		s.write("EXISTS (SELECT 1 FROM inputs ", i, " JOIN datasets ", d, " ON ", d, ".dataset_uuid = ", i, ".source_id")
		var col string
		if c.Key == "context" {
			t := s.alias("t")
			s.write(" JOIN input_tags ", t, " ON ", t, ".input_uuid = ", i, ".input_uuid AND ", t, ".name = ", s.arg(store.DatasetContextTag))
			col = t + ".value"
		} else {
			col = d + "." + column(searchDatasetColumns, c.Key)
		}
		s.write(" WHERE ", i, ".destination_id = runs.run_uuid AND ")
		s.stringCond(col, c)
		s.write(")")
	case search.Attribute:
		switch c.Key {
		case "start_time", "end_time":
			s.write("runs.", column(searchRunColumns, c.Key), " ", opSQL(c.Op), " ", s.arg(numArg(c.Value)))
		case "run_name":
			a := s.alias("k")
			s.write("EXISTS (SELECT 1 FROM tags ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(store.RunNameTag), " AND ")
			s.stringCond(a+".value", c)
			s.write(")")
		default:
			s.stringCond("runs."+column(searchRunColumns, c.Key), c)
		}
	}
}

// runOrderSQL returns what ordering runs as [search.RunOrder.Compare] does
// takes: LEFT JOIN clauses to add after "FROM runs", and the ORDER BY list,
// with the arguments of each (joins come first in the query, so their
// arguments do too).
func runOrderSQL(o *search.RunOrder) (joins string, joinArgs []any, orderBy string) {
	s := &sqlBuilder{}
	var terms []string
	if o != nil {
		for _, k := range o.Keys {
			dir := ""
			if !k.Ascending {
				dir = " DESC"
			}
			switch k.Entity {
			case search.Metric, search.Param, search.Tag:
				table := map[search.Entity]string{search.Metric: "latest_metrics", search.Param: "params", search.Tag: "tags"}[k.Entity]
				a := s.alias("o")
				s.write(" LEFT JOIN ", table, " ", a, " ON ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(k.Key))
				if k.Entity == search.Metric {
					terms = append(terms, "CASE WHEN "+a+".is_nan = 1 THEN 1 WHEN "+a+".value IS NULL THEN 2 ELSE 0 END")
				} else {
					terms = append(terms, "CASE WHEN "+a+".value IS NULL THEN 1 ELSE 0 END")
				}
				terms = append(terms, a+".value"+dir)
			default:
				col := "runs." + column(searchRunColumns, k.Key)
				terms = append(terms, "CASE WHEN "+col+" IS NULL THEN 1 ELSE 0 END", col+dir)
			}
		}
	}
	if o == nil || !o.OrdersStartTime() {
		terms = append(terms, "runs.start_time DESC")
	}
	terms = append(terms, "runs.run_uuid")
	return s.b.String(), s.args, strings.Join(terms, ", ")
}

// runSearchSQL returns a query selecting the run_uuid of the runs of the
// page s asks for and one more (to tell whether a next page exists), in
// order, with its arguments: the experiments, the view, the filter, the
// order, then LIMIT MaxResults+1 OFFSET Offset.
func runSearchSQL(s *search.RunSearch) (string, []any) {
	joins, args, orderBy := runOrderSQL(s.Order)
	q := &sqlBuilder{args: args}
	q.write("SELECT runs.run_uuid FROM runs", joins, " WHERE ")
	if len(s.ExperimentIDs) > 0 {
		q.write("runs.experiment_id IN (")
		for i, id := range s.ExperimentIDs {
			if i > 0 {
				q.write(", ")
			}
			if n, err := strconv.ParseInt(id, 10, 64); err == nil {
				q.write(q.arg(n))
			} else {
				q.write(q.arg(id))
			}
		}
		q.write(") AND ")
	}
	switch s.ViewType {
	case store.DeletedOnly:
		q.write("runs.lifecycle_stage = ", q.arg(store.LifecycleDeleted), " AND ")
	case store.AllViews:
	default:
		q.write("runs.lifecycle_stage = ", q.arg(store.LifecycleActive), " AND ")
	}
	q.write("(")
	q.runFilter(s.Filter)
	q.write(") ORDER BY ", orderBy, " LIMIT ", q.arg(s.MaxResults+1), " OFFSET ", q.arg(max(s.Offset, 0)))
	return q.b.String(), q.args
}

// experimentFilterSQL returns a condition on the experiments table
// (aliased "experiments") equivalent to [search.MatchExperiment], with its
// arguments.
func experimentFilterSQL(f *search.Filter) (string, []any) {
	s := &sqlBuilder{}
	if f == nil || len(f.Clauses) == 0 {
		return "1", nil
	}
	for i := range f.Clauses {
		c := &f.Clauses[i]
		if i > 0 {
			s.write(" AND ")
		}
		s.write("(")
		switch {
		case c.Entity == search.Tag:
			a := s.alias("k")
			switch c.Op {
			case search.IsNull, search.IsNotNull:
				if c.Op == search.IsNull {
					s.write("NOT ")
				}
				s.write("EXISTS (SELECT 1 FROM experiment_tags ", a, " WHERE ", a, ".experiment_id = experiments.experiment_id AND ", a, ".key = ", s.arg(c.Key), ")")
			default:
				s.write("EXISTS (SELECT 1 FROM experiment_tags ", a, " WHERE ", a, ".experiment_id = experiments.experiment_id AND ", a, ".key = ", s.arg(c.Key), " AND ")
				s.stringCond(a+".value", c)
				s.write(")")
			}
		case c.Key == "experiment_id":
			op := "IN"
			if c.Op == search.Ne || c.Op == search.NotIn {
				op = "NOT IN"
			}
			s.write("experiments.experiment_id ", op, " (")
			for j, id := range c.ExperimentIDs() {
				if j > 0 {
					s.write(", ")
				}
				s.write(s.arg(id))
			}
			s.write(")")
		case c.Key == "name":
			s.stringCond("experiments.name", c)
		default:
			s.write("experiments.", column(searchExperimentColumns, c.Key), " ", opSQL(c.Op), " ", s.arg(numArg(c.Value)))
		}
		s.write(")")
	}
	return s.b.String(), s.args
}

// experimentOrderSQL returns the ORDER BY list for an experiment order.
func experimentOrderSQL(o *search.ExperimentOrder) string {
	terms := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		dir := " ASC"
		if !k.Ascending {
			dir = " DESC"
		}
		terms[i] = "experiments." + column(searchExperimentColumns, k.Key) + dir
	}
	return strings.Join(terms, ", ")
}
