package mlrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/artifactrepo"
	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/internal/pystr"
	"github.com/mlrun-go/mlrun/store"
)

// isAbsPath reports whether uri is a plain absolute local path.
func isAbsPath(uri string) bool { return filepath.IsAbs(uri) }

// artifactDir returns the local directory of a run's artifact root.
func artifactDir(uri string) (string, error) {
	if !fileuri.IsFileURI(uri) && !filepath.IsAbs(uri) {
		return "", store.Invalidf("artifact URI %q is not a local path; mlrun writes artifacts only to local file stores", uri)
	}
	return fileuri.ToPath(uri)
}

// artifacts opens the run's artifact root (see artifactIO); create makes
// a local one if missing.
func (r *Run) artifacts(create bool) (artifactIO, error) {
	return r.c.openArtifacts(r.artifactURI, create)
}

// writeArtifact writes data to the artifact file rel of an active run (see
// artifactIO.write).
func (r *Run) writeArtifact(ctx context.Context, op, rel string, data artifactrepo.Source) error {
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if err := checkArtifactFile(rel); err != nil {
		return err
	}
	a, err := r.artifacts(true)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.write(ctx, op, rel, data)
}

// LogArtifact copies a local file into the run's artifacts, under
// artifactDir ("" for the root), keeping its base name. localPath may be a
// symlink (it is the file it points to that is copied); artifactDir may not
// lead outside the artifact root through one.
func (r *Run) LogArtifact(ctx context.Context, localPath, artifactDir string) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if err := store.ValidateArtifactPath(artifactDir); err != nil {
		return err
	}
	rel := path.Join(artifactDir, filepath.Base(localPath))
	if err := checkArtifactFile(rel); err != nil {
		return err
	}
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return store.Invalidf("log artifact: %s is not a regular file", localPath)
	}
	return r.writeArtifact(ctx, "log artifact", rel, openFileSource{f: f, size: fi.Size()})
}

// LogArtifacts copies the contents of a local directory, recursively, into
// the run's artifacts under artifactDir ("" for the root), as
// mlflow.log_artifacts does. The whole tree is checked before the first
// file is copied: a file whose name is not a valid artifact path (say, with
// a backslash), or a symlink that resolves outside localDir (or nowhere, or
// back to an ancestor directory), or a device, socket or pipe, refuses the
// whole call with an ErrInvalidParameter error naming each such entry, and
// nothing is written. Symlinks that resolve inside localDir are copied as
// the files or directories they point to.
func (r *Run) LogArtifacts(ctx context.Context, localDir, artifactDir string) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if err := store.ValidateArtifactPath(artifactDir); err != nil {
		return err
	}
	tree, err := collectSource(localDir, artifactDir)
	if err != nil {
		return fmt.Errorf("log artifacts: %w", err)
	}
	a, err := r.artifacts(true)
	if err != nil {
		return err
	}
	defer a.Close()
	if l := a.local(); l != nil && artifactDir != "" {
		// Refuse a destination that leads out of the root before copying.
		if _, err := l.stat("log artifacts", artifactDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return tree.copyTo(ctx, a, "log artifacts", artifactDir)
}

// LogText writes text as the artifact file artifactFile (e.g. "notes/a.txt").
func (r *Run) LogText(ctx context.Context, text, artifactFile string) (err error) {
	defer r.keep(&err)
	return r.writeArtifact(ctx, "log text", artifactFile, bytesSource([]byte(text)))
}

// LogJSON writes v as an indented JSON document, as mlflow.log_dict does
// for a .json file.
func (r *Run) LogJSON(ctx context.Context, v any, artifactFile string) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return store.Invalidf("log JSON %s: %v", artifactFile, err)
	}
	return r.writeArtifact(ctx, "log JSON", artifactFile, bytesSource(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
}

// LogImage writes img as a PNG artifact file (e.g. "plots/loss.png").
func (r *Run) LogImage(ctx context.Context, img image.Image, artifactFile string) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if img == nil || reflect.ValueOf(img).Kind() == reflect.Pointer && reflect.ValueOf(img).IsNil() {
		return store.Invalidf("log image %s: the image must not be nil", artifactFile)
	}
	if !strings.EqualFold(path.Ext(artifactFile), ".png") {
		return store.Invalidf("log image %s: the file name must end in .png", artifactFile)
	}
	if err := checkArtifactFile(artifactFile); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := encodePNG(&buf, img); err != nil {
		return store.Invalidf("log image %s: %v", artifactFile, err)
	}
	return r.writeArtifact(ctx, "log image", artifactFile, bytesSource(buf.Bytes()))
}

