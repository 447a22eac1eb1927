package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"time"
)

// recordsChunk is the size at which a records member is closed: members
// are built in memory, so memory stays flat however large the store.
const recordsChunk = 1 << 20

// writer writes an archive: a gzip-compressed tar stream of regular files,
// each with its SHA-256 in a PAX header record, followed by SHA256SUMS
// (which `sha256sum -c` checks after extraction) and manifest.json.
type writer struct {
	gz       *gzip.Writer
	tw       *tar.Writer
	created  time.Time
	head     header
	recs     bytes.Buffer // the records member being built
	nrecs    int          // records members written
	members  int
	sums     *os.File      // the lines of SHA256SUMS, spooled to a temporary file
	sumsBuf  *bufio.Writer // buffers sums
	sumsHash hash.Hash     // SHA-256 of those lines
	counts   Counts
	enc      *json.Encoder // encodes records into recs
}

func newWriter(w io.Writer, src sourceInfo, version string) (*writer, error) {
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	sums, err := os.CreateTemp("", "mlrun-archive-sums-")
	if err != nil {
		return nil, err
	}
	os.Remove(sums.Name()) // kept open only
	wr := &writer{gz: gz, tw: tar.NewWriter(gz), created: time.Now().UTC().Truncate(time.Second),
		sums: sums, sumsBuf: bufio.NewWriter(sums), sumsHash: sha256.New()}
	wr.enc = json.NewEncoder(&wr.recs)
	wr.enc.SetEscapeHTML(false)
	wr.head = header{Format: formatName, FormatVersion: FormatVersion, MlrunVersion: version,
		Created: wr.created.Format(time.RFC3339), Source: src}
	b, err := json.MarshalIndent(wr.head, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := wr.member(headerMember, append(b, '\n'), 0o644); err != nil {
		sums.Close()
		return nil, err
	}
	return wr, nil
}

// member writes a member held in memory.
func (w *writer) member(name string, data []byte, mode int64) error {
	sum := sha256.Sum256(data)
	return w.memberFrom(name, int64(len(data)), mode, hex.EncodeToString(sum[:]), bytes.NewReader(data))
}

// memberFrom writes a member of the given size and SHA-256 from r.
func (w *writer) memberFrom(name string, size, mode int64, sum string, r io.Reader) error {
	hdr := &tar.Header{
		Typeflag:   tar.TypeReg,
		Name:       name,
		Size:       size,
		Mode:       mode,
		ModTime:    w.created,
		Format:     tar.FormatPAX,
		PAXRecords: map[string]string{paxSHA256: sum},
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive: write %s: %w", name, err)
	}
	if n, err := io.Copy(w.tw, r); err != nil {
		return fmt.Errorf("archive: write %s: %w", name, err)
	} else if n != size {
		return fmt.Errorf("archive: write %s: %d bytes, want %d", name, n, size)
	}
	if name != sumsMember && name != manifestMember {
		line := sum + "  " + name + "\n"
		w.sumsHash.Write([]byte(line))
		if _, err := w.sumsBuf.WriteString(line); err != nil {
			return fmt.Errorf("archive: spool checksums: %w", err)
		}
		w.members++
	}
	return nil
}

// flush writes the records member being built, if any.
func (w *writer) flush() error {
	if w.recs.Len() == 0 {
		return nil
	}
	w.nrecs++
	name := fmt.Sprintf("%s%06d.jsonl", recordsPrefix, w.nrecs)
	err := w.member(name, w.recs.Bytes(), 0o644)
	w.recs.Reset()
	return err
}

// add writes one item of an entity stream.
func (w *writer) add(it item) error {
	if it.file != nil {
		if err := w.flush(); err != nil {
			return err
		}
		f := it.file
		mode := int64(0o644)
		if f.mode&0o111 != 0 {
			mode = 0o755
		}
		if err := w.memberFrom(fileMember(f.model, f.owner, f.path), f.size, mode, f.sha256, f.r); err != nil {
			return err
		}
		w.counts.Artifacts++
		w.counts.ArtifactBytes += f.size
		return nil
	}
	countRecord(&w.counts, it.rec)
	if err := w.enc.Encode(it.rec); err != nil {
		return fmt.Errorf("archive: encode %s record: %w", it.rec.Kind, err)
	}
	if w.recs.Len() >= recordsChunk {
		return w.flush()
	}
	return nil
}

// countRecord adds a record to the counts.
func countRecord(c *Counts, r *record) {
	switch r.Kind {
	case kindExperiment:
		c.Experiments++
	case kindRun:
		c.Runs++
	case kindMetrics:
		c.MetricPoints += int64(len(r.Metrics.Points))
	case kindLoggedModel:
		c.LoggedModels++
	case kindRegisteredModel:
		c.RegisteredModels++
	case kindModelVersion:
		c.ModelVersions++
	}
}

// close writes SHA256SUMS and manifest.json and closes the streams (not
// the underlying writer).
func (w *writer) close() error {
	defer w.sums.Close()
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.sumsBuf.Flush(); err != nil {
		return fmt.Errorf("archive: spool checksums: %w", err)
	}
	size, err := w.sums.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := w.sums.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sumsSum := hex.EncodeToString(w.sumsHash.Sum(nil))
	if err := w.memberFrom(sumsMember, size, 0o644, sumsSum, w.sums); err != nil {
		return err
	}
	m := manifest{Format: formatName, FormatVersion: FormatVersion, MlrunVersion: w.head.MlrunVersion,
		Created: w.head.Created, Source: w.head.Source, Counts: w.counts, Members: w.members, SHA256SUMS: sumsSum}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := w.member(manifestMember, append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := w.gz.Close(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}
