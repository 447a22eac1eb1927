package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mlrun-go/mlrun/internal/atomicfile"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// This file is the model registry, in MLflow's file layout
// (mlflow/store/model_registry/file_store.py):
//
//	<root>/models/<name>/meta.yaml              registered model
//	<root>/models/<name>/tags/<key>             raw value, no newline
//	<root>/models/<name>/aliases/<alias>        the version number as text, no newline
//	<root>/models/<name>/version-<n>/meta.yaml  model version (int version, string status)
//	<root>/models/<name>/version-<n>/tags/<key>
//
// MLflow's registry reader fails on any directory in models/ without a
// meta.yaml and on any version-* directory without one, and takes every
// file under tags/ and aliases/ for an entry. So:
//
//   - New model and version directories are assembled in the staging
//     folder and renamed into place complete (publishDir); a deleted model
//     is renamed out before it is removed; a renamed model is published
//     complete under its new name before the old one is removed.
//   - meta.yaml rewrites are atomic, with the temporary file next to
//     meta.yaml (MLflow lists only directories there); tag and alias files
//     are replaced atomically with their temporary file in the model or
//     version directory, never in tags/ or aliases/.
//   - One lock FILE, models/.mlrun.lock (MLflow lists only directories in
//     models/), serializes every registry write across processes: version
//     numbers are unique, and two transitions that archive existing
//     versions leave exactly one version in the target stage.

const (
	registryLockFile = ".mlrun.lock" // a file in models/
	aliasesDir       = "aliases"
	versionPrefix    = "version-"
	workspaceDefault = "default"
)

var _ store.Registry = (*Store)(nil)

// registrySwept records the stores whose registry temp files were swept.
var registrySwept sync.Map // *Store -> struct{}

func (s *Store) registryDir() string { return filepath.Join(s.root, modelsDir) }

func (s *Store) modelDir(name string) string { return filepath.Join(s.registryDir(), name) }

func versionDirName(v int64) string { return versionPrefix + strconv.FormatInt(v, 10) }

// lockRegistry takes the registry lock, creating models/ if needed, and
// sweeps stale temporary files once per Store.
func (s *Store) lockRegistry(ctx context.Context) (func(), error) {
	if err := s.mkdirAll(s.registryDir()); err != nil {
		return nil, err
	}
	unlock, err := s.lockFile(ctx, filepath.Join(s.registryDir(), registryLockFile))
	if err != nil {
		return nil, err
	}
	if _, done := registrySwept.LoadOrStore(s, struct{}{}); !done {
		_, _ = atomicfile.Sweep(s.registryDir(), nil)
		if models, err := listModelDirs(s.registryDir()); err == nil {
			for _, m := range models {
				md := filepath.Join(s.registryDir(), m)
				_, _ = atomicfile.Sweep(md, nil)
				vs, _ := listVersionDirs(md)
				for _, v := range vs {
					_, _ = atomicfile.Sweep(filepath.Join(md, versionDirName(v)), nil)
				}
			}
		}
	}
	return unlock, nil
}

// registryOp starts a registry operation that reads: enter, then
// validate.
func (s *Store) registryOp(ctx context.Context) (func(), error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	return s.leave, nil
}

// registryWriteOp starts a registry operation that writes: enterWrite,
// then validate.
func (s *Store) registryWriteOp(ctx context.Context) (func(), error) {
	if err := s.enterWrite(ctx); err != nil {
		return nil, err
	}
	return s.leave, nil
}

// ---- encoding ----

type rmMeta struct {
	Name        string
	Created     int64
	Updated     int64
	Description *string
}

func encodeRMMeta(m *rmMeta, aliases map[string]int64) ([]byte, error) {
	am := map[string]any{}
	for a, v := range aliases {
		am[a] = strconv.FormatInt(v, 10)
	}
	return marshalYAML(map[string]any{
		"aliases":                am,
		"creation_timestamp":     m.Created,
		"deployment_job_id":      nil,
		"deployment_job_state":   nil,
		"description":            optStr(m.Description),
		"last_updated_timestamp": m.Updated,
		"name":                   m.Name,
		"workspace":              workspaceDefault,
	})
}

