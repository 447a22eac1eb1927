package archive

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
)

// FuzzReadArchive feeds arbitrary bytes to the archive reader: it must
// never panic, hang or yield a file whose bytes it did not check, and every
// failure must be ErrBadArchive (or a cancelled context).
func FuzzReadArchive(f *testing.F) {
	// A small store keeps the seed small, which the fuzzer needs.
	s := openKind(f, fileKind, f.TempDir())
	c, err := mlrun.Open(ctx, mlrun.WithStore(s))
	if err != nil {
		f.Fatal(err)
	}
	r, err := c.StartRun(ctx, mlrun.WithRunName("r"))
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		must(f, r.LogMetric(ctx, "m", float64(i)))
	}
	must(f, r.LogText(ctx, "x", "a/b.txt"))
	must(f, r.End(ctx))
	good, err := os.ReadFile(exportFile(f, s, f.TempDir(), ExportOptions{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for it, err := range readArchive(ctx, bytes.NewReader(data), nil) {
			if err != nil {
				if !errors.Is(err, ErrBadArchive) {
					t.Fatalf("error without ErrBadArchive: %v", err)
				}
				return
			}
			if it.file != nil {
				if err := drain(it.file.r); err != nil && !errors.Is(err, ErrBadArchive) {
					t.Fatalf("file error without ErrBadArchive: %v", err)
				}
			}
		}
	})
}
