package sqlstore

import (
	"strings"
	"unicode/utf8"

	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
)

// features records what the database's schema has, as the recorded schema of
// its alembic head describes it (schema.Schema: the tables and columns that
// release of MLflow created), so that the store writes only tables and
// columns that release's SqlAlchemyStore writes, and refuses the operations
// the release does not have.
type features struct {
	experimentWorkspace bool // experiments.workspace (MLflow ≥ 3.10)
	loggedModels        bool // the logged_models tables (MLflow ≥ 3.0)
	inputs              bool // datasets, inputs and input_tags (MLflow ≥ 2.4)
	aliases             bool // registered_model_aliases (MLflow ≥ 2.3)
	storageLocation     bool // model_versions.storage_location (MLflow ≥ 2.8)
	// mlflow2 is set for a schema of MLflow 2 releases, whose store
	// recreates the Default experiment only when there is no experiment
	// at all (MLflow 3: whenever experiment 0 is missing).
	mlflow2 bool
	// limits are the declared lengths (VARCHAR(n)) of the value columns
	// whose length MLflow's validation bounded by the column's until the
	// column grew (params.value 500 before MLflow 2.8, tags.value 5000
	// before 2.17, experiment_tags.value 5000 before 3.16 made it TEXT,
	// model_version_tags.value 5000 before 3.0.1 made it TEXT).
	// registered_model_tags.value is not one: it stays VARCHAR(5000)
	// while MLflow ≥ 3.0.1 accepts 100,000 characters.
	limits map[string]int // "table.column" -> length; absent: no declared length
}

// featuresOf describes a schema.
func featuresOf(sc schema.Schema) features {
	f := features{
		experimentWorkspace: sc.HasColumn("experiments", "workspace"),
		loggedModels: sc.HasTable("logged_models") && sc.HasTable("logged_model_params") &&
			sc.HasTable("logged_model_tags") && sc.HasTable("logged_model_metrics"),
		inputs:          sc.HasTable("datasets") && sc.HasTable("inputs") && sc.HasTable("input_tags"),
		aliases:         sc.HasTable("registered_model_aliases"),
		storageLocation: sc.HasColumn("model_versions", "storage_location"),
		mlflow2:         strings.HasPrefix(sc.Version, "2."),
		limits:          map[string]int{},
	}
	for _, c := range limitedColumns {
		if n := sc.ColumnLength(c.table, c.column); n > 0 {
			f.limits[c.table+"."+c.column] = n
		}
	}
	return f
}

// limitedColumns are the columns checkLength guards.
var limitedColumns = []struct{ table, column, what string }{
	{"params", "value", "param value"},
	{"tags", "value", "tag value"},
	{"experiment_tags", "value", "experiment tag value"},
	{"model_version_tags", "value", "model version tag value"},
}

// checkLength refuses a value longer than its column declares, as the
// schema's MLflow validation did (its limit was the column's length):
// MAX_PARAM_VAL_LENGTH 500 with params.value VARCHAR(500), MAX_TAG_VAL_LENGTH
// 5000 with tags.value VARCHAR(5000). Newer columns are longer than the
// limits store's validation applies, so this only bites on older schemas.
func (s *Store) checkLength(table, column, key, value string) error {
	n, ok := s.features.limits[table+"."+column]
	if !ok || len(value) <= n {
		return nil
	}
	if l := utf8.RuneCountInString(value); l > n {
		what := table + "." + column
		for _, c := range limitedColumns {
			if c.table == table && c.column == column {
				what = c.what
			}
		}
		return store.Invalidf("%s for %q has length %d, which exceeds the limit %d of the MLflow %s schema of %s",
			what, key, l, n, s.version, s.path)
	}
	return nil
}

// checkTagLengths is checkLength for the values of tags of a table.
func (s *Store) checkTagLengths(table string, tags []store.Tag) error {
	for _, t := range tags {
		if err := s.checkLength(table, "value", t.Key, t.Value); err != nil {
			return err
		}
	}
	return nil
}

// missingFeature is the error of an operation the schema's MLflow does not
// have.
func (s *Store) missingFeature(what, since string) error {
	return store.InvalidStatef("sqlstore: the MLflow %s schema of %s has no %s (MLflow %s and later); "+
		"create the database with a newer MLflow version to use them", s.version, s.path, what, since)
}
