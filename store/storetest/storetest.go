// Package storetest is the conformance suite every store.Store backend runs,
// so that all backends behave the same. A backend's test calls [Run] with a
// function that opens a fresh, empty store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := fsstore.Open(context.Background(), t.TempDir(), nil)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite asserts only what the store package documents: results, and
// error kinds with errors.Is on the store sentinels. Backend-specific
// behavior (file layout, SQL schema) belongs in the backend's own tests.
package storetest

import (
	"testing"

	"github.com/mlrun-go/mlrun/store"
)

// Opener opens a fresh, empty store for one subtest. The suite closes it.
type Opener func(t *testing.T) store.Store

// Options describe a backend where MLflow's own stores differ, so the
// suite expects what the backend's MLflow store does.
type Options struct {
	// Metrics is how the backend keeps metric values: FileMetrics
	// (the default) or SQLMetrics.
	Metrics MetricSemantics

	// SortedHistory means GetMetricHistory returns a metric's points
	// ordered by (timestamp, step, value) instead of in logging order, as
	// MLflow's tracking server does (its SQL store orders the query).
	SortedHistory bool

	// NaNFilterAsZero means a metric filter compares a NaN latest value as
	// 0, as MLflow 2's SQL store on SQLite does (it stores NaN as 0 with
	// an is_nan flag, and its filters read only the 0).
	NaNFilterAsZero bool

	// ExperimentNameLimit, if set, is the longest experiment name in
	// characters the backend stores, where it is below MLflow's 500: an
	// MLflow server on PostgreSQL refuses names over 256 characters
	// (experiments.name is VARCHAR(256), which SQLite does not enforce).
	ExperimentNameLimit int

	// ModelMetricsInRun means a logged model's metric point is also a
	// metric of the run it names: MLflow's REST API logs model metrics
	// with log-batch (model_id set), which records them on the run too.
	ModelMetricsInRun bool

	// StrictSQLTypes means the backend's database refuses to compare a
	// column with a value of another type (PostgreSQL), where SQLite
	// finds no match: a logged-model filter status = 'READY' (status is
	// an integer column in MLflow's SQL store) is an error.
	StrictSQLTypes bool

	// ModelPointsFixed means a logged model's metric point, once stored,
	// is not replaced by a later request's point of the same key,
	// timestamp, step and run with a larger value (the later point is
	// dropped): MLflow's server has no way to update the row, and refuses
	// a second one with a unique violation.
	ModelPointsFixed bool

	// ServerLocations means a relative artifact location given to
	// CreateExperiment is resolved by a tracking server against its own
	// working directory, as MLflow's client leaves it to the server
	// (resolve_uri_if_local runs in the server's store), not against the
	// caller's.
	ServerLocations bool

	// State, if set, fingerprints everything the store under test holds
	// (s is the store the opener returned): the suite compares it before
	// and after each refused request, which must leave the store byte for
	// byte (file store) or row for row (SQL store) as it was. Without it
	// the suite checks what the store's reads return only.
	State func(t *testing.T, s any) string
}

// Run runs the conformance suite against the backend that open creates,
// with the default Options. Each subtest gets its own store.
func Run(t *testing.T, open Opener) {
	t.Helper()
	RunWith(t, open, Options{})
}

// RunWith runs the conformance suite with the given Options.
func RunWith(t *testing.T, open Opener, opts Options) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, &suiteStore{Store: s, opts: opts})
		})
	}
}

// suiteStore carries the suite's Options with the store under test.
type suiteStore struct {
	store.Store
	opts Options
}

// semantics returns the metric semantics the suite expects of s.
func semantics(s store.Store) MetricSemantics { return options(s).Metrics }

// options returns the Options the suite runs s with.
func options(s store.Store) Options {
	if ss, ok := s.(*suiteStore); ok {
		return ss.opts
	}
	return Options{}
}

// cases lists the suite's subtests; each gets a fresh store.
var cases = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	// Experiments.
	{"DefaultExperiment", testDefaultExperiment},
	{"CreateGetExperiment", testCreateGetExperiment},
	{"CreateExperimentInvalid", testCreateExperimentInvalid},
	{"ArtifactLocations", testArtifactLocations},
	{"DuplicateExperimentName", testDuplicateExperimentName},
	{"ExperimentNotFound", testExperimentNotFound},
	{"RenameExperiment", testRenameExperiment},
	{"DeleteRestoreExperiment", testDeleteRestoreExperiment},
	{"DefaultExperimentNotDeletable", testDefaultNotDeletable},
	{"ExperimentTags", testExperimentTags},
	{"SearchExperiments", testSearchExperiments},
	{"ConcurrentCreateExperiment", testConcurrentCreateExperiment},

	// Runs.
	{"CreateRunNamed", testCreateRunNamed},
	{"CreateRunGeneratedName", testCreateRunGeneratedName},
	{"CreateRunNameFromTag", testCreateRunNameFromTag},
	{"CreateRunErrors", testCreateRunErrors},
	{"GetRunNotFound", testGetRunNotFound},
	{"UpdateRun", testUpdateRun},
	{"DeleteRestoreRun", testDeleteRestoreRun},
	{"DeleteTag", testDeleteTag},

	// Logging.
	{"LogMetrics", testLogMetrics},
	{"LatestMetric", testLatestMetric},
	{"GetMetricHistory", testGetMetricHistory},
	{"ParamsImmutable", testParamsImmutable},
	{"ParamValueLength", testParamValueLength},
	{"TagsOverwrite", testTagsOverwrite},
	{"BatchLimits", testBatchLimits},
	{"DuplicateParamKeys", testDuplicateParamKeys},
	{"BadKeys", testBadKeys},
	{"KeyFolders", testKeyFolders},
	{"NothingWrittenOnFailure", testNothingWrittenOnFailure},
	{"LogToDeletedRun", testLogToDeletedRun},
	{"LogToFinishedRun", testLogToFinishedRun},
	{"EmptyBatch", testEmptyBatch},
	{"LogInputs", testLogInputs},
	{"Unicode", testUnicode},
	{"InvalidUTF8", testInvalidUTF8},
	{"ConcurrentLogging", testConcurrentLogging},

	// Search.
	{"SearchRunsViewTypes", testSearchRunsViewTypes},
	{"SearchRunsPaging", testSearchRunsPaging},
	{"SearchRunsLimits", testSearchRunsLimits},
	{"SearchRunsFilter", testSearchRunsFilter},
	{"SearchExperimentsFilter", testSearchExperimentsFilter},

	// Lifecycle and contract.
	{"Close", testClose},
	{"NilContext", testNilContext},
}
