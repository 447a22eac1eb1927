// Package mlplot logs gonum/plot figures as run artifacts, as
// mlflow.log_figure logs matplotlib figures, and plots metric histories.
// It is a package of its own so that programs using only package mlrun do
// not depend on gonum/plot.
//
//	p := plot.New()
//	... // add plotters
//	err := mlplot.LogFigure(ctx, run, p, "plots/fit.png")
//
//	loss, err := mlplot.MetricHistory(ctx, client, run.ID(), "train_loss", "valid_loss")
//	err = mlplot.LogFigure(ctx, run, loss, "plots/loss.png")
package mlplot

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// Option configures [LogFigure].
type Option func(*config) error

type config struct {
	w, h vg.Length
	dpi  int
}

// WithSize sets the figure's size (default 6.4 × 4.8 inches, matplotlib's
// default figure size).
func WithSize(w, h vg.Length) Option {
	return func(c *config) error {
		if !(w > 0 && h > 0) || math.IsInf(float64(w), 0) || math.IsInf(float64(h), 0) {
			return store.Invalidf("figure size %v × %v must be positive and finite", w, h)
		}
		c.w, c.h = w, h
		return nil
	}
}

// WithDPI sets the resolution of raster formats in dots per inch (default
// 100, matplotlib's default): a 6.4 × 4.8 inch PNG is 640 × 480 pixels.
func WithDPI(dpi int) Option {
	return func(c *config) error {
		if dpi <= 0 || dpi > 2400 {
			return store.Invalidf("figure DPI %d must be between 1 and 2400", dpi)
		}
		c.dpi = dpi
		return nil
	}
}

// LogFigure renders p and logs it as the run's artifact file artifactFile
// (e.g. "plots/loss.png"), as mlflow.log_figure does; the extension picks
// the format: .png (logged with [mlrun.Run.LogImage]), .jpg, .jpeg, .tif,
// .tiff, .svg or .pdf. (Not .eps: gonum/plot's EPS header is malformed.)
// Like log_figure it adds nothing to the mlflow.loggedArtifacts tag.
func LogFigure(ctx context.Context, run *mlrun.Run, p *plot.Plot, artifactFile string, opts ...Option) error {
	if p == nil || run == nil {
		return store.Invalidf("log figure %s: the plot and the run must not be nil", artifactFile)
	}
	cfg := config{w: 6.4 * vg.Inch, h: 4.8 * vg.Inch, dpi: 100}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return err
		}
	}
	if err := store.ValidateArtifactPath(artifactFile); err != nil {
		return err
	}
	raster := func() *vgimg.Canvas {
		c := vgimg.NewWith(vgimg.UseWH(cfg.w, cfg.h), vgimg.UseDPI(cfg.dpi))
		p.Draw(draw.New(c))
		return c
	}
	switch format := strings.ToLower(strings.TrimPrefix(path.Ext(artifactFile), ".")); format {
	case "png":
		return run.LogImage(ctx, raster().Image(), artifactFile)
	case "jpg", "jpeg":
		return logWriterTo(ctx, run, vgimg.JpegCanvas{Canvas: raster()}, artifactFile)
	case "tif", "tiff":
		return logWriterTo(ctx, run, vgimg.TiffCanvas{Canvas: raster()}, artifactFile)
	case "svg", "pdf":
		wt, err := p.WriterTo(cfg.w, cfg.h, format)
		if err != nil {
			return fmt.Errorf("log figure %s: %w", artifactFile, err)
		}
		return logWriterTo(ctx, run, wt, artifactFile)
	}
	return store.Invalidf("log figure %s: unsupported format %q (want .png, .jpg, .jpeg, .tif, .tiff, .svg or .pdf)", artifactFile, path.Ext(artifactFile))
}

// logWriterTo writes wt to a temporary file named as the artifact and logs
// it with Run.LogArtifact, which puts it into place atomically.
func logWriterTo(ctx context.Context, run *mlrun.Run, wt io.WriterTo, artifactFile string) error {
	dir, err := os.MkdirTemp("", "mlplot-")
	if err != nil {
		return fmt.Errorf("log figure %s: %w", artifactFile, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, path.Base(artifactFile))
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("log figure %s: %w", artifactFile, err)
	}
	_, err = wt.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("log figure %s: %w", artifactFile, err)
	}
	artifactDir := path.Dir(artifactFile)
	if artifactDir == "." {
		artifactDir = ""
	}
	return run.LogArtifact(ctx, tmp, artifactDir)
}
