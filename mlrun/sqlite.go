package mlrun

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
)

// openSQLite opens (or creates) the MLflow SQLite database at path. A new
// database gets the schema of the MLflow release chosen with
// [WithMLflowVersion] (an exact supported release, or the newest supported
// one of that major version), else the newest supported release.
func openSQLite(ctx context.Context, path, mlflowVersion string, readOnly bool) (store.Store, error) {
	v, err := schemaVersion(mlflowVersion)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", path, err)
	}
	return s, nil
}

// schemaVersion maps a requested MLflow version to a supported schema.
func schemaVersion(requested string) (string, error) {
	if requested == "" {
		return "", nil
	}
	versions := schema.Versions()
	if slices.Contains(versions, requested) {
		return requested, nil
	}
	best := ""
	for _, v := range versions { // ascending
		if strings.HasPrefix(v+".", requested+".") || strings.Split(v, ".")[0] == requested {
			best = v
		}
	}
	if best == "" {
		return "", store.Invalidf("MLflow %s is not supported for SQLite stores; supported: %s", requested, strings.Join(versions, ", "))
	}
	return best, nil
}
