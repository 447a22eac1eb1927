package archive

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mlrun-go/mlrun/internal/fileuri"
	"github.com/mlrun-go/mlrun/store"
)

// ImportOptions tune Import and Convert.
type ImportOptions struct {
	// Progress, if set, is told how the import goes.
	Progress func(Progress)
	// NoSync skips the fsync of each artifact file written.
	NoSync bool
}

// Tally counts entities an import created and found already there.
type Tally struct {
	Created   int `json:"created"`
	Unchanged int `json:"unchanged"`
}

func (t *Tally) add(created bool) {
	if created {
		t.Created++
	} else {
		t.Unchanged++
	}
}

// Stats is what an import did.
type Stats struct {
	Experiments      Tally `json:"experiments"`
	Runs             Tally `json:"runs"`
	LoggedModels     Tally `json:"logged_models"`
	RegisteredModels Tally `json:"registered_models"`
	ModelVersions    Tally `json:"model_versions"`
	Artifacts        Tally `json:"artifacts"`
	// MetricPoints and ArtifactBytes count what was written.
	MetricPoints  int64 `json:"metric_points"`
	ArtifactBytes int64 `json:"artifact_bytes"`
	// Notes lists what was kept as the destination had it (experiment
	// tags that differ), skipped (logged models a destination without
	// them cannot hold) or not exported.
	Notes []string `json:"notes"`
}

// Changed reports whether the import wrote anything.
func (s *Stats) Changed() bool {
	return s.Experiments.Created+s.Runs.Created+s.LoggedModels.Created+s.RegisteredModels.Created+
		s.ModelVersions.Created+s.Artifacts.Created > 0
}

func (s *Stats) merge(o Stats) {
	for _, p := range [][2]*Tally{{&s.Experiments, &o.Experiments}, {&s.Runs, &o.Runs}, {&s.LoggedModels, &o.LoggedModels},
		{&s.RegisteredModels, &o.RegisteredModels}, {&s.ModelVersions, &o.ModelVersions}, {&s.Artifacts, &o.Artifacts}} {
		p[0].Created += p[1].Created
		p[0].Unchanged += p[1].Unchanged
	}
	s.MetricPoints += o.MetricPoints
	s.ArtifactBytes += o.ArtifactBytes
	s.Notes = append(s.Notes, o.Notes...)
}

// Import imports the archive at path into dst (a store.Importer), keeping
// run ids, names, times, metric timestamps and steps, logged model ids and
// registry version numbers, stages and aliases. Experiments are matched by
// name (see store.Importer.ImportExperiment); artifacts go to the
// destination's default layout.
//
// The archive is read twice. The first pass checks it whole (checksums,
// format version, structure, counts) and checks every entity against dst
// (conflicts: same id, other content), writing nothing: any problem found
// there leaves dst unchanged. The second pass writes. Importing the same
// archive again changes nothing (Stats counts the entities unchanged).
func Import(ctx context.Context, dst store.Store, path string, opts ImportOptions) (Stats, error) {
	var done int64
	var phase string
	var total int64
	read := func(n int64) {
		done += n
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: phase, Unit: "bytes", Done: done, Total: total})
		}
	}
	src, size, err := fileSource(path, read)
	if err != nil {
		return Stats{}, err
	}
	total = size
	return importSource(ctx, dst, src, opts, func(p string) { phase, done = p, 0 })
}

// importSource checks the whole stream against dst (a dry run), then
// writes it.
func importSource(ctx context.Context, dst store.Store, src source, opts ImportOptions, phase func(string)) (Stats, error) {
	imp, ok := dst.(store.Importer)
	if !ok {
		return Stats{}, fmt.Errorf("import: the destination store (%T) cannot import", dst)
	}
	if phase != nil {
		phase("check")
	}
	if _, err := importPass(ctx, dst, imp, src, opts, true); err != nil {
		return Stats{}, err
	}
	if phase != nil {
		phase("import")
	}
	return importPass(ctx, dst, imp, src, opts, false)
}

