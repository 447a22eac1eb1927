package store

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// This file is search_logged_models for the backends: a subset of MLflow's
// filter language, evaluated in memory with the semantics of MLflow 3.17.2's
// file store (SearchLoggedModelsUtils in mlflow/utils/search_utils.py), its
// order (default creation_timestamp DESC, then model_id ASC) and offset
// page tokens.

// LoggedModelClause is one comparison of a logged-model filter.
type LoggedModelClause struct {
	Entity string // "attribute", "metric", "param" or "tag"
	Key    string // with aliases resolved (creation_time -> creation_timestamp)
	Op     string // = != < <= > >= LIKE ILIKE (upper case)
	Str    string // the value, for strings
	Num    float64
}

var (
	lmStringAttrs  = []string{"name", "model_id", "model_type", "status", "source_run_id"}
	lmNumericAttrs = []string{"creation_timestamp", "last_updated_timestamp"}
	lmAttrAliases  = map[string]string{"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"}
	lmStringOps    = []string{"=", "!=", "LIKE", "ILIKE"}
	lmNumericOps   = []string{"=", "!=", "<", "<=", ">", ">="}
	lmPrefixes     = map[string]string{
		"metric": "metric", "metrics": "metric",
		"param": "param", "params": "param", "parameter": "param", "parameters": "param",
		"tag": "tag", "tags": "tag",
		"attribute": "attribute", "attributes": "attribute", "attr": "attribute",
	}
)

// ParseLoggedModelFilter parses a search_logged_models filter string. The
// subset accepted: clauses joined by AND (any case), each
// <identifier> <comparator> <value>, where the identifier is an attribute
// (name, model_id, model_type, status, source_run_id: = != LIKE ILIKE with a
// quoted string; creation_timestamp, last_updated_timestamp and the aliases
// creation_time, last_updated_time: = != < <= > >= with an integer), or
// metrics.<key> (= != < <= > >= with a number), params.<key> or
// tags.<key> (= != LIKE ILIKE with a quoted string). Keys may be
// backticked or double-quoted. OR, IN, IS NULL and dataset filters are not
// supported and give ErrInvalidParameter. An empty filter gives no clauses.
func ParseLoggedModelFilter(filter string) ([]LoggedModelClause, error) {
	toks, err := lmTokens(filter)
	if err != nil {
		return nil, err
	}
	var out []LoggedModelClause
	for len(toks) > 0 {
		if len(out) > 0 {
			if !strings.EqualFold(toks[0], "AND") {
				return nil, Invalidf("Invalid filter '%s': expected AND, got '%s' (only AND is supported)", filter, toks[0])
			}
			toks = toks[1:]
		}
		if len(toks) < 3 {
			return nil, Invalidf("Invalid filter '%s': incomplete clause", filter)
		}
		c, err := lmClause(toks[0], strings.ToUpper(toks[1]), toks[2])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		toks = toks[3:]
	}
	return out, nil
}

func lmClause(ident, op, val string) (LoggedModelClause, error) {
	c := LoggedModelClause{Entity: "attribute", Op: op}
	key := ident
	if i := strings.IndexByte(ident, '.'); i > 0 && !isQuote(ident[0]) {
		ent, ok := lmPrefixes[ident[:i]]
		if !ok {
			return c, Invalidf("Invalid entity type '%s'. Valid values are ['metric', 'parameter', 'tag', 'attribute']", ident[:i])
		}
		c.Entity, key = ent, ident[i+1:]
	}
	key = unquote(key)
	if a, ok := lmAttrAliases[key]; ok && c.Entity == "attribute" {
		key = a
	}
	c.Key = key
	numeric := c.Entity == "metric" || (c.Entity == "attribute" && slices.Contains(lmNumericAttrs, key))
	if c.Entity == "attribute" && !numeric && !slices.Contains(lmStringAttrs, key) {
		return c, Invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, strings.Join(append(slices.Clone(lmStringAttrs), lmNumericAttrs...), "', '"))
	}
	if numeric {
		if !slices.Contains(lmNumericOps, op) {
			return c, Invalidf("Invalid comparator '%s' not one of '%s'", op, strings.Join(lmNumericOps, "', '"))
		}
		f, err := strconv.ParseFloat(unquote(val), 64)
		if err != nil {
			return c, Invalidf("Expected numeric value type for %s '%s'. Found %s", c.Entity, key, val)
		}
		if c.Entity == "attribute" && f != float64(int64(f)) {
			return c, Invalidf("Expected an integer value for attribute '%s'. Found %s", key, val)
		}
		c.Num = f
		return c, nil
	}
	if !slices.Contains(lmStringOps, op) {
		return c, Invalidf("Invalid comparator '%s' not one of '%s'", op, strings.Join(lmStringOps, "', '"))
	}
	if len(val) < 2 || !isQuote(val[0]) || val[len(val)-1] != val[0] || val[0] == '`' {
		return c, Invalidf("Expected a quoted string value for %s '%s'. Found %s", c.Entity, key, val)
	}
	c.Str = val[1 : len(val)-1]
	return c, nil
}

