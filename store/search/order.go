package search

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// OrderKey is one parsed order_by clause.
type OrderKey struct {
	Entity Entity // Attribute, Metric, Param or Tag
	// Key is the metric, param or tag key, or the attribute with aliases
	// resolved (created → start_time).
	Key       string
	Ascending bool
}

// String returns the clause in a form that parses back to the same key.
// MLflow runs a clause with a direction through shlex after turning
// backticks into double quotes, so a descending key is written in escaped
// double quotes; such a key cannot hold a backtick or end in whitespace
// (MLflow offers no way to write one).
func (k OrderKey) String() string {
	if k.Ascending {
		if k.Entity == Attribute {
			return k.Entity.prefix() + k.Key
		}
		if !strings.ContainsAny(k.Key, "`\"\\") {
			return k.Entity.prefix() + "`" + k.Key + "`"
		}
		return k.Entity.prefix() + "'" + k.Key + "'"
	}
	key := k.Key
	if k.Entity != Attribute {
		key = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
	}
	return k.Entity.prefix() + key + " DESC"
}

// RunOrder is a parsed search_runs order_by list. Its Compare method
// orders runs as MLflow's SQL store does.
type RunOrder struct {
	Keys []OrderKey
}

// ParseRunOrderBy parses search_runs order_by clauses, each
// "<identifier> [ASC|DESC]", and checks them as MLflow's SQL store does:
// metrics, params, tags and the attributes start_time (or created,
// Created), end_time, status, run_name, run_id, user_id, artifact_uri. A
// field given twice (after resolving prefixes and aliases) is an internal
// error in MLflow ("`order_by` contains duplicate fields"), and so here.
func ParseRunOrderBy(orderBy []string) (*RunOrder, error) {
	o := &RunOrder{}
	seen := map[[2]string]bool{}
	for _, clause := range orderBy {
		e, key, asc, err := parseRunOrderClause(clause)
		if err != nil {
			return nil, err
		}
		key = translateKeyAlias(key)
		if e == Dataset {
			return nil, store.Invalidf("Invalid identifier type '%s'", e)
		}
		id := [2]string{e.String(), key}
		if seen[id] {
			return nil, internalf("`order_by` contains duplicate fields: %s", pysql.ListRepr(orderBy))
		}
		seen[id] = true
		o.Keys = append(o.Keys, OrderKey{Entity: e, Key: key, Ascending: asc})
	}
	return o, nil
}

func parseRunOrderClause(clause string) (Entity, string, bool, error) {
	tok, asc, err := parseOrderByString(clause)
	if err != nil {
		return 0, "", false, err
	}
	e, key, err := runIdentifier(pysql.Strip(tok), runOrderAttributes)
	return e, key, asc, err
}

// ExperimentOrder is a parsed search_experiments order_by list.
type ExperimentOrder struct {
	Keys []OrderKey // attributes only: name, experiment_id, creation_time, last_update_time
}

// ParseExperimentOrderBy parses search_experiments order_by clauses as
// MLflow's SQL store does. An empty list means MLflow's default,
// creation_time DESC then experiment_id ASC; experiment_id DESC is
// appended as a tie-break when the list does not order by it.
func ParseExperimentOrderBy(orderBy []string) (*ExperimentOrder, error) {
	if len(orderBy) == 0 {
		orderBy = []string{"creation_time DESC", "experiment_id ASC"}
	}
	o := &ExperimentOrder{}
	hasID := false
	for _, clause := range orderBy {
		tok, asc, err := parseOrderByString(clause)
		if err != nil {
			return nil, err
		}
		e, key, err := experimentIdentifier(pysql.Strip(tok), expSearchAttributes)
		if err != nil {
			return nil, err
		}
		if e != Attribute {
			return nil, store.Invalidf("Invalid order_by entity: %s", e)
		}
		hasID = hasID || key == "experiment_id"
		o.Keys = append(o.Keys, OrderKey{Entity: Attribute, Key: key, Ascending: asc})
	}
	if !hasID {
		o.Keys = append(o.Keys, OrderKey{Entity: Attribute, Key: "experiment_id", Ascending: false})
	}
	return o, nil
}

