package search

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// Attribute keys MLflow accepts in filters (RunInfo's searchable
// attributes, plus the aliases) and in order_by.
var (
	runSearchAttributes = []string{"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id",
		"created", "Created", "run name", "Run name", "Run Name"}
	runOrderAttributes  = []string{"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id", "created", "Created"}
	runNumericAttrs     = []string{"start_time", "end_time", "created", "Created"}
	datasetKeys         = []string{"name", "digest", "context"}
	expSearchAttributes = []string{"name", "experiment_id", "creation_time", "last_update_time"}
	expNumericAttrs     = []string{"creation_time", "last_update_time"}
	rmSearchAttributes  = []string{"name"}
	mvSearchAttributes  = []string{"name", "version_number", "run_id", "source_path"}
	mvNumericAttrs      = []string{"version_number", "creation_timestamp", "last_updated_timestamp"}

	metricComparators    = []string{">", ">=", "!=", "=", "<", "<="}
	paramComparators     = []string{"!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"}
	stringAttrComparator = []string{"!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"}
	datasetComparators   = []string{"!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"}
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// translateKeyAlias is SearchUtils.translate_key_alias.
func translateKeyAlias(key string) string {
	switch key {
	case "created", "Created":
		return "start_time"
	case "run name", "Run name", "Run Name":
		return "run_name"
	}
	return key
}

// internalError marks errors that MLflow raises without an error code (or as
// a plain Python exception), which its REST layer reports as
// INTERNAL_ERROR. They do not wrap store.ErrInvalidParameter.
type internalError struct{ msg string }

func (e *internalError) Error() string { return e.msg }

func internalf(format string, args ...any) error {
	return &internalError{msg: fmt.Sprintf(format, args...)}
}

// IsInternal reports whether err is one of the errors MLflow raises as an
// internal error (HTTP 500) rather than INVALID_PARAMETER_VALUE, such as
// "`order_by` contains duplicate fields".
func IsInternal(err error) bool {
	var ie *internalError
	return errors.As(err, &ie)
}

// fromPySQL gives a pysql error its kind: internal, or
// store.ErrInvalidParameter.
func fromPySQL(err error) error {
	var pe *pysql.Error
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Internal {
		return internalf("%s", pe.Msg)
	}
	return store.Invalidf("%s", pe.Msg)
}

// rawClause is a clause as MLflow's parse_search_filter returns it, before
// the store checks comparators and converts values.
type rawClause struct {
	entity Entity
	key    string // as parsed (aliases not yet translated)
	op     string // the comparator as written (IS NULL forms upper-cased)
	value  Value
	list   []pysql.Value // the tuple of a list value, as literal_eval returned it
}

// parseSyntax runs MLflow's parse_search_filter for the kind of search.
func parseSyntax(kind Kind, filter string) ([]rawClause, error) {
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
		if kind == Runs {
			invalid = append(invalid, "'"+t.Value()+"'")
		} else {
			invalid = append(invalid, t.Value())
		}
	}
	if len(invalid) > 0 {
		return nil, store.Invalidf("Invalid clause(s) in filter string: %s", strings.Join(invalid, ", "))
	}
	var out []rawClause
	for _, t := range toks {
		if !t.IsComparison() {
			continue
		}
		c, err := getComparison(kind, t)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// getComparison ports _get_comparison (and _validate_comparison) for the
// kind of search.
func getComparison(kind Kind, cmp *pysql.Node) (rawClause, error) {
	var toks []*pysql.Node
	for _, t := range cmp.Tokens() {
		if !t.IsWhitespace() {
			toks = append(toks, t)
		}
	}
	if len(toks) == 2 {
		op := pysql.Upper(toks[1].Value())
		if op == "IS NULL" || op == "IS NOT NULL" {
			if !toks[0].IsIdentifier() {
				return rawClause{}, store.Invalidf("Invalid comparison clause. Expected 'Identifier' found '%s'", toks[0].Value())
			}
			return getNullComparison(kind, toks[0], op)
		}
	}
	if len(toks) != 3 {
		return rawClause{}, store.Invalidf("Invalid comparison clause. Expected 3 tokens found %d", len(toks))
	}
	if !toks[0].IsIdentifier() {
		return rawClause{}, store.Invalidf("Invalid comparison clause. Expected 'Identifier' found '%s'", toks[0].Value())
	}
	var c rawClause
	var err error
	switch kind {
	case Runs:
		c.entity, c.key, err = runIdentifier(toks[0].Value(), runSearchAttributes)
	case Experiments:
		c.entity, c.key, err = experimentIdentifier(toks[0].Value(), expSearchAttributes)
	case RegisteredModels:
		c.entity, c.key, err = registryIdentifier(toks[0].Value(), rmSearchAttributes)
	case ModelVersions:
		c.entity, c.key, err = registryIdentifier(toks[0].Value(), mvSearchAttributes)
	}
	if err != nil {
		return c, err
	}
	c.op = toks[1].Value()
	if kind == RegisteredModels || kind == ModelVersions {
		c.op = pysql.Upper(c.op)
	}
	c.value, c.list, err = getValue(kind, c.entity, c.key, toks[2])
	return c, err
}

func getNullComparison(kind Kind, ident *pysql.Node, op string) (rawClause, error) {
	switch kind {
	case Runs:
		e, key, err := runIdentifier(ident.Value(), runSearchAttributes)
		if err != nil {
			return rawClause{}, err
		}
		if e != Tag && e != Param {
			return rawClause{}, store.Invalidf("IS NULL / IS NOT NULL is only supported for tags and params, not for '%s' '%s'", e, key)
		}
		return rawClause{entity: e, key: key, op: op}, nil
	case Experiments:
		e, key, err := experimentIdentifier(ident.Value(), expSearchAttributes)
		if err != nil {
			return rawClause{}, err
		}
		if e != Tag {
			return rawClause{}, store.Invalidf("IS NULL / IS NOT NULL is only supported for tags, not for attribute '%s'", key)
		}
		return rawClause{entity: e, key: key, op: op}, nil
	}
	// The registry parsers unpack three tokens: Python raises ValueError.
	return rawClause{}, internalf("not enough values to unpack (expected 3, got 2)")
}

// trimBackticks is SearchUtils._trim_backticks.
func trimBackticks(s string) string {
	if isQuoted(s, "`") {
		return s[1 : len(s)-1]
	}
	return s
}

func isQuoted(s, q string) bool {
	return len([]rune(s)) >= 2 && strings.HasPrefix(s, q) && strings.HasSuffix(s, q)
}

// stripQuotes is SearchUtils._strip_quotes.
func stripQuotes(s string, expectQuoted bool) (string, error) {
	if isQuoted(s, "'") || isQuoted(s, `"`) {
		return s[1 : len(s)-1], nil
	}
	if expectQuoted {
		return "", store.Invalidf("Parameter value is either not quoted or unidentified quote types used for string value %s. Use either single or double quotes.", s)
	}
	return s, nil
}

var runEntityTypes = "['metric', 'parameter', 'tag', 'attribute', 'dataset']"

// runEntity is SearchUtils._valid_entity_type.
func runEntity(prefix string) (Entity, error) {
	switch trimBackticks(prefix) {
	case "metric", "metrics":
		return Metric, nil
	case "parameter", "parameters", "param", "params":
		return Param, nil
	case "tag", "tags":
		return Tag, nil
	case "attribute", "attr", "attributes", "run":
		return Attribute, nil
	case "dataset", "datasets":
		return Dataset, nil
	}
	return 0, store.Invalidf("Invalid entity type '%s'. Valid values are %s", trimBackticks(prefix), runEntityTypes)
}

// runIdentifier is SearchUtils._get_identifier.
func runIdentifier(ident string, valid []string) (Entity, string, error) {
	prefix, key, ok := strings.Cut(ident, ".")
	e := Attribute
	if ok {
		var err error
		if e, err = runEntity(prefix); err != nil {
			return 0, "", err
		}
	} else {
		key = prefix
	}
	key, _ = stripQuotes(key, false)
	key = trimBackticks(key)
	if e == Attribute && !contains(valid, key) {
		return 0, "", store.Invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, pysql.SetRepr(valid))
	}
	if e == Dataset && !contains(datasetKeys, key) {
		return 0, "", store.Invalidf("Invalid dataset key '%s' specified. Valid keys are '%s'", key, pysql.SetRepr(datasetKeys))
	}
	return e, key, nil
}

// experimentIdentifier is SearchExperimentsUtils._get_identifier.
func experimentIdentifier(ident string, valid []string) (Entity, string, error) {
	prefix, key, ok := strings.Cut(ident, ".")
	e := Attribute
	if ok {
		switch prefix {
		case "attribute":
		case "tag", "tags":
			e = Tag
		default:
			return 0, "", store.Invalidf("Invalid entity type '%s'. Valid entity types are ('attribute', 'tag', 'tags')", prefix)
		}
	} else {
		key = prefix
	}
	key, _ = stripQuotes(key, false)
	key = trimBackticks(key)
	if e == Attribute && !contains(valid, key) {
		return 0, "", store.Invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, pysql.SetRepr(valid))
	}
	return e, key, nil
}

