package fsstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

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

// page cuts one page out of n sorted items.
func page(n, offset, size int) (lo, hi int, next string) {
	lo = min(max(offset, 0), n)
	hi = min(lo+size, n)
	if lo+size < n {
		next = search.NewPageToken(lo + size)
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
	rs, check := search.NewRunSearch(q)
	if err := s.enter(ctx, check, store.ValidateExperimentIDs(q.ExperimentIDs)); err != nil {
		return nil, err
	}
	defer s.leave()
	cands, err := s.runCandidates(ctx, q.ExperimentIDs, q.ViewType)
	if err != nil {
		return nil, err
	}
	if (rs.Filter == nil || len(rs.Filter.Clauses) == 0) && (rs.Order == nil || len(rs.Order.Keys) == 0) {
		// MLflow's natural order needs run metadata only: load the data of
		// the returned page alone.
		slices.SortFunc(cands, func(a, b candidate) int { return naturalRunOrder(&a.info, &b.info) })
		lo, hi, next := page(len(cands), rs.Offset, rs.MaxResults)
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
	// Filter and order on the data the search reads, then load the page.
	needs := needsOf(rs)
	runs, err := s.loadRunsFor(ctx, cands, needs)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]candidate, len(cands))
	for _, c := range cands {
		byID[c.info.RunID] = c
	}
	out, next := rs.Apply(runs)
	for i, r := range out {
		c := byID[r.Info.RunID]
		full, err := s.loadRun(ctx, c.loc, c.meta)
		if err != nil {
			return nil, err
		}
		out[i] = full
	}
	return &store.RunPage{Runs: out, NextPageToken: next}, nil
}

// runCandidates lists the runs of the experiments that are in the view;
// the experiment ids have been checked.
func (s *Store) runCandidates(ctx context.Context, expIDs []string, view store.ViewType) ([]candidate, error) {
	var cands []candidate
	seen := map[string]bool{}
	for _, expID := range expIDs {
		if seen[expID] {
			continue
		}
		seen[expID] = true
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
	es, check := search.NewExperimentSearch(q)
	if err := s.enter(ctx, check); err != nil {
		return nil, err
	}
	defer s.leave()
	exps, err := s.listExperiments(ctx, q.ViewType)
	if err != nil {
		return nil, err
	}
	out, next := es.Apply(exps)
	return &store.ExperimentPage{Experiments: out, NextPageToken: next}, nil
}

// String returns a description of the store for debugging.
func (s *Store) String() string { return fmt.Sprintf("fsstore.Store(%s)", s.root) }
