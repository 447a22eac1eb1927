package search

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// This file is search_logged_models for the backends: MLflow 3.17.2's
// filter language, datasets, order_by and page tokens, evaluated in memory
// with the rules of either of MLflow's stores. MLflow's two stores parse
// and evaluate these searches with different code
// (SearchLoggedModelsUtils in mlflow/utils/search_utils.py for the file
// store; mlflow/utils/search_logged_model_utils.py and
// SqlAlchemyStore._apply_*_search_logged_models for the SQL store), so
// they accept different filters and can answer the same one differently;
// [LoggedModelSemantics] names the rules. testdata/loggedmodels holds a
// corpus recorded with MLflow that the tests replay.

// LoggedModelSemantics names the MLflow store whose search_logged_models
// rules a backend follows. Each mlrun backend follows the store whose
// format it writes, so that MLflow answers the same searches the same way.
//
// The two differ in what they accept:
//
//   - Entity prefixes. The file store takes metric/metrics,
//     param/params/parameter/parameters, tag/tags,
//     attribute/attributes/attr/run and dataset/datasets; the SQL store
//     only attributes, metrics, params and tags.
//   - Comparators. The file store checks a clause's comparator only when
//     it evaluates the clause on a model (so an invalid one goes
//     unreported when no model gets that far), and does not check it at
//     all for string attributes: name > 'a' compares strings. The SQL
//     store checks every comparator first: numeric entities take
//     < <= > >= = !=, everything else = != LIKE ILIKE IN NOT IN.
//   - IN lists. The file store takes them for attributes only (a
//     non-empty tuple of strings); the SQL store for attributes, params
//     and tags, with any Python literal tuple.
//   - Values. The file store wants quoted strings for strings and number
//     tokens for numbers; the SQL store takes any token and converts it
//     (float() for numbers, an internal error when that fails; a bare
//     word or number as a string; only single quotes are removed, so
//     "x" is the three-character string "x" with its double quotes).
//   - Attributes. The file store knows name, model_id, model_type, status,
//     source_run_id, creation_timestamp, last_updated_timestamp and
//     creation_time / last_updated_time (accepted, but an internal error
//     once evaluated). The SQL store takes any column of logged_models
//     (experiment_id, lifecycle_stage, artifact_location,
//     status_message, creation_timestamp_ms, ...); unprefixed
//     creation_time and creation_timestamp mean creation_timestamp_ms
//     and last_updated_timestamp means last_updated_timestamp_ms, but
//     with the attributes. prefix these names are internal errors.
//   - IS NULL / IS NOT NULL and datasets.<key> clauses parse in the file
//     store and then fail (or, for datasets.name, compare the model's
//     name); the SQL store rejects them.
//
// And in how they evaluate:
//
//   - Metrics. The file store compares the first of the model's latest
//     points per dataset (the latest by step, timestamp, value; datasets
//     in the order their first point was logged). The SQL store matches
//     a model if any logged point satisfies the clause. NaN is NaN in the
//     file store (it satisfies only !=); the SQL store stores it as 0 and
//     ±Inf as ±1.7976931348623157e308.
//   - status. The file store compares the status name ('READY'); the SQL
//     store its integer (PENDING 1, READY 2, FAILED 3), so status =
//     'READY' matches nothing and status = '2' matches READY models.
//   - LIKE and ILIKE. The file store uses Python regular expressions (.
//     does not match a newline, a pattern not ending in % may match
//     before a final newline, ILIKE folds all of Unicode); the SQL store
//     SQLite's case-sensitive LIKE (% and _ match any character) and
//     lower(), which folds ASCII only.
//   - order_by. The file store sorts metric values by the latest point
//     (by timestamp) among the model's latest points per dataset; missing
//     values sort last; None in model_type or source_run_id in an
//     ascending sort is an internal error (Python cannot compare None
//     with a string); status sorts by name. The SQL store takes the
//     latest point by timestamp, step and run id, sorts NULLs last,
//     status by its integer, accepts any column, does not strip
//     field_name, and lets dataset_digest go without dataset_name.
//   - Page tokens. The file store's token is base64 of {"offset": N}; the
//     SQL store's also holds the experiment ids, filter and order_by and
//     must match the request.
type LoggedModelSemantics int

const (
	// FileLoggedModels is MLflow's file store (FileStore.search_logged_models).
	FileLoggedModels LoggedModelSemantics = iota

	// SQLLoggedModels is MLflow's SQL store on SQLite
	// (SqlAlchemyStore.search_logged_models). A model's Metrics must then
	// hold every logged point (the rows of logged_model_metrics), not only
	// the latest ones.
	SQLLoggedModels
)

