// Package registryguard holds the part of a store.Registry backend that
// does not depend on where the registry is kept, so that fsstore and
// sqlstore (the backends that validate locally) share one copy of it and
// fail alike:
//
//   - the argument checks of each Registry method: one function per
//     method or group of methods with the same arguments, each returning
//     the first failed check in argument order (the model name first).
//     A backend evaluates the check after it has entered the store (a nil
//     context or a closed store comes first) and before it reads or
//     writes anything; checks that depend on its schema follow.
//     CreateRegisteredModel and CreateModelVersion are checked by
//     store.ValidateCreateRegisteredModel and store.ValidateCreateModelVersion
//     directly, which the REST client uses too;
//   - the not-found and already-exists errors that both backends return,
//     with MLflow's wording;
//   - the methods derived from others: [DownloadURI] is
//     GetModelVersionDownloadURI computed from GetModelVersion;
//   - what a search filter tells about the entities it can match
//     ([SearchScope]), so that a backend reads only those.
//
// What is specific to a backend (its locks, transactions, layout, and the
// messages that follow its MLflow counterpart) stays in the backend.
package registryguard

import (
	"context"
	"strings"

	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// Name checks the arguments of the methods that take only a model name
// (and a version number, which the lookup checks): GetRegisteredModel,
// DeleteRegisteredModel, GetModelVersion, DeleteModelVersion and
// GetModelVersionDownloadURI.
func Name(name string) error { return store.ValidateRegisteredModelName(name) }

// Update checks the arguments of UpdateRegisteredModel and
// UpdateModelVersion: the name, then the description.
func Update(name, description string) error {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	return store.ValidateDescription(description)
}

// Rename checks the arguments of RenameRegisteredModel: the old name,
// then the new one.
func Rename(name, newName string) error {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	return store.ValidateRegisteredModelName(newName)
}

// SetTag checks the arguments of SetRegisteredModelTag and
// SetModelVersionTag: the name, then the tag.
func SetTag(name string, tag store.Tag) error {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	return store.ValidateRegistryTag(tag)
}

// DeleteTag checks the arguments of DeleteRegisteredModelTag and
// DeleteModelVersionTag: the name, then the key.
func DeleteTag(name, key string) error { return SetTag(name, store.Tag{Key: key}) }

// Transition checks the arguments of TransitionModelVersionStage (the
// name, then the stage and archiveExisting) and returns MLflow's spelling
// of the stage.
func Transition(name, stage string, archiveExisting bool) (string, error) {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return "", err
	}
	return store.ValidateTransition(stage, archiveExisting)
}

// LatestVersions checks the arguments of GetLatestVersions: the name,
// then every stage.
func LatestVersions(name string, stages []string) error {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	for _, st := range stages {
		if _, err := store.CanonicalStage(st); err != nil {
			return err
		}
	}
	return nil
}

// SetAlias checks the arguments of SetRegisteredModelAlias: the name,
// then the alias, which must not be reserved.
func SetAlias(name, alias string) error {
	if err := Alias(name, alias); err != nil {
		return err
	}
	return store.ValidateAliasNotReserved(alias)
}

// Alias checks the arguments of DeleteRegisteredModelAlias and
// GetModelVersionByAlias: the name, then the alias.
func Alias(name, alias string) error {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	return store.ValidateAlias(alias)
}

// IsLatest reports whether alias is "latest" (any case), which
// GetModelVersionByAlias resolves to the highest live version.
func IsLatest(alias string) bool { return strings.EqualFold(alias, "latest") }

// SearchRegisteredModels checks a query of SearchRegisteredModels (its
// filter, order, page size and token) before the models are read.
func SearchRegisteredModels(q store.RegisteredModelQuery) error {
	_, err := search.PaginateRegisteredModels(nil, q)
	return err
}

// SearchModelVersions checks a query of SearchModelVersions before the
// versions are read.
func SearchModelVersions(q store.ModelVersionQuery) error {
	_, err := search.PaginateModelVersions(nil, q)
	return err
}

// SearchScope returns the model name n that every entity matching f
// has, if f has a clause name = 'n' (a filter's clauses are ANDed): a
// search with f needs to read model n only, and then applies f in full.
func SearchScope(f *search.Filter) (string, bool) {
	if f == nil {
		return "", false
	}
	for _, c := range f.Clauses {
		if c.Entity != search.Tag && c.Key == "name" && c.Op == search.Eq && c.Value.Kind == search.StringValue {
			return c.Value.Str, true
		}
	}
	return "", false
}

// ModelNotFound is the store.ErrNotFound error for a missing registered
// model.
func ModelNotFound(name string) error {
	return store.NotFoundf("Registered Model with name=%s not found", name)
}

// VersionNotFound is the store.ErrNotFound error for a missing (or
// deleted) model version.
func VersionNotFound(name string, version int64) error {
	return store.NotFoundf("Model Version (name=%s, version=%d) not found", name, version)
}

// AliasNotFound is the store.ErrNotFound error for an alias that a model
// does not have.
func AliasNotFound(alias string) error {
	return store.NotFoundf("Registered model alias %s not found.", alias)
}

// ModelExists is the store.ErrAlreadyExists error for a taken model name.
func ModelExists(name string) error {
	return store.AlreadyExistsf("Registered Model (name=%s) already exists.", name)
}

// DownloadURI is GetModelVersionDownloadURI computed with get, the
// backend's GetModelVersion: the version's storage location, or else its
// source.
func DownloadURI(ctx context.Context, get func(context.Context, string, int64) (*store.ModelVersion, error), name string, version int64) (string, error) {
	mv, err := get(ctx, name, version)
	if err != nil {
		return "", err
	}
	if mv.StorageLocation != "" {
		return mv.StorageLocation, nil
	}
	return mv.Source, nil
}
