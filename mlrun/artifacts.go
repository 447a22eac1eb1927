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
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/store"
)

// artifactDir returns the local directory of a run's artifact root.
func artifactDir(uri string) (string, error) {
	if !fileuri.IsFileURI(uri) && !filepath.IsAbs(uri) {
		return "", store.Invalidf("artifact URI %q is not a local path; mlrun writes artifacts only to local file stores", uri)
	}
	return fileuri.ToPath(uri)
}

// localArtifactPath returns the local path of the artifact at rel (already
// validated) under the run's artifact root.
func (r *Run) localArtifactPath(rel string) (string, error) {
	root, err := artifactDir(r.artifactURI)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(rel)), nil
}

// writeArtifact writes data to the artifact file rel through a temp file
// and a rename, so a reader never sees half a file.
func (r *Run) writeArtifact(ctx context.Context, rel string, data io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.checkActive(); err != nil {
		return err
	}
	if err := store.ValidateArtifactPath(rel); err != nil {
		return err
	}
	if rel == "" {
		return store.Invalidf("artifact file name must not be empty")
	}
	dst, err := r.localArtifactPath(rel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("log artifact %s: %w", rel, err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".mlrun-tmp-*")
	if err != nil {
		return fmt.Errorf("log artifact %s: %w", rel, err)
	}
	tmp := f.Name()
	_, err = io.Copy(f, data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("log artifact %s: %w", rel, err)
	}
	return nil
}

func joinArtifact(dir, name string) (string, error) {
	if err := store.ValidateArtifactPath(dir); err != nil {
		return "", err
	}
	return path.Join(dir, name), nil
}

// LogArtifact copies a local file into the run's artifacts, under
// artifactDir ("" for the root), keeping its base name.
func (r *Run) LogArtifact(ctx context.Context, localPath, artifactDir string) error {
	rel, err := joinArtifact(artifactDir, filepath.Base(localPath))
	if err != nil {
		return err
	}
	f, err := os.Open(localPath)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		return store.Invalidf("log artifact: %s is not a regular file", localPath)
	}
	return r.writeArtifact(ctx, rel, f)
}

// LogArtifacts copies the contents of a local directory, recursively, into
// the run's artifacts under artifactDir ("" for the root).
func (r *Run) LogArtifacts(ctx context.Context, localDir, artifactDir string) error {
	if err := store.ValidateArtifactPath(artifactDir); err != nil {
		return err
	}
	return filepath.WalkDir(localDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(localDir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return r.writeArtifact(ctx, path.Join(artifactDir, filepath.ToSlash(rel)), f)
	})
}

// LogText writes text as the artifact file artifactFile (e.g. "notes/a.txt").
func (r *Run) LogText(ctx context.Context, text, artifactFile string) error {
	return r.writeArtifact(ctx, artifactFile, strings.NewReader(text))
}