func optStr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func parseRMMeta(path string, data []byte) (*rmMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m rmMeta
	if m.Name, err = d.reqStr("name"); err != nil {
		return nil, err
	}
	if v, err := d.optInt("creation_timestamp"); err != nil {
		return nil, err
	} else if v != nil {
		m.Created = *v
	}
	if v, err := d.optInt("last_updated_timestamp"); err != nil {
		return nil, err
	} else if v != nil {
		m.Updated = *v
	}
	if s, ok, err := d.str("description"); err != nil {
		return nil, err
	} else if ok {
		m.Description = &s
	}
	return &m, nil
}

// mvMeta is a version's meta.yaml; nullable strings are pointers so that
// a rewrite keeps MLflow's nulls.
type mvMeta struct {
	Name, Stage, Status, Source         string
	Version, Created, Updated           int64
	Description, UserID, RunID, RunLink *string
	StatusMessage, Storage, ModelID     *string
}

func (m *mvMeta) encode() ([]byte, error) {
	return marshalYAML(map[string]any{
		"creation_timestamp":     m.Created,
		"current_stage":          m.Stage,
		"deployment_job_state":   nil,
		"description":            optStr(m.Description),
		"last_updated_timestamp": m.Updated,
		"model_id":               optStr(m.ModelID),
		"name":                   m.Name,
		"run_id":                 optStr(m.RunID),
		"run_link":               optStr(m.RunLink),
		"source":                 m.Source,
		"status":                 m.Status,
		"status_message":         optStr(m.StatusMessage),
		"storage_location":       optStr(m.Storage),
		"user_id":                optStr(m.UserID),
		"version":                m.Version,
		"workspace":              workspaceDefault,
	})
}

func parseMVMeta(path string, data []byte) (*mvMeta, error) {
	d, err := parseDoc(path, data)
	if err != nil {
		return nil, err
	}
	var m mvMeta
	if m.Name, err = d.reqStr("name"); err != nil {
		return nil, err
	}
	v, ok, err := d.int("version")
	if err != nil {
		return nil, err
	} else if !ok {
		return nil, d.corrupt("version", "missing")
	}
	m.Version = v
	if p, err := d.optInt("creation_timestamp"); err != nil {
		return nil, err
	} else if p != nil {
		m.Created = *p
	}
	if p, err := d.optInt("last_updated_timestamp"); err != nil {
		return nil, err
	} else if p != nil {
		m.Updated = *p
	}
	m.Stage, _, err = d.str("current_stage")
	if err != nil {
		return nil, err
	}
	m.Status = store.ModelVersionReady
	if s, ok, err := d.str("status"); err != nil {
		return nil, err
	} else if ok {
		m.Status = s
	}
	if m.Source, _, err = d.str("source"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst **string
	}{{"description", &m.Description}, {"user_id", &m.UserID}, {"run_id", &m.RunID}, {"run_link", &m.RunLink},
		{"status_message", &m.StatusMessage}, {"storage_location", &m.Storage}, {"model_id", &m.ModelID}} {
		s, ok, err := d.str(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			*f.dst = &s
		}
	}
	return &m, nil
}

