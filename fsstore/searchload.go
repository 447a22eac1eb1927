package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// searchNeeds is the run data a search's filter and order_by read: the
// only files a search must open for every candidate run. The full data is
// then loaded for the runs of the returned page alone, so searching 10,000
// runs for one metric and one param reads three small files per run, not
// every metric, param and tag file.
type searchNeeds struct {
	metrics, params, tags map[string]bool
	inputs                bool
}

// needsOf collects what rs reads. MLflow's SQL store filters run_name on
// the mlflow.runName tag, which store/search follows.
func needsOf(rs *search.RunSearch) searchNeeds {
	n := searchNeeds{metrics: map[string]bool{}, params: map[string]bool{}, tags: map[string]bool{}}
	add := func(e search.Entity, key string) {
		switch e {
		case search.Metric:
			n.metrics[key] = true
		case search.Param:
			n.params[key] = true
		case search.Tag:
			n.tags[key] = true
		case search.Dataset:
			n.inputs = true
		case search.Attribute:
			n.tags[store.RunNameTag] = true
		}
	}
	if rs.Filter != nil {
		for _, c := range rs.Filter.Clauses {
			add(c.Entity, c.Key)
		}
	}
	if rs.Order != nil {
		for _, k := range rs.Order.Keys {
			add(k.Entity, k.Key)
		}
	}
	return n
}

// loadRunsFor loads what n names of every candidate, in order, reading
// several runs at once: the reads are small files, and their system calls
// overlap well.
func (s *Store) loadRunsFor(ctx context.Context, cands []candidate, n searchNeeds) ([]*store.Run, error) {
	runs := make([]*store.Run, len(cands))
	workers := min(len(cands), 2*runtime.GOMAXPROCS(0))
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := s.loadRunFor(ctx, cands[i], n)
				if err != nil {
					errs <- err
					return
				}
				runs[i] = r
			}
		}()
	}
	var err error
feed:
	for i := range cands {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// loadRunFor loads the parts of a run that n names: its info, the latest
// value of the named metrics, and the named params and tags.
func (s *Store) loadRunFor(ctx context.Context, c candidate, n searchNeeds) (*store.Run, error) {
	r := &store.Run{Info: c.info}
	for key := range n.metrics {
		if !safeKey(key) {
			continue // no file can hold it: the run has no such metric
		}
		h, err := readMetricHistory(filepath.Join(c.loc.dir, metricsDir), key)
		if err != nil {
			return nil, err
		}
		if m, ok := store.Latest(h); ok {
			r.Data.Metrics = append(r.Data.Metrics, m)
		}
	}
	read := func(dir, key string) (string, bool, error) {
		if !safeKey(key) {
			return "", false, nil
		}
		b, err := os.ReadFile(filepath.Join(c.loc.dir, dir, filepath.FromSlash(key)))
		switch {
		case errors.Is(err, fs.ErrNotExist), isDirErr(err):
			return "", false, nil
		case err != nil:
			return "", false, fmt.Errorf("fsstore: read %s %q of run %s: %w", dir, key, c.loc.id, err)
		}
		return string(b), true, nil
	}
	for key := range n.params {
		v, ok, err := read(paramsDir, key)
		if err != nil {
			return nil, err
		}
		if ok {
			r.Data.Params = append(r.Data.Params, store.Param{Key: key, Value: v})
		}
	}
	for key := range n.tags {
		v, ok, err := read(tagsDir, key)
		if err != nil {
			return nil, err
		}
		if ok {
			r.Data.Tags = append(r.Data.Tags, store.Tag{Key: key, Value: v})
		}
	}
	if r.Info.RunName == "" {
		r.Info.RunName, _ = r.Tag(store.RunNameTag)
	}
	if n.inputs {
		var err error
		if r.Inputs, err = s.readInputs(ctx, c.loc); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// safeKey reports whether key names a file inside a run's metrics,
// params or tags directory (the names store.Validate* accept); other keys
// cannot have been logged, so no file is read for them.
func safeKey(key string) bool {
	return store.ValidateTag(store.Tag{Key: key}) == nil
}

// isDirErr reports whether err comes from reading a directory as a file
// (a key that is a prefix of nested keys, like "a" for "a/b").
func isDirErr(err error) bool {
	return errors.Is(err, syscall.EISDIR)
}
