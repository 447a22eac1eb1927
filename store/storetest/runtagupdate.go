package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

func init() {
	cases = append(cases, struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{"UpdateRunTag", testUpdateRunTag})
}

// testUpdateRunTag checks store.RunTagUpdater on backends that implement
// it: concurrent read-modify-writes lose nothing, fn's error and an
// unchanged value write nothing, values may exceed MaxTagValueLength, and
// bad arguments and deleted runs are refused.
func testUpdateRunTag(t *testing.T, s store.Store) {
	u, ok := unwrap(s).(store.RunTagUpdater)
	if !ok {
		t.Skip("backend does not implement store.RunTagUpdater")
	}
	exp := createExperiment(t, s, "tag-update")
	run := createRun(t, s, exp, "r", 1).Info.RunID
	const key = "mlflow.loggedArtifacts"

	// 8 goroutines append 10 entries each: all 80 stay.
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				errs <- u.UpdateRunTag(ctx, run, key, func(old string, ok bool) (string, error) {
					if !ok {
						old = ""
					}
					return old + fmt.Sprintf("<%d.%d>", g, i), nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "UpdateRunTag")
	}
	v, _ := getRun(t, s, run).Tag(key)
	if n := strings.Count(v, "<"); n != 80 {
		t.Fatalf("after 80 concurrent updates the tag holds %d entries: %q", n, v)
	}

	// fn sees the old value; an error writes nothing; the same value is a no-op.
	boom := errors.New("boom")
	err := u.UpdateRunTag(ctx, run, key, func(old string, ok bool) (string, error) {
		if !ok || old != v {
			t.Errorf("fn got %q, %v; want the stored value", old, ok)
		}
		return "changed", boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("fn error: got %v, want boom", err)
	}
	if got, _ := getRun(t, s, run).Tag(key); got != v {
		t.Errorf("a failed update changed the tag to %q", got)
	}
	must(t, u.UpdateRunTag(ctx, run, key, func(old string, _ bool) (string, error) { return old, nil }), "same value")

	// A missing tag is reported as such; long values are kept whole.
	long := strings.Repeat("x", store.MaxTagValueLength+500)
	must(t, u.UpdateRunTag(ctx, run, "new", func(old string, ok bool) (string, error) {
		if ok || old != "" {
			t.Errorf("missing tag: fn got %q, %v", old, ok)
		}
		return long, nil
	}), "long value")
	if got, _ := getRun(t, s, run).Tag("new"); got != long {
		t.Errorf("long value: got %d characters, want %d", len(got), len(long))
	}

	id := func(old string, _ bool) (string, error) { return old, nil }
	wantErr(t, u.UpdateRunTag(ctx, run, "mlflow.runName", id), store.ErrInvalidParameter, "mlflow.runName")
	wantErr(t, u.UpdateRunTag(ctx, run, "../x", id), store.ErrInvalidParameter, "bad key")
	wantErr(t, u.UpdateRunTag(ctx, run, key, nil), store.ErrInvalidParameter, "nil fn")
	wantErr(t, u.UpdateRunTag(ctx, run, key, func(string, bool) (string, error) { return "\xff", nil }), store.ErrInvalidParameter, "invalid UTF-8")
	wantErr(t, u.UpdateRunTag(ctx, "0123456789abcdef0123456789abcdef", key, id), store.ErrNotFound, "unknown run")
	must(t, s.DeleteRun(ctx, run), "DeleteRun")
	wantErr(t, u.UpdateRunTag(ctx, run, key, id), store.ErrInvalidState, "deleted run")
}

// unwrap returns the store under the suite's wrapper.
func unwrap(s store.Store) store.Store {
	if ss, ok := s.(*suiteStore); ok {
		return ss.Store
	}
	return s
}
