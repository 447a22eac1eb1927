package mlplot_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/mlrun/mlplot"
	"github.com/mlrun-go/mlrun/store"
)

func openRun(t *testing.T) (*mlrun.Client, *mlrun.Run) {
	t.Helper()
	uri, err := fileuri.FromPath(filepath.Join(t.TempDir(), "mlruns"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := mlrun.Open(context.Background(), mlrun.WithTrackingURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	run, err := c.StartRun(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c, run
}

func linePlot(t *testing.T) *plot.Plot {
	t.Helper()
	p := plot.New()
	p.Title.Text = "fit"
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 3}, {X: 2, Y: 2}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	return p
}

func readArtifact(t *testing.T, c *mlrun.Client, run *mlrun.Run, rel string) []byte {
	t.Helper()
	p, err := c.ArtifactPath(context.Background(), run.ID(), rel)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLogFigurePNG(t *testing.T) {
	ctx := context.Background()
	c, run := openRun(t)
	p := linePlot(t)
	if err := mlplot.LogFigure(ctx, run, p, "plots/fit.png"); err != nil {
		t.Fatal(err)
	}
	if err := mlplot.LogFigure(ctx, run, p, "small.PNG", mlplot.WithSize(4*vg.Inch, 3*vg.Inch), mlplot.WithDPI(50)); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][2]int{"plots/fit.png": {640, 480}, "small.PNG": {200, 150}} {
		img, err := png.Decode(bytes.NewReader(readArtifact(t, c, run, file)))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if b := img.Bounds(); b.Dx() != want[0] || b.Dy() != want[1] {
			t.Errorf("%s is %d×%d, want %d×%d", file, b.Dx(), b.Dy(), want[0], want[1])
		}
	}
	r, _ := c.GetRun(ctx, run.ID())
	if _, ok := r.Tag(mlrun.TagLoggedArtifacts); ok {
		t.Errorf("LogFigure set %s; mlflow.log_figure does not", mlrun.TagLoggedArtifacts)
	}
}

func TestLogFigureFormats(t *testing.T) {
	ctx := context.Background()
	c, run := openRun(t)
	p := linePlot(t)
	for file, magic := range map[string]string{
		"f.svg": "<?xml", "d/f.pdf": "%PDF", "f.jpg": "\xff\xd8\xff", "d/e/f.jpeg": "\xff\xd8\xff",
		"f.tif": "II*\x00", "f.tiff": "II*\x00",
	} {
		if err := mlplot.LogFigure(ctx, run, p, file); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if b := readArtifact(t, c, run, file); !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s starts %q, want %q", file, b[:min(len(b), 8)], magic)
		}
	}
	for _, bad := range []string{"f.gif", "f.eps", "f", "../f.png", "/abs/f.png"} {
		if err := mlplot.LogFigure(ctx, run, p, bad); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("%s: %v, want ErrInvalidParameter", bad, err)
		}
	}
	for _, opt := range []mlplot.Option{mlplot.WithDPI(0), mlplot.WithSize(0, vg.Inch), mlplot.WithSize(vg.Inch, vg.Length(math.Inf(1)))} {
		if err := mlplot.LogFigure(ctx, run, p, "x.png", opt); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("bad option: %v, want ErrInvalidParameter", err)
		}
	}
	if err := mlplot.LogFigure(ctx, run, nil, "x.png"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("nil plot: %v", err)
	}
	run.End(ctx)
	for _, file := range []string{"after.png", "after.svg"} {
		if err := mlplot.LogFigure(ctx, run, p, file); !errors.Is(err, store.ErrInvalidState) {
			t.Errorf("%s on an ended run: %v, want ErrInvalidState", file, err)
		}
	}
}

func TestMetricHistory(t *testing.T) {
	ctx := context.Background()
	c, run := openRun(t)
	for step, v := range []float64{0.9, 0.7, math.NaN(), 0.4, math.Inf(1), 0.2} {
		run.LogMetric(ctx, "loss", v, mlrun.WithStep(int64(step)))
		run.LogMetric(ctx, "acc", 1-v, mlrun.WithStep(int64(2*step)))
	}
	p, err := mlplot.MetricHistory(ctx, c, run.ID(), "loss")
	if err != nil {
		t.Fatal(err)
	}
	if p.Title.Text != "loss" || p.X.Min != 0 || p.X.Max != 5 || p.Y.Min != 0.2 || p.Y.Max != 0.9 {
		t.Errorf("plot of loss: title %q, x %v..%v, y %v..%v", p.Title.Text, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	both, err := mlplot.MetricHistory(ctx, c, run.ID(), "loss", "acc")
	if err != nil {
		t.Fatal(err)
	}
	if both.X.Max != 10 {
		t.Errorf("plot of loss and acc: x up to %v, want 10", both.X.Max)
	}
	if err := mlplot.LogMetricHistory(ctx, c, run, "plots/history.png", []string{"loss", "acc"}, mlplot.WithDPI(80)); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(readArtifact(t, c, run, "plots/history.png")))
	if err != nil || img.Bounds().Dx() != 512 || img.Bounds().Dy() != 384 {
		t.Errorf("history PNG: %v, %v", img.Bounds(), err)
	}
	if _, err := mlplot.MetricHistory(ctx, c, run.ID(), "missing"); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("missing metric: %v, want ErrInvalidParameter", err)
	}
	if _, err := mlplot.MetricHistory(ctx, c, run.ID()); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("no keys: %v, want ErrInvalidParameter", err)
	}
	// A metric with only non-finite points plots as an empty chart.
	run.LogMetric(ctx, "nan", math.NaN())
	if err := mlplot.LogMetricHistory(ctx, c, run, "nan.png", []string{"nan"}); err != nil {
		t.Errorf("all-NaN metric: %v", err)
	}
}

// TestCoreHasNoGonum keeps gonum/plot out of package mlrun's dependencies:
// only programs importing mlplot pull it in.
func TestCoreHasNoGonum(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/mlrun-go/mlrun/mlrun").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/mlrun-go/mlrun/store") {
		t.Fatalf("go list printed no dependencies:\n%s", out)
	}
	if strings.Contains(string(out), "gonum.org/") {
		t.Errorf("package mlrun depends on gonum:\n%s", out)
	}
}
