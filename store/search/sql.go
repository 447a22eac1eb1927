package search

import (
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// This file translates parsed searches into SQL over MLflow's SQLite schema
// (tables runs, tags, params, latest_metrics, datasets, inputs,
// input_tags), for sqlstore. User input never reaches the SQL text: every
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

// cond writes "<col> <op> <value>" for a string comparison.
func (s *sqlBuilder) stringCond(col string, c *Clause) {
	switch c.Op {
	case Eq, Ne:
		s.write(col, " ", opSQL(c.Op), " ", s.arg(c.Value.Str))
	case Like:
		s.write(col, " GLOB ", s.arg(likeToGlob(c.Value.Str)))
	case ILike:
		s.write("lower(", col, ") GLOB ", s.arg(likeToGlob(asciiLower(c.Value.Str))))
	case In, NotIn:
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
func opSQL(op Op) string {
	switch op {
	case Eq:
		return "="
	case Ne:
		return "!="
	case Lt:
		return "<"
	case Le:
		return "<="
	case Gt:
		return ">"
	case Ge:
		return ">="
	case In:
		return "IN"
	case NotIn:
		return "NOT IN"
	}
	panic("search: no SQL for operator " + string(op))
}

// Columns that order_by and attribute filters may name, by MLflow key.
var (
	runColumns = map[string]string{
		"run_id": "run_uuid", "run_name": "name", "status": "status", "user_id": "user_id",
		"artifact_uri": "artifact_uri", "start_time": "start_time", "end_time": "end_time",
	}
	experimentColumns = map[string]string{
		"name": "name", "experiment_id": "experiment_id", "creation_time": "creation_time",
		"last_update_time": "last_update_time",
	}
	datasetColumns = map[string]string{"name": "name", "digest": "digest"}
)

func column(m map[string]string, key string) string {
	c, ok := m[key]
	if !ok {
		panic("search: no column for key " + key)
	}
	return c
}

func numArg(v Value) any {
	if v.IsInt {
		return v.Int
	}
	return v.Num
}

// RunFilterSQL returns a condition on the runs table (aliased "runs") that
// holds exactly for the runs [MatchRun] accepts, with its arguments. An
// empty filter gives "1".
func RunFilterSQL(f *Filter) (string, []any) {
	s := &sqlBuilder{}
	s.runFilter(f)
	return s.b.String(), s.args
}

func (s *sqlBuilder) runFilter(f *Filter) {
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

func (s *sqlBuilder) runClause(c *Clause) {
	switch c.Entity {
	case Metric:
		a := s.alias("m")
		s.write("EXISTS (SELECT 1 FROM latest_metrics ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(c.Key), " AND ")
		if c.Op == Ne {
			s.write("(", a, ".value != ", s.arg(c.Value.Num), " OR ", a, ".is_nan = 1))")
		} else {
			s.write(a, ".value ", opSQL(c.Op), " ", s.arg(c.Value.Num), " AND ", a, ".is_nan = 0)")
		}
	case Param, Tag:
		table := "params"
		if c.Entity == Tag {
			table = "tags"
		}
		a := s.alias("k")
		switch c.Op {
		case IsNull:
			s.write("NOT ")
			fallthrough
		case IsNotNull:
			s.write("EXISTS (SELECT 1 FROM ", table, " ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(c.Key), ")")
			return
		}
		s.write("EXISTS (SELECT 1 FROM ", table, " ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(c.Key), " AND ")
		s.stringCond(a+".value", c)
		s.write(")")
	case Dataset:
		i, d := s.alias("i"), s.alias("d")
		s.write("EXISTS (SELECT 1 FROM inputs ", i, " JOIN datasets ", d, " ON ", d, ".dataset_uuid = ", i, ".source_id")
		var col string
		if c.Key == "context" {
			t := s.alias("t")
			s.write(" JOIN input_tags ", t, " ON ", t, ".input_uuid = ", i, ".input_uuid AND ", t, ".name = ", s.arg(contextTag))
			col = t + ".value"
		} else {
			col = d + "." + column(datasetColumns, c.Key)
		}
		s.write(" WHERE ", i, ".destination_id = runs.run_uuid AND ")
		s.stringCond(col, c)
		s.write(")")
	case Attribute:
		switch c.Key {
		case "start_time", "end_time":
			s.write("runs.", column(runColumns, c.Key), " ", opSQL(c.Op), " ", s.arg(numArg(c.Value)))
		case "run_name":
			a := s.alias("k")
			s.write("EXISTS (SELECT 1 FROM tags ", a, " WHERE ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(runNameTag), " AND ")
			s.stringCond(a+".value", c)
			s.write(")")
		default:
			s.stringCond("runs."+column(runColumns, c.Key), c)
		}
	}
}

// RunOrderSQL returns what ordering runs as [RunOrder.Compare] does takes:
// LEFT JOIN clauses to add after "FROM runs", and the ORDER BY list, with
// the arguments of each (joins come first in the query, so their arguments
// do too).
func RunOrderSQL(o *RunOrder) (joins string, joinArgs []any, orderBy string) {
	s := &sqlBuilder{}
	var terms []string
	if o != nil {
		for _, k := range o.Keys {
			dir := ""
			if !k.Ascending {
				dir = " DESC"
			}
			switch k.Entity {
			case Metric, Param, Tag:
				table := map[Entity]string{Metric: "latest_metrics", Param: "params", Tag: "tags"}[k.Entity]
				a := s.alias("o")
				s.write(" LEFT JOIN ", table, " ", a, " ON ", a, ".run_uuid = runs.run_uuid AND ", a, ".key = ", s.arg(k.Key))
				if k.Entity == Metric {
					terms = append(terms, "CASE WHEN "+a+".is_nan = 1 THEN 1 WHEN "+a+".value IS NULL THEN 2 ELSE 0 END")
				} else {
					terms = append(terms, "CASE WHEN "+a+".value IS NULL THEN 1 ELSE 0 END")
				}
				terms = append(terms, a+".value"+dir)
			default:
				col := "runs." + column(runColumns, k.Key)
				terms = append(terms, "CASE WHEN "+col+" IS NULL THEN 1 ELSE 0 END", col+dir)
			}
		}
	}
	if o == nil || !o.ordersStartTime() {
		terms = append(terms, "runs.start_time DESC")
	}
	terms = append(terms, "runs.run_uuid")
	return s.b.String(), s.args, strings.Join(terms, ", ")
}

// SQL returns a query selecting the run_uuid of the runs of this page and
// one more (to tell whether a next page exists), in order, with its
// arguments: the experiments, the view, the filter, the order, then LIMIT
// MaxResults+1 OFFSET Offset.
func (s *RunSearch) SQL() (string, []any) {
	joins, args, orderBy := RunOrderSQL(s.Order)
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

// ExperimentFilterSQL returns a condition on the experiments table
// (aliased "experiments") equivalent to [MatchExperiment], with its
// arguments.
func ExperimentFilterSQL(f *Filter) (string, []any) {
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
		case c.Entity == Tag:
			a := s.alias("k")
			switch c.Op {
			case IsNull, IsNotNull:
				if c.Op == IsNull {
					s.write("NOT ")
				}
				s.write("EXISTS (SELECT 1 FROM experiment_tags ", a, " WHERE ", a, ".experiment_id = experiments.experiment_id AND ", a, ".key = ", s.arg(c.Key), ")")
			default:
				s.write("EXISTS (SELECT 1 FROM experiment_tags ", a, " WHERE ", a, ".experiment_id = experiments.experiment_id AND ", a, ".key = ", s.arg(c.Key), " AND ")
				s.stringCond(a+".value", c)
				s.write(")")
			}
		case c.Key == "experiment_id":
			ids := c.Value.List
			if c.Value.Kind == StringValue {
				ids = []string{c.Value.Str}
			}
			op := "IN"
			if c.Op == Ne || c.Op == NotIn {
				op = "NOT IN"
			}
			s.write("experiments.experiment_id ", op, " (")
			for j, id := range ids {
				n, _ := pysql.Int(id)
				if j > 0 {
					s.write(", ")
				}
				s.write(s.arg(n))
			}
			s.write(")")
		case c.Key == "name":
			s.stringCond("experiments.name", c)
		default:
			s.write("experiments.", column(experimentColumns, c.Key), " ", opSQL(c.Op), " ", s.arg(numArg(c.Value)))
		}
		s.write(")")
	}
	return s.b.String(), s.args
}

// ExperimentOrderSQL returns the ORDER BY list for an experiment order.
func ExperimentOrderSQL(o *ExperimentOrder) string {
	terms := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		dir := " ASC"
		if !k.Ascending {
			dir = " DESC"
		}
		terms[i] = "experiments." + column(experimentColumns, k.Key) + dir
	}
	return strings.Join(terms, ", ")
}
