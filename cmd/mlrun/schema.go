package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
)

// schemaReport is what `mlrun schema --json` prints.
type schemaReport struct {
	TrackingURI string `json:"tracking_uri"`
	Store       string `json:"store"` // "sqlite" or "file"
	Path        string `json:"path"`
	// Revision is the database's alembic revision; the rest describes the
	// supported schema with that head (empty for an unsupported one).
	Revision       string   `json:"alembic_revision,omitempty"`
	MLflowVersions []string `json:"mlflow_versions"`
	RecordedFrom   string   `json:"schema_recorded_from,omitempty"`
	Read           bool     `json:"mlrun_can_read"`
	Write          bool     `json:"mlrun_can_write"`
	Problem        string   `json:"problem,omitempty"`
}

// runSchema reports which MLflow releases a store belongs to and whether
// mlrun can read and write it. It only reads: a missing store is an error,
// never created.
func runSchema(ctx context.Context, c *cmdEnv) error {
	fs := c.flags()
	uri := trackingURIFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := c.parse(fs, 0, 0); err != nil {
		return err
	}
	resolved := mlrun.ResolveTrackingURI(*uri)
	backend, path, err := mlrun.ParseTrackingURI(resolved)
	if err != nil {
		return err
	}
	r := schemaReport{TrackingURI: resolved, Store: string(backend), Path: path, MLflowVersions: []string{}}
	var problem error
	switch backend {
	case mlrun.BackendFile:
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			return fmt.Errorf("no MLflow store at %s (%s)", resolved, path)
		}
		// The file store has no schema version: every MLflow reads it.
		r.MLflowVersions = schema.Versions()
		r.Read, r.Write = true, true
	case mlrun.BackendSQLite:
		in, err := sqlstore.Inspect(ctx, path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no MLflow store at %s (%s does not exist)", resolved, path)
		}
		if err != nil {
			return err
		}
		r.Path, r.Revision = in.Path, in.Revision
		if in.Supported {
			r.MLflowVersions, r.RecordedFrom = in.Schema.Releases, in.Schema.Version
		}
		r.Read, r.Write = in.Supported, in.Supported && in.Writable
		if in.Problem != nil {
			r.Problem, problem = in.Problem.Error(), in.Problem
		}
	default:
		return fmt.Errorf("unsupported tracking store %s", resolved)
	}

	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		yes := map[bool]string{true: "yes", false: "no"}
		fmt.Fprintf(c.stdout, "store:            %s %s\n", r.Store, r.Path)
		if r.Store == "sqlite" {
			fmt.Fprintf(c.stdout, "alembic revision: %s\n", r.Revision)
			if len(r.MLflowVersions) > 0 {
				fmt.Fprintf(c.stdout, "MLflow releases:  %s\n", strings.Join(r.MLflowVersions, " "))
			} else {
				fmt.Fprintf(c.stdout, "MLflow releases:  none that this mlrun knows\n")
			}
		} else {
			fmt.Fprintf(c.stdout, "MLflow releases:  any (the file store has no schema version)\n")
		}
		fmt.Fprintf(c.stdout, "mlrun can read:   %s\nmlrun can write:  %s\n", yes[r.Read], yes[r.Write])
		if r.Problem != "" {
			fmt.Fprintf(c.stdout, "problem:          %s\n", r.Problem)
		}
	}
	if !r.Read {
		return problem
	}
	return nil
}
