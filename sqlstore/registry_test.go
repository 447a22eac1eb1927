package sqlstore_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/storetest"
)

// TestRegistryConformance runs the shared model-registry conformance suite
// against a new database of each supported MLflow version.
func TestRegistryConformance(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			storetest.RunRegistryWith(t, func(t *testing.T) store.Registry {
				s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"),
					&sqlstore.Options{MLflowVersion: v, ArtifactRoot: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}, storetest.RegistryOptions{State: conformanceState})
		})
	}
}

// TestRegistryRows checks the rows the registry writes against what
// MLflow's SQL registry store writes: soft-deleted versions redacted with
// their tags kept, aliases deleted with their version, renames cascading
// to every table, the workspace column filled on 3.x schemas, and the
// timestamps each operation touches.
func TestRegistryRows(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mlflow.db")
			s := openAt(t, path, v)
			m, err := s.CreateRegisteredModel(ctx, "m", []store.Tag{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}, "")
			must(t, err)
			if m.Tags["k"] != "2" {
				t.Errorf("repeated tag key: %v", m.Tags)
			}
			for range 3 {
				_, err := s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "m", Source: "file:///src", RunID: "0123456789abcdef0123456789abcdef",
					Tags: []store.Tag{{Key: "t", Value: "x"}}, ModelID: "m-0123"})
				must(t, err)
			}
			must(t, s.SetRegisteredModelAlias(ctx, "m", "a3", 3))
			must(t, s.SetRegisteredModelAlias(ctx, "m", "a2", 2))
			before, err := s.GetRegisteredModel(ctx, "m")
			must(t, err)
			// Tags and aliases touch no timestamp (MLflow's SQL store).
			must(t, s.SetRegisteredModelTag(ctx, "m", store.Tag{Key: "x", Value: "y"}))
			if g, _ := s.GetRegisteredModel(ctx, "m"); g.LastUpdatedTimestamp != before.LastUpdatedTimestamp {
				t.Errorf("tag touched last_updated_time")
			}
			must(t, s.DeleteModelVersion(ctx, "m", 3))
			_, err = s.RenameRegisteredModel(ctx, "m", "n")
			must(t, err)

			db := rawDB(t, path)
			got := queryStrings(t, db, `SELECT name || '/' || version || ':' || current_stage || ':' || ifnull(source, 'NULL') || ':' ||
				ifnull(run_id, 'NULL') || ':' || ifnull(run_link, 'NULL') || ':' || ifnull(status, 'NULL') || ':' || ifnull(storage_location, 'NULL')
				FROM model_versions ORDER BY version`)
			want := []string{
				"n/1:None:file:///src:0123456789abcdef0123456789abcdef:NULL:READY:file:///src",
				"n/2:None:file:///src:0123456789abcdef0123456789abcdef:NULL:READY:file:///src",
				"n/3:Deleted_Internal:REDACTED-SOURCE-PATH:REDACTED-RUN-ID:REDACTED-RUN-LINK:READY:file:///src",
			}
			if !slices.Equal(got, want) {
				t.Errorf("model_versions\n got %q\nwant %q", got, want)
			}
			if got := queryStrings(t, db, `SELECT name || '/' || version || ':' || "key" FROM model_version_tags ORDER BY version`); !slices.Equal(got, []string{"n/1:t", "n/2:t", "n/3:t"}) {
				t.Errorf("model_version_tags %q (a deleted version keeps its tags; a rename cascades)", got)
			}
			if got := queryStrings(t, db, `SELECT name || ':' || alias || '=' || version FROM registered_model_aliases`); !slices.Equal(got, []string{"n:a2=2"}) {
				t.Errorf("registered_model_aliases %q", got)
			}
			if got := queryStrings(t, db, `SELECT name || ':' || "key" FROM registered_model_tags ORDER BY "key"`); !slices.Equal(got, []string{"n:k", "n:x"}) {
				t.Errorf("registered_model_tags %q", got)
			}
			// A rename touches the model and every version, deleted ones too.
			if got := queryStrings(t, db, `SELECT count(DISTINCT last_updated_time) FROM (SELECT last_updated_time FROM model_versions UNION ALL SELECT last_updated_time FROM registered_models)`); !slices.Equal(got, []string{"1"}) {
				t.Errorf("after rename, distinct last_updated_time %q", got)
			}
			if s.MLflowVersion() >= "3" {
				for _, table := range []string{"registered_models", "model_versions", "registered_model_tags", "model_version_tags", "registered_model_aliases"} {
					if got := queryStrings(t, db, "SELECT DISTINCT workspace FROM "+table); !slices.Equal(got, []string{"default"}) {
						t.Errorf("%s.workspace %q", table, got)
					}
				}
			}
			mv, err := s.GetModelVersion(ctx, "n", 1)
			must(t, err)
			if mv.ModelID != "" || mv.UserID != "" || mv.Tags["t"] != "x" {
				t.Errorf("version %+v (the SQL schema has no model_id column)", mv)
			}
			must(t, s.DeleteRegisteredModel(ctx, "n"))
			for _, table := range []string{"registered_models", "model_versions", "registered_model_tags", "model_version_tags", "registered_model_aliases"} {
				if got := queryStrings(t, db, "SELECT count(*) FROM "+table); !slices.Equal(got, []string{"0"}) {
					t.Errorf("after delete, %s has %q rows", table, got)
				}
			}
		})
	}
}
