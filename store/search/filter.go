package search

import (
	"math"
	"strconv"
	"strings"
)

// Kind is the kind of entity a filter or order_by applies to. Each kind has
// its own prefixes, keys and comparators, as in MLflow.
type Kind int

// Kinds of search.
const (
	Runs             Kind = iota + 1 // MlflowClient.search_runs
	Experiments                      // search_experiments
	RegisteredModels                 // search_registered_models
	ModelVersions                    // search_model_versions
)

func (k Kind) String() string {
	switch k {
	case Runs:
		return "runs"
	case Experiments:
		return "experiments"
	case RegisteredModels:
		return "registered models"
	case ModelVersions:
		return "model versions"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Entity is what a clause compares: an attribute of the run (experiment,
// model), or one of its metrics, params, tags or dataset inputs.
type Entity int

// Entities. The names are MLflow's canonical identifier types.
const (
	Attribute Entity = iota + 1 // no prefix, or attribute., attributes., attr., run.
	Metric                      // metric., metrics.
	Param                       // param., params., parameter., parameters.
	Tag                         // tag., tags.
	Dataset                     // dataset., datasets.
)

// String returns MLflow's canonical name of the entity type ("metric",
// "parameter", "tag", "attribute", "dataset"), as used in its messages.
func (e Entity) String() string {
	switch e {
	case Attribute:
		return "attribute"
	case Metric:
		return "metric"
	case Param:
		return "parameter"
	case Tag:
		return "tag"
	case Dataset:
		return "dataset"
	}
	return "Entity(" + strconv.Itoa(int(e)) + ")"
}

// prefix is the canonical prefix written by String.
func (e Entity) prefix() string {
	switch e {
	case Metric:
		return "metrics."
	case Param:
		return "params."
	case Tag:
		return "tags."
	case Dataset:
		return "datasets."
	}
	return "attributes."
}

// Op is a comparison operator, upper-cased as MLflow compares it.
type Op string

// Operators. Which ones an entity accepts depends on the kind of search and
// the entity; see the Parse functions.
const (
	Eq        Op = "="
	Ne        Op = "!="
	Lt        Op = "<"
	Le        Op = "<="
	Gt        Op = ">"
	Ge        Op = ">="
	Like      Op = "LIKE"  // SQL LIKE: % and _ wildcards, no escape, case-sensitive
	ILike     Op = "ILIKE" // LIKE after ASCII lower-casing both sides (SQLite's lower)
	In        Op = "IN"
	NotIn     Op = "NOT IN"
	IsNull    Op = "IS NULL"     // params and tags of runs, tags of experiments (MLflow 3)
	IsNotNull Op = "IS NOT NULL" // params and tags of runs, tags of experiments (MLflow 3)
)

// ValueKind tells which field of a [Value] holds the operand.
type ValueKind int

// Kinds of values.
const (
	NoValue     ValueKind = iota // IS NULL and IS NOT NULL
	StringValue                  // a quoted string (or, for some keys, a bare identifier MLflow accepts)
	NumberValue                  // a numeric literal
	ListValue                    // a parenthesised list of strings, for IN and NOT IN
)

// Value is the right-hand side of a clause.
type Value struct {
	Kind ValueKind

	// Str is a string value with its quotes removed. MLflow does no escape
	// processing: 'it''s' is the four characters it''s.
	Str string

	// Num is a number's value as MLflow converts it (Python's float()).
	// IsInt and Int are set when MLflow keeps the literal as an integer
	// (an integer literal for a numeric attribute).
	Num   float64
	IsInt bool
	Int   int64

	// List holds the strings of a list value, in order.
	List []string

	// Raw is the literal as written in the filter string.
	Raw string
}

// Clause is one comparison of a filter: Entity.Key Op Value.
type Clause struct {
	Entity Entity
	// Key is the metric, param, tag, dataset or attribute key, with
	// quotes or backticks removed and attribute aliases resolved
	// (created and Created mean start_time; `run name`, `Run name` and
	// `Run Name` mean run_name).
	Key   string
	Op    Op
	Value Value
}

// Filter is a parsed MLflow filter string: the clauses are ANDed. MLflow has
// no OR, NOT or parentheses. The zero Filter (and a nil *Filter) matches
// everything.
type Filter struct {
	Kind    Kind
	Clauses []Clause
}

// String returns the filter in a canonical form that parses back to the
// same clauses: canonical prefixes, keys in backticks, values as written.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	parts := make([]string, len(f.Clauses))
	for i, c := range f.Clauses {
		parts[i] = c.string(f.Kind)
	}
	return strings.Join(parts, " AND ")
}

func (c Clause) string(k Kind) string {
	var b strings.Builder
	if k == Runs || c.Entity != Attribute {
		switch {
		case k != Runs && c.Entity == Tag:
			b.WriteString("tags.")
		case k != Runs:
			b.WriteString("attribute.")
		default:
			b.WriteString(c.Entity.prefix())
		}
	}
	b.WriteString(quoteKey(c.Entity, c.Key))
	b.WriteByte(' ')
	b.WriteString(string(c.Op))
	if c.Value.Kind != NoValue {
		b.WriteByte(' ')
		b.WriteString(c.Value.Raw)
	}
	return b.String()
}

// quoteKey writes a key so that MLflow reads it back unchanged.
func quoteKey(e Entity, key string) string {
	if e == Attribute || e == Dataset {
		if key == "run_name" || isPlainWord(key) {
			return key
		}
	}
	if !strings.Contains(key, "`") {
		return "`" + key + "`"
	}
	if !strings.Contains(key, `"`) {
		return `"` + key + `"`
	}
	return "'" + key + "'"
}

func isPlainWord(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// clampInf maps ±Inf to ±MaxFloat64: MLflow's SQL store stores infinite
// metric values as ±1.7976931348623157e308, and compares and sorts them so.
func clampInf(v float64) float64 {
	switch {
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}
