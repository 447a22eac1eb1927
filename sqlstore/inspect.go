package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mlrun-go/mlrun/sqlstore/schema"
)

// Inspection is what Inspect found in a database file.
type Inspection struct {
	// Path is the absolute path of the file.
	Path string
	// Revision is the alembic revision in the database.
	Revision string
	// Schema is the supported schema with that head; its zero value when
	// the revision is not a supported head (see Problem).
	Schema schema.Schema
	// Supported reports whether mlrun reads and writes the database
	// (Open accepts it).
	Supported bool
	// Writable reports whether this process may write the file and its
	// directory (where SQLite keeps its journal).
	Writable bool
	// Problem says why mlrun cannot use the database (a
	// *schema.RevisionError), or, when Supported, why it may not write it;
	// nil if it can.
	Problem error
}

// Inspect reports which MLflow schema the database at path has, without
// writing or creating anything (not even the -wal and -shm files of a
// database in WAL mode, unless they already exist). A missing file is an
// error matching os.ErrNotExist; a file that is not an MLflow database,
// schema.ErrNotMLflow. A database at an unsupported revision is not an
// error: its Inspection says so.
func Inspect(ctx context.Context, path string) (*Inspection, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a directory", abs)
	}
	if info.Size() == 0 {
		return nil, fmt.Errorf("%s: %w: the file is empty", abs, schema.ErrNotMLflow)
	}
	// immutable=1 reads the file as it is, creating nothing; with a -wal
	// file present its content matters, and mode=ro reads it.
	q := "?immutable=1"
	if _, err := os.Stat(abs + "-wal"); err == nil {
		q = "?mode=ro"
	}
	db, err := sql.Open("sqlite", fileURI(abs)+q)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	in := &Inspection{Path: abs}
	version, revision, err := schema.Detect(ctx, db)
	var re *schema.RevisionError
	switch {
	case errors.As(err, &re):
		in.Revision, in.Problem = revision, err
	case err != nil:
		return nil, fmt.Errorf("%s: %w", abs, err)
	default:
		in.Revision = revision
		in.Schema, _ = schema.ForRevision(revision)
		in.Supported = version != ""
	}
	if err := checkWritable(abs, true); err != nil {
		if in.Problem == nil {
			in.Problem = err
		}
	} else {
		in.Writable = true
	}
	return in, nil
}
