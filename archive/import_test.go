package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

// byName maps a view's runs to the names of their experiments, so that two
// stores whose experiment ids differ compare.
func expNames(v view) map[string]string {
	m := map[string]string{}
	for _, e := range v.Snap.Experiments {
		m[e.ExperimentID] = e.Name
	}
	return m
}

// checkUnion checks that every run of each part is in the merged view,
// the same but for its experiment id, which names the same experiment.
func checkUnion(t *testing.T, merged view, parts ...view) {
	t.Helper()
	mnames := expNames(merged)
	total := 0
	for _, p := range parts {
		pnames := expNames(p)
		total += len(p.Snap.Runs)
		for _, r := range p.Snap.Runs {
			got := merged.Snap.Run(r.RunID)
			if got == nil {
				t.Errorf("run %s (%s) is missing from the merged store", r.RunID, r.RunName)
				continue
			}
			if mnames[got.ExperimentID] != pnames[r.ExperimentID] {
				t.Errorf("run %s is in experiment %q, want %q", r.RunID, mnames[got.ExperimentID], pnames[r.ExperimentID])
			}
			a, b := *got, r
			a.ExperimentID, b.ExperimentID = "", ""
			a.ArtifactURI, b.ArtifactURI = "", ""
			if x, y := jsonText(a), jsonText(b); x != y {
				t.Errorf("run %s differs in the merged store:\n%s", r.RunID, firstLines(diffLines(y, x), 20))
			}
		}
	}
	if len(merged.Snap.Runs) != total {
		t.Errorf("merged store has %d runs, want %d", len(merged.Snap.Runs), total)
	}
}

// TestMerge imports two stores whose experiment ids collide (both SQLite:
// 1, 2, 3 with other names) and whose run ids are disjoint into one store
// of each kind: the result is their union; importing both again changes
// nothing.
func TestMerge(t *testing.T) {
	a, b := openKind(t, sqlite3, t.TempDir()), openKind(t, sqlite3, t.TempDir())
	fill(t, a, "a-")
	fill(t, b, "b-")
	pa, pb := exportFile(t, a, t.TempDir(), ExportOptions{}), exportFile(t, b, t.TempDir(), ExportOptions{})
	va, vb := viewOf(t, a, true), viewOf(t, b, true)
	for _, to := range []kind{fileKind, sqlite3} {
		t.Run(to.name, func(t *testing.T) {
			dst := openKind(t, to, t.TempDir())
			for _, p := range []string{pa, pb} {
				_, err := Import(ctx, dst, p, ImportOptions{NoSync: true})
				must(t, err)
			}
			merged := viewOf(t, dst, true)
			checkUnion(t, merged, va, vb)
			if n := len(merged.Snap.Experiments); n != 7 {
				t.Errorf("%d experiments, want Default and 3 of each store", n)
			}
			if ms := merged.Registry["models"].([]any); len(ms) != 4 {
				t.Errorf("%d registered models, want 4", len(ms))
			}
			for _, p := range []string{pa, pb} {
				st, err := Import(ctx, dst, p, ImportOptions{NoSync: true})
				must(t, err)
				if st.Changed() || st.Runs.Unchanged != len(va.Snap.Runs) || st.Experiments.Unchanged != 4 {
					t.Errorf("re-import of %s: %+v", filepath.Base(filepath.Dir(p)), st)
				}
			}
			sameView(t, "after re-importing both", merged, viewOf(t, dst, true))
		})
	}
	// Convert merges the same way, streaming.
	t.Run("convert", func(t *testing.T) {
		dst := openKind(t, fileKind, t.TempDir())
		_, err := Convert(ctx, dst, []store.Store{a, b}, ImportOptions{NoSync: true})
		must(t, err)
		merged := viewOf(t, dst, true)
		checkUnion(t, merged, va, vb)
		st, err := Convert(ctx, dst, []store.Store{a, b}, ImportOptions{NoSync: true})
		must(t, err)
		if st.Changed() {
			t.Errorf("second conversion changed something: %+v", st)
		}
	})
}

// treeState lists the files of a directory with their content hashes.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		if strings.HasSuffix(p, ".lock") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	must(t, err)
	return out
}