func deref0(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ---- reading ----

// listModelDirs lists the registered-model directories (directories only,
// as MLflow's list_subdirs).
func listModelDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	var out []string
	for _, e := range entries {
		if isDirEntry(dir, e) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// listVersionDirs returns the numbers of the version-<n> directories,
// deleted ones included, sorted.
func listVersionDirs(modelDir string) ([]int64, error) {
	entries, err := os.ReadDir(modelDir)
	if err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	var out []int64
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), versionPrefix)
		if !ok || !isDirEntry(modelDir, e) {
			continue
		}
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// readKV reads every file under dir (recursively) as key -> raw content.
func readKV(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	return out, nil
}

// modelState is everything stored for one registered model.
type modelState struct {
	dir      string
	meta     *rmMeta
	tags     map[string]string
	aliases  map[string]string // alias -> raw file content
	versions []*versionState   // all, deleted included, by number
}

type versionState struct {
	dir  string
	meta *mvMeta
	tags map[string]string
}

func (v *versionState) deleted() bool { return v.meta.Stage == store.StageDeletedInternal }

// loadModel reads a registered model directory; a missing one is
// ErrNotFound naming name.
func (s *Store) loadModel(ctx context.Context, name string) (*modelState, error) {
	dir := s.modelDir(name)
	data, err := readFileRetry(ctx, filepath.Join(dir, metaFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, store.NotFoundf("Registered Model with name=%s not found", name)
		}
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	meta, err := parseRMMeta(filepath.Join(dir, metaFile), data)
	if err != nil {
		if errors.Is(err, errEmptyYAML) {
			return nil, store.Corruptf("empty %s", filepath.Join(dir, metaFile))
		}
		return nil, err
	}
	st := &modelState{dir: dir, meta: meta}
	if st.tags, err = readKV(filepath.Join(dir, tagsDir)); err != nil {
		return nil, err
	}
	if st.aliases, err = readKV(filepath.Join(dir, aliasesDir)); err != nil {
		return nil, err
	}
	nums, err := listVersionDirs(dir)
	if err != nil {
		return nil, err
	}
	for _, n := range nums {
		vd := filepath.Join(dir, versionDirName(n))
		data, err := readFileRetry(ctx, filepath.Join(vd, metaFile))
		if err != nil {
			return nil, store.Corruptf("model version directory %s: %v", vd, err)
		}
		m, err := parseMVMeta(filepath.Join(vd, metaFile), data)
		if err != nil {
			return nil, err
		}
		tags, err := readKV(filepath.Join(vd, tagsDir))
		if err != nil {
			return nil, err
		}
		st.versions = append(st.versions, &versionState{dir: vd, meta: m, tags: tags})
	}
	sort.Slice(st.versions, func(i, j int) bool { return st.versions[i].meta.Version < st.versions[j].meta.Version })
	return st, nil
}

func (st *modelState) version(v int64) *versionState {
	for _, vs := range st.versions {
		if vs.meta.Version == v {
			return vs
		}
	}
	return nil
}

// liveVersion returns a non-deleted version or ErrNotFound.
func (st *modelState) liveVersion(name string, v int64) (*versionState, error) {
	vs := st.version(v)
	if vs == nil || vs.deleted() {
		return nil, store.NotFoundf("Model Version (name=%s, version=%d) not found", name, v)
	}
	return vs, nil
}

// aliasMap returns alias -> version for aliases whose content is a number.
func (st *modelState) aliasMap() map[string]int64 {
	out := map[string]int64{}
	for a, raw := range st.aliases {
		if v, err := strconv.ParseInt(raw, 10, 64); err == nil {
			out[a] = v
		}
	}
	return out
}

func (st *modelState) mv(vs *versionState) *store.ModelVersion {
	m := vs.meta
	out := &store.ModelVersion{
		Name: m.Name, Version: m.Version, CreationTimestamp: m.Created, LastUpdatedTimestamp: m.Updated,
		Description: deref0(m.Description), UserID: deref0(m.UserID), CurrentStage: m.Stage,
		Source: m.Source, RunID: deref0(m.RunID), RunLink: deref0(m.RunLink), Status: m.Status,
		StatusMessage: deref0(m.StatusMessage), StorageLocation: deref0(m.Storage), ModelID: deref0(m.ModelID),
		Tags: map[string]string{},
	}
	for k, v := range vs.tags {
		out.Tags[k] = v
	}
	// MLflow compares the alias file's content to the version as a string.
	want := strconv.FormatInt(m.Version, 10)
	for a, raw := range st.aliases {
		if raw == want {
			out.Aliases = append(out.Aliases, a)
		}
	}
	sort.Strings(out.Aliases)
	return out
}

func (st *modelState) liveVersions() []*store.ModelVersion {
	var out []*store.ModelVersion
	for _, vs := range st.versions {
		if !vs.deleted() {
			out = append(out, st.mv(vs))
		}
	}
	return out
}

func (st *modelState) rm() *store.RegisteredModel {
	out := &store.RegisteredModel{
		Name: st.meta.Name, CreationTimestamp: st.meta.Created, LastUpdatedTimestamp: st.meta.Updated,
		Description: deref0(st.meta.Description), Tags: map[string]string{}, Aliases: st.aliasMap(),
	}
	for k, v := range st.tags {
		out.Tags[k] = v
	}
	out.LatestVersions, _ = store.LatestPerStage(st.liveVersions(), nil)
	return out
}

// ---- writing helpers (registry lock held) ----

func (s *Store) writeRMMeta(ctx context.Context, st *modelState) error {
	b, err := encodeRMMeta(st.meta, st.aliasMap())
	if err != nil {
		return err
	}
	return s.writeFile(ctx, filepath.Join(st.dir, metaFile), "", b, syncFull)
}

func (s *Store) writeMVMeta(ctx context.Context, vs *versionState) error {
	b, err := vs.meta.encode()
	if err != nil {
		return err
	}
	return s.writeFile(ctx, filepath.Join(vs.dir, metaFile), "", b, syncFull)
}

// touch bumps the model's last_updated_timestamp and rewrites its meta.
func (s *Store) touch(ctx context.Context, st *modelState, now int64) error {
	st.meta.Updated = now
	return s.writeRMMeta(ctx, st)
}

// writeTagFiles writes key files under sub (tags/ or aliases/) of dir,
// with their temporary files in dir itself.
func (s *Store) writeKVFile(ctx context.Context, dir, sub, key, value string) error {
	return s.writeFile(ctx, filepath.Join(dir, sub, filepath.FromSlash(key)), dir, []byte(value), lazy)
}

// removeFile removes a tag or alias file; a missing one is no error.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fsstore: %w", err)
	}
	return nil
}