// importer is the state of one pass over a stream.
type importer struct {
	ctx    context.Context
	dst    store.Store
	imp    store.Importer
	lms    bool // dst has logged models
	reg    bool // dst has a registry
	dry    bool
	opts   ImportOptions
	exps   map[string]expPlace // source experiment id -> here
	stats  Stats
	nruns  int64
	noteLM bool

	stream
}

type expPlace struct {
	id       string // "" in a dry run for an experiment still to be created
	location string
}

// importPass reads the stream once into imp (dst, or a verifier with no
// destination when dst is nil).
func importPass(ctx context.Context, dst store.Store, imp store.Importer, src source, opts ImportOptions, dry bool) (Stats, error) {
	lms, reg := true, true
	if dst != nil {
		_, lms = store.AsLoggedModels(dst)
		_, reg = dst.(store.Registry)
	}
	im := &importer{ctx: ctx, dst: dst, imp: imp, lms: lms, reg: reg, dry: dry, opts: opts, exps: map[string]expPlace{}}
	next, stop := iter.Pull2(src(ctx))
	defer stop()
	im.start(next)
	for {
		it, err, ok := im.take()
		if !ok {
			return im.stats, nil
		}
		if err != nil {
			return im.stats, err
		}
		if it.file != nil {
			return im.stats, badf("artifact file %s of %s %s does not follow its %s", it.file.path, ownerKind(it.file.model), it.file.owner, ownerKind(it.file.model))
		}
		switch r := it.rec; r.Kind {
		case kindExperiment:
			err = im.experiment(r.Experiment)
		case kindRun:
			err = im.run(r.Run)
		case kindLoggedModel:
			err = im.loggedModel(r.LoggedModel)
		case kindRegisteredModel:
			err = im.registeredModel(r.RegisteredModel)
		case kindModelVersion:
			err = im.modelVersion(r.ModelVersion)
		default:
			err = badf("a %s record outside of its run", r.Kind)
		}
		if err != nil {
			return im.stats, err
		}
	}
}

func (im *importer) opt() store.ImportOptions { return store.ImportOptions{DryRun: im.dry} }

func (im *importer) experiment(e *experimentRec) error {
	if _, ok := im.exps[e.ExperimentID]; ok {
		return badf("experiment %s appears twice", e.ExperimentID)
	}
	res, err := im.imp.ImportExperiment(im.ctx, store.ImportExperiment{ID: e.ExperimentID, Name: e.Name, LifecycleStage: e.LifecycleStage,
		CreationTime: e.CreationTime, LastUpdateTime: e.LastUpdateTime, Tags: e.Tags}, im.opt())
	if err != nil {
		return fmt.Errorf("import: experiment %s (%q): %w", e.ExperimentID, e.Name, err)
	}
	place := expPlace{id: res.ID, location: res.ArtifactLocation}
	if im.dry && res.Created {
		place.id = "" // not yet here: no run can already be in it
	}
	im.exps[e.ExperimentID] = place
	im.stats.Experiments.add(res.Created)
	if !im.dry {
		im.stats.Notes = append(im.stats.Notes, res.Notes...)
	}
	return nil
}

// experimentOf returns where a source experiment is in the destination.
func (im *importer) experimentOf(what, srcID string) (expPlace, error) {
	p, ok := im.exps[srcID]
	if !ok {
		return p, badf("%s belongs to experiment %s, which comes before it nowhere in the stream", what, srcID)
	}
	return p, nil
}

func tagsOf(kvs []kvRec) []store.Tag {
	out := make([]store.Tag, len(kvs))
	for i, x := range kvs {
		out[i] = store.Tag{Key: x.Key, Value: x.Value}
	}
	return out
}

