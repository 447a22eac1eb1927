// Package registrysearch evaluates MLflow model-registry searches
// (search_registered_models, search_model_versions) in memory, for backends
// that hold the registry as files. Filter strings are parsed by
// store/search (MLflow's sqlparse-based grammar); this package applies the
// parsed clauses, order_by lists and page tokens with the semantics of
// MLflow's SQL registry store on SQLite: LIKE is case-sensitive with % and
// _ wildcards and no escape, ILIKE folds ASCII letters, and a clause on a
// tag the entity does not have is false (even for !=).
package registrysearch

import (
	"cmp"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// RegisteredModels applies q to all registered models and returns one page.
// Prompts (models tagged mlflow.prompt.is_prompt=true) are left out unless
// the filter names that tag, as in MLflow.
func RegisteredModels(models []*store.RegisteredModel, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	page, next, err := searchPage(models, kind[*store.RegisteredModel]{
		defaultMax: store.DefaultRegisteredModelMaxResults,
		maxMax:     store.MaxRegisteredModelMaxResults,
		parse:      search.ParseRegisteredModelFilter,
		match:      MatchRegisteredModel,
		orderKeys:  []string{"name", "timestamp", "last_updated_timestamp", "creation_timestamp"},
		tieBreak:   []orderKey{{"name", true}},
		tags:       func(m *store.RegisteredModel) map[string]string { return m.Tags },
		compare: func(a, b *store.RegisteredModel, key string) int {
			switch key {
			case "name":
				return strings.Compare(a.Name, b.Name)
			case "creation_timestamp":
				return cmp.Compare(a.CreationTimestamp, b.CreationTimestamp)
			}
			return cmp.Compare(a.LastUpdatedTimestamp, b.LastUpdatedTimestamp)
		},
	}, q.MaxResults, q.Filter, q.OrderBy, q.PageToken)
	if err != nil {
		return nil, err
	}
	return &store.RegisteredModelPage{Models: page, NextPageToken: next}, nil
}

// ModelVersions applies q to all (non-deleted) model versions and returns
// one page. Default order: last_updated_timestamp DESC, name ASC,
// version_number DESC.
func ModelVersions(versions []*store.ModelVersion, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	orderBy := q.OrderBy
	if len(orderBy) == 0 {
		orderBy = []string{"last_updated_timestamp DESC", "name ASC", "version_number DESC"}
	}
	page, next, err := searchPage(versions, kind[*store.ModelVersion]{
		defaultMax: store.DefaultModelVersionMaxResults,
		maxMax:     store.MaxModelVersionMaxResults,
		parse:      search.ParseModelVersionFilter,
		match:      MatchModelVersion,
		orderKeys:  []string{"name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"},
		tieBreak:   []orderKey{{"name", true}, {"version_number", false}},
		deleted:    func(mv *store.ModelVersion) bool { return mv.CurrentStage == store.StageDeletedInternal },
		tags:       func(mv *store.ModelVersion) map[string]string { return mv.Tags },
		compare: func(a, b *store.ModelVersion, key string) int {
			switch key {
			case "name":
				return strings.Compare(a.Name, b.Name)
			case "version_number":
				return cmp.Compare(a.Version, b.Version)
			case "creation_timestamp":
				return cmp.Compare(a.CreationTimestamp, b.CreationTimestamp)
			}
			return cmp.Compare(a.LastUpdatedTimestamp, b.LastUpdatedTimestamp)
		},
	}, q.MaxResults, q.Filter, orderBy, q.PageToken)
	if err != nil {
		return nil, err
	}
	return &store.ModelVersionPage{Versions: page, NextPageToken: next}, nil
}

// kind describes how to search one kind of registry entity.
type kind[T any] struct {
	defaultMax, maxMax int                                  // max_results when 0, and its limit
	parse              func(string) (*search.Filter, error) // the filter grammar
	match              func(*search.Filter, T) bool
	orderKeys          []string     // the valid order_by keys
	tieBreak           []orderKey   // appended to the order unless it names their keys
	deleted            func(T) bool // left out if true; nil for none
	tags               func(T) map[string]string
	compare            func(a, b T, key string) int // by an order key ("timestamp" is never passed)
}

// searchPage filters, sorts and pages items as MLflow's SQL registry store
// does: max_results is checked, then the filter, the order and the page
// token are parsed, in that order; prompts (tagged
// mlflow.prompt.is_prompt=true) are left out unless the filter names that
// tag.
func searchPage[T any](items []T, k kind[T], maxResults int, filter string, orderBy []string, pageToken string) ([]T, string, error) {
	max := maxResults
	if max == 0 {
		max = k.defaultMax
	}
	if max < 1 || max > k.maxMax {
		return nil, "", store.Invalidf("Invalid value for request parameter max_results. It must be at most %d, but got value %d", k.maxMax, max)
	}
	f, err := k.parse(filter)
	if err != nil {
		return nil, "", err
	}
	order, err := parseOrderBy(orderBy, k.orderKeys)
	if err != nil {
		return nil, "", err
	}
	for _, t := range k.tieBreak {
		if !hasKey(order, t.key) {
			order = append(order, t)
		}
	}
	offset, err := search.ParsePageToken(pageToken)
	if err != nil {
		return nil, "", err
	}
	skipPrompts := !strings.Contains(filter, store.PromptTagKey)
	var hits []T
	for _, it := range items {
		if k.deleted != nil && k.deleted(it) {
			continue
		}
		if skipPrompts && k.tags(it)[store.PromptTagKey] == "true" {
			continue
		}
		if k.match(f, it) {
			hits = append(hits, it)
		}
	}
	slices.SortStableFunc(hits, func(a, b T) int {
		for _, o := range order {
			c := k.compare(a, b, o.key)
			if !o.asc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	page, next := paginate(hits, offset, max)
	return page, next, nil
}

func paginate[T any](all []T, offset, max int) ([]T, string) {
	if offset < 0 {
		offset = 0
	}
	if offset > len(all) {
		offset = len(all)
	}
	end := min(offset+max, len(all))
	next := ""
	if end < len(all) {
		next = search.NewPageToken(end)
	}
	return all[offset:end], next
}

type orderKey struct {
	key string
	asc bool
}

func hasKey(o []orderKey, k string) bool {
	return slices.ContainsFunc(o, func(x orderKey) bool { return x.key == k })
}

// parseOrderBy parses "key [ASC|DESC]" clauses; a key may carry the
// attribute. prefix or backticks.
func parseOrderBy(clauses []string, valid []string) ([]orderKey, error) {
	var out []orderKey
	seen := map[string]bool{}
	for _, c := range clauses {
		f := strings.Fields(c)
		if len(f) == 0 || len(f) > 2 {
			return nil, store.Invalidf("Invalid order_by clause '%s'. Could not be parsed.", c)
		}
		k := strings.TrimPrefix(strings.TrimPrefix(f[0], "attributes."), "attribute.")
		k = strings.Trim(k, "`")
		if !slices.Contains(valid, k) {
			return nil, store.Invalidf("Invalid order by key '%s' specified. Valid keys are '%s'", k, "{'"+strings.Join(valid, "', '")+"'}")
		}
		if k == "timestamp" {
			k = "last_updated_timestamp"
		}
		asc := true
		if len(f) == 2 {
			switch strings.ToUpper(f[1]) {
			case "ASC":
			case "DESC":
				asc = false
			default:
				return nil, store.Invalidf("Invalid order_by clause '%s'. Could not be parsed.", c)
			}
		}
		if seen[k] {
			return nil, store.Invalidf("`order_by` contains duplicate fields: %s", k)
		}
		seen[k] = true
		out = append(out, orderKey{k, asc})
	}
	return out, nil
}

// MatchRegisteredModel reports whether every clause of f holds for m.
func MatchRegisteredModel(f *search.Filter, m *store.RegisteredModel) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		c := &f.Clauses[i]
		if c.Entity == search.Tag {
			v, ok := m.Tags[c.Key]
			if !ok || !matchString(v, c) {
				return false
			}
			continue
		}
		if !matchString(m.Name, c) {
			return false
		}
	}
	return true
}

// MatchModelVersion reports whether every clause of f holds for mv.
func MatchModelVersion(f *search.Filter, mv *store.ModelVersion) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		c := &f.Clauses[i]
		if c.Entity == search.Tag {
			v, ok := mv.Tags[c.Key]
			if !ok || !matchString(v, c) {
				return false
			}
			continue
		}
		var ok bool
		switch c.Key {
		case "name":
			ok = matchString(mv.Name, c)
		case "run_id":
			ok = matchString(mv.RunID, c)
		case "source_path":
			ok = matchString(mv.Source, c)
		case "version_number":
			ok = matchInt(mv.Version, c)
		case "creation_timestamp":
			ok = matchInt(mv.CreationTimestamp, c)
		case "last_updated_timestamp":
			ok = matchInt(mv.LastUpdatedTimestamp, c)
		}
		if !ok {
			return false
		}
	}
	return true
}

