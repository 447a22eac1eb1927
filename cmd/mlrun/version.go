package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlrun-go/mlrun/archive"
	"github.com/mlrun-go/mlrun/sqlstore/schema"
)

// runVersion prints mlrun's module version and what it supports.
func runVersion(_ context.Context, c *cmdEnv) error {
	fs := c.flags()
	if _, err := c.parse(fs, 0, 0); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "mlrun %s\n", archive.Version())
	fmt.Fprintf(c.stdout, "MLflow versions: %s (SQLite schemas; a new database gets %s); file stores of MLflow 2.x and 3.x\n",
		strings.Join(schema.Versions(), ", "), schema.Latest())
	fmt.Fprintf(c.stdout, "archive format version: %d\n", archive.FormatVersion)
	return nil
}