// removeKVFile removes a tag file of model st (or of one of its versions)
// and touches the model.
func (s *Store) removeKVFile(ctx context.Context, st *modelState, path string) error {
	if err := removeFile(path); err != nil {
		return err
	}
	return s.touch(ctx, st, s.now())
}

// lockedModel takes the registry lock and loads a model.
func (s *Store) lockedModel(ctx context.Context, name string) (*modelState, func(), error) {
	unlock, err := s.lockRegistry(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return st, unlock, nil
}

// firstErr returns the first non-nil error of errs.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// updateModel is a registry operation that modifies model name: it enters
// the store, returns the first failed check (the caller's validations, in
// order), then runs fn on the model loaded under the registry lock.
func (s *Store) updateModel(ctx context.Context, name string, checks []error, fn func(st *modelState) error) error {
	leave, err := s.registryWriteOp(ctx)
	if err != nil {
		return err
	}
	defer leave()
	if err := firstErr(checks...); err != nil {
		return err
	}
	st, unlock, err := s.lockedModel(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(st)
}

// updateVersion is updateModel for a live version of model name, the name
// being validated after the checks.
func (s *Store) updateVersion(ctx context.Context, name string, version int64, checks []error, fn func(st *modelState, vs *versionState) error) error {
	checks = append(checks, store.ValidateRegisteredModelName(name))
	return s.updateModel(ctx, name, checks, func(st *modelState) error {
		vs, err := st.liveVersion(name, version)
		if err != nil {
			return err
		}
		return fn(st, vs)
	})
}

// ---- registered models ----

// CreateRegisteredModel implements store.Registry.
func (s *Store) CreateRegisteredModel(ctx context.Context, name string, tags []store.Tag, description string) (*store.RegisteredModel, error) {
	leave, err := s.registryWriteOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := store.ValidateCreateRegisteredModel(name, tags, description); err != nil {
		return nil, err
	}
	unlock, err := s.lockRegistry(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := s.now()
	meta := &rmMeta{Name: name, Created: now, Updated: now, Description: strPtr(description)}
	err = s.publishRegistryDir(ctx, s.modelDir(name), func(dir string) error {
		b, err := encodeRMMeta(meta, nil)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if err := s.writeKVFile(ctx, dir, tagsDir, t.Key, t.Value); err != nil {
				return err
			}
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", b, syncFile)
	})
	if errors.Is(err, fs.ErrExist) {
		return nil, store.AlreadyExistsf("Registered Model (name=%s) already exists.", name)
	}
	if err != nil {
		return nil, err
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.rm(), nil
}

// GetRegisteredModel implements store.Registry.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*store.RegisteredModel, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.rm(), nil
}

// UpdateRegisteredModel implements store.Registry.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*store.RegisteredModel, error) {
	var rm *store.RegisteredModel
	checks := []error{store.ValidateRegisteredModelName(name), store.ValidateDescription(description)}
	err := s.updateModel(ctx, name, checks, func(st *modelState) error {
		st.meta.Description = &description
		if err := s.touch(ctx, st, s.now()); err != nil {
			return err
		}
		rm = st.rm()
		return nil
	})
	return rm, err
}

// RenameRegisteredModel implements store.Registry. The model is published
// complete under the new name (versions renamed, tags and aliases kept),
// then the old directory is removed.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*store.RegisteredModel, error) {
	var rm *store.RegisteredModel
	checks := []error{store.ValidateRegisteredModelName(name), store.ValidateRegisteredModelName(newName)}
	err := s.updateModel(ctx, name, checks, func(st *modelState) (err error) {
		rm, err = s.renameModel(ctx, st, name, newName)
		return err
	})
	return rm, err
}

// renameModel does RenameRegisteredModel on st, model name loaded under
// the registry lock.
func (s *Store) renameModel(ctx context.Context, st *modelState, name, newName string) (*store.RegisteredModel, error) {
	if name == newName {
		return st.rm(), nil
	}
	now := s.now()
	st.meta.Name, st.meta.Updated = newName, now
	err := s.publishRegistryDir(ctx, s.modelDir(newName), func(dir string) error {
		for k, v := range st.tags {
			if err := s.writeKVFile(ctx, dir, tagsDir, k, v); err != nil {
				return err
			}
		}
		for k, v := range st.aliases {
			if err := s.writeKVFile(ctx, dir, aliasesDir, k, v); err != nil {
				return err
			}
		}
		for _, vs := range st.versions {
			vd := filepath.Join(dir, versionDirName(vs.meta.Version))
			if err := os.Mkdir(vd, 0o777); err != nil {
				return fmt.Errorf("fsstore: %w", err)
			}
			for k, v := range vs.tags {
				if err := s.writeKVFile(ctx, vd, tagsDir, k, v); err != nil {
					return err
				}
			}
			vs.meta.Name, vs.meta.Updated = newName, now
			b, err := vs.meta.encode()
			if err != nil {
				return err
			}
			if err := s.writeFile(ctx, filepath.Join(vd, metaFile), "", b, syncFile); err != nil {
				return err
			}
		}
		b, err := encodeRMMeta(st.meta, st.aliasMap())
		if err != nil {
			return err
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", b, syncFile)
	})
	if errors.Is(err, fs.ErrExist) {
		return nil, store.AlreadyExistsf("Registered Model (name=%s) already exists.", newName)
	}
	if err != nil {
		return nil, err
	}
	if err := s.removeModelDir(st.dir); err != nil {
		return nil, err
	}
	nst, err := s.loadModel(ctx, newName)
	if err != nil {
		return nil, err
	}
	return nst.rm(), nil
}

// publishRegistryDir assembles a directory with build in the staging
// folder and renames it to target, so that MLflow's registry reader sees
// it complete or not at all (it fails on a model or version directory
// without meta.yaml). An existing target gives an error matching
// fs.ErrExist. The registry lock is held by the caller.
func (s *Store) publishRegistryDir(ctx context.Context, target string, build func(dir string) error) error {
	staging := filepath.Join(s.root, stagingDir)
	if err := s.mkdirAll(staging); err != nil {
		return err
	}
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("fsstore: publish %s: %w", target, fs.ErrExist)
	}
	tmp := filepath.Join(staging, atomicfile.TempName(filepath.Base(target)))
	if err := os.Mkdir(tmp, 0o777); err != nil {
		return fmt.Errorf("fsstore: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after a successful rename
	if err := build(tmp); err != nil {
		return err
	}
	if err := s.syncDir(tmp); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := os.Rename(tmp, target)
	if isCrossDevice(err) {
		if err = os.Mkdir(target, 0o777); err == nil {
			err = build(target)
		}
	}
	switch {
	case err == nil:
		return s.syncDir(filepath.Dir(target))
	case errors.Is(err, fs.ErrExist) || isNotEmpty(err):
		return fmt.Errorf("fsstore: publish %s: %w", target, fs.ErrExist)
	default:
		return fmt.Errorf("fsstore: publish %s: %w", target, err)
	}
}

// removeModelDir moves a model directory out of models/ (atomically, into
// the staging folder) and deletes it.
func (s *Store) removeModelDir(dir string) error {
	tmp := filepath.Join(s.root, stagingDir, atomicfile.TempName(filepath.Base(dir)))
	if err := s.mkdirAll(filepath.Dir(tmp)); err != nil {
		return err
	}
	if err := os.Rename(dir, tmp); err != nil {
		if isCrossDevice(err) {
			return os.RemoveAll(dir)
		}
		return fmt.Errorf("fsstore: remove %s: %w", dir, err)
	}
	if err := s.syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}

// DeleteRegisteredModel implements store.Registry.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return s.updateModel(ctx, name, []error{store.ValidateRegisteredModelName(name)}, func(st *modelState) error {
		return s.removeModelDir(st.dir)
	})
}

