package mlrun_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// TestOptionsValidate checks that options reject bad values themselves,
// before the call they configure writes anything.
func TestOptionsValidate(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, err := c.StartRun(ctx, mlrun.WithRunName("opts"))
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"WithTimestamp(-1)":   run.LogMetric(ctx, "m", 1, mlrun.WithTimestamp(-1)),
		"WithTime(pre-epoch)": run.LogMetrics(ctx, map[string]float64{"m": 1}, mlrun.WithTime(time.Unix(-1, 0))),
		"WithStatus(RUNNING)": run.End(ctx, mlrun.WithStatus(store.StatusRunning)),
	} {
		if !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("%s: err = %v, want ErrInvalidParameter", name, err)
		}
	}
	if h, err := c.GetMetricHistory(ctx, run.ID(), "m"); err != nil || len(h) != 0 {
		t.Errorf("refused metric points were logged: %v, %v", h, err)
	}

	// Options apply in order; tags merge, the later value of a key wins.
	if err := run.LogMetric(ctx, "m", 2, mlrun.WithStep(3), mlrun.WithTimestamp(5), nil); err != nil {
		t.Fatal(err)
	}
	h, err := c.GetMetricHistory(ctx, run.ID(), "m")
	if err != nil || len(h) != 1 || h[0].Step != 3 || h[0].Timestamp != 5 {
		t.Errorf("history = %v, %v; want one point at step 3, timestamp 5", h, err)
	}
	ds := store.Dataset{Name: "d", Digest: "abc", SourceType: "local", Source: "{}"}
	if err := run.LogInput(ctx, ds, mlrun.WithInputTags(map[string]string{"b": "1", "a": "x"}), mlrun.WithInputTags(map[string]string{"a": "2"}), mlrun.WithInputContext("training")); err != nil {
		t.Fatal(err)
	}
	r, err := run.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Inputs) != 1 {
		t.Fatalf("inputs = %v, want 1", r.Inputs)
	}
	var got []string
	for _, tg := range r.Inputs[0].Tags {
		got = append(got, tg.Key+"="+tg.Value)
	}
	if g, want := strings.Join(got, " "), "a=2 b=1 mlflow.data.context=training"; g != want {
		t.Errorf("input tags = %q, want %q", g, want)
	}
	run.End(ctx) // returns the sticky error of the refused LogMetric
	if r, err := run.Get(ctx); err != nil {
		t.Fatal(err)
	} else if r.Info.Status != store.StatusFinished {
		t.Fatalf("after End: %v, want FINISHED", r.Info.Status)
	}

	for name, o := range map[string]mlrun.RegisterOption{
		"WithVersionTags(empty key)":      mlrun.WithVersionTags(map[string]string{"": "v"}),
		"WithVersionDescription(invalid)": mlrun.WithVersionDescription("\xff"),
		"WithRunLink(invalid)":            mlrun.WithRunLink("\xff"),
	} {
		if _, err := c.RegisterModel(ctx, "runs:/"+run.ID()+"/model", "reg", o); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("%s: err = %v, want ErrInvalidParameter", name, err)
		}
	}
	if _, err := c.GetRegisteredModel(ctx, "reg"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused RegisterModel created the model: %v", err)
	}
}