// String returns "file" or "sql".
func (sem LoggedModelSemantics) String() string {
	if sem == SQLLoggedModels {
		return "sql"
	}
	return "file"
}

// LoggedModelClause is one comparison of a logged-model filter.
type LoggedModelClause struct {
	// Entity is "attribute", "metric", "param" or "tag", or (file store
	// only) "dataset".
	Entity string
	// Key is the attribute, metric, param or tag key, without backticks
	// and quotes as the store removes them. Attribute aliases are kept as
	// the store keeps them: the file store does not resolve creation_time
	// (it fails on evaluation); for the SQL store see Column.
	Key string
	// Op is the comparator in upper case: = != < <= > >= LIKE ILIKE IN
	// NOT IN, or (file store, failing on evaluation) IS NULL, IS NOT NULL
	// and whatever else sqlparse groups as a comparison.
	Op string
	// Str is the value of a string comparison.
	Str string
	// Num is the value of a numeric comparison (metrics, and numeric
	// attributes); NaN for the SQL store's float('nan').
	Num float64
	// List holds the values of IN / NOT IN (and of a list given to another
	// comparator), as text.
	List []string
	// Column is, for an attribute clause of the SQL store, the
	// logged_models column it compares (creation_timestamp_ms for
	// creation_time).
	Column string

	sem     LoggedModelSemantics
	numeric bool     // Num holds the value
	isList  bool     // List holds the value
	items   []lmItem // the SQL store's list, typed
}

// lmItem is one value of an SQL IN list: text, a number or NULL.
type lmItem struct {
	kind byte // 's' text, 'n' number, 'N' NULL
	str  string
	num  float64
}

// File store keys and comparators (SearchLoggedModelsUtils).
var (
	lmFileNumericAttrs = []string{"creation_timestamp", "creation_time", "last_updated_timestamp", "last_updated_time"}
	lmFileAttrs        = append([]string{"name", "model_id", "model_type", "status", "source_run_id"}, lmFileNumericAttrs...)
	lmMetricOps        = []string{">", ">=", "!=", "=", "<", "<="}
	lmFileParamOps     = []string{"!=", "=", "LIKE", "ILIKE"}
	lmDatasetKeys      = []string{"name", "digest", "context"}
	lmEntityTypes      = "['metric', 'parameter', 'tag', 'attribute', 'dataset']"
)

// ParseLoggedModelFilter parses a search_logged_models filter string as
// MLflow's file store does; see [LoggedModelSemantics.ParseFilter].
func ParseLoggedModelFilter(filter string) ([]LoggedModelClause, error) {
	return FileLoggedModels.ParseFilter(filter)
}

// ParseFilter parses a search_logged_models filter string as the store
// does before it reads any model: ANDed comparisons (AND in any case; OR,
// NOT and parentheses are rejected), each <identifier> <comparator>
// <value>, with the entities, keys, comparators and values of
// [LoggedModelSemantics]. Rejected filters give a
// store.ErrInvalidParameter error with MLflow's message, or, where MLflow
// fails with a Python exception, an error for which [IsInternal] is true
// (store.Code gives INTERNAL_ERROR). An empty filter gives no clauses.
//
// The file store checks some things only while evaluating: those errors
// come from [LoggedModelSemantics.Match] and [LoggedModelSemantics.Search].
func (sem LoggedModelSemantics) ParseFilter(filter string) ([]LoggedModelClause, error) {
	if sem == SQLLoggedModels {
		return parseLMFilterSQL(filter)
	}
	return parseLMFilterFile(filter)
}

// --- file store parser: SearchUtils.parse_search_filter ---------------------