// encodePNG is png.Encode, with a panic of the image's methods (a
// zero-value image.RGBA has none, but an image type of the caller may)
// turned into an error.
func encodePNG(w io.Writer, img image.Image) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("encoding the image panicked: %v", p)
		}
	}()
	return png.Encode(w, img)
}

// tableJSON is the layout of mlflow.log_table's .json files (pandas
// to_json(orient="split", index=False)), which MLflow's UI renders.
type tableJSON struct {
	Columns []string `json:"columns"`
	Data    [][]any  `json:"data"`
}

// LogTable writes a table as a .json artifact in the layout of
// mlflow.log_table, and lists it in the mlflow.loggedArtifacts tag so the
// UI shows it as a table. Logging to an existing table file with the same
// columns appends the rows, as MLflow does. Concurrent LogTable calls on
// one run, from any goroutines and processes, lose no rows and no tag
// entries: the append holds a lock file next to the artifact root, and the
// tag is updated atomically (store.RunTagUpdater).
func (r *Run) LogTable(ctx context.Context, columns []string, rows [][]any, artifactFile string) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	if path.Ext(artifactFile) != ".json" {
		return store.Invalidf("log table %s: the file name must end in .json", artifactFile)
	}
	if err := checkArtifactFile(artifactFile); err != nil {
		return err
	}
	for i, row := range rows {
		if len(row) != len(columns) {
			return store.Invalidf("log table %s: row %d has %d values for %d columns", artifactFile, i, len(row), len(columns))
		}
	}
	if _, err := json.Marshal(rows); err != nil {
		return store.Invalidf("log table %s: %v", artifactFile, err)
	}
	a, err := r.artifacts(true)
	if err != nil {
		return err
	}
	defer a.Close()
	unlock, err := a.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	t := tableJSON{Columns: columns, Data: rows}
	b, err := a.readFile(ctx, artifactFile)
	switch {
	case err == nil:
		var old tableJSON
		if err := json.Unmarshal(b, &old); err != nil {
			return store.Invalidf("log table %s: the existing file is not a table: %v", artifactFile, err)
		}
		if !slices.Equal(old.Columns, columns) {
			return store.Invalidf("log table %s: columns %q differ from the existing table's %q", artifactFile, columns, old.Columns)
		}
		t.Data = append(old.Data, rows...)
	case !errors.Is(err, fs.ErrNotExist):
		if l := a.local(); l != nil {
			return l.pathErr("log table", artifactFile, err)
		}
		return fmt.Errorf("log table %s: %w", artifactFile, err)
	}
	if t.Data == nil {
		t.Data = [][]any{}
	}
	if t.Columns == nil {
		t.Columns = []string{}
	}
	out, err := json.Marshal(t)
	if err != nil {
		return store.Invalidf("log table %s: %v", artifactFile, err)
	}
	// Check that the tag can list the table before writing it. Every
	// mlrun writer of the tag holds the lock, so the check stays true.
	run, err := r.c.store.GetRun(ctx, r.id)
	if err != nil {
		return err
	}
	old, _ := run.Tag(TagLoggedArtifacts)
	if _, _, err := addLoggedArtifact(old, artifactFile, "table"); err != nil {
		return err
	}
	if err := a.write(ctx, "log table", artifactFile, bytesSource(out)); err != nil {
		return err
	}
	return r.c.updateRunTag(ctx, r.id, TagLoggedArtifacts, func(old string, _ bool) (string, error) {
		v, _, err := addLoggedArtifact(old, artifactFile, "table")
		return v, err
	})
}

type loggedArtifact struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