func (im *importer) run(r *runRec) error {
	what := "run " + r.RunID
	exp, err := im.experimentOf(what, r.ExperimentID)
	if err != nil {
		return err
	}
	status, err := store.ParseRunStatus(r.Status)
	if err != nil {
		return badf("%s: %v", what, err)
	}
	ir := store.ImportRun{
		Info: store.RunInfo{RunID: r.RunID, ExperimentID: exp.id, RunName: r.RunName, UserID: r.UserID, Status: status,
			StartTime: r.StartTime, EndTime: r.EndTime, LifecycleStage: r.LifecycleStage, DeletedTime: r.DeletedTime},
		Tags: tagsOf(r.Tags),
	}
	for _, p := range r.Params {
		ir.Params = append(ir.Params, store.Param{Key: p.Key, Value: p.Value})
	}
	for _, d := range r.Inputs {
		ir.Inputs = append(ir.Inputs, store.DatasetInput{Dataset: store.Dataset{Name: d.Name, Digest: d.Digest, SourceType: d.SourceType,
			Source: d.Source, Schema: d.Schema, Profile: d.Profile}, Tags: tagsOf(d.Tags)})
	}
	for _, o := range r.Outputs {
		ir.Outputs = append(ir.Outputs, store.LoggedModelOutput{ModelID: o.ModelID, Step: o.Step})
	}
	if len(ir.Outputs) > 0 && !im.lms {
		ir.Outputs = nil
		im.skipLM()
	}
	var points int64
	var streamErr error
	metrics := func(yield func([]store.Metric, error) bool) {
		for {
			m, err := im.takeMetrics(r.RunID)
			if err != nil {
				streamErr = err
				yield(nil, err)
				return
			}
			if m == nil {
				return
			}
			pts := make([]store.Metric, len(m.Points))
			for i, p := range m.Points {
				pts[i] = store.Metric{Key: m.Key, Value: p.Value, Timestamp: p.Timestamp, Step: p.Step}
			}
			points += int64(len(pts))
			if !yield(pts, nil) {
				return
			}
		}
	}
	res, err := im.imp.ImportRun(im.ctx, ir, metrics, im.opt())
	if streamErr != nil {
		return streamErr
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	it, err, ok := im.take()
	switch {
	case err != nil:
		return err
	case !ok || it.rec == nil || it.rec.Kind != kindRunEnd:
		return badf("%s: its metrics do not end with a run_end record", what)
	case it.rec.RunEnd.RunID != r.RunID || it.rec.RunEnd.MetricPoints != points:
		return badf("%s: run_end says %d metric points of run %s, the stream has %d", what, it.rec.RunEnd.MetricPoints, it.rec.RunEnd.RunID, points)
	}
	im.stats.Runs.add(res.Created)
	if res.Created && !im.dry {
		im.stats.MetricPoints += points
	}
	im.nruns++
	if im.opts.Progress != nil {
		phase := "import"
		if im.dry {
			phase = "check"
		}
		im.opts.Progress(Progress{Phase: phase, Unit: "runs", Done: im.nruns})
	}
	return im.files(false, r.RunID, res)
}

// skipLM notes once that the destination has no logged models.
func (im *importer) skipLM() {
	if im.noteLM || im.dry {
		return
	}
	im.noteLM = true
	im.stats.Notes = append(im.stats.Notes, "the destination has no logged models (an MLflow 2 schema): logged models and run outputs were not imported")
}

// files imports the artifact files that follow a run or a logged model.
func (im *importer) files(model bool, owner string, res store.ImportResult) error {
	var root *os.Root
	defer func() {
		if root != nil {
			root.Close()
		}
	}()
	dir := ""
	for {
		f, err := im.takeFile()
		if err != nil || f == nil {
			return err
		}
		if f.model != model || f.owner != owner {
			return badf("artifact file %s of %s %s does not follow its %s", f.path, ownerKind(f.model), f.owner, ownerKind(f.model))
		}
		what := fmt.Sprintf("%s %s: artifact %s", ownerKind(model), owner, f.path)
		if res.ArtifactLocation == "" { // a dry run of a new entity: nothing there yet
			if err := drain(f.r); err != nil {
				return err
			}
			im.stats.Artifacts.add(true)
			if im.dst == nil { // Verify counts what it read
				im.stats.ArtifactBytes += f.size
			}
			continue
		}
		if dir == "" {
			d, ok := localDir(res.ArtifactLocation)
			if !ok {
				return fmt.Errorf("import: %s: the artifact location %s is not local", what, res.ArtifactLocation)
			}
			dir = d
		}
		if root == nil {
			if root, err = openArtifactRoot(dir, im.dry); err != nil {
				return fmt.Errorf("import: %s: %w", what, err)
			}
		}
		created, err := im.file(root, f, what)
		if err != nil {
			return err
		}
		im.stats.Artifacts.add(created)
		if created && !im.dry {
			im.stats.ArtifactBytes += f.size
		}
	}
}

// openArtifactRoot opens an artifact directory (created unless dry); a
// dry run of a missing directory gets a nil root.
func openArtifactRoot(dir string, dry bool) (*os.Root, error) {
	if !dry {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(dir)
	if dry && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return root, err
}

// file imports one artifact file into root: a file already there must
// have the same bytes (else it is a conflict); a missing one is written to
// a temporary file, checked, and renamed into place. Writes never leave
// root (os.Root refuses paths and links that escape it).
func (im *importer) file(root *os.Root, f *file, what string) (bool, error) {
	rel := filepath.FromSlash(f.path)
	if root != nil {
		info, err := root.Lstat(rel)
		switch {
		case err == nil:
			if !info.Mode().IsRegular() {
				return false, store.Conflictf("%s: the destination has a %s there, not a file", what, info.Mode().Type())
			}
			got, err := hashRootFile(root, rel)
			if err != nil {
				return false, err
			}
			if got != f.sha256 {
				return false, store.Conflictf("%s differs in the destination (SHA-256 %s there, %s imported)", what, got, f.sha256)
			}
			return false, drain(f.r)
		case !errors.Is(err, fs.ErrNotExist):
			return false, fmt.Errorf("import: %s: %w", what, err)
		}
	}
	if im.dry {
		return true, drain(f.r)
	}
	if d := path.Dir(f.path); d != "." {
		if err := root.MkdirAll(filepath.FromSlash(d), 0o777); err != nil {
			return false, fmt.Errorf("import: %s: %w", what, err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(rel), ".mlrun-import-"+hex.EncodeToString(rnd[:]))
	mode := fs.FileMode(0o666)
	if f.mode&0o111 != 0 {
		mode = 0o777
	}
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return false, fmt.Errorf("import: %s: %w", what, err)
	}
	_, err = io.Copy(out, f.r)
	if err == nil && !im.opts.NoSync {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
		if errors.Is(err, ErrBadArchive) {
			return false, err
		}
		return false, fmt.Errorf("import: %s: %w", what, err)
	}
	return true, nil
}

func hashRootFile(root *os.Root, rel string) (string, error) {
	f, err := root.Open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum, _, err := hashOf(f)
	return sum, err
}

// hashOf returns the SHA-256 (hex) and the length of what r holds.
func hashOf(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func (im *importer) loggedModel(m *loggedModelRec) error {
	what := "logged model " + m.ModelID
	exp, err := im.experimentOf(what, m.ExperimentID)
	if err != nil {
		return err
	}
	status, err := store.ParseLoggedModelStatus(m.Status)
	if err != nil {
		return badf("%s: %v", what, err)
	}
	if !im.lms {
		im.skipLM()
		for { // skip its files too
			it, err, ok := im.peek()
			if err != nil || !ok || it.file == nil || !it.file.model || it.file.owner != m.ModelID {
				return err
			}
			im.take()
			if err := drain(it.file.r); err != nil {
				return err
			}
		}
	}
	lm := &store.LoggedModel{ModelID: m.ModelID, ExperimentID: exp.id, Name: m.Name, ModelType: m.ModelType, SourceRunID: m.SourceRunID,
		Status: status, StatusMessage: m.StatusMessage, CreationTimestamp: m.CreationTimestamp, LastUpdatedTimestamp: m.LastUpdatedTimestamp,
		Tags: nonNil(m.Tags), Params: nonNil(m.Params)}
	for _, x := range m.Metrics {
		lm.Metrics = append(lm.Metrics, store.LoggedModelMetric{Key: x.Key, Value: float64(x.Value), Timestamp: x.Timestamp, Step: x.Step,
			RunID: x.RunID, DatasetName: x.DatasetName, DatasetDigest: x.DatasetDigest})
	}
	res, err := im.imp.ImportLoggedModel(im.ctx, lm, im.opt())
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	im.stats.LoggedModels.add(res.Created)
	return im.files(true, m.ModelID, res)
}

func (im *importer) registeredModel(m *registeredModelRec) error {
	if !im.reg {
		return fmt.Errorf("import: the destination has no model registry")
	}
	res, err := im.imp.ImportRegisteredModel(im.ctx, &store.RegisteredModel{Name: m.Name, CreationTimestamp: m.CreationTimestamp,
		LastUpdatedTimestamp: m.LastUpdatedTimestamp, Description: m.Description, Tags: nonNil(m.Tags)}, im.opt())
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	im.stats.RegisteredModels.add(res.Created)
	return nil
}

func (im *importer) modelVersion(v *modelVersionRec) error {
	mv := &store.ModelVersion{Name: v.Name, Version: v.Version, CreationTimestamp: v.CreationTimestamp, LastUpdatedTimestamp: v.LastUpdatedTimestamp,
		Description: v.Description, UserID: v.UserID, CurrentStage: v.CurrentStage, Source: v.Source, RunID: v.RunID, RunLink: v.RunLink,
		Status: cmp.Or(v.Status, store.ModelVersionReady), StatusMessage: v.StatusMessage, StorageLocation: v.StorageLocation,
		ModelID: v.ModelID, Tags: nonNil(v.Tags), Aliases: v.Aliases}
	if !im.lms {
		mv.ModelID = ""
	}
	var err error
	if mv.Source, err = im.resolve(v.Source, v.SourceArtifact); err != nil {
		return err
	}
	if mv.StorageLocation, err = im.resolve(v.StorageLocation, v.StorageArtifact); err != nil {
		return err
	}
	res, err := im.imp.ImportModelVersion(im.ctx, mv, im.opt())
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	im.stats.ModelVersions.add(res.Created)
	return nil
}

// resolve rewrites a location that pointed into the source store's
// artifacts to the same place in the destination. In a dry run an entity
// still to be imported keeps the source's location (it is only checked).
func (im *importer) resolve(location string, ref *artifactRef) (string, error) {
	if ref == nil || im.dst == nil {
		return location, nil
	}
	var root string
	switch {
	case ref.RunID != "":
		r, err := im.dst.GetRun(im.ctx, ref.RunID)
		if err != nil {
			if im.dry && errors.Is(err, store.ErrNotFound) {
				return location, nil
			}
			return "", fmt.Errorf("import: the artifacts of run %s: %w", ref.RunID, err)
		}
		root = r.Info.ArtifactURI
	case ref.ModelID != "":
		lms, ok := store.AsLoggedModels(im.dst)
		if !ok {
			return location, nil
		}
		m, err := lms.GetLoggedModel(im.ctx, ref.ModelID)
		if err != nil {
			if im.dry && errors.Is(err, store.ErrNotFound) {
				return location, nil
			}
			return "", fmt.Errorf("import: the artifacts of logged model %s: %w", ref.ModelID, err)
		}
		root = m.ArtifactLocation
	default:
		return location, nil
	}
	if err := store.ValidateArtifactPath(ref.Path); err != nil {
		return "", badf("%v", err)
	}
	if ref.Path == "" {
		return root, nil
	}
	if fileuri.IsFileURI(root) {
		p, err := fileuri.ToPath(root)
		if err != nil {
			return "", err
		}
		return fileuri.FromPath(filepath.Join(p, filepath.FromSlash(ref.Path)))
	}
	return strings.TrimRight(root, "/") + "/" + ref.Path, nil
}
