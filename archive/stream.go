package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"io/fs"
	"iter"
)

// An entity stream is what export produces and import consumes, whether it
// goes through an archive file (export, import) or not (convert):
//
//	experiment*                                  every experiment first
//	(run metrics* run_end file*)*                a run, its history key by key, its artifacts
//	(logged_model file*)*                        a logged model (metrics inline), its artifacts
//	(registered_model model_version*)*           the registry, version by version
//
// A stream can be read again from the start (import reads it twice: once
// to check everything, once to write).

// item is one element of an entity stream: a record or an artifact file.
type item struct {
	rec  *record
	file *file
}

// file is an artifact file of a run or a logged model. Its content (r) is
// readable until the next item; reading it to the end fails if the bytes
// do not have the SHA-256 given.
type file struct {
	model  bool   // a logged model's file (else a run's)
	owner  string // the run or model id
	path   string // relative, '/'-separated, clean
	size   int64
	mode   fs.FileMode // only the permission bits matter (executable or not)
	sha256 string      // hex
	r      io.Reader
}

// source opens an entity stream; it may be called more than once.
type source func(ctx context.Context) iter.Seq2[item, error]

// checkedReader reads exactly size bytes from r and fails at the end if
// their SHA-256 is not want (hex): with bad(got) if set, else with an
// ErrBadArchive error naming what.
type checkedReader struct {
	r    io.Reader
	h    hash.Hash
	left int64
	want string
	what string
	bad  func(got string) error
}

func newCheckedReader(r io.Reader, size int64, want, what string) *checkedReader {
	return &checkedReader{r: io.LimitReader(r, size), h: sha256.New(), left: size, want: want, what: what}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.left -= int64(n)
	if err != nil && err != io.EOF && c.bad == nil {
		return n, truncated(err, c.what)
	}
	if err == io.EOF {
		if c.left > 0 {
			if c.bad != nil {
				return n, c.bad("")
			}
			return n, badf("%s: %d bytes missing (truncated)", c.what, c.left)
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want {
			if c.bad != nil {
				return n, c.bad(got)
			}
			return n, badf("%s: SHA-256 mismatch: the content hashes to %s, the archive says %s (damaged or tampered with)", c.what, got, c.want)
		}
	}
	return n, err
}

// drain reads the rest of r, verifying it.
func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