// addLoggedArtifact returns the mlflow.loggedArtifacts tag value old with
// the entry {path: file, type: typ} appended, in Python's json.dumps
// format (as MlflowClient.log_table writes it), and whether it was added
// (false: already listed). A value over MLflow's tag length limit, or an
// old value that is not a JSON list, is an error.
func addLoggedArtifact(old, file, typ string) (string, bool, error) {
	var list []loggedArtifact
	if old != "" {
		if err := json.Unmarshal([]byte(old), &list); err != nil {
			return "", false, store.Invalidf("tag %s holds invalid JSON: %v", TagLoggedArtifacts, err)
		}
	}
	entry := loggedArtifact{Path: file, Type: typ}
	if slices.Contains(list, entry) {
		return old, false, nil
	}
	list = append(list, entry)
	// Python's json.dumps separators: ", " and ": ".
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"path": %s, "type": %s}`, pystr.JSONQuote(e.Path), pystr.JSONQuote(e.Type))
	}
	b.WriteByte(']')
	if err := store.ValidateTag(store.Tag{Key: TagLoggedArtifacts, Value: b.String()}); err != nil {
		return "", false, fmt.Errorf("the %s tag cannot list %s: %w", TagLoggedArtifacts, file, err)
	}
	return b.String(), true, nil
}

// updateRunTag changes a run tag by read-modify-write: atomically when the
// store implements store.RunTagUpdater (both of mlrun's stores do), else
// under a lock of this client only, with the tag length limit of LogBatch.
func (c *Client) updateRunTag(ctx context.Context, runID, key string, fn func(old string, ok bool) (string, error)) error {
	if u, ok := c.store.(store.RunTagUpdater); ok {
		return u.UpdateRunTag(ctx, runID, key, fn)
	}
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	run, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	old, ok := run.Tag(key)
	v, err := fn(old, ok)
	if err != nil || (ok && v == old) {
		return err
	}
	return c.store.LogBatch(ctx, runID, nil, nil, []store.Tag{{Key: key, Value: v}})
}

// InputOption configures [Run.LogInput].
type InputOption func(*inputConfig) error

type inputConfig struct {
	tags map[string]string
}

func (c *inputConfig) setTag(key, value string) {
	if c.tags == nil {
		c.tags = map[string]string{}
	}
	c.tags[key] = value
}

// WithInputContext sets the mlflow.data.context input tag, e.g. "training".
func WithInputContext(context string) InputOption {
	return func(c *inputConfig) error {
		c.setTag(store.DatasetContextTag, context)
		return nil
	}
}

// WithInputTags sets input tags. LogInput checks them with the dataset
// (store.ValidateDatasetInput).
func WithInputTags(tags map[string]string) InputOption {
	return func(c *inputConfig) error {
		for k, v := range tags {
			c.setTag(k, v)
		}
		return nil
	}
}

// LogInput records a dataset used by the run.
func (r *Run) LogInput(ctx context.Context, ds store.Dataset, opts ...InputOption) (err error) {
	defer r.keep(&err)
	if err := r.checkActive(ctx); err != nil {
		return err
	}
	var cfg inputConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return err
		}
	}
	in := store.DatasetInput{Dataset: ds}
	if len(cfg.tags) > 0 {
		in.Tags = sortedTags(cfg.tags)
	}
	if err := store.ValidateDatasetInput(in); err != nil {
		return err
	}
	return r.c.store.LogInputs(ctx, r.id, []store.DatasetInput{in})
}

// ArtifactInfo describes one entry of a run's artifacts.
type ArtifactInfo struct {
	Path  string // relative to the artifact root, with '/' separators
	IsDir bool
	Size  int64 // file size in bytes; 0 for directories
}

// ListArtifacts lists the artifacts directly under dir ("" for the root)
// of a run, sorted by path, as MlflowClient.list_artifacts does. A dir that
// leads outside the artifact root through a symlink is ErrInvalidParameter;
// entries that resolve outside it are not listed.
func (c *Client) ListArtifacts(ctx context.Context, runID, dir string) ([]ArtifactInfo, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	a, err := c.runArtifacts(ctx, runID, dir)
	if a == nil || err != nil {
		return nil, err
	}
	defer a.Close()
	out, err := a.list(ctx, "list artifacts", dir)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runID, err)
	}
	return out, nil
}

// runArtifacts validates dir and opens a run's artifact root; a local root
// that does not exist yet gives nil and no error.
func (c *Client) runArtifacts(ctx context.Context, runID, rel string) (artifactIO, error) {
	if err := store.ValidateArtifactPath(rel); err != nil {
		return nil, err
	}
	if err := checkNameLengths(rel); err != nil {
		return nil, err
	}
	run, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	a, err := c.openArtifacts(run.Info.ArtifactURI, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return a, err
}

// ArtifactPath returns the local path of a run's artifact (or of its
// artifact root, for ""): the "download" of a local store. The artifact
// need not exist, but a path that resolves outside the artifact root
// through a symlink is ErrInvalidParameter.
func (c *Client) ArtifactPath(ctx context.Context, runID, artifact string) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	a, err := c.runArtifacts(ctx, runID, artifact)
	if err != nil {
		return "", err
	}
	if a != nil {
		defer a.Close()
		l := a.local()
		if l == nil {
			return "", store.Invalidf("the artifacts of run %s are on the tracking server, not in a local directory; use DownloadArtifacts", runID)
		}
		// Check every existing prefix: a missing file under a symlink
		// that leaves the root is refused too.
		for p := artifact; p != "" && p != "."; p = path.Dir(p) {
			if _, err := l.stat("artifact path", p); err == nil {
				break
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		return l.path(artifact), nil
	}
	run, err := c.store.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	root, err := artifactDir(run.Info.ArtifactURI)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(artifact)), nil
}