func parseLMFilterFile(filter string) ([]LoggedModelClause, error) {
	if filter == "" {
		return nil, nil
	}
	stmts, err := pysql.Parse(filter)
	if err != nil {
		return nil, store.Invalidf("Error on parsing filter '%s'", filter)
	}
	if len(stmts) == 0 {
		return nil, store.Invalidf("Invalid filter '%s'. Could not be parsed.", filter)
	}
	if len(stmts) > 1 {
		return nil, store.Invalidf("Search filter contained multiple expression %s. Provide AND-ed expression list.", pysql.Repr(filter))
	}
	toks := pysql.JoinInComparisons(stmts[0].Tokens())
	var invalid []string
	for _, t := range toks {
		if t.IsComparison() || t.IsWhitespace() || t.IsKeyword("AND") {
			continue
		}
		invalid = append(invalid, "'"+t.Value()+"'")
	}
	if len(invalid) > 0 {
		return nil, store.Invalidf("Invalid clause(s) in filter string: %s", strings.Join(invalid, ", "))
	}
	var out []LoggedModelClause
	for _, t := range toks {
		if !t.IsComparison() {
			continue
		}
		c, err := lmFileComparison(t)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func lmFileComparison(cmp *pysql.Node) (LoggedModelClause, error) {
	var toks []*pysql.Node
	for _, t := range cmp.Tokens() {
		if !t.IsWhitespace() {
			toks = append(toks, t)
		}
	}
	c := LoggedModelClause{sem: FileLoggedModels}
	if len(toks) == 2 {
		op := pysql.Upper(toks[1].Value())
		if op == "IS NULL" || op == "IS NOT NULL" {
			if !toks[0].IsIdentifier() {
				return c, store.Invalidf("Invalid comparison clause. Expected 'Identifier' found '%s'", toks[0].Value())
			}
			e, key, err := lmFileIdentifier(toks[0].Value())
			if err != nil {
				return c, err
			}
			if e != "tag" && e != "param" {
				return c, store.Invalidf("IS NULL / IS NOT NULL is only supported for tags and params, not for '%s' '%s'", lmPyEntity(e), key)
			}
			c.Entity, c.Key, c.Op = e, key, op
			return c, nil
		}
	}
	if len(toks) != 3 {
		return c, store.Invalidf("Invalid comparison clause. Expected 3 tokens found %d", len(toks))
	}
	if !toks[0].IsIdentifier() {
		return c, store.Invalidf("Invalid comparison clause. Expected 'Identifier' found '%s'", toks[0].Value())
	}
	e, key, err := lmFileIdentifier(toks[0].Value())
	if err != nil {
		return c, err
	}
	c.Entity, c.Key, c.Op = e, key, pysql.Upper(toks[1].Value())
	return c, lmFileValue(&c, toks[2])
}

// lmPyEntity is the name MLflow's file-store parser gives an entity.
func lmPyEntity(e string) string {
	if e == "param" {
		return "parameter"
	}
	return e
}

// lmFileIdentifier is SearchUtils._get_identifier with the logged-model
// attribute keys.
func lmFileIdentifier(ident string) (string, string, error) {
	prefix, key, ok := strings.Cut(ident, ".")
	e := "attribute"
	if ok {
		switch p := lmTrimBackticks(prefix); p {
		case "metric", "metrics":
			e = "metric"
		case "parameter", "parameters", "param", "params":
			e = "param"
		case "tag", "tags":
			e = "tag"
		case "attribute", "attr", "attributes", "run":
			e = "attribute"
		case "dataset", "datasets":
			e = "dataset"
		default:
			return "", "", store.Invalidf("Invalid entity type '%s'. Valid values are %s", p, lmEntityTypes)
		}
	} else {
		key = prefix
	}
	key = lmTrimBackticks(lmStripQuotes(key))
	if e == "attribute" && !slices.Contains(lmFileAttrs, key) {
		return "", "", store.Invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, pysql.SetRepr(lmFileAttrs))
	}
	if e == "dataset" && !slices.Contains(lmDatasetKeys, key) {
		return "", "", store.Invalidf("Invalid dataset key '%s' specified. Valid keys are '%s'", key, pysql.SetRepr(lmDatasetKeys))
	}
	return e, key, nil
}

func lmIsQuoted(s, q string) bool {
	return utf8.RuneCountInString(s) >= 2 && strings.HasPrefix(s, q) && strings.HasSuffix(s, q)
}

func lmTrimBackticks(s string) string {
	if lmIsQuoted(s, "`") {
		return s[1 : len(s)-1]
	}
	return s
}

func lmStripQuotes(s string) string {
	if lmIsQuoted(s, "'") || lmIsQuoted(s, `"`) {
		return s[1 : len(s)-1]
	}
	return s
}

func lmQuotedValue(raw string) (string, error) {
	if lmIsQuoted(raw, "'") || lmIsQuoted(raw, `"`) {
		return raw[1 : len(raw)-1], nil
	}
	return "", store.Invalidf("Parameter value is either not quoted or unidentified quote types used for string value %s. Use either single or double quotes.", raw)
}

// lmFileValue is SearchUtils._get_value for the clause's entity.
func lmFileValue(c *LoggedModelClause, tok *pysql.Node) error {
	raw := tok.Value()
	isNum := tok.IsInteger() || tok.IsFloat()
	isStr := tok.IsSingleString() || tok.IsIdentifier()
	var err error
	switch c.Entity {
	case "metric":
		if !isNum {
			return store.Invalidf("Expected numeric value type for metric. Found %s", raw)
		}
		// The value stays text until it is evaluated: float(value).
		c.Str = raw
		if c.Num, err = pysql.Float(raw); err != nil {
			return internalf("could not convert string to float: %s", pysql.Repr(raw))
		}
		c.numeric = true
	case "param", "tag":
		if !isStr {
			return store.Invalidf("Expected a quoted string value for %s (e.g. 'my-value'). Got value %s", lmPyEntity(c.Entity), raw)
		}
		c.Str, err = lmQuotedValue(raw)
	case "attribute":
		switch {
		case slices.Contains(lmFileNumericAttrs, c.Key):
			if !isNum {
				return store.Invalidf("Expected numeric value type for numeric attribute: %s. Found %s", c.Key, raw)
			}
			if tok.IsInteger() {
				n, err := pysql.Int(raw)
				if err != nil {
					f, ferr := pysql.Float(raw)
					if ferr != nil {
						return internalf("invalid literal for int() with base 10: %s", pysql.Repr(raw))
					}
					n = int64(f)
				}
				c.Num = float64(n)
			} else if c.Num, err = pysql.Float(raw); err != nil {
				return internalf("could not convert string to float: %s", pysql.Repr(raw))
			}
			c.Str, c.numeric = raw, true
		case isStr:
			c.Str, err = lmQuotedValue(raw)
		case tok.IsParenthesis():
			c.List, err = lmFileList(raw)
			c.isList = true
		default:
			return store.Invalidf("Expected a quoted string value for attributes. Got value %s", raw)
		}
	case "dataset":
		switch {
		case isStr:
			c.Str, err = lmQuotedValue(raw)
		case tok.IsParenthesis():
			c.List, err = lmFileList(raw)
			c.isList = true
		default:
			return store.Invalidf("Expected a quoted string value for dataset attributes. Got value %s", raw)
		}
	}
	return err
}

// lmFileList is SearchUtils._parse_list_from_sql_token: literal_eval of the
// parenthesised text, which must give a non-empty tuple of strings (a
// single string is a tuple of one).
func lmFileList(raw string) ([]string, error) {
	v, err := pysql.LiteralEval(raw)
	if errors.Is(err, pysql.ErrSyntax) {
		return nil, store.Invalidf("While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
	}
	if err != nil {
		return nil, internalf("malformed node or string in %s", raw)
	}
	items := []pysql.Value{v}
	if v.Kind() == 't' {
		items = v.Items()
	}
	if len(items) == 0 {
		return nil, store.Invalidf("While parsing a list in the query, expected a non-empty list of string values, but got empty list")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it.Kind() != 's' {
			return nil, store.Invalidf("While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: %s", pysql.TupleRepr(items))
		}
		out = append(out, it.Str())
	}
	return out, nil
}

// --- SQL store parser: search_logged_model_utils.parse_filter_string --------

// lmSQLColumns are the columns of MLflow's logged_models table; the
// integer ones compare as numbers.
var lmSQLColumns = map[string]bool{
	"model_id": false, "experiment_id": true, "name": false, "artifact_location": false,
	"creation_timestamp_ms": true, "last_updated_timestamp_ms": true, "status": true,
	"lifecycle_stage": false, "model_type": false, "source_run_id": false, "status_message": false,
}

// lmSQLAliases is SqlLoggedModel.ALIASES.
var lmSQLAliases = map[string]string{
	"creation_time":          "creation_timestamp_ms",
	"creation_timestamp":     "creation_timestamp_ms",
	"last_updated_timestamp": "last_updated_timestamp_ms",
}

// lmSQLRelations are attributes of SqlLoggedModel that are not columns
// but that getattr finds; comparing or ordering by them fails inside
// SQLAlchemy.
var lmSQLRelations = []string{"tags", "params", "metrics"}

var lmSQLIdentRe = regexp.MustCompile(`^([a-z]+)\.(.+)\n?\z`)

var (
	lmSQLNumericOps = []string{"<", "<=", ">", ">=", "=", "!="}
	lmSQLStringOps  = []string{"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}
)

func parseLMFilterSQL(filter string) ([]LoggedModelClause, error) {
	out, err := parseLMFilterSQLSyntax(filter)
	if err != nil {
		return nil, err
	}
	// _apply_filter_string_datasets_search_logged_models then looks the
	// attribute columns up on SqlLoggedModel, in clause order.
	for i := range out {
		c := &out[i]
		if c.Entity != "attribute" {
			continue
		}
		if _, ok := lmSQLColumns[c.Key]; ok {
			c.Column = c.Key
			continue
		}
		if slices.Contains(lmSQLRelations, c.Key) {
			return nil, store.Invalidf("Can't compare a collection to an object or collection; use contains() to test for membership.")
		}
		return nil, internalf("type object 'SqlLoggedModel' has no attribute %s", pysql.Repr(c.Key))
	}
	return out, nil
}

// parseLMFilterSQLSyntax is parse_filter_string itself.
func parseLMFilterSQLSyntax(filter string) ([]LoggedModelClause, error) {
	if filter == "" {
		return nil, nil
	}
	stmts, err := pysql.Parse(filter)
	if err != nil {
		return nil, store.Invalidf("Invalid filter string: %s. %v", pysql.Repr(filter), err)
	}
	if len(stmts) != 1 {
		return nil, store.Invalidf("Invalid filter string: %s. Expected a single SQL expression.", pysql.Repr(filter))
	}
	var out []LoggedModelClause
	for _, t := range pysql.JoinInComparisons(stmts[0].Tokens()) {
		if t.IsComparison() {
			var parts []string
			for _, x := range t.Tokens() {
				if !x.IsWhitespace() {
					parts = append(parts, x.Value())
				}
			}
			if len(parts) != 3 {
				return nil, store.Invalidf("Invalid comparison: %s. Expected a comparison with 3 tokens.", t.Value())
			}
			c, err := lmSQLComparison(parts[0], pysql.Upper(parts[1]), parts[2])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		if pysql.Upper(strings.TrimSpace(t.Value())) == "AND" {
			continue
		}
		return nil, store.Invalidf("Invalid filter string: %s. Expected a list of comparisons separated by 'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01').", pysql.Repr(filter))
	}
	return out, nil
}

func lmSQLComparison(ident, op, value string) (LoggedModelClause, error) {
	c := LoggedModelClause{sem: SQLLoggedModels, Entity: "attribute", Op: op}
	if m := lmSQLIdentRe.FindStringSubmatch(ident); m != nil {
		switch m[1] {
		case "attributes":
		case "metrics":
			c.Entity = "metric"
		case "params":
			c.Entity = "param"
		case "tags":
			c.Entity = "tag"
		default:
			return c, store.Invalidf("Invalid entity type: %s. Expected one of ['attributes', 'metrics', 'params', 'tags'].", pysql.Repr(m[1]))
		}
		c.Key = strings.Trim(m[2], "`")
	} else {
		k := ident
		if a, ok := lmSQLAliases[k]; ok {
			k = a
		}
		c.Key = strings.Trim(k, "`")
	}
	numeric := c.Entity == "metric"
	if c.Entity == "attribute" {
		k := c.Key
		if a, ok := lmSQLAliases[k]; ok {
			k = a
		}
		numeric = k == "creation_timestamp_ms" || k == "last_updated_timestamp_ms"
	}
	ops := lmSQLStringOps
	if numeric {
		ops = lmSQLNumericOps
	}
	if !slices.Contains(ops, op) {
		return c, store.Invalidf("Invalid comparison operator for %s.%s: %s. Expected one of %s.", lmSQLEntityName(c.Entity), c.Key, pysql.Repr(op), lmTupleRepr(ops))
	}
	if numeric {
		f, err := pysql.Float(value)
		if err != nil {
			return c, internalf("could not convert string to float: %s", pysql.Repr(value))
		}
		c.Num, c.Str, c.numeric = f, value, true
		return c, nil
	}
	if strings.HasPrefix(value, "(") && strings.HasSuffix(value, ")") {
		v, err := pysql.LiteralEval(value)
		if err != nil {
			return c, internalf("malformed node or string in %s", value)
		}
		c.isList = true
		switch v.Kind() {
		case 's':
			c.items = []lmItem{{kind: 's', str: v.Str()}}
		case 't':
			for _, it := range v.Items() {
				item, err := lmSQLItem(it)
				if err != nil {
					return c, err
				}
				c.items = append(c.items, item)
			}
		default:
			// A lone number and the like reach SQLAlchemy as a scalar,
			// which it cannot use as a list.
			return c, internalf("IN expression list, SELECT construct, or bound parameter object expected, got %s", v.Repr())
		}
		for _, it := range c.items {
			c.List = append(c.List, it.text())
		}
		return c, nil
	}
	c.Str = strings.Trim(value, "'")
	return c, nil
}

func lmSQLEntityName(e string) string {
	switch e {
	case "metric":
		return "metrics"
	case "param":
		return "params"
	case "tag":
		return "tags"
	}
	return "attributes"
}

func lmTupleRepr(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = pysql.Repr(s)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// lmSQLItem converts one literal_eval'd tuple item to the value SQLite is
// given for it.
func lmSQLItem(v pysql.Value) (lmItem, error) {
	switch v.Kind() {
	case 's':
		return lmItem{kind: 's', str: v.Str()}, nil
	case 'i', 'f':
		f, err := pysql.Float(v.Num())
		if err != nil {
			return lmItem{}, internalf("%s", err)
		}
		if math.IsNaN(f) {
			return lmItem{kind: 'N'}, nil
		}
		return lmItem{kind: 'n', num: f, str: v.Num()}, nil
	case 'B':
		if v.Str() == "True" {
			return lmItem{kind: 'n', num: 1, str: "1"}, nil
		}
		return lmItem{kind: 'n', num: 0, str: "0"}, nil
	case 'N':
		return lmItem{kind: 'N'}, nil
	}
	return lmItem{}, store.Invalidf("(sqlite3.ProgrammingError) Error binding parameter: type '%s' is not supported", v.TypeName())
}

func (it lmItem) text() string {
	if it.kind == 'N' {
		return "None"
	}
	return it.str
}

// --- evaluation ---------------------------------------------------------------

// MatchLoggedModel reports whether m satisfies every clause, with the
// semantics the clauses were parsed with and no dataset filter. A clause
// the store would fail on counts as not matching; use
// [LoggedModelSemantics.Match] to get that error.
func MatchLoggedModel(clauses []LoggedModelClause, m *store.LoggedModel) bool {
	sem := FileLoggedModels
	if len(clauses) > 0 {
		sem = clauses[0].sem
	}
	ok, err := sem.Match(clauses, nil, m)
	return ok && err == nil
}

// Match reports whether m satisfies every clause, as the store evaluates
// them, with metric clauses restricted to datasets (if any). The file
// store evaluates the clauses in order and stops at the first false one;
// a clause it fails on (an invalid comparator, creation_time, a None it
// cannot compare) gives the error it raises. The SQL store's errors all
// come from ParseFilter.
//
// Without a metric clause, datasets do not restrict anything here; see
// [LoggedModelSemantics.Search] for the rule that then applies.
func (sem LoggedModelSemantics) Match(clauses []LoggedModelClause, datasets []store.LoggedModelDataset, m *store.LoggedModel) (bool, error) {
	for _, c := range clauses {
		var ok bool
		var err error
		if sem == SQLLoggedModels {
			ok, err = matchLMSQL(c, datasets, m)
		} else {
			ok, err = matchLMFile(c, datasets, m)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func lmOnDataset(x store.LoggedModelMetric, ds []store.LoggedModelDataset) bool {
	for _, d := range ds {
		if x.DatasetName == d.Name && (d.Digest == "" || x.DatasetDigest == d.Digest) {
			return true
		}
	}
	return false
}

// matchLMFile is SearchLoggedModelsUtils._does_logged_model_match_clause.
func matchLMFile(c LoggedModelClause, datasets []store.LoggedModelDataset, m *store.LoggedModel) (bool, error) {
	op := c.Op
	var lhs lmPy
	switch {
	case c.Entity == "metric":
		if !slices.Contains(lmMetricOps, op) {
			return false, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(lmMetricOps))
		}
		for _, x := range m.Metrics {
			if x.Key == c.Key && (len(datasets) == 0 || lmOnDataset(x, datasets)) {
				return lmCompareNum(op, x.Value, c.Num), nil
			}
		}
		return false, nil
	case c.Entity == "param" || c.Entity == "tag":
		if !slices.Contains(lmFileParamOps, op) {
			q := "'"
			if c.Entity == "tag" {
				q = ""
			}
			return false, store.Invalidf("Invalid comparator '%s' not one of '%s%s", op, pysql.SetRepr(lmFileParamOps), q)
		}
		vals := m.Params
		if c.Entity == "tag" {
			vals = m.Tags
		}
		v, ok := vals[c.Key]
		if !ok {
			return false, nil
		}
		lhs = lmPy{kind: 's', str: v}
	case c.Entity == "attribute" && slices.Contains(lmFileNumericAttrs, c.Key):
		if !slices.Contains(lmMetricOps, op) {
			return false, store.Invalidf("Invalid comparator '%s' not one of '%s", op, pysql.SetRepr(lmSQLStringOps))
		}
		switch c.Key {
		case "creation_timestamp":
			return lmCompareNum(op, float64(m.CreationTimestamp), c.Num), nil
		case "last_updated_timestamp":
			return lmCompareNum(op, float64(m.LastUpdatedTimestamp), c.Num), nil
		}
		return false, internalf("'LoggedModel' object has no attribute '%s'", c.Key)
	default:
		switch c.Key {
		case "name":
			lhs = lmPy{kind: 's', str: m.Name}
		case "model_id":
			lhs = lmPy{kind: 's', str: m.ModelID}
		case "status":
			lhs = lmPy{kind: 's', str: m.Status.String()}
		case "model_type":
			lhs = lmOptional(m.ModelType)
		case "source_run_id":
			lhs = lmOptional(m.SourceRunID)
		default:
			return false, store.Invalidf("Invalid logged model search key '%s'", c.Key)
		}
	}
	if lhs.kind == 'N' {
		return false, nil
	}
	return lmCompareStr(op, lhs.str, c)
}

type lmPy struct {
	kind byte // 's' or 'N'
	str  string
}

func lmOptional(s string) lmPy {
	if s == "" {
		return lmPy{kind: 'N'}
	}
	return lmPy{kind: 's', str: s}
}

// lmCompareStr is SearchUtils.get_comparison_func(op)(lhs, value) for a str
// lhs and the clause's str or list value.
func lmCompareStr(op, lhs string, c LoggedModelClause) (bool, error) {
	if c.isList {
		switch op {
		case "IN":
			return slices.Contains(c.List, lhs), nil
		case "NOT IN":
			return !slices.Contains(c.List, lhs), nil
		case "=":
			return false, nil
		case "!=":
			return true, nil
		case ">", ">=", "<", "<=":
			return false, internalf("'%s' not supported between instances of 'str' and 'list'", op)
		case "LIKE", "ILIKE":
			return false, internalf("expected string or bytes-like object, got 'list'")
		}
		return false, internalf("%s", pysql.Repr(op))
	}
	v := c.Str
	switch op {
	case "=":
		return lhs == v, nil
	case "!=":
		return lhs != v, nil
	case ">":
		return lhs > v, nil
	case ">=":
		return lhs >= v, nil
	case "<":
		return lhs < v, nil
	case "<=":
		return lhs <= v, nil
	case "LIKE":
		return lmPyLike(v, false).MatchString(lhs), nil
	case "ILIKE":
		return lmPyLike(v, true).MatchString(lhs), nil
	case "IN":
		return strings.Contains(v, lhs), nil
	case "NOT IN":
		return !strings.Contains(v, lhs), nil
	}
	return false, internalf("%s", pysql.Repr(op))
}

func lmCompareNum(op string, a, b float64) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// lmPyLike is MLflow's _convert_like_pattern_to_regex and re.match: %
// becomes .*, _ becomes ., anchored at the start, and at the end unless
// the pattern ends in % (where Python's $ also matches before a final
// newline); . does not match a newline; ILIKE is re.IGNORECASE.
func lmPyLike(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString(`\A`)
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	if !strings.HasSuffix(pattern, "%") {
		b.WriteString(`\n?\z`)
	}
	return regexp.MustCompile(b.String())
}

// lmSQLValue is a value as SQLite holds it: NULL, an integer or real
// (numeric), or text.
type lmSQLValue struct {
	kind byte // 'N', 'n', 's'
	num  float64
	str  string
}

func lmSQLText(s string) lmSQLValue { return lmSQLValue{kind: 's', str: s} }

func lmSQLOptText(s string) lmSQLValue {
	if s == "" {
		return lmSQLValue{kind: 'N'}
	}
	return lmSQLText(s)
}

func lmSQLNum(f float64) lmSQLValue { return lmSQLValue{kind: 'n', num: f} }

// lmSQLStatus is LoggedModelStatus.to_int, the status column.
func lmSQLStatus(s store.LoggedModelStatus) float64 { return float64(s) }

// lmSQLColumn returns column col of m as SQLite holds it.
func lmSQLColumn(m *store.LoggedModel, col string) lmSQLValue {
	switch col {
	case "model_id":
		return lmSQLText(m.ModelID)
	case "experiment_id":
		f, err := pysql.Float(m.ExperimentID)
		if err != nil {
			return lmSQLText(m.ExperimentID)
		}
		return lmSQLNum(f)
	case "name":
		return lmSQLText(m.Name)
	case "artifact_location":
		return lmSQLText(m.ArtifactLocation)
	case "creation_timestamp_ms":
		return lmSQLNum(float64(m.CreationTimestamp))
	case "last_updated_timestamp_ms":
		return lmSQLNum(float64(m.LastUpdatedTimestamp))
	case "status":
		return lmSQLNum(lmSQLStatus(m.Status))
	case "lifecycle_stage":
		return lmSQLText("active")
	case "model_type":
		return lmSQLOptText(m.ModelType)
	case "source_run_id":
		return lmSQLOptText(m.SourceRunID)
	case "status_message":
		return lmSQLOptText(m.StatusMessage)
	}
	return lmSQLValue{kind: 'N'}
}

// lmSQLStored is the value of a metric point as the SQL store keeps it:
// NaN as 0, ±Inf as ±MaxFloat64.
func lmSQLStored(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// lmSQLBindError is the error SQLite gives for a tuple bound as a single
// value (a list value with = != or LIKE).
func lmSQLBindError(c LoggedModelClause) error {
	if c.isList && c.Op != "IN" && c.Op != "NOT IN" {
		return store.Invalidf("(sqlite3.ProgrammingError) Error binding parameter: type 'tuple' is not supported")
	}
	return nil
}

func matchLMSQL(c LoggedModelClause, datasets []store.LoggedModelDataset, m *store.LoggedModel) (bool, error) {
	if err := lmSQLBindError(c); err != nil {
		return false, err
	}
	switch c.Entity {
	case "metric":
		for _, x := range m.Metrics {
			if x.Key == c.Key && (len(datasets) == 0 || lmOnDatasetSQL(x, datasets)) &&
				lmSQLCompare(c, lmSQLNum(lmSQLStored(x.Value)), true) {
				return true, nil
			}
		}
		return false, nil
	case "param", "tag":
		vals := m.Params
		if c.Entity == "tag" {
			vals = m.Tags
		}
		v, ok := vals[c.Key]
		return ok && lmSQLCompare(c, lmSQLText(v), false), nil
	}
	col := c.Column
	if col == "" {
		col = c.Key
	}
	_, integer := lmSQLColumns[col]
	integer = integer && lmSQLColumns[col]
	return lmSQLCompare(c, lmSQLColumn(m, col), integer), nil
}

func lmOnDatasetSQL(x store.LoggedModelMetric, ds []store.LoggedModelDataset) bool {
	for _, d := range ds {
		if x.DatasetName == d.Name && (d.Digest == "" || x.DatasetDigest == d.Digest) {
			return true
		}
	}
	return false
}

// lmSQLCompare evaluates column <op> value in SQLite for the clause's
// value; numericCol is the column's numeric affinity.
func lmSQLCompare(c LoggedModelClause, col lmSQLValue, numericCol bool) bool {
	if col.kind == 'N' {
		return false
	}
	if c.isList {
		in, null := false, false
		for _, it := range c.items {
			var v lmSQLValue
			switch it.kind {
			case 'N':
				null = true
				continue
			case 'n':
				v = lmSQLNum(it.num)
				if !numericCol {
					v = lmSQLText(lmSQLiteReal(it.num, it.str))
				}
			default:
				v = lmSQLAffinity(it.str, numericCol)
			}
			if lmSQLCmp(col, v) == 0 {
				in = true
			}
		}
		switch c.Op {
		case "IN":
			return in
		case "NOT IN":
			return !in && !null
		}
		return false // = or LIKE with a tuple fails to bind (ParseFilter reports it)
	}
	var v lmSQLValue
	if c.numeric {
		if math.IsNaN(c.Num) {
			return false // NaN binds as NULL
		}
		v = lmSQLNum(c.Num)
	} else {
		v = lmSQLAffinity(c.Str, numericCol)
	}
	switch c.Op {
	case "LIKE", "ILIKE":
		s := col.str
		if col.kind == 'n' {
			s = lmSQLiteReal(col.num, "")
		}
		p := v.str
		if v.kind == 'n' {
			p = lmSQLiteReal(v.num, "")
		}
		if c.Op == "ILIKE" {
			s, p = lmASCIILower(s), lmASCIILower(p)
		}
		return pysql.Like(s, p)
	}
	d := lmSQLCmp(col, v)
	switch c.Op {
	case "=":
		return d == 0
	case "!=":
		return d != 0
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	case "IN":
		return d == 0
	case "NOT IN":
		return d != 0
	}
	return false
}

// lmSQLAffinity applies a column's affinity to a text value: a numeric
// column turns text that looks like a number into that number.
func lmSQLAffinity(s string, numericCol bool) lmSQLValue {
	if numericCol {
		if f, ok := lmSQLiteNumeric(s); ok {
			return lmSQLNum(f)
		}
	}
	return lmSQLText(s)
}

// lmSQLiteNumeric reports whether SQLite's numeric affinity converts s
// (an integer or real literal, surrounding spaces allowed).
var lmSQLiteNumRe = regexp.MustCompile(`^[ \t\n\f\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\f\r]*$`)

func lmSQLiteNumeric(s string) (float64, bool) {
	if !lmSQLiteNumRe.MatchString(s) {
		return 0, false
	}
	f, err := pysql.Float(strings.TrimSpace(s))
	return f, err == nil
}

// lmSQLiteReal is SQLite's text of a number: integers without a
// fraction, else repr-like text.
func lmSQLiteReal(f float64, repr string) string {
	if repr != "" && !strings.ContainsAny(repr, ".eE") {
		return repr
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.15g", f)
}

// lmSQLCmp orders two SQLite values: numbers before text, text by bytes.
func lmSQLCmp(a, b lmSQLValue) int {
	switch {
	case a.kind == 'n' && b.kind == 'n':
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	case a.kind == 'n':
		return -1
	case b.kind == 'n':
		return 1
	}
	return strings.Compare(a.str, b.str)
}

func lmASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
