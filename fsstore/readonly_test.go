package fsstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestReadOnlyMLflowStore opens stores real MLflow wrote (the fixtures)
// with Options.ReadOnly after making them read-only: everything reads as
// through a read-write store, and not a byte changes (a read-write Open
// would add its lock file, staging folder and sweep; MLflow's own readers
// need none of it).
func TestReadOnlyMLflowStore(t *testing.T) {
	for _, fixture := range []string{"mlflow-2.22.5", "mlflow-3.17.2"} {
		t.Run(fixture, func(t *testing.T) {
			root := copyFixture(t, fixture)
			want := readEverything(t, openAt(t, copyFixture(t, fixture), nil))
			chmodAll(t, root, 0o555, 0o444)
			t.Cleanup(func() { chmodAll(t, root, 0o755, 0o644) })
			before := storetest.TreeState(t, root, nil)
			s := openAt(t, root, &Options{ReadOnly: true})
			got := readEverything(t, s)
			if len(got) != len(want) || len(got) < 3 {
				t.Fatalf("read %d entities, the read-write store %d", len(got), len(want))
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s:\n got %s\nwant %s", k, got[k], w)
				}
			}
			mustNil(t, s.Close(), "Close")
			if after := storetest.TreeState(t, root, nil); after != before {
				t.Errorf("a read-only store changed the fixture:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// readEverything reads every experiment and run of s (with metric
// histories), keyed by id, as text with s's root replaced by <root>.
func readEverything(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	put := func(k string, v any) { out[k] = strings.ReplaceAll(dumpValue(v), s.Root(), "<root>") }
	ep, err := s.SearchExperiments(bg, store.ExperimentQuery{ViewType: store.AllViews})
	mustNil(t, err, "SearchExperiments")
	for _, e := range ep.Experiments {
		put("experiment "+e.ID, e)
		rp, err := s.SearchRuns(bg, store.RunQuery{ExperimentIDs: []string{e.ID}, ViewType: store.AllViews, MaxResults: store.MaxResultsLimit})
		mustNil(t, err, "SearchRuns")
		for _, r := range rp.Runs {
			put("run "+r.Info.RunID, r)
			for _, m := range r.Data.Metrics {
				h, err := s.GetMetricHistory(bg, r.Info.RunID, m.Key)
				mustNil(t, err, "GetMetricHistory")
				put("history "+r.Info.RunID+" "+m.Key, h)
			}
		}
	}
	return out
}

// dumpValue formats an experiment, run or history as text, with a run's
// time pointers followed (NaN metrics make == unusable).
func dumpValue(v any) string {
	if r, ok := v.(*store.Run); ok {
		c := *r
		end, deleted := c.Info.EndTime, c.Info.DeletedTime
		c.Info.EndTime, c.Info.DeletedTime = nil, nil
		return fmt.Sprintf("%+v end=%v deleted=%v", c, deref64(end), deref64(deleted))
	}
	if e, ok := v.(*store.Experiment); ok {
		return fmt.Sprintf("%+v", *e)
	}
	return fmt.Sprintf("%+v", v)
}

// chmodAll sets the mode of every directory and file under root.
func chmodAll(t *testing.T, root string, dirMode, fileMode os.FileMode) {
	t.Helper()
	var dirs []string
	mustNil(t, filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return os.Chmod(p, fileMode)
	}), "chmod files")
	// Walk lists parents first: make them writable first, read-only last.
	if dirMode&0o200 == 0 {
		slices.Reverse(dirs)
	}
	for _, d := range dirs {
		mustNil(t, os.Chmod(d, dirMode), "chmod dir")
	}
}

// TestOpenReadOnlyMissing checks that a read-only Open of a missing root
// creates nothing and says "no MLflow store at <root>".
func TestOpenReadOnlyMissing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "mlruns")
	_, err := Open(bg, root, &Options{ReadOnly: true})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no MLflow store at "+root) {
		t.Errorf("Open(missing, ReadOnly) = %v", err)
	}
	if _, err := os.Stat(filepath.Dir(root)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing, ReadOnly) created %s", filepath.Dir(root))
	}
}

// TestOpenNilContext checks that Open refuses a nil context rather than
// panicking (every method does too: storetest's NilContext).
func TestOpenNilContext(t *testing.T) {
	var nilCtx context.Context
	if _, err := Open(nilCtx, t.TempDir(), nil); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("Open(nil ctx) = %v, want ErrInvalidParameter", err)
	}
}