// allModels loads every registered model.
func (s *Store) allModels(ctx context.Context) ([]*modelState, error) {
	names, err := listModelDirs(s.registryDir())
	if err != nil {
		return nil, err
	}
	var out []*modelState
	for _, n := range names {
		st, err := s.loadModel(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// SearchRegisteredModels implements store.Registry.
func (s *Store) SearchRegisteredModels(ctx context.Context, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if _, err := search.PaginateRegisteredModels(nil, q); err != nil {
		return nil, err // validate before reading
	}
	sts, err := s.allModels(ctx)
	if err != nil {
		return nil, err
	}
	rms := make([]*store.RegisteredModel, len(sts))
	for i, st := range sts {
		rms[i] = st.rm()
	}
	return search.PaginateRegisteredModels(rms, q)
}

// SetRegisteredModelTag implements store.Registry.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag store.Tag) error {
	checks := []error{store.ValidateRegisteredModelName(name), store.ValidateRegistryTag(tag)}
	return s.updateModel(ctx, name, checks, func(st *modelState) error {
		if err := s.writeKVFile(ctx, st.dir, tagsDir, tag.Key, tag.Value); err != nil {
			return err
		}
		return s.touch(ctx, st, s.now())
	})
}

// DeleteRegisteredModelTag implements store.Registry.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	checks := []error{store.ValidateRegisteredModelName(name), store.ValidateRegistryTag(store.Tag{Key: key})}
	return s.updateModel(ctx, name, checks, func(st *modelState) error {
		if _, ok := st.tags[key]; !ok {
			return nil
		}
		return s.removeKVFile(ctx, st, filepath.Join(st.dir, tagsDir, filepath.FromSlash(key)))
	})
}

// ---- model versions ----

// CreateModelVersion implements store.Registry.
func (s *Store) CreateModelVersion(ctx context.Context, req store.CreateModelVersionRequest) (*store.ModelVersion, error) {
	var mv *store.ModelVersion
	err := s.updateModel(ctx, req.Name, []error{store.ValidateCreateModelVersion(req)}, func(st *modelState) (err error) {
		mv, err = s.createVersion(ctx, st, req)
		return err
	})
	return mv, err
}

// createVersion does CreateModelVersion on st, loaded under the registry
// lock.
func (s *Store) createVersion(ctx context.Context, st *modelState, req store.CreateModelVersionRequest) (*store.ModelVersion, error) {
	var next int64 = 1
	if n := len(st.versions); n > 0 {
		next = st.versions[n-1].meta.Version + 1
	}
	now := s.now()
	storage := req.StorageLocation
	if storage == "" {
		storage = req.Source
	}
	meta := &mvMeta{
		Name: st.meta.Name, Version: next, Created: now, Updated: now, Stage: store.StageNone,
		Status: store.ModelVersionReady, Source: req.Source, Description: strPtr(req.Description),
		UserID: strPtr(req.UserID), RunID: strPtr(req.RunID), RunLink: strPtr(req.RunLink),
		Storage: strPtr(storage), ModelID: strPtr(req.ModelID),
	}
	vdir := filepath.Join(st.dir, versionDirName(next))
	err := s.publishRegistryDir(ctx, vdir, func(dir string) error {
		for _, t := range req.Tags {
			if err := s.writeKVFile(ctx, dir, tagsDir, t.Key, t.Value); err != nil {
				return err
			}
		}
		b, err := meta.encode()
		if err != nil {
			return err
		}
		return s.writeFile(ctx, filepath.Join(dir, metaFile), "", b, syncFile)
	})
	if err != nil {
		return nil, err
	}
	if err := s.touch(ctx, st, now); err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range req.Tags {
		tags[t.Key] = t.Value
	}
	vs := &versionState{dir: vdir, meta: meta, tags: tags}
	st.versions = append(st.versions, vs)
	return st.mv(vs), nil
}

// GetModelVersion implements store.Registry.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (*store.ModelVersion, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		return nil, err
	}
	vs, err := st.liveVersion(name, version)
	if err != nil {
		return nil, err
	}
	return st.mv(vs), nil
}

