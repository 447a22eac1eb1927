package fsstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// runQuery is a compiled store.RunQuery: which runs match, and how they
// are ordered beyond MLflow's natural order (start_time DESC, run_id ASC).
// A nil field means "all runs" or "natural order only"; when both are nil
// SearchRuns sorts and pages on run metadata alone and loads the data of
// the returned page only.
type runQuery struct {
	match   func(*store.Run) bool     // nil: every run matches
	compare func(a, b *store.Run) int // nil: natural order only
}

// compileRunQuery turns the query's filter and order-by clauses into a
// predicate and a comparator. MLflow's filter grammar (store/search) is
// not wired in yet, so only the empty filter and order are accepted.
func compileRunQuery(q store.RunQuery) (runQuery, error) {
	if strings.TrimSpace(q.Filter) != "" {
		return runQuery{}, store.Invalidf("filter not supported yet: %q", q.Filter)
	}
	if len(q.OrderBy) > 0 {
		return runQuery{}, store.Invalidf("filter not supported yet: order_by %q", q.OrderBy)
	}
	return runQuery{}, nil
}

// experimentQuery is a compiled store.ExperimentQuery (see runQuery).
type experimentQuery struct {
	match   func(*store.Experiment) bool
	compare func(a, b *store.Experiment) int // nil: creation_time DESC, experiment_id ASC
}

func compileExperimentQuery(q store.ExperimentQuery) (experimentQuery, error) {
	if strings.TrimSpace(q.Filter) != "" {
		return experimentQuery{}, store.Invalidf("filter not supported yet: %q", q.Filter)
	}
	if len(q.OrderBy) > 0 {
		return experimentQuery{}, store.Invalidf("filter not supported yet: order_by %q", q.OrderBy)
	}
	return experimentQuery{}, nil
}

// naturalRunOrder is MLflow's SearchUtils.sort base order: start_time
// descending, then run_id ascending.
func naturalRunOrder(a, b *store.RunInfo) int {
	return cmp.Or(cmp.Compare(b.StartTime, a.StartTime), strings.Compare(a.RunID, b.RunID))
}

// sortExperiments applies MLflow's default experiment order:
// creation_time descending, then experiment_id ascending (as strings).
func sortExperiments(exps []*store.Experiment) {
	slices.SortStableFunc(exps, naturalExperimentOrder)
}

func naturalExperimentOrder(a, b *store.Experiment) int {
	return cmp.Or(cmp.Compare(b.CreationTime, a.CreationTime), strings.Compare(a.ID, b.ID))
}