func matchInt(v int64, c *search.Clause) bool {
	var want float64
	switch {
	case c.Value.IsInt:
		return cmp3(cmp.Compare(v, c.Value.Int), c.Op)
	case c.Value.Kind == search.NumberValue:
		want = c.Value.Num
	default:
		return false
	}
	return cmp3(cmp.Compare(float64(v), want), c.Op)
}

func cmp3(r int, op search.Op) bool {
	switch op {
	case search.Eq:
		return r == 0
	case search.Ne:
		return r != 0
	case search.Lt:
		return r < 0
	case search.Le:
		return r <= 0
	case search.Gt:
		return r > 0
	case search.Ge:
		return r >= 0
	}
	return false
}

func matchString(v string, c *search.Clause) bool {
	switch c.Op {
	case search.Eq:
		return v == c.Value.Str
	case search.Ne:
		return v != c.Value.Str
	case search.Like:
		return like(v, c.Value.Str)
	case search.ILike:
		return like(asciiLower(v), asciiLower(c.Value.Str))
	case search.In:
		return slices.Contains(c.Value.List, v)
	case search.NotIn:
		return !slices.Contains(c.Value.List, v)
	}
	return false
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// like is SQL LIKE: % any run of characters, _ exactly one, no escape.
func like(s, p string) bool {
	sr, pr := []rune(s), []rune(p)
	var rec func(i, j int) bool
	memo := map[[2]int]bool{}
	rec = func(i, j int) bool {
		if j == len(pr) {
			return i == len(sr)
		}
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch pr[j] {
		case '%':
			r = rec(i, j+1) || (i < len(sr) && rec(i+1, j))
		case '_':
			r = i < len(sr) && rec(i+1, j+1)
		default:
			r = i < len(sr) && sr[i] == pr[j] && rec(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return rec(0, 0)
}