// registryIdentifier is _get_model_search_identifier and
// _get_model_version_search_identifier: the attribute key is checked
// before quotes are removed.
func registryIdentifier(ident string, valid []string) (Entity, string, error) {
	prefix, key, ok := strings.Cut(ident, ".")
	e := Attribute
	if ok {
		switch prefix {
		case "attribute":
		case "tag", "tags":
			e = Tag
		default:
			return 0, "", store.Invalidf("Invalid entity type '%s'. Valid entity types are ('attribute', 'tag', 'tags')", prefix)
		}
	} else {
		key = prefix
	}
	if e == Attribute && !contains(valid, key) {
		return 0, "", store.Invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, pysql.SetRepr(valid))
	}
	key, _ = stripQuotes(key, false)
	return e, trimBackticks(key), nil
}

func isNumberToken(t *pysql.Node) bool {
	return t.IsInteger() || t.IsFloat()
}

func isStringToken(t *pysql.Node) bool {
	return t.IsSingleString() || t.IsIdentifier()
}

// getValue ports the _get_value of each kind of search.
func getValue(kind Kind, e Entity, key string, tok *pysql.Node) (Value, []pysql.Value, error) {
	raw := tok.Value()
	str := func() (Value, []pysql.Value, error) {
		s, err := stripQuotes(raw, true)
		return Value{Kind: StringValue, Str: s, Raw: raw}, nil, err
	}
	num := func(keepInt bool) (Value, []pysql.Value, error) {
		v := Value{Kind: NumberValue, Raw: raw}
		if keepInt && tok.IsInteger() {
			n, err := pysql.Int(raw)
			if err != nil {
				return v, nil, internalf("%v", err)
			}
			v.IsInt, v.Int, v.Num = true, n, float64(n)
			return v, nil, nil
		}
		f, err := pysql.Float(raw)
		if err != nil {
			return v, nil, internalf("%v", err)
		}
		v.Num = f
		return v, nil, nil
	}
	list := func(supported []string) (Value, []pysql.Value, error) {
		if !contains(supported, key) {
			return Value{}, nil, store.Invalidf("Only %s attributes support comparison with a list of quoted string values.", pysql.ListRepr(sortedCopy(supported)))
		}
		return parseList(raw)
	}
	switch kind {
	case Runs, Experiments:
		numeric := runNumericAttrs
		listKeys := []string{"run_id"}
		if kind == Experiments {
			numeric, listKeys = expNumericAttrs, []string{"experiment_id"}
		}
		switch e {
		case Metric:
			if !isNumberToken(tok) {
				return Value{}, nil, store.Invalidf("Expected numeric value type for metric. Found %s", raw)
			}
			return num(false)
		case Param, Tag:
			if isStringToken(tok) {
				return str()
			}
			return Value{}, nil, store.Invalidf("Expected a quoted string value for %s (e.g. 'my-value'). Got value %s", e, raw)
		case Attribute:
			if contains(numeric, key) {
				if !isNumberToken(tok) {
					return Value{}, nil, store.Invalidf("Expected numeric value type for numeric attribute: %s. Found %s", key, raw)
				}
				return num(true)
			}
			if isStringToken(tok) {
				return str()
			}
			if tok.IsParenthesis() {
				return list(listKeys)
			}
			return Value{}, nil, store.Invalidf("Expected a quoted string value for attributes. Got value %s", raw)
		case Dataset:
			if isStringToken(tok) {
				return str()
			}
			if tok.IsParenthesis() {
				return parseList(raw)
			}
			return Value{}, nil, store.Invalidf("Expected a quoted string value for dataset attributes. Got value %s", raw)
		}
	case RegisteredModels, ModelVersions:
		if e == Tag {
			if isStringToken(tok) {
				return str()
			}
			return Value{}, nil, store.Invalidf("Expected a quoted string value for tag (e.g. 'my-value'). Got value %s", raw)
		}
		if isStringToken(tok) {
			return str()
		}
		if tok.IsParenthesis() {
			if kind == RegisteredModels {
				return list([]string{"name"})
			}
			return list([]string{"name", "run_id"})
		}
		if kind == ModelVersions && isNumberToken(tok) {
			if !contains(mvNumericAttrs, key) {
				return Value{}, nil, store.Invalidf("Only the '%s' attributes support comparison with numeric values.", pysql.SetRepr(mvNumericAttrs))
			}
			return num(true)
		}
		return Value{}, nil, store.Invalidf("Expected a quoted string value or a list of quoted string values for attributes. Got value %s", raw)
	}
	return Value{}, nil, store.Invalidf("Invalid identifier type. Expected one of ['metric', 'parameter'].")
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c
}

// parseList is SearchUtils._parse_list_from_sql_token: literal_eval of the
// parenthesised text, which must give a non-empty tuple of strings (a single
// string is a tuple of one).
func parseList(raw string) (Value, []pysql.Value, error) {
	v, err := pysql.LiteralEval(raw)
	if errors.Is(err, pysql.ErrSyntax) {
		return Value{}, nil, store.Invalidf("While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.")
	}
	if err != nil {
		return Value{}, nil, internalf("malformed node or string in %s", raw)
	}
	items := []pysql.Value{v}
	if v.Kind() == 't' {
		items = v.Items()
	}
	if len(items) == 0 {
		return Value{}, nil, store.Invalidf("While parsing a list in the query, expected a non-empty list of string values, but got empty list")
	}
	out := Value{Kind: ListValue, Raw: raw}
	for _, it := range items {
		if it.Kind() != 's' {
			return Value{}, nil, store.Invalidf("While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: %s", pysql.TupleRepr(items))
		}
		out.List = append(out.List, it.Str())
	}
	return out, items, nil
}
