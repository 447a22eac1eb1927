package mlrun_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/mlrun-go/mlrun/internal/compat"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/mlrun/mlplot"
	"github.com/mlrun-go/mlrun/store"
)

// extrasPy prints what real MLflow reads of a run's dataset inputs
// (entity fields, input tags, the DatasetSource mlflow.data.get_source
// resolves, the schema parsed back by mlflow.types.Schema or
// TensorDatasetSchema), system/ metrics (each key's history) and plots/
// artifacts (listed, downloaded, opened with PIL), and the run's tags.
const extrasPy = `
import sys, json, hashlib, tempfile, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import mlflow
from mlflow.types import Schema
from mlflow.data.schema import TensorDatasetSchema
from PIL import Image
uri, run_id = sys.argv[1], sys.argv[2]
c = mlflow.MlflowClient(uri)
run = c.get_run(run_id)
out = {"datasets": [], "artifacts": [], "tags": run.data.tags, "system": {}}
for di in run.inputs.dataset_inputs:
    d = di.dataset
    src = mlflow.data.get_source(di)
    schema = ""
    if d.schema:
        s = json.loads(d.schema)
        if "mlflow_colspec" in s:
            schema = repr(Schema.from_json(json.dumps(s["mlflow_colspec"])).input_names())
        else:
            schema = repr(TensorDatasetSchema.from_dict(s).features.input_types())
    out["datasets"].append({"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source,
        "schema": d.schema or "", "profile": d.profile or "", "tags": {t.key: t.value for t in di.tags},
        "source_class": type(src).__name__, "source_json": src.to_json(), "parsed_schema": schema})
for k in sorted(k for k in run.data.metrics if k.startswith("system/")):
    out["system"][k] = [[m.step, m.value, m.timestamp] for m in c.get_metric_history(run_id, k)]
for a in c.list_artifacts(run_id, "plots"):
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=a.path, tracking_uri=uri, dst_path=tempfile.mkdtemp())
    data = open(local, "rb").read()
    img = Image.open(local)
    out["artifacts"].append({"path": a.path, "is_dir": a.is_dir, "size": a.file_size,
        "sha256": hashlib.sha256(data).hexdigest(), "format": img.format, "wh": list(img.size)})
print(json.dumps(out))
`

type pyExtras struct {
	Datasets []struct {
		Name, Digest, Schema, Profile, Source string
		SourceType                            string `json:"source_type"`
		SourceClass                           string `json:"source_class"`
		SourceJSON                            string `json:"source_json"`
		ParsedSchema                          string `json:"parsed_schema"`
		Tags                                  map[string]string
	}
	System    map[string][][3]float64
	Artifacts []struct {
		Path, SHA256, Format string
		IsDir                bool `json:"is_dir"`
		Size                 int64
		WH                   [2]int
	}
	Tags map[string]string
}

