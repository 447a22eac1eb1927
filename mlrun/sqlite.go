package mlrun

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
	"github.com/mlrun-go/mlrun/store"
)

// EnvServerArtifactRoot is the environment variable MLflow 3's Python
// client reads for the default artifact root of a SQL store
// (_get_sqlalchemy_store; `mlflow server` sets it for the processes it
// starts). See WithArtifactRoot.
const EnvServerArtifactRoot = "_MLFLOW_SERVER_ARTIFACT_ROOT"

// sqliteArtifactRoot is the default artifact root of a SQLite store opened
// with cfg: WithArtifactRoot, else, as MLflow 3.17.2's
// _get_sqlalchemy_store, $_MLFLOW_SERVER_ARTIFACT_ROOT (MLflow 2.22.5 does
// not read it), else "" (sqlstore's default: ./mlruns made absolute, as
// MLflow's DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH).
func sqliteArtifactRoot(cfg config) string {
	if cfg.artifactRoot != "" {
		return cfg.artifactRoot
	}
	if major, _, _ := strings.Cut(cfg.models.mlflowVersion, "."); major == "1" || major == "2" {
		return ""
	}
	return os.Getenv(EnvServerArtifactRoot)
}

// openSQLiteStore opens (or creates) the MLflow SQLite database at path. A
// new database gets the schema of the MLflow release chosen with
// [WithMLflowVersion] (an exact supported release, or the newest supported
// one of that major version), else the newest supported release. Its
// default artifact root is sqliteArtifactRoot(cfg).
func openSQLiteStore(ctx context.Context, _, path string, cfg config) (store.Store, error) {
	v, err := schemaVersion(cfg.models.mlflowVersion)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.Open(ctx, path, &sqlstore.Options{MLflowVersion: v, ArtifactRoot: sqliteArtifactRoot(cfg), ReadOnly: cfg.readOnly})
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
	// The newest matching release, but not past the default (the newest
	// release whose real MLflow the tests run) when one at or below it
	// matches: "3" means 3.17.2, not 3.18.0 (whose full mlflow package cannot be installed yet).
	best, tested := "", slices.Index(versions, schema.Latest())
	for i, v := range versions { // ascending
		if strings.HasPrefix(v+".", requested+".") && (best == "" || i <= tested) {
			best = v
		}
	}
	if best == "" {
		return "", store.Invalidf("MLflow %s is not supported for SQLite stores; supported: %s", requested, strings.Join(versions, ", "))
	}
	return best, nil
}
