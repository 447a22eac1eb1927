package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"strings"
)

// Limits on what a reader accepts from an archive, so that a hostile file
// cannot make it use much memory.
const (
	maxRecordsMember = 256 << 20 // a records member, read whole to check it before use
	maxMetaMember    = 1 << 20   // mlrun-archive.json, manifest.json
	maxRecordLine    = 128 << 20
)

// readArchive returns the entity stream of the archive read from r. It
// checks everything an archive must be, and yields an error (matching
// ErrBadArchive) at the first problem: every member a regular file with a
// clean name, with the SHA-256 its PAX header records (a records member is
// checked whole before any of its records is yielded; a file's content
// fails when read to its end); the header first, of a known format
// version; SHA256SUMS listing every member; the manifest last, with the
// counts of what came before; and nothing after it. read counts the bytes
// read from r, for progress.
func readArchive(ctx context.Context, r io.Reader, read func(n int64)) iter.Seq2[item, error] {
	return func(yield func(item, error) bool) {
		ar := &archiveReader{ctx: ctx, yield: yield, sumsHash: sha256.New()}
		err := ar.read(r, read)
		if err != nil && !errors.Is(err, errStopped) {
			yield(item{}, err)
		}
	}
}

// errStopped ends a read when the consumer stopped pulling items.
var errStopped = errors.New("stopped")

type archiveReader struct {
	ctx      context.Context
	yield    func(item, error) bool
	head     *header
	nrecs    int
	members  int
	sumsHash hash.Hash
	counts   Counts
	man      *manifest
}

// countingReader counts bytes for progress.
type countingReader struct {
	r    io.Reader
	read func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.read != nil && n > 0 {
		c.read(int64(n))
	}
	return n, err
}

func (ar *archiveReader) read(r io.Reader, read func(int64)) error {
	gz, err := gzip.NewReader(bufio.NewReaderSize(&countingReader{r, read}, 256<<10))
	if err != nil {
		return truncated(err, "not a gzip file")
	}
	gz.Multistream(false)
	tr := tar.NewReader(gz)
	for {
		if err := ar.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return truncated(err, "reading the tar stream")
		}
		if ar.man != nil {
			return badf("member %q after manifest.json", hdr.Name)
		}
		if err := checkHeader(hdr); err != nil {
			return err
		}
		sum := hdr.PAXRecords[paxSHA256]
		what := fmt.Sprintf("archive member %q", hdr.Name)
		cr := newCheckedReader(tr, hdr.Size, sum, what)
		switch {
		case ar.head == nil:
			if hdr.Name != headerMember {
				return badf("the first member is %q, not %s: not an mlrun archive", hdr.Name, headerMember)
			}
			b, err := readAllMax(cr, maxMetaMember, what)
			if err != nil {
				return err
			}
			if ar.head, err = parseHeader(b); err != nil {
				return err
			}
		case hdr.Name == sumsMember:
			b, err := readAllMax(cr, int64(ar.members+1)*300, what)
			if err != nil {
				return err
			}
			if got := hex.EncodeToString(ar.sumsHash.Sum(nil)); sum != got {
				return badf("SHA256SUMS does not list the members as they are (damaged or tampered with)")
			}
			_ = b
			continue // not listed in itself
		case hdr.Name == manifestMember:
			b, err := readAllMax(cr, maxMetaMember, what)
			if err != nil {
				return err
			}
			if err := ar.checkManifest(b); err != nil {
				return err
			}
			continue
		case strings.HasPrefix(hdr.Name, recordsPrefix):
			if err := ar.records(hdr, cr, what); err != nil {
				return err
			}
		default:
			model, id, rel, err := parseFileMember(hdr.Name)
			if err != nil {
				return badf("%v", err)
			}
			f := &file{model: model, owner: id, path: rel, size: hdr.Size, mode: hdr.FileInfo().Mode(), sha256: sum, r: cr}
			if !ar.yield(item{file: f}, nil) {
				return errStopped
			}
			if err := drain(cr); err != nil {
				return err
			}
			ar.counts.Artifacts++
			ar.counts.ArtifactBytes += hdr.Size
		}
		ar.sumsHash.Write([]byte(sum + "  " + hdr.Name + "\n"))
		ar.members++
	}
	if ar.head == nil {
		return badf("empty archive")
	}
	if ar.man == nil {
		return badf("no manifest.json at the end: the archive is truncated")
	}
	// The gzip stream must end here too (its trailer checksum is checked
	// at its end).
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return truncated(err, "after the tar stream")
	}
	return nil
}