// GetModelVersionDownloadURI implements store.Registry.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	mv, err := s.GetModelVersion(ctx, name, version)
	if err != nil {
		return "", err
	}
	if mv.StorageLocation != "" {
		return mv.StorageLocation, nil
	}
	return mv.Source, nil
}

// UpdateModelVersion implements store.Registry.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*store.ModelVersion, error) {
	var mv *store.ModelVersion
	err := s.updateVersion(ctx, name, version, []error{store.ValidateDescription(description)}, func(st *modelState, vs *versionState) error {
		vs.meta.Description = &description
		vs.meta.Updated = s.now()
		if err := s.writeMVMeta(ctx, vs); err != nil {
			return err
		}
		mv = st.mv(vs)
		return nil
	})
	return mv, err
}

// DeleteModelVersion implements store.Registry.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	return s.updateVersion(ctx, name, version, nil, func(st *modelState, vs *versionState) error {
		now := s.now()
		vs.meta.Stage, vs.meta.Updated = store.StageDeletedInternal, now
		if err := s.writeMVMeta(ctx, vs); err != nil {
			return err
		}
		want := strconv.FormatInt(version, 10)
		for a, raw := range st.aliases {
			if raw == want {
				if err := removeFile(filepath.Join(st.dir, aliasesDir, a)); err != nil {
					return err
				}
				delete(st.aliases, a)
			}
		}
		return s.touch(ctx, st, now)
	})
}

