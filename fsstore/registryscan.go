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

	"github.com/mlrun-go/mlrun/internal/registryguard"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// Reading the registry: its paths, the directory listings and the
// model and version state loaded from them.

func (s *Store) registryDir() string { return filepath.Join(s.root, modelsDir) }

func (s *Store) modelDir(name string) string { return filepath.Join(s.registryDir(), name) }

func versionDirName(v int64) string { return versionPrefix + strconv.FormatInt(v, 10) }

// listModelDirs lists the registered-model directories (directories only,
// as MLflow's list_subdirs).
func listModelDirs(dir string) ([]string, error) {
	out, err := listDirs(dir, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// listVersionDirs returns the numbers of the version-<n> directories,
// deleted ones included, sorted.
func listVersionDirs(modelDir string) ([]int64, error) {
	version := func(name string) (int64, bool) {
		n, ok := strings.CutPrefix(name, versionPrefix)
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseInt(n, 10, 64)
		return v, err == nil
	}
	names, err := listDirs(modelDir, func(name string) bool { _, ok := version(name); return ok })
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(names))
	for _, name := range names {
		v, _ := version(name)
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
			return nil, registryguard.ModelNotFound(name)
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
		return nil, registryguard.VersionNotFound(name, v)
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

// searchModels loads the models that a search filter, parsed with parse,
// can match: only the model of registryguard.SearchScope when the filter
// names one (if it has a directory, as listModelDirs sees them), else
// every model. The caller applies the filter in full.
func (s *Store) searchModels(ctx context.Context, filter string, parse func(string) (*search.Filter, error)) ([]*modelState, error) {
	f, err := parse(filter)
	if err != nil {
		return nil, err
	}
	name, one := registryguard.SearchScope(f)
	if !one {
		return s.allModels(ctx)
	}
	if store.ValidateRegisteredModelName(name) != nil {
		return nil, nil // not a model's name, nor safe as a path
	}
	if info, err := os.Stat(s.modelDir(name)); err != nil || !info.IsDir() {
		return nil, nil
	}
	st, err := s.loadModel(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // removed meanwhile
	}
	if err != nil {
		return nil, err
	}
	return []*modelState{st}, nil
}