func isQuote(b byte) bool { return b == '\'' || b == '"' || b == '`' }

func unquote(s string) string {
	if len(s) >= 2 && isQuote(s[0]) && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// lmTokens splits a filter into identifiers, comparators, values and AND,
// keeping quoted parts whole.
func lmTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch ch := s[i]; {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case strings.ContainsRune("=!<>", rune(ch)):
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, Invalidf("Invalid filter '%s': bad comparator", s)
			}
			toks = append(toks, op)
			i = j
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n=!<>", rune(s[j])) {
				if isQuote(s[j]) {
					k := strings.IndexByte(s[j+1:], s[j])
					if k < 0 {
						return nil, Invalidf("Invalid filter '%s': unterminated quote", s)
					}
					j += k + 2
					continue
				}
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

// MatchLoggedModel reports whether m satisfies every clause, as MLflow's
// file store evaluates them: a missing metric, param, tag or model_type
// matches nothing; a metric compares the first matching point.
func MatchLoggedModel(clauses []LoggedModelClause, m *LoggedModel) bool {
	for _, c := range clauses {
		if !matchLMClause(c, m) {
			return false
		}
	}
	return true
}

func matchLMClause(c LoggedModelClause, m *LoggedModel) bool {
	var s string
	switch c.Entity {
	case "metric":
		x, ok := m.Metric(c.Key)
		return ok && compareNum(c.Op, x.Value, c.Num)
	case "param":
		v, ok := m.Params[c.Key]
		if !ok {
			return false
		}
		s = v
	case "tag":
		v, ok := m.Tags[c.Key]
		if !ok {
			return false
		}
		s = v
	default:
		switch c.Key {
		case "creation_timestamp":
			return compareNum(c.Op, float64(m.CreationTimestamp), c.Num)
		case "last_updated_timestamp":
			return compareNum(c.Op, float64(m.LastUpdatedTimestamp), c.Num)
		case "name":
			s = m.Name
		case "model_id":
			s = m.ModelID
		case "status":
			s = m.Status.String()
		case "model_type":
			if m.ModelType == "" {
				return false
			}
			s = m.ModelType
		case "source_run_id":
			if m.SourceRunID == "" {
				return false
			}
			s = m.SourceRunID
		}
	}
	switch c.Op {
	case "=":
		return s == c.Str
	case "!=":
		return s != c.Str
	case "LIKE":
		return likeRegexp(c.Str, false).MatchString(s)
	case "ILIKE":
		return likeRegexp(c.Str, true).MatchString(s)
	}
	return false
}

func compareNum(op string, a, b float64) bool {
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

// likeRegexp converts a LIKE pattern as MLflow's file store does (% -> .*,
// _ -> ., anchored at both ends, regex metacharacters escaped).
func likeRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^(?s:")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(")$")
	return regexp.MustCompile(b.String())
}

// SortLoggedModels sorts models as MLflow's search_logged_models does: by
// the order_by entries, then creation_timestamp DESC and model_id ASC
// (unless given). A metrics.<key> entry compares the latest point by
// timestamp; models without the metric sort last.
func SortLoggedModels(models []*LoggedModel, orderBy []LoggedModelOrderBy) error {
	keys := slices.Clone(orderBy)
	for i, o := range keys {
		f := strings.TrimSpace(o.FieldName)
		if a, ok := lmAttrAliases[f]; ok {
			f = a
		}
		if k, ok := strings.CutPrefix(f, "metrics."); ok {
			if k == "" {
				return Invalidf("Invalid order by field name: %s.", o.FieldName)
			}
		} else if strings.Contains(f, ".") {
			return Invalidf("Invalid order by field name: %s, only `metrics.<name>` is allowed.", strings.SplitN(f, ".", 2)[0])
		} else if !slices.Contains(lmStringAttrs, f) && !slices.Contains(lmNumericAttrs, f) {
			return Invalidf("Invalid order by field name: %s.", f)
		}
		keys[i].FieldName = f
	}
	if !slices.ContainsFunc(keys, func(o LoggedModelOrderBy) bool { return o.FieldName == "creation_timestamp" }) {
		keys = append(keys, LoggedModelOrderBy{FieldName: "creation_timestamp"})
	}
	if !slices.ContainsFunc(keys, func(o LoggedModelOrderBy) bool { return o.FieldName == "model_id" }) {
		keys = append(keys, LoggedModelOrderBy{FieldName: "model_id", Ascending: true})
	}
	slices.SortStableFunc(models, func(a, b *LoggedModel) int {
		for _, o := range keys {
			c := compareLMField(a, b, o.FieldName, o.Ascending)
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return nil
}

func compareLMField(a, b *LoggedModel, field string, asc bool) int {
	sign := 1
	if !asc {
		sign = -1
	}
	if k, ok := strings.CutPrefix(field, "metrics."); ok {
		va, oka := latestByTimestamp(a, k)
		vb, okb := latestByTimestamp(b, k)
		switch {
		case !oka && !okb:
			return 0
		case !oka:
			return 1 // missing values sort last either way
		case !okb:
			return -1
		}
		return sign * cmp.Compare(va, vb)
	}
	var c int
	switch field {
	case "creation_timestamp":
		c = cmp.Compare(a.CreationTimestamp, b.CreationTimestamp)
	case "last_updated_timestamp":
		c = cmp.Compare(a.LastUpdatedTimestamp, b.LastUpdatedTimestamp)
	case "name":
		c = strings.Compare(a.Name, b.Name)
	case "model_id":
		c = strings.Compare(a.ModelID, b.ModelID)
	case "model_type":
		c = strings.Compare(a.ModelType, b.ModelType)
	case "status":
		c = strings.Compare(a.Status.String(), b.Status.String())
	case "source_run_id":
		c = strings.Compare(a.SourceRunID, b.SourceRunID)
	}
	return sign * c
}

func latestByTimestamp(m *LoggedModel, key string) (float64, bool) {
	var best *LoggedModelMetric
	for i := range m.Metrics {
		x := &m.Metrics[i]
		if x.Key == key && (best == nil || x.Timestamp > best.Timestamp) {
			best = x
		}
	}
	if best == nil {
		return 0, false
	}
	return best.Value, true
}

type lmPageToken struct {
	Offset int `json:"offset"`
}

// PageLoggedModels returns the page of models that q's page token and
// max results select, and the token of the next page ("" if none).
func PageLoggedModels(models []*LoggedModel, q LoggedModelQuery) ([]*LoggedModel, string, error) {
	size := q.MaxResults
	if size == 0 {
		size = DefaultLoggedModelMaxResults
	}
	if size < 0 {
		return nil, "", Invalidf("Invalid value for max_results: %d", q.MaxResults)
	}
	off := 0
	if q.PageToken != "" {
		b, err := base64.StdEncoding.DecodeString(q.PageToken)
		var t lmPageToken
		if err == nil {
			err = json.Unmarshal(b, &t)
		}
		if err != nil || t.Offset < 0 {
			return nil, "", Invalidf("Invalid page token: %s", q.PageToken)
		}
		off = t.Offset
	}
	if off > len(models) {
		off = len(models)
	}
	end := min(off+size, len(models))
	next := ""
	if end < len(models) {
		b, _ := json.Marshal(lmPageToken{Offset: end})
		next = base64.StdEncoding.EncodeToString(b)
	}
	return models[off:end], next, nil
}