// TransitionModelVersionStage implements store.Registry. With
// archiveExisting, the other versions in the target stage are archived
// first, under the same lock, so concurrent transitions (also from other
// processes) leave exactly one version in the stage.
func (s *Store) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (*store.ModelVersion, error) {
	canon, cerr := store.ValidateTransition(stage, archiveExisting)
	var mv *store.ModelVersion
	err := s.updateVersion(ctx, name, version, []error{cerr}, func(st *modelState, vs *versionState) error {
		now := s.now()
		if archiveExisting {
			for _, o := range st.versions {
				if o.meta.Version != version && o.meta.Stage == canon {
					o.meta.Stage, o.meta.Updated = store.StageArchived, now
					if err := s.writeMVMeta(ctx, o); err != nil {
						return err
					}
				}
			}
		}
		vs.meta.Stage, vs.meta.Updated = canon, now
		if err := s.writeMVMeta(ctx, vs); err != nil {
			return err
		}
		if err := s.touch(ctx, st, now); err != nil {
			return err
		}
		mv = st.mv(vs)
		return nil
	})
	return mv, err
}

// GetLatestVersions implements store.Registry.
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]*store.ModelVersion, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	for _, st := range stages {
		if _, err := store.CanonicalStage(st); err != nil {
			return nil, err
		}
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		return nil, err
	}
	return store.LatestPerStage(st.liveVersions(), stages)
}

