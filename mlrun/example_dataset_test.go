package mlrun_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mlrun-go/mlrun/mlrun"
)

// The digests below are the ones mlflow.data.from_pandas and from_numpy
// compute for the same data (MLflow 3.17.2, pandas 3.1.1).

func ExampleDatasetFromRows() {
	// As mlflow.data.from_pandas(pd.DataFrame(rows, columns=[...]),
	// source="/data/people.csv", name="people", targets="label").
	ds, err := mlrun.DatasetFromRows(
		[]string{"name", "age", "label"},
		[][]any{{"tom", 10, 1}, {"nick", 15, 0}, {"july", 14, 1}},
		mlrun.WithDatasetName("people"),
		mlrun.WithDatasetSource("/data/people.csv"),
		mlrun.WithTargetColumn("label"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.Name, ds.Digest, ds.SourceType, ds.Source)
	fmt.Println(ds.Schema)
	fmt.Println(ds.Profile)
	// Output:
	// people 1e1d5c15 local {"uri": "/data/people.csv"}
	// {"mlflow_colspec": [{"type": "string", "name": "name", "required": true}, {"type": "long", "name": "age", "required": true}, {"type": "long", "name": "label", "required": true}]}
	// {"num_rows": 3, "num_elements": 9}
}

func ExampleDatasetFromTensors() {
	// As mlflow.data.from_numpy(np.array([[0.1, 0.2], ...]),
	// targets=np.array([0, 1, 1]), source="s3://bucket/features.npy", name="features").
	ds, err := mlrun.DatasetFromTensors(
		[]mlrun.Tensor{{Shape: []int{3, 2}, Data: []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}}},
		mlrun.WithTargetTensors(mlrun.Tensor{Shape: []int{3}, Data: []int64{0, 1, 1}}),
		mlrun.WithDatasetName("features"),
		mlrun.WithDatasetSource("s3://bucket/features.npy"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.Name, ds.Digest, ds.SourceType, ds.Source)
	fmt.Println(ds.Profile)
	// Output:
	// features 32476413 s3 {"uri": "s3://bucket/features.npy"}
	// {"features_shape": [3, 2], "features_size": 6, "features_nbytes": 48, "targets_shape": [3], "targets_size": 3, "targets_nbytes": 24}
}

func ExampleDatasetFromCSV() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mlrun-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.csv")
	os.WriteFile(path, []byte("x,y\n1,0.5\n2,\n3,1.5\n"), 0o644)

	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(filepath.Join(dir, "mlruns")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	run, err := c.StartRun(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// As mlflow.data.from_pandas(pd.read_csv(path), source=path, name="train").
	ds, err := mlrun.DatasetFromCSV(path, mlrun.WithDatasetName("train"))
	if err != nil {
		log.Fatal(err)
	}
	if err := run.LogInput(ctx, ds, mlrun.WithInputContext("training")); err != nil {
		log.Fatal(err)
	}
	run.End(ctx)

	r, _ := c.GetRun(ctx, run.ID())
	in := r.Inputs[0]
	fmt.Println(in.Dataset.Name, in.Dataset.SourceType, in.Tags[0].Key, in.Tags[0].Value)
	fmt.Println(in.Dataset.Schema)
	// Output:
	// train local mlflow.data.context training
	// {"mlflow_colspec": [{"type": "long", "name": "x", "required": true}, {"type": "double", "name": "y", "required": false}]}
}

func ExampleWithSystemMetrics() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mlrun-example")
	defer os.RemoveAll(dir)
	c, err := mlrun.Open(ctx, mlrun.WithTrackingURI(filepath.Join(dir, "mlruns")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// As mlflow.start_run(log_system_metrics=True), sampling every 50 ms
	// instead of MLflow's 10 s (or MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL).
	run, err := c.StartRun(ctx, mlrun.WithSystemMetrics(mlrun.SystemMetricsInterval(50*time.Millisecond)))
	if err != nil {
		log.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if h, _ := c.GetMetricHistory(ctx, run.ID(), "system/cpu_utilization_percentage"); len(h) > 0 {
			break
		}
	}
	run.End(ctx) // stops the monitor

	r, _ := c.GetRun(ctx, run.ID())
	for _, m := range r.Data.Metrics {
		fmt.Println(m.Key, m.Step)
	}
	// Output:
	// system/cpu_utilization_percentage 0
	// system/disk_available_megabytes 0
	// system/disk_usage_megabytes 0
	// system/disk_usage_percentage 0
	// system/network_receive_megabytes 0
	// system/network_transmit_megabytes 0
	// system/system_memory_usage_megabytes 0
	// system/system_memory_usage_percentage 0
}