// TestMLflowReadsRunExtras logs, into one run of a file store and of an
// SQLite store, datasets of every constructor (Run.LogInput), system
// metrics (WithSystemMetrics) and figures (mlplot), and checks real MLflow
// reads them: the datasets field for field, their sources resolved by
// mlflow.data.get_source and their schemas parsed; the system metrics
// under MLflow's names with the same points; the figures listed and
// downloaded byte for byte as PNGs of the expected size, with no
// mlflow.loggedArtifacts tag (mlflow.log_figure sets none).
func TestMLflowReadsRunExtras(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "iris.csv")
	os.WriteFile(csvPath, []byte("sepal,species\n5.1,setosa\n4.9,setosa\n"), 0o644)
	var datasets []store.Dataset
	for _, b := range []func() (store.Dataset, error){
		func() (store.Dataset, error) {
			return mlrun.DatasetFromRows([]string{"x", "label"}, [][]any{{1.5, "a"}, {2.5, "b"}}, mlrun.WithDatasetName("train"))
		},
		func() (store.Dataset, error) {
			return mlrun.DatasetFromCSV(csvPath, mlrun.WithDatasetName("iris"), mlrun.WithTargetColumn("species"))
		},
		func() (store.Dataset, error) {
			return mlrun.DatasetFromTensors([]mlrun.Tensor{{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}},
				mlrun.WithTargetTensors(mlrun.Tensor{Shape: []int{2}, Data: []int64{0, 1}}),
				mlrun.WithDatasetSource("s3://bucket/x.npy"), mlrun.WithDatasetName("tensors"))
		},
		func() (store.Dataset, error) {
			return mlrun.DatasetFromSource("https://example.com/data.tar.gz", mlrun.WithDatasetName("remote"))
		},
	} {
		ds, err := b()
		if err != nil {
			t.Fatal(err)
		}
		datasets = append(datasets, ds)
	}
	contexts := []string{"training", "eval", "training", "eval"}
	forEachMLflowStore(t, func(t *testing.T, m *compat.MLflow, c *mlrun.Client, uri string) {
		ctx := context.Background()
		run, err := c.StartRun(ctx, mlrun.WithSystemMetrics(mlrun.SystemMetricsInterval(10*time.Millisecond)))
		if err != nil {
			t.Fatal(err)
		}
		for i, ds := range datasets {
			if err := run.LogInput(ctx, ds, mlrun.WithInputContext(contexts[i])); err != nil {
				t.Fatal(err)
			}
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
		systemHistory(t, c, run.ID(), "system/", 3)
		if err := run.End(ctx); err != nil {
			t.Fatal(err)
		}
		var py pyExtras
		if err := json.Unmarshal(runPy(t, m, extrasPy, nil, uri, run.ID()), &py); err != nil {
			t.Fatal(err)
		}

		t.Run("datasets", func(t *testing.T) {
			wantSource := map[string]string{"train": "CodeDatasetSource", "iris": "LocalArtifactDatasetSource",
				"tensors": "S3ArtifactDatasetSource", "remote": "HTTPDatasetSource"}
			if len(py.Datasets) != len(datasets) {
				t.Fatalf("MLflow reads %d dataset inputs, want %d: %+v", len(py.Datasets), len(datasets), py.Datasets)
			}
			for _, g := range py.Datasets {
				i := slices.IndexFunc(datasets, func(d store.Dataset) bool { return d.Name == g.Name })
				if i < 0 {
					t.Errorf("MLflow reads an unknown dataset %+v", g)
					continue
				}
				w := datasets[i]
				if g.Digest != w.Digest || g.SourceType != w.SourceType || g.Source != w.Source || g.Schema != w.Schema || g.Profile != w.Profile {
					t.Errorf("MLflow reads %+v\nwant %+v", g, w)
				}
				if g.SourceClass != wantSource[g.Name] || g.SourceJSON != w.Source {
					t.Errorf("%s: get_source = %s %s, want %s %s", g.Name, g.SourceClass, g.SourceJSON, wantSource[g.Name], w.Source)
				}
				if (w.Schema == "") != (g.ParsedSchema == "") {
					t.Errorf("%s: parsed schema %q", g.Name, g.ParsedSchema)
				}
				if g.Tags["mlflow.data.context"] != contexts[i] {
					t.Errorf("%s: input tags %v", g.Name, g.Tags)
				}
			}
		})

		t.Run("system-metrics", func(t *testing.T) {
			hist := systemHistory(t, c, run.ID(), "system/", 3)
			checkSystemHistory(t, hist)
			if len(py.System) != len(systemMetricNames) {
				t.Errorf("MLflow reads system metrics %v, want %v", mapKeys(py.System), systemMetricNames)
			}
			for _, name := range systemMetricNames {
				got, want := py.System["system/"+name], hist[name]
				if len(got) != len(want) {
					t.Errorf("%s: MLflow reads %d points, mlrun logged %d", name, len(got), len(want))
					continue
				}
				for i := range got {
					if int64(got[i][0]) != want[i].Step || got[i][1] != want[i].Value || int64(got[i][2]) != want[i].Timestamp {
						t.Errorf("%s point %d: MLflow reads %v, mlrun logged %+v", name, i, got[i], want[i])
					}
				}
			}
		})

		t.Run("figures", func(t *testing.T) {
			want := map[string][2]int{"plots/fit.png": {640, 480}, "plots/loss.png": {320, 240}}
			if len(py.Artifacts) != len(want) {
				t.Fatalf("MLflow lists %+v, want %v", py.Artifacts, want)
			}
			for _, a := range py.Artifacts {
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
			if v, ok := py.Tags[mlrun.TagLoggedArtifacts]; ok {
				t.Errorf("MLflow sees %s = %s; mlflow.log_figure sets none", mlrun.TagLoggedArtifacts, v)
			}
		})
	})
}
