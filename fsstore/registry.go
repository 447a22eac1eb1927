package fsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mlrun-go/mlrun/internal/registryguard"
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
		return nil, registryguard.ModelExists(name)
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
	var rm *store.RegisteredModel
	err := s.viewModel(ctx, name, registryguard.Name(name), func(st *modelState) error {
		rm = st.rm()
		return nil
	})
	return rm, err
}

// UpdateRegisteredModel implements store.Registry.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*store.RegisteredModel, error) {
	var rm *store.RegisteredModel
	err := s.updateModel(ctx, name, registryguard.Update(name, description), func(st *modelState) error {
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
	err := s.updateModel(ctx, name, registryguard.Rename(name, newName), func(st *modelState) (err error) {
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
		return nil, registryguard.ModelExists(newName)
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

// DeleteRegisteredModel implements store.Registry.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return s.updateModel(ctx, name, registryguard.Name(name), func(st *modelState) error {
		return s.removeModelDir(st.dir)
	})
}

// SearchRegisteredModels implements store.Registry.
func (s *Store) SearchRegisteredModels(ctx context.Context, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := registryguard.SearchRegisteredModels(q); err != nil {
		return nil, err // validate before reading
	}
	sts, err := s.searchModels(ctx, q.Filter, search.ParseRegisteredModelFilter)
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
	return s.updateModel(ctx, name, registryguard.SetTag(name, tag), func(st *modelState) error {
		if err := s.writeKVFile(ctx, st.dir, tagsDir, tag.Key, tag.Value); err != nil {
			return err
		}
		return s.touch(ctx, st, s.now())
	})
}

// DeleteRegisteredModelTag implements store.Registry.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return s.updateModel(ctx, name, registryguard.DeleteTag(name, key), func(st *modelState) error {
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
	err := s.updateModel(ctx, req.Name, store.ValidateCreateModelVersion(req), func(st *modelState) (err error) {
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
	var mv *store.ModelVersion
	err := s.viewModel(ctx, name, registryguard.Name(name), func(st *modelState) error {
		vs, err := st.liveVersion(name, version)
		if err != nil {
			return err
		}
		mv = st.mv(vs)
		return nil
	})
	return mv, err
}

// GetModelVersionDownloadURI implements store.Registry.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	return registryguard.DownloadURI(ctx, s.GetModelVersion, name, version)
}

// UpdateModelVersion implements store.Registry.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*store.ModelVersion, error) {
	var mv *store.ModelVersion
	err := s.updateVersion(ctx, name, version, registryguard.Update(name, description), func(st *modelState, vs *versionState) error {
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
	return s.updateVersion(ctx, name, version, registryguard.Name(name), func(st *modelState, vs *versionState) error {
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
	canon, check := registryguard.Transition(name, stage, archiveExisting)
	var mv *store.ModelVersion
	err := s.updateVersion(ctx, name, version, check, func(st *modelState, vs *versionState) error {
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
	var out []*store.ModelVersion
	err := s.viewModel(ctx, name, registryguard.LatestVersions(name, stages), func(st *modelState) (err error) {
		out, err = store.LatestPerStage(st.liveVersions(), stages)
		return err
	})
	return out, err
}

// SearchModelVersions implements store.Registry.
func (s *Store) SearchModelVersions(ctx context.Context, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	leave, err := s.registryOp(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	if err := registryguard.SearchModelVersions(q); err != nil {
		return nil, err
	}
	sts, err := s.searchModels(ctx, q.Filter, search.ParseModelVersionFilter)
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
	return s.updateVersion(ctx, name, version, registryguard.SetTag(name, tag), func(st *modelState, vs *versionState) error {
		if err := s.writeKVFile(ctx, vs.dir, tagsDir, tag.Key, tag.Value); err != nil {
			return err
		}
		return s.touch(ctx, st, s.now())
	})
}

// DeleteModelVersionTag implements store.Registry.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	return s.updateVersion(ctx, name, version, registryguard.DeleteTag(name, key), func(st *modelState, vs *versionState) error {
		if _, ok := vs.tags[key]; !ok {
			return nil
		}
		return s.removeKVFile(ctx, st, filepath.Join(vs.dir, tagsDir, filepath.FromSlash(key)))
	})
}

// ---- aliases ----

// SetRegisteredModelAlias implements store.Registry.
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	return s.updateVersion(ctx, name, version, registryguard.SetAlias(name, alias), func(st *modelState, _ *versionState) error {
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
	return s.updateModel(ctx, name, registryguard.Alias(name, alias), func(st *modelState) error {
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
	var mv *store.ModelVersion
	err := s.viewModel(ctx, name, registryguard.Alias(name, alias), func(st *modelState) (err error) {
		mv, err = st.byAlias(name, alias)
		return err
	})
	return mv, err
}

// byAlias returns the live version alias points at; "latest" is the
// highest live version.
func (st *modelState) byAlias(name, alias string) (*store.ModelVersion, error) {
	if registryguard.IsLatest(alias) {
		live := st.liveVersions()
		if len(live) == 0 {
			return nil, store.NotFoundf("Registered model %s has no versions", name)
		}
		return live[len(live)-1], nil
	}
	raw, ok := st.aliases[alias]
	if !ok {
		return nil, registryguard.AliasNotFound(alias)
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
