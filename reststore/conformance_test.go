package reststore_test

import (
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// restOptions are the differences of an MLflow server from mlrun's
// backends, as the conformance suite expects them: the server stores
// metrics as MLflow's SQL store does and returns a metric's history
// ordered by (timestamp, step, value) rather than in logging order and
// resolves a relative artifact location against its own directory; a
// logged model's metric point, once stored, stays;
// MLflow 2 on SQLite compares a NaN as 0 in metric filters; PostgreSQL
// refuses experiment names over 256 characters; a logged model's metrics
// are logged to its run with log-batch, so they are the run's too;
// PostgreSQL refuses to compare an integer column with a string.
func restOptions(version string) storetest.Options {
	opts := storetest.Options{Metrics: storetest.SQLMetrics, SortedHistory: true, ServerLocations: true, ModelPointsFixed: true}
	if usesPostgres(version) {
		opts.ExperimentNameLimit = 256
		opts.ModelMetricsInRun = true
		opts.StrictSQLTypes = true
	} else {
		opts.NaNFilterAsZero = true
	}
	return opts
}

// TestConformance runs the store conformance suite against a real
// `mlflow server` of each pinned version.
func TestConformance(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			storetest.RunWith(t, func(t *testing.T) store.Store { return openFresh(t, v) }, restOptions(v))
		})
	}
}

// registryOptions: an MLflow server checks model-version sources against
// their runs and resolves storage locations itself; MLflow 2's accepts a
// version_number compared with a string; on PostgreSQL, concurrent
// archiving transitions race.
func registryOptions(version string) storetest.RegistryOptions {
	pg := usesPostgres(version)
	return storetest.RegistryOptions{ServerSources: true, UntypedVersionFilter: !pg, RacyArchive: pg}
}

// TestRegistryConformance runs the model-registry suite against each
// server.
func TestRegistryConformance(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			storetest.RunRegistryWith(t, func(t *testing.T) store.Registry { return openFresh(t, v) }, registryOptions(v))
		})
	}
}

// TestLoggedModelsConformance runs the logged-model suite against the
// MLflow 3 servers (MLflow 2 has no logged models: see
// TestNoLoggedModelsOnMLflow2).
func TestLoggedModelsConformance(t *testing.T) {
	for _, v := range versions() {
		if strings.HasPrefix(v, "2.") {
			continue
		}
		t.Run(v, func(t *testing.T) {
			storetest.RunLoggedModels(t, func(t *testing.T) storetest.LMStore { return openFresh(t, v) }, restOptions(v))
		})
	}
}
