package search

import (
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search/internal/pysql"
)

// NewPageToken returns MLflow's page token for an offset:
// base64(json.dumps({"offset": offset})), for example
// "eyJvZmZzZXQiOiAyfQ==" for 2.
func NewPageToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"offset": %d}`, offset)))
}

// ParsePageToken returns the offset in an MLflow page token, as
// SearchUtils.parse_start_offset_from_page_token reads it. The empty token
// is offset 0. A token that is not base64, not JSON, or whose offset is
// missing, zero or not an integer gives MLflow's "Invalid page token"
// error (store.ErrInvalidParameter); the few malformed tokens on which
// MLflow raises a Python exception give an internal error.
func ParsePageToken(token string) (int, error) {
	off, err := pysql.ParseOffsetToken(token)
	if err != nil {
		return 0, fromPySQL(err)
	}
	return off, nil
}

// ValidateMaxResults checks a page size as MLflow's SQL store does: it
// must be between 1 and store.MaxResultsLimit (50000).
func ValidateMaxResults(n int) error {
	if n < 1 {
		return store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", n)
	}
	if n > store.MaxResultsLimit {
		return store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", n, store.MaxResultsLimit)
	}
	return nil
}

// RunSearch is a checked search_runs request, ready to apply to runs.
type RunSearch struct {
	ExperimentIDs []string // empty means any experiment
	ViewType      store.ViewType
	Filter        *Filter
	Order         *RunOrder
	Offset        int // from the page token
	MaxResults    int
}

// NewRunSearch checks a search_runs request in the order MLflow's SQL store
// does, so that a request with several problems reports the same one:
// max_results, the filter's syntax, order_by, the filter's comparators,
// then the page token. MaxResults 0 means store.DefaultMaxResults.
func NewRunSearch(q store.RunQuery) (*RunSearch, error) {
	maxResults := q.MaxResults
	if maxResults == 0 {
		maxResults = store.DefaultMaxResults
	}
	if err := ValidateMaxResults(maxResults); err != nil {
		return nil, err
	}
	raw, err := parseSyntax(Runs, q.Filter)
	if err != nil {
		return nil, err
	}
	order, err := ParseRunOrderBy(q.OrderBy)
	if err != nil {
		return nil, err
	}
	filter, err := validateRunClauses(raw)
	if err != nil {
		return nil, err
	}
	offset, err := ParsePageToken(q.PageToken)
	if err != nil {
		return nil, err
	}
	return &RunSearch{
		ExperimentIDs: q.ExperimentIDs,
		ViewType:      q.ViewType,
		Filter:        filter,
		Order:         order,
		Offset:        offset,
		MaxResults:    maxResults,
	}, nil
}

// Match reports whether run r is selected: in one of the experiments, in
// the view, and matching the filter.
func (s *RunSearch) Match(r *store.Run) bool {
	if len(s.ExperimentIDs) > 0 && !slices.Contains(s.ExperimentIDs, r.Info.ExperimentID) {
		return false
	}
	return s.ViewType.Includes(r.Info.LifecycleStage) && MatchRun(s.Filter, r)
}

// Apply selects, orders and pages runs. It returns the page and the next
// page token, which is set when more runs follow the page (as MLflow 3's
// SQL store and both MLflow file stores do). The input slice is not
// modified.
func (s *RunSearch) Apply(runs []*store.Run) ([]*store.Run, string) {
	type keyed struct {
		run  *store.Run
		keys []runSortKey
	}
	sel := make([]keyed, 0, len(runs))
	for _, r := range runs {
		if !s.Match(r) {
			continue
		}
		k := keyed{run: r}
		if s.Order != nil && len(s.Order.Keys) > 0 {
			k.keys = make([]runSortKey, len(s.Order.Keys))
			for i := range s.Order.Keys {
				k.keys[i] = s.Order.sortKey(&s.Order.Keys[i], r)
			}
		}
		sel = append(sel, k)
	}
	compare := func(a, b keyed) int {
		for i, ka := range a.keys {
			kb := b.keys[i]
			if c := ka.compare(kb); c != 0 {
				if ka.group == kb.group && !s.Order.Keys[i].Ascending {
					return -c
				}
				return c
			}
		}
		return tieBreak(s.Order, a.run, b.run)
	}
	start, end := pageBounds(s.Offset, s.MaxResults, len(sel))
	if end < len(sel) && end+1 < len(sel)/4 {
		// Only the first end+1 runs matter: select them, then sort them.
		partialSort(sel, end+1, compare)
	} else {
		slices.SortFunc(sel, compare)
	}
	var next string
	if end < len(sel) {
		next = NewPageToken(s.Offset + s.MaxResults)
	}
	page := make([]*store.Run, 0, end-start)
	for _, k := range sel[start:end] {
		page = append(page, k.run)
	}
	return page, next
}

// pageBounds returns the slice bounds of a page of n rows. A negative
// offset counts as 0, as SQLite treats a negative OFFSET.
func pageBounds(offset, maxResults, n int) (start, end int) {
	start = min(max(offset, 0), n)
	end = n
	if maxResults < n-start {
		end = start + maxResults
	}
	return start, end
}

// partialSort puts the n smallest elements of s, sorted, at its front,
// using a bounded max-heap.
func partialSort[T any](s []T, n int, cmp func(a, b T) int) {
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= n {
				return
			}
			m := l
			if r := l + 1; r < n && cmp(s[r], s[l]) > 0 {
				m = r
			}
			if cmp(s[m], s[i]) <= 0 {
				return
			}
			s[i], s[m] = s[m], s[i]
			i = m
		}
	}
	for i := n/2 - 1; i >= 0; i-- {
		down(i)
	}
	for j := n; j < len(s); j++ {
		if cmp(s[j], s[0]) < 0 {
			s[0], s[j] = s[j], s[0]
			down(0)
		}
	}
	slices.SortFunc(s[:n], cmp)
}

// Paginate applies a search_runs request to an in-memory list of runs (a
// file store's runs): it checks the request as [NewRunSearch] does, then
// selects, orders and pages the runs.
func Paginate(runs []*store.Run, q store.RunQuery) (*store.RunPage, error) {
	s, err := NewRunSearch(q)
	if err != nil {
		return nil, err
	}
	page, next := s.Apply(runs)
	return &store.RunPage{Runs: page, NextPageToken: next}, nil
}

// ExperimentSearch is a checked search_experiments request.
type ExperimentSearch struct {
	ViewType   store.ViewType
	Filter     *Filter
	Order      *ExperimentOrder
	Offset     int
	MaxResults int
}

// NewExperimentSearch checks a search_experiments request in the order
// MLflow's SQL store does: max_results, the filter, order_by, then the page
// token. MaxResults 0 means store.DefaultMaxResults.
func NewExperimentSearch(q store.ExperimentQuery) (*ExperimentSearch, error) {
	maxResults := q.MaxResults
	if maxResults == 0 {
		maxResults = store.DefaultMaxResults
	}
	if err := ValidateMaxResults(maxResults); err != nil {
		return nil, err
	}
	filter, err := ParseExperimentFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	order, err := ParseExperimentOrderBy(q.OrderBy)
	if err != nil {
		return nil, err
	}
	offset, err := ParsePageToken(q.PageToken)
	if err != nil {
		return nil, err
	}
	return &ExperimentSearch{ViewType: q.ViewType, Filter: filter, Order: order, Offset: offset, MaxResults: maxResults}, nil
}

// Apply selects, orders and pages experiments, and returns the page and the
// next page token (set when more experiments follow).
func (s *ExperimentSearch) Apply(exps []*store.Experiment) ([]*store.Experiment, string) {
	var sel []*store.Experiment
	for _, e := range exps {
		if s.ViewType.Includes(e.LifecycleStage) && MatchExperiment(s.Filter, e) {
			sel = append(sel, e)
		}
	}
	slices.SortStableFunc(sel, s.Order.Compare)
	start, end := pageBounds(s.Offset, s.MaxResults, len(sel))
	var next string
	if end < len(sel) {
		next = NewPageToken(s.Offset + s.MaxResults)
	}
	return slices.Clone(sel[start:end]), next
}

// PaginateExperiments applies a search_experiments request to an in-memory
// list of experiments.
func PaginateExperiments(exps []*store.Experiment, q store.ExperimentQuery) (*store.ExperimentPage, error) {
	s, err := NewExperimentSearch(q)
	if err != nil {
		return nil, err
	}
	page, next := s.Apply(exps)
	return &store.ExperimentPage{Experiments: page, NextPageToken: next}, nil
}
