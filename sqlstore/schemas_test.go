package sqlstore_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
)

// schemaObjects returns the schema objects of a database file (type, name,
// SQL), which no write of the store may change.
func schemaObjects(t *testing.T, path string) string {
	t.Helper()
	return strings.Join(queryStrings(t, rawDB(t, path),
		"SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name"), "\n")
}

// TestEverySchema writes and reads a database of every supported schema
// (tracking, registry, inputs, aliases, logged models): what the schema has
// works, what it lacks fails with store.ErrInvalidState naming the schema,
// values longer than the schema's columns are refused as that release's
// MLflow refuses them, no schema object changes, and the database reopens
// as the same schema.
func TestEverySchema(t *testing.T) {
	for _, sc := range schema.Schemas() {
		t.Run(sc.Version, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "mlflow.db")
			// The oldest release of the schema: it is the same database.
			s := openAt(t, path, sc.Releases[0])
			if got := s.Schema(); got.Revision != sc.Revision {
				t.Fatalf("Schema().Revision = %s, want %s", got.Revision, sc.Revision)
			}
			before := schemaObjects(t, path)

			exp, err := s.CreateExperiment(ctx, "e", "", []store.Tag{{Key: "k", Value: "v"}})
			must(t, err)
			must(t, s.SetExperimentTag(ctx, exp, store.Tag{Key: "k2", Value: "v2"}))
			r := createRun(t, s, exp, "r")
			id := r.Info.RunID
			must(t, s.LogBatch(ctx, id, []store.Metric{{Key: "m", Value: 1.5, Timestamp: 10, Step: 1}, {Key: "m", Value: 2.5, Timestamp: 11, Step: 2}},
				[]store.Param{{Key: "p", Value: strings.Repeat("x", 500)}}, []store.Tag{{Key: "t", Value: strings.Repeat("y", 5000)}}))

			// Column lengths: 500-character params and 5,000-character
			// tags before MLflow 2.8 and 2.17, as those releases' own
			// validation.
			longParam := strings.Repeat("x", 501)
			err = s.LogBatch(ctx, id, nil, []store.Param{{Key: "p2", Value: longParam}}, nil)
			if n := sc.ColumnLength("params", "value"); n == 500 {
				if !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), "exceeds the limit 500") {
					t.Errorf("501-character param on %s: %v, want ErrInvalidParameter", sc.Version, err)
				}
			} else {
				must(t, err)
			}
			err = s.LogBatch(ctx, id, nil, nil, []store.Tag{{Key: "t2", Value: strings.Repeat("y", 5001)}})
			if n := sc.ColumnLength("tags", "value"); n == 5000 {
				if !errors.Is(err, store.ErrInvalidParameter) {
					t.Errorf("5001-character tag on %s: %v, want ErrInvalidParameter", sc.Version, err)
				}
			} else {
				must(t, err)
			}

			in := store.DatasetInput{Dataset: store.Dataset{Name: "d", Digest: "abc", SourceType: "local", Source: `{"uri": "x"}`},
				Tags: []store.Tag{{Key: "mlflow.data.context", Value: "train"}}}
			err = s.LogInputs(ctx, id, []store.DatasetInput{in})
			wantFeature(t, "LogInputs", err, sc.HasTable("inputs"), "2.4.0")

			got, err := s.GetRun(ctx, id)
			must(t, err)
			if pv, _ := got.Param("p"); pv != strings.Repeat("x", 500) || len(got.Data.Metrics) != 1 || got.Data.Metrics[0].Value != 2.5 {
				t.Errorf("GetRun: params %v metrics %v", got.Data.Params, got.Data.Metrics)
			}
			wantInputs := 0
			if sc.HasTable("inputs") {
				wantInputs = 1
			}
			if len(got.Inputs) != wantInputs {
				t.Errorf("GetRun: %d inputs, want %d", len(got.Inputs), wantInputs)
			}
			h, err := s.GetMetricHistory(ctx, id, "m")
			must(t, err)
			if len(h) != 2 {
				t.Errorf("history: %v", h)
			}

			_, err = s.CreateRegisteredModel(ctx, "model", []store.Tag{{Key: "a", Value: "b"}}, "desc")
			must(t, err)
			mv, err := s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "model", Source: "runs:/" + id + "/model",
				RunID: id, StorageLocation: "s3://b/model"})
			must(t, err)
			wantStorage := "s3://b/model"
			if !sc.HasColumn("model_versions", "storage_location") {
				wantStorage = "" // MLflow before 2.8 keeps no storage location
			}
			if mv.Version != 1 || mv.StorageLocation != wantStorage {
				t.Errorf("model version %d storage %q, want 1 %q", mv.Version, mv.StorageLocation, wantStorage)
			}
			err = s.SetModelVersionTag(ctx, "model", 1, store.Tag{Key: "big", Value: strings.Repeat("z", 5001)})
			if n := sc.ColumnLength("model_version_tags", "value"); n == 5000 {
				if !errors.Is(err, store.ErrInvalidParameter) {
					t.Errorf("5001-character model version tag on %s: %v, want ErrInvalidParameter", sc.Version, err)
				}
			} else {
				must(t, err)
			}
			err = s.SetRegisteredModelAlias(ctx, "model", "champion", 1)
			wantFeature(t, "SetRegisteredModelAlias", err, sc.HasTable("registered_model_aliases"), "2.3.0")
			_, err = s.GetModelVersionByAlias(ctx, "model", "champion")
			wantFeature(t, "GetModelVersionByAlias", err, sc.HasTable("registered_model_aliases"), "2.3.0")
			rm, err := s.GetRegisteredModel(ctx, "model")
			must(t, err)
			if len(rm.LatestVersions) != 1 {
				t.Errorf("registered model: %+v", rm)
			}
			must(t, s.DeleteModelVersion(ctx, "model", 1))
			must(t, s.DeleteRegisteredModel(ctx, "model"))

			if s.HasLoggedModels() != sc.HasTable("logged_models") {
				t.Errorf("HasLoggedModels() = %v", s.HasLoggedModels())
			}
			_, err = s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{ExperimentID: exp, Name: "lm"})
			wantFeature(t, "CreateLoggedModel", err, sc.HasTable("logged_models"), "3")

			must(t, s.Close())
			if after := schemaObjects(t, path); after != before {
				t.Errorf("the store changed schema objects")
			}
			s2, err := sqlstore.Open(ctx, path, nil)
			must(t, err)
			defer s2.Close()
			if s2.MLflowVersion() != sc.Version || s2.Schema().Revision != sc.Revision {
				t.Errorf("reopened as %s %s, want %s %s", s2.MLflowVersion(), s2.Schema().Revision, sc.Version, sc.Revision)
			}
		})
	}
}

