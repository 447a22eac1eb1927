package mlrun_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/mlrun-go/mlrun/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/mlrun/mlplot"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// figureReadPy lists a run's plots/ artifacts as real MLflow does,
// downloads each and opens it with PIL, and prints the run's tags.
const figureReadPy = `
import sys, json, hashlib, tempfile, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import mlflow
from PIL import Image
uri, run_id = sys.argv[1], sys.argv[2]
c = mlflow.MlflowClient(uri)
out = {"artifacts": [], "tags": c.get_run(run_id).data.tags}
for a in c.list_artifacts(run_id, "plots"):
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=a.path, tracking_uri=uri, dst_path=tempfile.mkdtemp())
    data = open(local, "rb").read()
    img = Image.open(local)
    out["artifacts"].append({"path": a.path, "is_dir": a.is_dir, "size": a.file_size,
        "sha256": hashlib.sha256(data).hexdigest(), "format": img.format, "wh": list(img.size)})
print(json.dumps(out))
`

// TestMLflowListsFigures logs a figure and a metric-history plot with
// mlplot, then checks real MLflow lists them (path, size), downloads the
// same bytes, decodes them as PNG of the expected size, and sees no
// mlflow.loggedArtifacts tag (mlflow.log_figure sets none).
func TestMLflowListsFigures(t *testing.T) {
	forEachMLflowStore(t, func(t *testing.T, m *compat.MLflow, c *mlrun.Client, uri string) {
		ctx := context.Background()
		run, err := c.StartRun(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := plot.New()
		l, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		p.Add(l)
		if err := mlplot.LogFigure(ctx, run, p, "plots/fit.png"); err != nil {
			t.Fatal(err)
		}
		for step, loss := range []float64{0.9, 0.5, 0.3} {
			run.LogMetric(ctx, "loss", loss, mlrun.WithStep(int64(step)))
		}
		if err := mlplot.LogMetricHistory(ctx, c, run, "plots/loss.png", []string{"loss"}, mlplot.WithDPI(50)); err != nil {
			t.Fatal(err)
		}
		run.End(ctx)
		var got struct {
			Artifacts []struct {
				Path, SHA256, Format string
				IsDir                bool `json:"is_dir"`
				Size                 int64
				WH                   [2]int
			}
			Tags map[string]string
		}
		if err := json.Unmarshal(runPy(t, m, figureReadPy, nil, uri, run.ID()), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string][2]int{"plots/fit.png": {640, 480}, "plots/loss.png": {320, 240}}
		if len(got.Artifacts) != len(want) {
			t.Fatalf("MLflow lists %+v, want %v", got.Artifacts, want)
		}
		for _, a := range got.Artifacts {
			local, err := c.ArtifactPath(ctx, run.ID(), a.Path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(local)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if a.IsDir || a.Size != int64(len(b)) || a.SHA256 != hex.EncodeToString(sum[:]) || a.Format != "PNG" || a.WH != want[a.Path] {
				t.Errorf("MLflow reads %+v; mlrun wrote %d bytes, want a %v PNG", a, len(b), want[a.Path])
			}
		}
		if v, ok := got.Tags[mlrun.TagLoggedArtifacts]; ok {
			t.Errorf("MLflow sees %s = %s; mlflow.log_figure sets none", mlrun.TagLoggedArtifacts, v)
		}
	})
}