// TestConflicts changes entities in a destination after an import: a
// re-import reports each conflict, naming the entity, and overwrites
// nothing.
func TestConflicts(t *testing.T) {
	src := openKind(t, fileKind, t.TempDir())
	ids := fill(t, src, "")
	path := exportFile(t, src, t.TempDir(), ExportOptions{})
	for _, to := range []kind{fileKind, sqlite3} {
		t.Run(to.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := openKind(t, to, dir)
			_, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
			must(t, err)
			// A tag added to a run.
			must(t, dst.LogBatch(ctx, ids[1], nil, nil, []store.Tag{{Key: "changed", Value: "here"}}))
			before, files := viewOf(t, dst, true), treeState(t, dir)
			_, err = Import(ctx, dst, path, ImportOptions{NoSync: true})
			if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), ids[1]) {
				t.Fatalf("re-import after a change: err = %v, want a conflict naming run %s", err, ids[1])
			}
			sameView(t, "after the refused import", before, viewOf(t, dst, true))
			if d := diffLines(jsonText(files), jsonText(treeState(t, dir))); to == fileKind && d != "" {
				t.Errorf("the refused import changed files:\n%s", firstLines(d, 20))
			}
			must(t, dst.DeleteTag(ctx, ids[1], "changed"))
			// An artifact file changed.
			r, err := dst.GetRun(ctx, ids[0])
			must(t, err)
			art, _ := localDir(r.Info.ArtifactURI)
			must(t, os.WriteFile(filepath.Join(art, "notes", "hello.txt"), []byte("other"), 0o644))
			_, err = Import(ctx, dst, path, ImportOptions{NoSync: true})
			if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "notes/hello.txt") {
				t.Fatalf("re-import after an artifact change: err = %v", err)
			}
			if b, _ := os.ReadFile(filepath.Join(art, "notes", "hello.txt")); string(b) != "other" {
				t.Errorf("the artifact was overwritten: %q", b)
			}
			// A missing artifact is restored (an interrupted import resumes).
			must(t, os.Remove(filepath.Join(art, "notes", "hello.txt")))
			must(t, os.Remove(filepath.Join(art, "deep", "er", "x.json")))
			st, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
			must(t, err)
			if st.Artifacts.Created != 2 {
				t.Errorf("resume wrote %d artifacts, want 2", st.Artifacts.Created)
			}
		})
	}
}

// rewrite rewrites an archive's tar stream member by member; edit may
// change a member's header and content, drop it (nil header), and add
// members after it.
func rewrite(t *testing.T, archive []byte, edit func(hdr *tar.Header, data []byte) []member) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	must(t, err)
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		data, err := io.ReadAll(tr)
		must(t, err)
		for _, m := range edit(hdr, data) {
			must(t, tw.WriteHeader(m.hdr))
			_, err := tw.Write(m.data)
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, gw.Close())
	return out.Bytes()
}

type member struct {
	hdr  *tar.Header
	data []byte
}

// resum sets a member's size and SHA-256 record to its data.
func resum(hdr *tar.Header, data []byte) member {
	h := *hdr
	h.Size = int64(len(data))
	sum := sha256.Sum256(data)
	h.PAXRecords = map[string]string{paxSHA256: hex.EncodeToString(sum[:])}
	return member{&h, data}
}