// parseOrderByString ports _validate_order_by_and_generate_token and
// _parse_order_by_string.
func parseOrderByString(orderBy string) (string, bool, error) {
	couldNot := func() error {
		return store.Invalidf("Invalid order_by clause '%s'. Could not be parsed.", orderBy)
	}
	stmts, err := pysql.Parse(orderBy)
	if err != nil {
		return "", false, store.Invalidf("Error on parsing order_by clause '%s'", orderBy)
	}
	if len(stmts) != 1 {
		return "", false, couldNot()
	}
	toks := stmts[0].Tokens()
	isTimestamp := func(t *pysql.Node) bool { return t.IsBuiltin("timestamp") }
	var value string
	switch {
	case len(toks) == 1 && toks[0].IsIdentifier():
		value = toks[0].Value()
	case len(toks) == 1 && isTimestamp(toks[0]):
		value = "timestamp"
	case isTimestamp(toks[0]) && allWhitespace(toks[1:len(toks)-1]) && toks[len(toks)-1].IsOrderKeyword():
		value = "timestamp " + toks[len(toks)-1].Value()
	default:
		return "", false, couldNot()
	}
	parts, err := shlexSplit(strings.ReplaceAll(value, "`", `"`))
	if err != nil {
		return "", false, internalf("%v", err)
	}
	asc := true
	switch {
	case len(parts) > 2:
		return "", false, couldNot()
	case len(parts) == 2:
		dir := strings.ToLower(parts[1])
		if dir != "asc" && dir != "desc" {
			return "", false, store.Invalidf("Invalid ordering key in order_by clause '%s'.", orderBy)
		}
		asc = dir == "asc"
		value = parts[0]
	}
	return value, asc, nil
}

func allWhitespace(toks []*pysql.Node) bool {
	for _, t := range toks {
		if !t.IsWhitespace() {
			return false
		}
	}
	return true
}

// shlexSplit is Python's shlex.split (POSIX mode, no comments).
func shlexSplit(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inToken := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if inToken {
				out = append(out, cur.String())
				cur.Reset()
				inToken = false
			}
		case r == '\\':
			if i+1 >= len(rs) {
				return nil, fmt.Errorf("No escaped character")
			}
			i++
			cur.WriteRune(rs[i])
			inToken = true
		case r == '\'' || r == '"':
			inToken = true
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] == r {
					break
				}
				if r == '"' && rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("No closing quotation")
			}
			i = j
		default:
			cur.WriteRune(r)
			inToken = true
		}
	}
	if inToken {
		out = append(out, cur.String())
	}
	return out, nil
}

// runSortKey is a run's value for one order key, as the SQL store sorts
// it: first a group (0 a value, 1 NaN, 2 missing, for metrics; 0 a value,
// 1 missing, for everything else), ascending in both directions, then the
// value.
type runSortKey struct {
	group int8
	num   float64
	str   string
}

func (o *RunOrder) sortKey(k *OrderKey, r *store.Run) runSortKey {
	switch k.Entity {
	case Metric:
		m, ok := r.Metric(k.Key)
		switch {
		case !ok:
			return runSortKey{group: 2}
		case math.IsNaN(m.Value):
			return runSortKey{group: 1}
		}
		return runSortKey{num: clampInf(m.Value)}
	case Param:
		if v, ok := r.Param(k.Key); ok {
			return runSortKey{str: v}
		}
		return runSortKey{group: 1}
	case Tag:
		if v, ok := r.Tag(k.Key); ok {
			return runSortKey{str: v}
		}
		return runSortKey{group: 1}
	}
	switch k.Key {
	case "start_time":
		return runSortKey{num: float64(r.Info.StartTime)}
	case "end_time":
		if r.Info.EndTime == nil {
			return runSortKey{group: 1}
		}
		return runSortKey{num: float64(*r.Info.EndTime)}
	case "status":
		return runSortKey{str: r.Info.Status.String()}
	case "run_name":
		return runSortKey{str: r.Info.RunName}
	case "run_id":
		return runSortKey{str: r.Info.RunID}
	case "user_id":
		return runSortKey{str: r.Info.UserID}
	case "artifact_uri":
		return runSortKey{str: r.Info.ArtifactURI}
	}
	return runSortKey{group: 1}
}

func (a runSortKey) compare(b runSortKey) int {
	if c := cmp.Compare(a.group, b.group); c != 0 {
		return c
	}
	if c := cmp.Compare(a.num, b.num); c != 0 {
		return c
	}
	return strings.Compare(a.str, b.str)
}

// OrdersStartTime reports whether the user's keys order by start_time, so
// the SQL store adds no start_time DESC tie-break.
func (o *RunOrder) OrdersStartTime() bool {
	for _, k := range o.Keys {
		if k.Entity == Attribute && k.Key == "start_time" {
			return true
		}
	}
	return false
}

// Compare orders two runs as MLflow's SQL store does: by each key (values
// first, then NaN for metrics, then missing, whatever the direction), then
// by start_time descending (unless a key already orders by start_time),
// then by run id ascending. A nil or empty RunOrder gives MLflow's default
// order, start_time DESC then run_id ASC.
func (o *RunOrder) Compare(a, b *store.Run) int {
	if o != nil {
		for i := range o.Keys {
			k := &o.Keys[i]
			c := o.sortKey(k, a).compare(o.sortKey(k, b))
			if c != 0 {
				if !k.Ascending && o.sortKey(k, a).group == o.sortKey(k, b).group {
					return -c
				}
				return c
			}
		}
	}
	return tieBreak(o, a, b)
}