// wantFeature checks the result of an operation that needs a schema feature:
// success where the schema has it, store.ErrInvalidState naming the release
// that introduced it where it does not.
func wantFeature(t *testing.T, op string, err error, has bool, since string) {
	t.Helper()
	switch {
	case has && err != nil:
		t.Errorf("%s: %v", op, err)
	case !has && !errors.Is(err, store.ErrInvalidState):
		t.Errorf("%s on a schema without it: %v, want ErrInvalidState", op, err)
	case !has && !strings.Contains(err.Error(), "MLflow "+since):
		t.Errorf("%s: error %q does not say MLflow %s", op, err, since)
	}
}

// TestOpenRefusesNewerDatabase opens databases with an MLflow version older
// than their schema (a downgrade: that MLflow cannot open them), or with an
// unknown or intermediate revision: Open fails with a clear error and the
// file stays byte-identical. An older database with a newer version asked
// is opened as what it is.
func TestOpenRefusesNewerDatabase(t *testing.T) {
	for _, tc := range []struct {
		db, requested string
		stamp         string // alembic revision to write into the database, if any
		kind          error
		msg           string
	}{
		{db: "3.18.0", requested: "3.17.2", kind: schema.ErrVersionMismatch, msg: "newer than MLflow 3.17.2"},
		{db: "3.17.2", requested: "2.22.5", kind: schema.ErrVersionMismatch, msg: "newer than MLflow 2.22.5"},
		{db: "3.0.1", requested: "3.1.0", kind: schema.ErrVersionMismatch, msg: "bda7b8c39065"},
		{db: "2.22.5", requested: "2.0.0", kind: schema.ErrVersionMismatch, msg: "mlrun does not downgrade"},
		{db: "3.17.2", stamp: "f00dfeedbeef", kind: schema.ErrUnsupportedRevision, msg: "newer MLflow"},
		{db: "3.17.2", requested: "3.17.2", stamp: "ffff00001111", kind: schema.ErrUnsupportedRevision, msg: "does not know"},
		{db: "2.22.5", stamp: "2d6e25af4d3e", kind: schema.ErrUnsupportedRevision, msg: "intermediate"},
	} {
		t.Run(tc.db+"_as_"+tc.requested+tc.stamp, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mlflow.db")
			s := openAt(t, path, tc.db)
			must(t, s.Close())
			if tc.stamp != "" {
				_, err := rawDB(t, path).Exec("UPDATE alembic_version SET version_num = ?", tc.stamp)
				must(t, err)
			}
			hash := fileHash(t, path)
			for _, ro := range []bool{false, true} {
				_, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: tc.requested, ReadOnly: ro})
				if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("Open(read-only %v) = %v, want %v with %q", ro, err, tc.kind, tc.msg)
				}
			}
			if got := fileHash(t, path); got != hash {
				t.Errorf("the refused file changed")
			}
		})
	}
	// Older than asked: the asked MLflow upgrades it itself; mlrun keeps it.
	path := filepath.Join(t.TempDir(), "mlflow.db")
	must(t, openAt(t, path, "2.9.2").Close())
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: "3.17.2"})
	must(t, err)
	defer s.Close()
	if s.MLflowVersion() != "2.12.2" {
		t.Errorf("2.9.2 database opened as %s", s.MLflowVersion())
	}
}