// TestBadArchives imports broken archives: each is refused with
// ErrBadArchive and a clear message, and the destination is unchanged.
func TestBadArchives(t *testing.T) {
	src := openKind(t, fileKind, t.TempDir())
	fill(t, src, "")
	good, err := os.ReadFile(exportFile(t, src, t.TempDir(), ExportOptions{}))
	must(t, err)
	keep := func(hdr *tar.Header, data []byte) []member { return []member{{hdr, data}} }
	isFile := func(hdr *tar.Header) bool { return strings.HasPrefix(hdr.Name, runFilesPrefix) }
	firstFile := ""
	rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
		if firstFile == "" && isFile(hdr) {
			firstFile = hdr.Name
		}
		return keep(hdr, data)
	})
	cases := map[string]struct {
		data []byte
		want string
	}{
		"truncated": {good[:len(good)/2], "truncated"},
		"not gzip":  {[]byte("hello"), "not a gzip file"},
		"tampered artifact": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == firstFile {
				data = append([]byte("X"), data[1:]...)
			}
			return keep(hdr, data)
		}), "SHA-256 mismatch"},
		"tampered record": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if strings.HasPrefix(hdr.Name, recordsPrefix) {
				data = bytes.Replace(data, []byte(`"alpha"`), []byte(`"ALPHA"`), 1)
			}
			return keep(hdr, data)
		}), "SHA-256 mismatch"},
		"re-summed record": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if strings.HasPrefix(hdr.Name, recordsPrefix) {
				return []member{resum(hdr, bytes.Replace(data, []byte(`"alpha"`), []byte(`"ALPHA"`), 1))}
			}
			return keep(hdr, data)
		}), "SHA256SUMS"},
		"unknown format version": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == headerMember {
				return []member{resum(hdr, bytes.Replace(data, []byte(`"format_version": 1`), []byte(`"format_version": 2`), 1))}
			}
			return keep(hdr, data)
		}), "format version 2 is not supported"},
		"no manifest": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == manifestMember {
				return nil
			}
			return keep(hdr, data)
		}), "truncated"},
		"missing member": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == firstFile {
				return nil
			}
			return keep(hdr, data)
		}), "SHA256SUMS"},
		"symlink": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == firstFile {
				l := &tar.Header{Typeflag: tar.TypeSymlink, Name: hdr.Name + ".link", Linkname: "/etc/passwd",
					PAXRecords: map[string]string{paxSHA256: strings.Repeat("0", 64)}}
				return []member{{hdr, data}, {l, nil}}
			}
			return keep(hdr, data)
		}), "links are never extracted"},
		"hard link": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == firstFile {
				l := &tar.Header{Typeflag: tar.TypeLink, Name: hdr.Name + ".link", Linkname: hdr.Name,
					PAXRecords: map[string]string{paxSHA256: strings.Repeat("0", 64)}}
				return []member{{hdr, data}, {l, nil}}
			}
			return keep(hdr, data)
		}), "links are never extracted"},
		"path traversal": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == firstFile {
				h := *hdr
				parts := strings.SplitN(hdr.Name, "/", 4)
				h.Name = strings.Join(parts[:3], "/") + "/../../../../evil.txt"
				return []member{{&h, data}}
			}
			return keep(hdr, data)
		}), "escapes its directory"},
		"member after manifest": {rewrite(t, good, func(hdr *tar.Header, data []byte) []member {
			if hdr.Name == manifestMember {
				return []member{{hdr, data}, resum(&tar.Header{Typeflag: tar.TypeReg, Name: "extra", Mode: 0o644}, []byte("x"))}
			}
			return keep(hdr, data)
		}), "after manifest.json"},
	}
	for name, tc := range cases {
		for _, to := range []kind{fileKind, sqlite3} {
			t.Run(name+"/"+to.name, func(t *testing.T) {
				dir := t.TempDir()
				dst := openKind(t, to, dir)
				before, files := viewOf(t, dst, true), treeState(t, dir)
				path := filepath.Join(t.TempDir(), "bad.tar.gz")
				must(t, os.WriteFile(path, tc.data, 0o644))
				_, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
				if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want ErrBadArchive mentioning %q", err, tc.want)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("the error is not one line: %q", err)
				}
				sameView(t, "after the refused import", before, viewOf(t, dst, true))
				after := treeState(t, dir)
				if to == fileKind {
					if d := diffLines(jsonText(files), jsonText(after)); d != "" {
						t.Errorf("the refused import changed files:\n%s", firstLines(d, 20))
					}
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil.txt")); err == nil {
					t.Error("a file escaped the destination")
				}
			})
		}
	}
}