func tieBreak(o *RunOrder, a, b *store.Run) int {
	if o == nil || !o.OrdersStartTime() {
		if c := cmp.Compare(b.Info.StartTime, a.Info.StartTime); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Info.RunID, b.Info.RunID)
}

// Compare orders two experiments as MLflow's SQL store does. Experiment ids
// compare as integers (the SQL column's type).
func (o *ExperimentOrder) Compare(a, b *store.Experiment) int {
	for _, k := range o.Keys {
		var c int
		switch k.Key {
		case "name":
			c = strings.Compare(a.Name, b.Name)
		case "creation_time":
			c = cmp.Compare(a.CreationTime, b.CreationTime)
		case "last_update_time":
			c = cmp.Compare(a.LastUpdateTime, b.LastUpdateTime)
		case "experiment_id":
			c = compareExperimentIDs(a.ID, b.ID)
		}
		if c != 0 {
			if !k.Ascending {
				return -c
			}
			return c
		}
	}
	return 0
}

// compareExperimentIDs compares decimal ids numerically; others fall back
// to text order after all numeric ids.
func compareExperimentIDs(a, b string) int {
	ai, aok := experimentIDInt(a)
	bi, bok := experimentIDInt(b)
	switch {
	case aok && bok:
		return cmp.Compare(ai, bi)
	case aok:
		return -1
	case bok:
		return 1
	}
	return strings.Compare(a, b)
}

// ParseRegisteredModelOrderBy parses search_registered_models order_by
// clauses as MLflow's SQL model registry does: name, timestamp or
// last_updated_timestamp (both mean the last update time), ASC or DESC; a
// field given twice is an internal error. name ASC is appended as a
// tie-break when the list does not order by name.
func ParseRegisteredModelOrderBy(orderBy []string) ([]OrderKey, error) {
	var keys []OrderKey
	seen := map[string]bool{}
	for _, clause := range orderBy {
		tok, asc, err := parseOrderByString(clause)
		if err != nil {
			return nil, err
		}
		tok = pysql.Strip(tok)
		var field string
		switch tok {
		case "name":
			field = "name"
		case "timestamp", "last_updated_timestamp":
			field = "last_updated_timestamp"
		default:
			return nil, store.Invalidf("Invalid order by key '%s' specified. Valid keys are '%s'", tok, pysql.SetRepr([]string{"name", "timestamp"}))
		}
		if seen[field] {
			return nil, internalf("`order_by` contains duplicate fields: %s", pysql.ListRepr(orderBy))
		}
		seen[field] = true
		keys = append(keys, OrderKey{Entity: Attribute, Key: field, Ascending: asc})
	}
	if !seen["name"] {
		keys = append(keys, OrderKey{Entity: Attribute, Key: "name", Ascending: true})
	}
	return keys, nil
}

var mvOrderKeys = []string{"name", "version_number", "creation_timestamp", "last_updated_timestamp"}

// ParseModelVersionOrderBy parses search_model_versions order_by clauses as
// MLflow's SQL model registry does: name, version_number,
// creation_timestamp and last_updated_timestamp. An empty list means
// last_updated_timestamp DESC, name ASC, version_number DESC; name ASC and
// version_number DESC are appended as tie-breaks when missing.
func ParseModelVersionOrderBy(orderBy []string) ([]OrderKey, error) {
	if len(orderBy) == 0 {
		orderBy = []string{"last_updated_timestamp DESC", "name ASC", "version_number DESC"}
	}
	var keys []OrderKey
	seen := map[string]bool{}
	for _, clause := range orderBy {
		tok, asc, err := parseOrderByString(clause)
		if err != nil {
			return nil, err
		}
		_, key, err := experimentIdentifier(pysql.Strip(tok), mvOrderKeys)
		if err != nil {
			return nil, err
		}
		if !contains(mvOrderKeys, key) {
			return nil, store.Invalidf("Invalid order by key '%s' specified. Valid keys are %s", key, pysql.SetRepr(mvOrderKeys))
		}
		if seen[key] {
			return nil, internalf("`order_by` contains duplicate fields: %s", pysql.ListRepr(orderBy))
		}
		seen[key] = true
		keys = append(keys, OrderKey{Entity: Attribute, Key: key, Ascending: asc})
	}
	if !seen["name"] {
		keys = append(keys, OrderKey{Entity: Attribute, Key: "name", Ascending: true})
	}
	if !seen["version_number"] {
		keys = append(keys, OrderKey{Entity: Attribute, Key: "version_number", Ascending: false})
	}
	return keys, nil
}
