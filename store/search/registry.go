package search

import (
	"cmp"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// This file evaluates model-registry searches (search_registered_models,
// search_model_versions) in memory, for both local backends: fsstore, and
// sqlstore, which reads the models in scope (only model n for a filter
// with name = 'n'; see internal/registryguard.SearchScope) and hands them
// here rather than rebuilding these rules in SQL (sqlstore/registrysearch.go
// says why). It applies the parsed filter, order_by list and page token with
// the semantics of MLflow's SQL registry store on SQLite: LIKE is
// case-sensitive with % and _ wildcards and no escape, ILIKE folds ASCII
// letters, and a clause on a tag the entity does not have is false (even
// for !=).

// PaginateRegisteredModels applies q to all registered models and returns one page.
// Prompts (models tagged mlflow.prompt.is_prompt=true) are left out unless
// the filter names that tag, as in MLflow.
func PaginateRegisteredModels(models []*store.RegisteredModel, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	page, next, err := registryPage(models, registryKind[*store.RegisteredModel]{
		defaultMax:        store.DefaultRegisteredModelMaxResults,
		maxMax:            store.MaxRegisteredModelMaxResults,
		parse:             ParseRegisteredModelFilter,
		match:             MatchRegisteredModel,
		registryOrderKeys: []string{"name", "timestamp", "last_updated_timestamp", "creation_timestamp"},
		tieBreak:          []registryOrderKey{{"name", true}},
		tags:              func(m *store.RegisteredModel) map[string]string { return m.Tags },
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

// PaginateModelVersions applies q to all (non-deleted) model versions and returns
// one page. Default order: last_updated_timestamp DESC, name ASC,
// version_number DESC.
func PaginateModelVersions(versions []*store.ModelVersion, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	orderBy := q.OrderBy
	if len(orderBy) == 0 {
		orderBy = []string{"last_updated_timestamp DESC", "name ASC", "version_number DESC"}
	}
	page, next, err := registryPage(versions, registryKind[*store.ModelVersion]{
		defaultMax:        store.DefaultModelVersionMaxResults,
		maxMax:            store.MaxModelVersionMaxResults,
		parse:             ParseModelVersionFilter,
		match:             MatchModelVersion,
		registryOrderKeys: []string{"name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"},
		tieBreak:          []registryOrderKey{{"name", true}, {"version_number", false}},
		deleted:           func(mv *store.ModelVersion) bool { return mv.CurrentStage == store.StageDeletedInternal },
		tags:              func(mv *store.ModelVersion) map[string]string { return mv.Tags },
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

// registryKind describes how to search one kind of registry entity.
type registryKind[T any] struct {
	defaultMax, maxMax int                           // max_results when 0, and its limit
	parse              func(string) (*Filter, error) // the filter grammar
	match              func(*Filter, T) bool
	registryOrderKeys  []string           // the valid order_by keys
	tieBreak           []registryOrderKey // appended to the order unless it names their keys
	deleted            func(T) bool       // left out if true; nil for none
	tags               func(T) map[string]string
	compare            func(a, b T, key string) int // by an order key ("timestamp" is never passed)
}

// registryPage filters, sorts and pages items as MLflow's SQL registry store
// does: max_results is checked, then the filter, the order and the page
// token are parsed, in that order; prompts (tagged
// mlflow.prompt.is_prompt=true) are left out unless the filter names that
// tag.
func registryPage[T any](items []T, k registryKind[T], maxResults int, filter string, orderBy []string, pageToken string) ([]T, string, error) {
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
	order, err := parseRegistryOrderBy(orderBy, k.registryOrderKeys)
	if err != nil {
		return nil, "", err
	}
	for _, t := range k.tieBreak {
		if !hasRegistryKey(order, t.key) {
			order = append(order, t)
		}
	}
	offset, err := ParsePageToken(pageToken)
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
	page, next := registryPaginate(hits, offset, max)
	return page, next, nil
}

func registryPaginate[T any](all []T, offset, max int) ([]T, string) {
	if offset < 0 {
		offset = 0
	}
	if offset > len(all) {
		offset = len(all)
	}
	end := min(offset+max, len(all))
	next := ""
	if end < len(all) {
		next = NewPageToken(end)
	}
	return all[offset:end], next
}

type registryOrderKey struct {
	key string
	asc bool
}

func hasRegistryKey(o []registryOrderKey, k string) bool {
	return slices.ContainsFunc(o, func(x registryOrderKey) bool { return x.key == k })
}

// parseRegistryOrderBy parses "key [ASC|DESC]" clauses; a key may carry the
// attribute. prefix or backticks.
func parseRegistryOrderBy(clauses []string, valid []string) ([]registryOrderKey, error) {
	var out []registryOrderKey
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
		out = append(out, registryOrderKey{k, asc})
	}
	return out, nil
}

// MatchRegisteredModel reports whether every clause of f holds for m.
func MatchRegisteredModel(f *Filter, m *store.RegisteredModel) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		c := &f.Clauses[i]
		if c.Entity == Tag {
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
func MatchModelVersion(f *Filter, mv *store.ModelVersion) bool {
	if f == nil {
		return true
	}
	for i := range f.Clauses {
		c := &f.Clauses[i]
		if c.Entity == Tag {
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

func matchInt(v int64, c *Clause) bool {
	var want float64
	switch {
	case c.Value.IsInt:
		return cmp3(cmp.Compare(v, c.Value.Int), c.Op)
	case c.Value.Kind == NumberValue:
		want = c.Value.Num
	default:
		return false
	}
	return cmp3(cmp.Compare(float64(v), want), c.Op)
}

func cmp3(r int, op Op) bool {
	switch op {
	case Eq:
		return r == 0
	case Ne:
		return r != 0
	case Lt:
		return r < 0
	case Le:
		return r <= 0
	case Gt:
		return r > 0
	case Ge:
		return r >= 0
	}
	return false
}