// TestBadDestinations imports into destinations that cannot take it: a
// SQLite database at an unknown schema revision and a read-only store.
// Each is refused with a clear error and left unchanged.
func TestBadDestinations(t *testing.T) {
	src := openKind(t, fileKind, t.TempDir())
	fill(t, src, "")
	path := exportFile(t, src, t.TempDir(), ExportOptions{})

	t.Run("unknown schema", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "x.db")
		s, err := sqlstore.Open(ctx, db, &sqlstore.Options{KeepJournalMode: true})
		must(t, err)
		must(t, s.Close())
		raw, err := sql.Open("sqlite", db)
		must(t, err)
		_, err = raw.Exec("UPDATE alembic_version SET version_num = 'ffffffffffff'")
		must(t, err)
		must(t, raw.Close())
		before, err := os.ReadFile(db)
		must(t, err)
		_, err = OpenDestination(ctx, "sqlite:///"+db, "")
		if err == nil || !strings.Contains(err.Error(), "ffffffffffff") {
			t.Fatalf("OpenDestination of an unknown revision: err = %v", err)
		}
		if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
			t.Error("the database was changed")
		}
	})
	t.Run("read-only", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "ro.db")
		s, err := sqlstore.Open(ctx, db, &sqlstore.Options{KeepJournalMode: true})
		must(t, err)
		must(t, s.Close())
		before := treeState(t, dir)
		ro, err := sqlstore.Open(ctx, db, &sqlstore.Options{ReadOnly: true})
		must(t, err)
		defer ro.Close()
		_, err = Import(ctx, ro, path, ImportOptions{NoSync: true})
		if !errors.Is(err, store.ErrInvalidState) || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("import into a read-only store: err = %v", err)
		}
		if d := diffLines(jsonText(before), jsonText(treeState(t, dir))); d != "" {
			t.Errorf("the read-only destination changed:\n%s", d)
		}
	})
	t.Run("version mismatch", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "v.db")
		s, err := sqlstore.Open(ctx, db, &sqlstore.Options{MLflowVersion: "2.22.5"})
		must(t, err)
		must(t, s.Close())
		_, err = OpenDestination(ctx, "sqlite:///"+db, "3.17.2")
		if !errors.Is(err, store.ErrInvalidState) || !strings.Contains(err.Error(), "2.22.5") {
			t.Fatalf("err = %v", err)
		}
		d, err := OpenDestination(ctx, "sqlite:///"+db, "2")
		must(t, err)
		d.Close()
	})
}

// TestExportSelection narrows an export by experiment, run id and filter.
func TestExportSelection(t *testing.T) {
	src := openKind(t, sqlite3, t.TempDir())
	ids := fill(t, src, "")
	count := func(opts ExportOptions) Counts {
		c, _, err := Export(ctx, src, io.Discard, opts)
		must(t, err)
		return c
	}
	all := count(ExportOptions{})
	if all.Runs != len(ids) || all.Experiments != 4 || all.RegisteredModels != 2 || all.ModelVersions != 3 || all.LoggedModels != 1 {
		t.Errorf("export of everything: %+v", all)
	}
	c := count(ExportOptions{Experiments: []string{"sweep ünïcødé ✓"}})
	if c.Experiments != 1 || c.Runs != 4 {
		t.Errorf("--experiment: %+v", c)
	}
	c = count(ExportOptions{RunIDs: []string{ids[1]}})
	if c.Experiments != 1 || c.Runs != 1 || c.ModelVersions != 1 || c.RegisteredModels != 1 || c.LoggedModels != 0 {
		t.Errorf("--run-id: %+v", c)
	}
	c = count(ExportOptions{Filter: "metrics.rmse < 0.15"})
	if c.Runs != 2 {
		t.Errorf("--filter: %+v", c)
	}
	c = count(ExportOptions{RunIDs: []string{ids[0]}})
	if c.LoggedModels != 1 || c.Artifacts < 3 {
		t.Errorf("--run-id of the run with the logged model: %+v", c)
	}
	if _, _, err := Export(ctx, src, io.Discard, ExportOptions{Filter: "metrics.rmse <"}); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("bad filter: %v", err)
	}
	if _, _, err := Export(ctx, src, io.Discard, ExportOptions{Experiments: []string{"nope"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown experiment: %v", err)
	}
}

// TestGC removes deleted entities as mlflow gc does.
func TestGC(t *testing.T) {
	for _, k := range []kind{fileKind, sqlite3, sqlite2} {
		t.Run(k.name, func(t *testing.T) {
			s := openKind(t, k, t.TempDir())
			ids := fill(t, s, "")
			deleted, inGone := ids[3], ids[4]
			r, err := s.GetRun(ctx, deleted)
			must(t, err)
			art, _ := localDir(r.Info.ArtifactURI)
			must(t, os.MkdirAll(art, 0o755))
			must(t, os.WriteFile(filepath.Join(art, "f"), []byte("x"), 0o644))
			// Fresh deletions are kept by --older-than.
			res, err := GC(ctx, s, GCOptions{OlderThan: 1000 * 24 * 3600e9})
			must(t, err)
			if len(res.Runs)+len(res.Experiments) != 0 {
				t.Errorf("gc --older-than removed %+v", res)
			}
			// An active run is refused.
			if _, err := GC(ctx, s, GCOptions{RunIDs: []string{ids[0]}}); !errors.Is(err, store.ErrInvalidParameter) {
				t.Errorf("gc of an active run: %v", err)
			}
			res, err = GC(ctx, s, GCOptions{})
			must(t, err)
			slices.Sort(res.Runs)
			want := []string{deleted, inGone}
			slices.Sort(want)
			if !slices.Equal(res.Runs, want) || len(res.Experiments) != 1 {
				t.Errorf("gc removed %+v, want runs %v and one experiment", res, want)
			}
			for _, id := range want {
				if _, err := s.GetRun(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("run %s after gc: %v", id, err)
				}
			}
			if _, err := os.Stat(art); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the artifacts of the removed run are still there: %v", err)
			}
			if _, err := s.GetRun(ctx, ids[0]); err != nil {
				t.Errorf("an active run was removed: %v", err)
			}
			res, err = GC(ctx, s, GCOptions{})
			must(t, err)
			if len(res.Runs)+len(res.Experiments)+len(res.LoggedModels) != 0 {
				t.Errorf("a second gc removed %+v", res)
			}
		})
	}
}