// LogJSON writes v as an indented JSON document, as mlflow.log_dict does
// for a .json file.
func (r *Run) LogJSON(ctx context.Context, v any, artifactFile string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return store.Invalidf("log JSON %s: %v", artifactFile, err)
	}
	return r.writeArtifact(ctx, artifactFile, bytes.NewReader(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
}

// LogImage writes img as a PNG artifact file (e.g. "plots/loss.png").
func (r *Run) LogImage(ctx context.Context, img image.Image, artifactFile string) error {
	if !strings.EqualFold(path.Ext(artifactFile), ".png") {
		return store.Invalidf("log image %s: the file name must end in .png", artifactFile)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("log image %s: %w", artifactFile, err)
	}
	return r.writeArtifact(ctx, artifactFile, &buf)
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
// columns appends the rows, as MLflow does.
func (r *Run) LogTable(ctx context.Context, columns []string, rows [][]any, artifactFile string) error {
	if path.Ext(artifactFile) != ".json" {
		return store.Invalidf("log table %s: the file name must end in .json", artifactFile)
	}
	if err := store.ValidateArtifactPath(artifactFile); err != nil {
		return err
	}
	for i, row := range rows {
		if len(row) != len(columns) {
			return store.Invalidf("log table %s: row %d has %d values for %d columns", artifactFile, i, len(row), len(columns))
		}
	}
	t := tableJSON{Columns: columns, Data: rows}
	if dst, err := r.localArtifactPath(artifactFile); err == nil {
		if b, err := os.ReadFile(dst); err == nil {
			var old tableJSON
			if err := json.Unmarshal(b, &old); err != nil {
				return store.Invalidf("log table %s: the existing file is not a table: %v", artifactFile, err)
			}
			if !slices.Equal(old.Columns, columns) {
				return store.Invalidf("log table %s: columns %q differ from the existing table's %q", artifactFile, columns, old.Columns)
			}
			t.Data = append(old.Data, rows...)
		}
	}
	if t.Data == nil {
		t.Data = [][]any{}
	}
	b, err := json.Marshal(t)
	if err != nil {
		return store.Invalidf("log table %s: %v", artifactFile, err)
	}
	if err := r.writeArtifact(ctx, artifactFile, bytes.NewReader(b)); err != nil {
		return err
	}
	return r.addLoggedArtifact(ctx, artifactFile, "table")
}

type loggedArtifact struct {
	Path string `json:"path"`
	Type string `json:"type"`
}

// addLoggedArtifact records an artifact in the mlflow.loggedArtifacts tag.
func (r *Run) addLoggedArtifact(ctx context.Context, file, typ string) error {
	run, err := r.c.store.GetRun(ctx, r.id)
	if err != nil {
		return err
	}
	var list []loggedArtifact
	if v, ok := run.Tag(TagLoggedArtifacts); ok {
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return store.Invalidf("tag %s holds invalid JSON: %v", TagLoggedArtifacts, err)
		}
	}
	entry := loggedArtifact{Path: file, Type: typ}
	if slices.Contains(list, entry) {
		return nil
	}
	list = append(list, entry)
	// Python's json.dumps separators: ", " and ": ".
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		p, _ := json.Marshal(e.Path)
		t, _ := json.Marshal(e.Type)
		fmt.Fprintf(&b, `{"path": %s, "type": %s}`, p, t)
	}
	b.WriteByte(']')
	return r.SetTag(ctx, TagLoggedArtifacts, b.String())
}

// InputOption configures [Run.LogInput].
type InputOption func(*store.DatasetInput)

// WithInputContext sets the mlflow.data.context input tag, e.g. "training".
func WithInputContext(context string) InputOption {
	return func(in *store.DatasetInput) {
		in.Tags = append(in.Tags, store.Tag{Key: "mlflow.data.context", Value: context})
	}
}

// WithInputTag sets an input tag.
func WithInputTag(key, value string) InputOption {
	return func(in *store.DatasetInput) { in.Tags = append(in.Tags, store.Tag{Key: key, Value: value}) }
}

// LogInput records a dataset used by the run.
func (r *Run) LogInput(ctx context.Context, ds store.Dataset, opts ...InputOption) error {
	if err := r.checkActive(); err != nil {
		return err
	}
	in := store.DatasetInput{Dataset: ds}
	for _, o := range opts {
		o(&in)
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
// of a run, sorted by path, as MlflowClient.list_artifacts does.
func (c *Client) ListArtifacts(ctx context.Context, runID, dir string) ([]ArtifactInfo, error) {
	local, err := c.ArtifactPath(ctx, runID, dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(local)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list artifacts of run %s: %w", runID, err)
	}
	var out []ArtifactInfo
	for _, e := range entries {
		info := ArtifactInfo{Path: path.Join(dir, e.Name()), IsDir: e.IsDir()}
		if !e.IsDir() {
			fi, err := e.Info()
			if err != nil {
				continue
			}
			info.Size = fi.Size()
		}
		out = append(out, info)
	}
	return out, nil
}

// ArtifactPath returns the local path of a run's artifact (or of its
// artifact root, for ""): the "download" of a local store.
func (c *Client) ArtifactPath(ctx context.Context, runID, artifact string) (string, error) {
	if err := store.ValidateArtifactPath(artifact); err != nil {
		return "", err
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