// pageToken returns MLflow's page token for an offset: the base64 of the
// JSON {"offset": N}, as SearchUtils.create_page_token makes it.
func pageToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"offset": ` + strconv.Itoa(offset) + `}`))
}

// parsePageToken decodes a page token as MLflow's
// SearchUtils.parse_start_offset_from_page_token does; "" is offset 0.
func parsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(tok, "=")); err != nil {
			return 0, store.Invalidf("Invalid page token, could not base64-decode")
		}
	}
	var parsed map[string]any
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return 0, store.Invalidf("Invalid page token, decoded value=%s", raw)
	}
	var off int
	switch v := parsed["offset"].(type) {
	case float64:
		off = int(v)
		if float64(off) != v {
			return 0, store.Invalidf("Invalid page token, parsed value=%s", raw)
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0, store.Invalidf("Invalid page token, not stringable %s", v)
		}
		off = n
	}
	if off <= 0 {
		return 0, store.Invalidf("Invalid page token, parsed value=%s", raw)
	}
	return off, nil
}

// maxResults applies the default and the limit.
func maxResults(n int) (int, error) {
	switch {
	case n == 0:
		return store.DefaultMaxResults, nil
	case n < 0:
		return 0, store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", n)
	case n > store.MaxResultsLimit:
		return 0, store.Invalidf("Invalid value for request parameter max_results. It must be at most %d, but got value %d", store.MaxResultsLimit, n)
	}
	return n, nil
}

// page cuts one page out of n sorted items.
func page(n, offset, size int) (lo, hi int, next string) {
	lo = min(offset, n)
	hi = min(offset+size, n)
	if offset+size < n {
		next = pageToken(offset + size)
	}
	return lo, hi, next
}

// candidate is a run found by a search, before its data is loaded.
type candidate struct {
	loc  runLoc
	meta *runMeta
	info store.RunInfo
}

// SearchRuns lists the runs of the given experiments in the view, in
// MLflow's order (start_time DESC, run_id ASC), paged with MLflow's page
// tokens. Unknown experiment ids are skipped, as in MLflow. Run
// directories without meta.yaml, or whose meta.yaml records another run or
// experiment, are skipped; an unreadable meta.yaml is ErrCorrupt.
func (s *Store) SearchRuns(ctx context.Context, q store.RunQuery) (*store.RunPage, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	size, err := maxResults(q.MaxResults)
	if err != nil {
		return nil, err
	}
	offset, err := parsePageToken(q.PageToken)
	if err != nil {
		return nil, err
	}
	rq, err := compileRunQuery(q)
	if err != nil {
		return nil, err
	}
	cands, err := s.runCandidates(ctx, q.ExperimentIDs, q.ViewType)
	if err != nil {
		return nil, err
	}
	if rq.match == nil && rq.compare == nil {
		slices.SortFunc(cands, func(a, b candidate) int { return naturalRunOrder(&a.info, &b.info) })
		lo, hi, next := page(len(cands), offset, size)
		out := &store.RunPage{NextPageToken: next, Runs: make([]*store.Run, 0, hi-lo)}
		for _, c := range cands[lo:hi] {
			r, err := s.loadRun(ctx, c.loc, c.meta)
			if err != nil {
				return nil, err
			}
			out.Runs = append(out.Runs, r)
		}
		return out, nil
	}
	runs := make([]*store.Run, 0, len(cands))
	for _, c := range cands {
		r, err := s.loadRun(ctx, c.loc, c.meta)
		if err != nil {
			return nil, err
		}
		if rq.match == nil || rq.match(r) {
			runs = append(runs, r)
		}
	}
	slices.SortStableFunc(runs, func(a, b *store.Run) int {
		if rq.compare != nil {
			if c := rq.compare(a, b); c != 0 {
				return c
			}
		}
		return naturalRunOrder(&a.Info, &b.Info)
	})
	lo, hi, next := page(len(runs), offset, size)
	return &store.RunPage{Runs: runs[lo:hi:hi], NextPageToken: next}, nil
}

// runCandidates lists the runs of the experiments that are in the view.
func (s *Store) runCandidates(ctx context.Context, expIDs []string, view store.ViewType) ([]candidate, error) {
	var cands []candidate
	seen := map[string]bool{}
	for _, expID := range expIDs {
		if seen[expID] {
			continue
		}
		seen[expID] = true
		if err := store.ValidateExperimentID(expID); err != nil {
			return nil, err
		}
		expDir, _, err := s.findExperiment(expID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return nil, err
		}
		runIDs, err := listRunDirs(expDir)
		if err != nil {
			return nil, err
		}
		for _, runID := range runIDs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			loc := runLoc{id: runID, dir: filepath.Join(expDir, runID), expID: expID, expDir: expDir}
			m, err := s.readRunMeta(ctx, loc.dir)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // not a run (MLflow skips it too)
				}
				return nil, err
			}
			if m.ExperimentID != expID || m.RunID != runID || !view.Includes(m.LifecycleStage) {
				continue
			}
			cands = append(cands, candidate{loc: loc, meta: m, info: m.info()})
		}
	}
	return cands, nil
}

// SearchExperiments lists the experiments of the view in MLflow's order
// (creation_time DESC, experiment_id ASC), paged with MLflow's page
// tokens.
func (s *Store) SearchExperiments(ctx context.Context, q store.ExperimentQuery) (*store.ExperimentPage, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.leave()
	size := q.MaxResults
	switch {
	case size == 0:
		size = store.DefaultMaxResults
	case size < 0:
		return nil, store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", size)
	case size > store.MaxExperimentsListedPerPage:
		return nil, store.Invalidf("Invalid value %d for parameter 'max_results' supplied. It must be at most %d", size, store.MaxExperimentsListedPerPage)
	}
	offset, err := parsePageToken(q.PageToken)
	if err != nil {
		return nil, err
	}
	eq, err := compileExperimentQuery(q)
	if err != nil {
		return nil, err
	}
	exps, err := s.listExperiments(ctx, q.ViewType)
	if err != nil {
		return nil, err
	}
	if eq.match != nil {
		exps = slices.DeleteFunc(exps, func(e *store.Experiment) bool { return !eq.match(e) })
	}
	slices.SortStableFunc(exps, func(a, b *store.Experiment) int {
		if eq.compare != nil {
			return eq.compare(a, b)
		}
		return naturalExperimentOrder(a, b)
	})
	lo, hi, next := page(len(exps), offset, size)
	return &store.ExperimentPage{Experiments: exps[lo:hi:hi], NextPageToken: next}, nil
}

// String returns a description of the store for debugging.
func (s *Store) String() string { return fmt.Sprintf("fsstore.Store(%s)", s.root) }