func TestParseOlderThan(t *testing.T) {
	for in, want := range map[string]float64{"30d": 30 * 86400, "1d2h3m4s": 86400 + 7200 + 180 + 4, "1.5h": 5400, "2m4s": 124, "8h": 28800} {
		d, err := ParseOlderThan(in)
		if err != nil || d.Seconds() != want {
			t.Errorf("ParseOlderThan(%q) = %v, %v; want %vs", in, d, err, want)
		}
	}
	for _, in := range []string{"", "1w", "d", "3x", "1h2d"} {
		if _, err := ParseOlderThan(in); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("ParseOlderThan(%q): err = %v", in, err)
		}
	}
}

// TestReimportYAMLLossyStrings: a file store keeps some characters of run
// and experiment names and of input tags differently (YAML reads U+0085
// back as a space, as MLflow's does): importing into it again still
// changes nothing, and matches the experiment instead of making another.
func TestReimportYAMLLossyStrings(t *testing.T) {
	src := openKind(t, sqlite3, t.TempDir())
	c, err := mlrun.Open(ctx, mlrun.WithStore(src))
	must(t, err)
	exp, err := c.CreateExperiment(ctx, "exp ✓ nel\u0085")
	must(t, err)
	r, err := c.StartRun(ctx, mlrun.WithExperimentID(exp.ID), mlrun.WithRunName("run nel\u0085"))
	must(t, err)
	must(t, r.LogInput(ctx, store.Dataset{Name: "d", Digest: "x", SourceType: "local", Source: "{}"}, mlrun.WithInputContext("ctx nel\u0085")))
	must(t, r.End(ctx))
	path := exportFile(t, src, t.TempDir(), ExportOptions{})
	dst := openKind(t, fileKind, t.TempDir())
	_, err = Import(ctx, dst, path, ImportOptions{NoSync: true})
	must(t, err)
	got, err := dst.GetRun(ctx, r.ID())
	must(t, err)
	if fsstore.YAMLString("run nel\u0085") == "run nel\u0085" {
		t.Fatal("the name reads back unchanged from YAML: the test proves nothing")
	}
	if got.Info.RunName != fsstore.YAMLString("run nel\u0085") {
		t.Errorf("run name %q", got.Info.RunName)
	}
	st, err := Import(ctx, dst, path, ImportOptions{NoSync: true})
	must(t, err)
	if st.Changed() || st.Experiments.Unchanged != 2 || st.Runs.Unchanged != 1 {
		t.Errorf("re-import: %+v", st)
	}
}

// TestVerify checks an archive without a destination.
func TestVerify(t *testing.T) {
	src := openKind(t, sqlite3, t.TempDir())
	fill(t, src, "")
	path := exportFile(t, src, t.TempDir(), ExportOptions{})
	want, _, err := Export(ctx, src, io.Discard, ExportOptions{})
	must(t, err)
	got, err := Verify(ctx, path)
	must(t, err)
	if got != want {
		t.Errorf("Verify counts %+v, want %+v", got, want)
	}
	b, _ := os.ReadFile(path)
	must(t, os.WriteFile(path, b[:len(b)-20], 0o644))
	if _, err := Verify(ctx, path); !errors.Is(err, ErrBadArchive) {
		t.Errorf("Verify of a truncated archive: %v", err)
	}
}