// truncated wraps an error of the gzip or tar reader.
func truncated(err error, where string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return badf("the archive is truncated (%s: %v)", where, err)
	}
	return badf("the archive is damaged (%s: %v)", where, err)
}

// checkHeader refuses members that are not regular files with clean
// names, and members without their SHA-256.
func checkHeader(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeReg: // archive/tar reports old writers' TypeRegA as TypeReg
	case tar.TypeSymlink, tar.TypeLink:
		return badf("member %q is a %s: links are never extracted", hdr.Name, linkKind(hdr.Typeflag))
	default:
		return badf("member %q is not a regular file (tar type %q)", hdr.Name, hdr.Typeflag)
	}
	if hdr.Size < 0 {
		return badf("member %q has a negative size", hdr.Name)
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return badf("member %q is a sparse file", hdr.Name)
		}
	}
	if _, ok := hdr.PAXRecords[paxSHA256]; !ok {
		return badf("member %q has no %s record", hdr.Name, paxSHA256)
	}
	if s := hdr.PAXRecords[paxSHA256]; len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return badf("member %q: malformed %s record", hdr.Name, paxSHA256)
	}
	return nil
}

func linkKind(t byte) string {
	if t == tar.TypeSymlink {
		return "symbolic link"
	}
	return "hard link"
}

// readAllMax reads a whole member of at most max bytes.
func readAllMax(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, badf("%s is larger than %d bytes", what, max)
	}
	return b, nil
}

func parseHeader(b []byte) (*header, error) {
	var probe struct {
		Format        string `json:"format"`
		FormatVersion int    `json:"format_version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil || probe.Format != formatName {
		return nil, badf("%s is not an mlrun archive header", headerMember)
	}
	if probe.FormatVersion != FormatVersion {
		return nil, badf("archive format version %d is not supported (this mlrun reads version %d); use the mlrun release that wrote it, or a newer one",
			probe.FormatVersion, FormatVersion)
	}
	var h header
	if err := strictJSON(b, &h); err != nil {
		return nil, badf("%s: %v", headerMember, err)
	}
	if h.Source.Kind != "file" && h.Source.Kind != "sqlite" {
		return nil, badf("%s: unknown source kind %q", headerMember, h.Source.Kind)
	}
	return &h, nil
}

func (ar *archiveReader) checkManifest(b []byte) error {
	var m manifest
	if err := strictJSON(b, &m); err != nil {
		return badf("%s: %v", manifestMember, err)
	}
	if m.Format != formatName || m.FormatVersion != ar.head.FormatVersion {
		return badf("%s does not match the archive header", manifestMember)
	}
	if m.Members != ar.members {
		return badf("%s lists %d members, the archive has %d (members are missing or were added)", manifestMember, m.Members, ar.members)
	}
	if m.Counts != ar.counts {
		return badf("%s counts %+v, the archive holds %+v", manifestMember, m.Counts, ar.counts)
	}
	ar.man = &m
	return nil
}

// records checks a records member whole, then yields its records.
func (ar *archiveReader) records(hdr *tar.Header, cr io.Reader, what string) error {
	want := fmt.Sprintf("%s%06d.jsonl", recordsPrefix, ar.nrecs+1)
	if hdr.Name != want {
		return badf("%s out of order (expected %s)", what, want)
	}
	ar.nrecs++
	b, err := readAllMax(cr, maxRecordsMember, what)
	if err != nil {
		return err
	}
	for line := range bytes.Lines(b) {
		if len(line) > maxRecordLine {
			return badf("%s: a record is larger than %d bytes", what, maxRecordLine)
		}
		var rec record
		if err := strictJSON(line, &rec); err != nil {
			return badf("%s: %v", what, err)
		}
		if err := rec.check(); err != nil {
			return badf("%s: %v", what, err)
		}
		countRecord(&ar.counts, &rec)
		if !ar.yield(item{rec: &rec}, nil) {
			return errStopped
		}
	}
	return nil
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing
// data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// fileSource is the entity stream of an archive file, read anew (and
// checked anew) each time it is opened. size is the file's size, for
// progress.
func fileSource(path string, read func(n int64)) (source, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("archive: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("archive: %s is not a regular file", path)
	}
	src := func(ctx context.Context) iter.Seq2[item, error] {
		return func(yield func(item, error) bool) {
			f, err := os.Open(path)
			if err != nil {
				yield(item{}, fmt.Errorf("archive: %w", err))
				return
			}
			defer f.Close()
			for it, err := range readArchive(ctx, f, read) {
				if err != nil {
					err = fmt.Errorf("archive %s: %w", path, err)
				}
				if !yield(it, err) || err != nil {
					return
				}
			}
		}
	}
	return src, info.Size(), nil
}
