package search

import (
	"math"
	"slices"
	"strconv"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// MatchRun reports whether run r satisfies every clause of f (a filter of
// kind [Runs]). A nil or empty filter matches every run. The semantics are
// those of MLflow's SQL store (3.x), which mlrun follows for both backends;
// MLflow's file store differs in the places listed in the package
// documentation ("Semantics").
func MatchRun(f *Filter, r *store.Run) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		if !matchRunClause(&f.Clauses[i], r) {
			return false
		}
	}
	return true
}

func matchRunClause(c *Clause, r *store.Run) bool {
	switch c.Entity {
	case Metric:
		m, ok := r.Metric(c.Key)
		if !ok {
			return false
		}
		if math.IsNaN(m.Value) {
			// Stored as 0 with is_nan set: only != holds.
			return c.Op == Ne
		}
		return compareFloat(clampInf(m.Value), c.Op, c.Value.Num)
	case Param:
		v, ok := r.Param(c.Key)
		return matchOptionalString(v, ok, c)
	case Tag:
		v, ok := r.Tag(c.Key)
		return matchOptionalString(v, ok, c)
	case Dataset:
		for _, in := range r.Inputs {
			switch c.Key {
			case "name":
				if matchString(in.Dataset.Name, c) {
					return true
				}
			case "digest":
				if matchString(in.Dataset.Digest, c) {
					return true
				}
			case "context":
				for _, t := range in.Tags {
					if t.Key == store.DatasetContextTag && matchString(t.Value, c) {
						return true
					}
				}
			}
		}
		return false
	case Attribute:
		switch c.Key {
		case "start_time":
			return compareInt(r.Info.StartTime, c)
		case "end_time":
			if r.Info.EndTime == nil {
				return false
			}
			return compareInt(*r.Info.EndTime, c)
		case "run_name":
			// The SQL store matches the mlflow.runName tag, not the name column.
			v, ok := r.Tag(store.RunNameTag)
			return ok && matchString(v, c)
		case "run_id":
			return matchString(r.Info.RunID, c)
		case "status":
			return matchString(r.Info.Status.String(), c)
		case "user_id":
			return matchString(r.Info.UserID, c)
		case "artifact_uri":
			return matchString(r.Info.ArtifactURI, c)
		}
	}
	return false
}

func matchOptionalString(v string, ok bool, c *Clause) bool {
	switch c.Op {
	case IsNull:
		return !ok
	case IsNotNull:
		return ok
	}
	return ok && matchString(v, c)
}

// matchString applies a string comparator as SQLite does with MLflow's
// settings: = and != compare bytes, LIKE is case-sensitive
// (PRAGMA case_sensitive_like), ILIKE is lower(x) LIKE lower(y) with
// SQLite's ASCII-only lower().
func matchString(v string, c *Clause) bool {
	switch c.Op {
	case Eq:
		return v == c.Value.Str
	case Ne:
		return v != c.Value.Str
	case Like:
		return sqlLike(v, c.Value.Str, false)
	case ILike:
		return sqlLike(v, c.Value.Str, true)
	case In, NotIn:
		found := false
		for _, s := range c.Value.List {
			if s == v {
				found = true
				break
			}
		}
		return found == (c.Op == In)
	}
	return false
}

func compareFloat(a float64, op Op, b float64) bool {
	switch op {
	case Eq:
		return a == b
	case Ne:
		return a != b
	case Lt:
		return a < b
	case Le:
		return a <= b
	case Gt:
		return a > b
	case Ge:
		return a >= b
	}
	return false
}

// compareInt compares an integer column with a numeric literal, exactly for
// integer literals and as floats otherwise.
func compareInt(a int64, c *Clause) bool {
	if !c.Value.IsInt {
		return compareFloat(float64(a), c.Op, c.Value.Num)
	}
	b := c.Value.Int
	switch c.Op {
	case Eq:
		return a == b
	case Ne:
		return a != b
	case Lt:
		return a < b
	case Le:
		return a <= b
	case Gt:
		return a > b
	case Ge:
		return a >= b
	}
	return false
}

// sqlLike is SQLite's LIKE without ESCAPE: % matches any run of characters
// (newlines included), _ exactly one character; with fold, ASCII letters
// are lower-cased on both sides first (SQLite's lower()).
func sqlLike(s, pattern string, fold bool) bool {
	if fold {
		s, pattern = LowerASCII(s), LowerASCII(pattern)
	}
	return pysql.Like(s, pattern)
}

// LowerASCII lower-cases the ASCII letters of s and nothing else, as
// SQLite's lower() does (MLflow's ILIKE on SQLite).
func LowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// MatchExperiment reports whether experiment e satisfies every clause of f
// (a filter of kind [Experiments]), with MLflow's SQL store semantics.
func MatchExperiment(f *Filter, e *store.Experiment) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		if !matchExperimentClause(&f.Clauses[i], e) {
			return false
		}
	}
	return true
}

func matchExperimentClause(c *Clause, e *store.Experiment) bool {
	if c.Entity == Tag {
		v, ok := e.Tags[c.Key]
		return matchOptionalString(v, ok, c)
	}
	switch c.Key {
	case "name":
		return matchString(e.Name, c)
	case "creation_time":
		return compareInt(e.CreationTime, c)
	case "last_update_time":
		return compareInt(e.LastUpdateTime, c)
	case "experiment_id":
		id, ok := experimentIDInt(e.ID)
		if !ok {
			return false
		}
		found := slices.Contains(c.ExperimentIDs(), id)
		switch c.Op {
		case Eq, In:
			return found
		case Ne, NotIn:
			return !found
		}
	}
	return false
}

// ExperimentIDs returns the operand of an experiment_id clause (one id for
// = and !=, the list for IN and NOT IN) as integers, as Python's int()
// reads them; the filter's validation has checked that each one parses.
func (c Clause) ExperimentIDs() []int64 {
	vals := c.Value.List
	if c.Value.Kind == StringValue {
		vals = []string{c.Value.Str}
	}
	ids := make([]int64, 0, len(vals))
	for _, v := range vals {
		if n, err := pysql.Int(v); err == nil {
			ids = append(ids, n)
		}
	}
	return ids
}

// experimentIDInt parses an experiment id as the SQL store's integer
// column holds it.
func experimentIDInt(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil
}