// SearchModelVersions implements store.Registry.
func (s *Store) SearchModelVersions(ctx context.Context, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if _, err := search.PaginateModelVersions(nil, q); err != nil {
		return nil, err
	}
	sts, err := s.allModels(ctx)
	if err != nil {
		return nil, err
	}
	var all []*store.ModelVersion
	for _, st := range sts {
		all = append(all, st.liveVersions()...)
	}
	return search.PaginateModelVersions(all, q)
}

// SetModelVersionTag implements store.Registry.
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, tag store.Tag) error {
	return s.updateVersion(ctx, name, version, []error{store.ValidateRegistryTag(tag)}, func(st *modelState, vs *versionState) error {
		if err := s.writeKVFile(ctx, vs.dir, tagsDir, tag.Key, tag.Value); err != nil {
			return err
		}
		return s.touch(ctx, st, s.now())
	})
}

// DeleteModelVersionTag implements store.Registry.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	return s.updateVersion(ctx, name, version, []error{store.ValidateRegistryTag(store.Tag{Key: key})}, func(st *modelState, vs *versionState) error {
		if _, ok := vs.tags[key]; !ok {
			return nil
		}
		return s.removeKVFile(ctx, st, filepath.Join(vs.dir, tagsDir, filepath.FromSlash(key)))
	})
}

// ---- aliases ----

// SetRegisteredModelAlias implements store.Registry.
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	checks := []error{store.ValidateRegisteredModelName(name), store.ValidateAlias(alias), store.ValidateAliasNotReserved(alias)}
	return s.updateVersion(ctx, name, version, checks, func(st *modelState, _ *versionState) error {
		v := strconv.FormatInt(version, 10)
		if err := s.writeKVFile(ctx, st.dir, aliasesDir, alias, v); err != nil {
			return err
		}
		st.aliases[alias] = v
		return s.touch(ctx, st, s.now())
	})
}

// DeleteRegisteredModelAlias implements store.Registry.
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	checks := []error{store.ValidateRegisteredModelName(name), store.ValidateAlias(alias)}
	return s.updateModel(ctx, name, checks, func(st *modelState) error {
		if _, ok := st.aliases[alias]; !ok {
			return nil
		}
		if err := removeFile(filepath.Join(st.dir, aliasesDir, alias)); err != nil {
			return err
		}
		delete(st.aliases, alias)
		return s.touch(ctx, st, s.now())
	})
}

// GetModelVersionByAlias implements store.Registry.
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (*store.ModelVersion, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	st, err := s.loadModel(ctx, name)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(alias, "latest") {
		live := st.liveVersions()
		if len(live) == 0 {
			return nil, store.NotFoundf("Registered model %s has no versions", name)
		}
		return live[len(live)-1], nil
	}
	if err := store.ValidateAlias(alias); err != nil {
		return nil, err
	}
	raw, ok := st.aliases[alias]
	if !ok {
		return nil, store.NotFoundf("Registered model alias %s not found.", alias)
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, store.Corruptf("alias file %s: %q is not a version", filepath.Join(st.dir, aliasesDir, alias), raw)
	}
	vs, err := st.liveVersion(name, v)
	if err != nil {
		return nil, err
	}
	return st.mv(vs), nil
}
