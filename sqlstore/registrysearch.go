package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/mlrun-go/mlrun/internal/registryguard"
	"github.com/mlrun-go/mlrun/store"
	"github.com/mlrun-go/mlrun/store/search"
)

// The registry searches read the registry in one transaction and apply
// the query with package search (the filter, order and page token with
// the semantics of MLflow's SQL store on SQLite), so that fsstore and
// sqlstore answer alike. A filter with a clause name = '<n>' (the usual
// search_model_versions("name='n'")) can only match entities of model n,
// so then only that model's rows are read (registryguard.SearchScope);
// the filter is still applied in full. Other filters are not pushed into SQL: LIKE, ILIKE, tags that an
// entity lacks and the page tokens would each need MLflow's semantics
// rebuilt in SQL.

// loadSearch reads the part of the registry that filter can match: one
// model (see registryguard.SearchScope) or all of them. parse is the filter's grammar;
// the caller has already checked the query.
func (s *Store) loadSearch(ctx context.Context, tx *sql.Tx, filter string, parse func(string) (*search.Filter, error)) (*registrySnapshot, error) {
	f, err := parse(filter)
	if err != nil {
		return nil, err
	}
	name, one := registryguard.SearchScope(f)
	return s.loadRegistry(ctx, tx, name, one)
}

// SearchRegisteredModels implements store.Registry, with package
// search.PaginateRegisteredModels over the models read in one transaction.
func (s *Store) SearchRegisteredModels(ctx context.Context, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	var out *store.RegisteredModelPage
	err := s.regRead(ctx, "search registered models", []error{registryguard.SearchRegisteredModels(q)}, func(tx *sql.Tx) error {
		snap, err := s.loadSearch(ctx, tx, q.Filter, search.ParseRegisteredModelFilter)
		if err != nil {
			return err
		}
		out, err = search.PaginateRegisteredModels(snap.models, q)
		return err
	})
	return out, err
}

// SearchModelVersions implements store.Registry, with package
// search.PaginateModelVersions over the live versions read in one
// transaction. As in MLflow, the versions of a model any of whose versions
// is tagged mlflow.prompt.is_prompt = 'true' are left out unless the
// filter names that tag.
func (s *Store) SearchModelVersions(ctx context.Context, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	var out *store.ModelVersionPage
	err := s.regRead(ctx, "search model versions", []error{registryguard.SearchModelVersions(q)}, func(tx *sql.Tx) error {
		snap, err := s.loadSearch(ctx, tx, q.Filter, search.ParseModelVersionFilter)
		if err != nil {
			return err
		}
		versions := snap.versions
		if !strings.Contains(q.Filter, store.PromptTagKey) && len(snap.prompts) > 0 {
			versions = slices.DeleteFunc(slices.Clone(versions), func(mv *store.ModelVersion) bool { return snap.prompts[mv.Name] })
		}
		out, err = search.PaginateModelVersions(versions, q)
		return err
	})
	return out, err
}
