package reststore

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// The model registry over MLflow's REST API (/api/2.0/mlflow/
// registered-models/..., model-versions/...; model_registry.proto).

type jsonAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type jsonRegisteredModel struct {
	Name                 string             `json:"name"`
	CreationTimestamp    i64                `json:"creation_timestamp"`
	LastUpdatedTimestamp i64                `json:"last_updated_timestamp"`
	Description          string             `json:"description"`
	LatestVersions       []jsonModelVersion `json:"latest_versions"`
	Tags                 []kv               `json:"tags"`
	Aliases              []jsonAlias        `json:"aliases"`
}

type jsonModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    i64      `json:"creation_timestamp"`
	LastUpdatedTimestamp i64      `json:"last_updated_timestamp"`
	UserID               string   `json:"user_id"`
	CurrentStage         string   `json:"current_stage"`
	Description          string   `json:"description"`
	Source               string   `json:"source"`
	RunID                string   `json:"run_id"`
	Status               string   `json:"status"`
	StatusMessage        string   `json:"status_message"`
	Tags                 []kv     `json:"tags"`
	RunLink              string   `json:"run_link"`
	Aliases              []string `json:"aliases"`
	ModelID              string   `json:"model_id"`
}

func (m *jsonRegisteredModel) entity() *store.RegisteredModel {
	rm := &store.RegisteredModel{
		Name:                 m.Name,
		CreationTimestamp:    int64(m.CreationTimestamp),
		LastUpdatedTimestamp: int64(m.LastUpdatedTimestamp),
		Description:          m.Description,
		Tags:                 tagMap(m.Tags),
		Aliases:              map[string]int64{},
	}
	for _, a := range m.Aliases {
		v, _ := strconv.ParseInt(a.Version, 10, 64)
		rm.Aliases[a.Alias] = v
	}
	for i := range m.LatestVersions {
		rm.LatestVersions = append(rm.LatestVersions, m.LatestVersions[i].entity())
	}
	sortByStage(rm.LatestVersions)
	return rm
}

func (v *jsonModelVersion) entity() *store.ModelVersion {
	n, _ := strconv.ParseInt(v.Version, 10, 64)
	mv := &store.ModelVersion{
		Name:                 v.Name,
		Version:              n,
		CreationTimestamp:    int64(v.CreationTimestamp),
		LastUpdatedTimestamp: int64(v.LastUpdatedTimestamp),
		Description:          v.Description,
		UserID:               v.UserID,
		CurrentStage:         v.CurrentStage,
		Source:               v.Source,
		RunID:                v.RunID,
		RunLink:              v.RunLink,
		Status:               v.Status,
		StatusMessage:        v.StatusMessage,
		ModelID:              v.ModelID,
		Tags:                 tagMap(v.Tags),
		Aliases:              slices.Sorted(slices.Values(v.Aliases)),
	}
	if mv.Aliases == nil {
		mv.Aliases = []string{}
	}
	return mv
}

// sortByStage orders versions None, Staging, Production, Archived.
func sortByStage(vs []*store.ModelVersion) {
	rank := func(s string) int { return slices.Index(store.AllStages, s) }
	slices.SortStableFunc(vs, func(a, b *store.ModelVersion) int { return rank(a.CurrentStage) - rank(b.CurrentStage) })
}

type modelName struct {
	Name string `json:"name"`
}

type modelVersionKey struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

func versionString(v int64) string { return strconv.FormatInt(v, 10) }

func (s *Store) modelResponse(ctx context.Context, method, path string, idem bool, in any) (*store.RegisteredModel, error) {
	var out struct {
		RegisteredModel jsonRegisteredModel `json:"registered_model"`
	}
	policy := notIdem
	if idem {
		policy = idemPolicy
	}
	if err := s.call(ctx, method, path, policy, in, &out); err != nil {
		return nil, err
	}
	return out.RegisteredModel.entity(), nil
}

func (s *Store) versionResponse(ctx context.Context, method, path string, idem bool, in any) (*store.ModelVersion, error) {
	var out struct {
		ModelVersion jsonModelVersion `json:"model_version"`
	}
	policy := notIdem
	if idem {
		policy = idemPolicy
	}
	if err := s.call(ctx, method, path, policy, in, &out); err != nil {
		return nil, err
	}
	return out.ModelVersion.entity(), nil
}

const idemPolicy = idem

// CreateRegisteredModel creates a registered model (not retried once it
// may have been processed).
func (s *Store) CreateRegisteredModel(ctx context.Context, name string, tags []store.Tag, description string) (*store.RegisteredModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateCreateRegisteredModel(name, tags, description); err != nil {
		return nil, err
	}
	in := struct {
		Name        string `json:"name"`
		Tags        []kv   `json:"tags,omitempty"`
		Description string `json:"description,omitempty"`
	}{name, tagsJSON(tags), description}
	return s.modelResponse(ctx, "POST", "registered-models/create", false, in)
}

// GetRegisteredModel returns a registered model.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*store.RegisteredModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	return s.modelResponse(ctx, "GET", "registered-models/get", true, url.Values{"name": {name}})
}

// RenameRegisteredModel renames a model and its versions.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*store.RegisteredModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(newName); err != nil {
		return nil, err
	}
	in := struct {
		Name    string `json:"name"`
		NewName string `json:"new_name"`
	}{name, newName}
	return s.modelResponse(ctx, "POST", "registered-models/rename", false, in)
}

// UpdateRegisteredModel sets a model's description.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*store.RegisteredModel, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	if err := store.ValidateDescription(description); err != nil {
		return nil, err
	}
	in := struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}{name, description}
	return s.modelResponse(ctx, "PATCH", "registered-models/update", true, in)
}

// DeleteRegisteredModel deletes a model with its versions.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	return s.call(ctx, "DELETE", "registered-models/delete", notIdem, modelName{name}, nil)
}

// SearchRegisteredModels lists registered models.
func (s *Store) SearchRegisteredModels(ctx context.Context, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	max := q.MaxResults
	if max == 0 {
		max = store.DefaultRegisteredModelMaxResults
	}
	if max < 0 || max > store.MaxRegisteredModelMaxResults {
		return nil, store.Invalidf("Invalid value for max_results. It must be at most %d, but got value %d", store.MaxRegisteredModelMaxResults, max)
	}
	var out struct {
		RegisteredModels []jsonRegisteredModel `json:"registered_models"`
		NextPageToken    string                `json:"next_page_token"`
	}
	n, next, err := page(ctx, max, store.MaxRegisteredModelMaxResults, func(ctx context.Context, n int) (int, string, error) {
		out.RegisteredModels, out.NextPageToken = nil, ""
		err := s.get(ctx, "registered-models/search", searchQuery(q.Filter, q.OrderBy, q.PageToken, n), &out)
		return len(out.RegisteredModels), out.NextPageToken, err
	})
	if err != nil {
		return nil, err
	}
	p := &store.RegisteredModelPage{Models: make([]*store.RegisteredModel, 0, n), NextPageToken: next}
	for i := range out.RegisteredModels[:n] {
		p.Models = append(p.Models, out.RegisteredModels[i].entity())
	}
	return p, nil
}

func searchQuery(filter string, orderBy []string, token string, max int) url.Values {
	q := url.Values{"max_results": {strconv.Itoa(max)}}
	if filter != "" {
		q.Set("filter", filter)
	}
	for _, o := range orderBy {
		q.Add("order_by", o)
	}
	if token != "" {
		q.Set("page_token", token)
	}
	return q
}

// SetRegisteredModelTag sets a model tag.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag store.Tag) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	if err := store.ValidateRegistryTag(tag); err != nil {
		return err
	}
	in := struct {
		Name  string `json:"name"`
		Key   string `json:"key"`
		Value string `json:"value"`
	}{name, tag.Key, tag.Value}
	return s.call(ctx, "POST", "registered-models/set-tag", idem, in, nil)
}

// DeleteRegisteredModelTag removes a model tag.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	if err := store.ValidateRegistryTag(store.Tag{Key: key}); err != nil {
		return err
	}
	in := struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}{name, key}
	return s.call(ctx, "DELETE", "registered-models/delete-tag", idem, in, nil)
}

// CreateModelVersion adds a version (not retried once it may have been
// processed: a retry would add a second version).
func (s *Store) CreateModelVersion(ctx context.Context, req store.CreateModelVersionRequest) (*store.ModelVersion, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateCreateModelVersion(req); err != nil {
		return nil, err
	}
	in := struct {
		Name        string `json:"name"`
		Source      string `json:"source"`
		RunID       string `json:"run_id,omitempty"`
		Tags        []kv   `json:"tags,omitempty"`
		RunLink     string `json:"run_link,omitempty"`
		Description string `json:"description,omitempty"`
		ModelID     string `json:"model_id,omitempty"`
	}{req.Name, req.Source, req.RunID, tagsJSON(req.Tags), req.RunLink, req.Description, req.ModelID}
	return s.versionResponse(ctx, "POST", "model-versions/create", false, in)
}

func validVersion(name string, version int64) error {
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	return store.ValidateModelVersion(version)
}

// GetModelVersion returns a version.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (*store.ModelVersion, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := validVersion(name, version); err != nil {
		return nil, err
	}
	return s.versionResponse(ctx, "GET", "model-versions/get", true, url.Values{"name": {name}, "version": {versionString(version)}})
}

// UpdateModelVersion sets a version's description.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*store.ModelVersion, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := validVersion(name, version); err != nil {
		return nil, err
	}
	if err := store.ValidateDescription(description); err != nil {
		return nil, err
	}
	in := struct {
		Name        string `json:"name"`
		Version     string `json:"version"`
		Description string `json:"description"`
	}{name, versionString(version), description}
	return s.versionResponse(ctx, "PATCH", "model-versions/update", true, in)
}

// DeleteModelVersion deletes a version.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := validVersion(name, version); err != nil {
		return err
	}
	return s.call(ctx, "DELETE", "model-versions/delete", notIdem, modelVersionKey{name, versionString(version)}, nil)
}

// TransitionModelVersionStage moves a version to a stage.
func (s *Store) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (*store.ModelVersion, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := validVersion(name, version); err != nil {
		return nil, err
	}
	canon, err := store.ValidateTransition(stage, archiveExisting)
	if err != nil {
		return nil, err
	}
	in := struct {
		Name            string `json:"name"`
		Version         string `json:"version"`
		Stage           string `json:"stage"`
		ArchiveExisting bool   `json:"archive_existing_versions"`
	}{name, versionString(version), canon, archiveExisting}
	return s.versionResponse(ctx, "POST", "model-versions/transition-stage", true, in)
}

// GetLatestVersions returns the latest version in each stage.
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]*store.ModelVersion, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	canon := []string{}
	for _, st := range stages {
		c, err := store.CanonicalStage(st)
		if err != nil {
			return nil, err
		}
		canon = append(canon, c)
	}
	in := struct {
		Name   string   `json:"name"`
		Stages []string `json:"stages,omitempty"`
	}{name, canon}
	var out struct {
		ModelVersions []jsonModelVersion `json:"model_versions"`
	}
	if err := s.post(ctx, "registered-models/get-latest-versions", idem, in, &out); err != nil {
		return nil, err
	}
	vs := make([]*store.ModelVersion, 0, len(out.ModelVersions))
	for i := range out.ModelVersions {
		vs = append(vs, out.ModelVersions[i].entity())
	}
	sortByStage(vs)
	return vs, nil
}

// SearchModelVersions lists versions.
func (s *Store) SearchModelVersions(ctx context.Context, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	max := q.MaxResults
	if max == 0 {
		max = store.DefaultModelVersionMaxResults
	}
	if max < 0 || max > store.MaxModelVersionMaxResults {
		return nil, store.Invalidf("Invalid value for max_results. It must be at most %d, but got value %d", store.MaxModelVersionMaxResults, max)
	}
	var out struct {
		ModelVersions []jsonModelVersion `json:"model_versions"`
		NextPageToken string             `json:"next_page_token"`
	}
	n, next, err := page(ctx, max, store.MaxModelVersionMaxResults, func(ctx context.Context, n int) (int, string, error) {
		out.ModelVersions, out.NextPageToken = nil, ""
		err := s.get(ctx, "model-versions/search", searchQuery(q.Filter, q.OrderBy, q.PageToken, n), &out)
		return len(out.ModelVersions), out.NextPageToken, err
	})
	if err != nil {
		return nil, err
	}
	p := &store.ModelVersionPage{Versions: make([]*store.ModelVersion, 0, n), NextPageToken: next}
	for i := range out.ModelVersions[:n] {
		p.Versions = append(p.Versions, out.ModelVersions[i].entity())
	}
	return p, nil
}

// SetModelVersionTag sets a version tag.
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, tag store.Tag) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := validVersion(name, version); err != nil {
		return err
	}
	if err := store.ValidateRegistryTag(tag); err != nil {
		return err
	}
	in := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
		Value   string `json:"value"`
	}{name, versionString(version), tag.Key, tag.Value}
	return s.call(ctx, "POST", "model-versions/set-tag", idem, in, nil)
}

// DeleteModelVersionTag removes a version tag.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := validVersion(name, version); err != nil {
		return err
	}
	if err := store.ValidateRegistryTag(store.Tag{Key: key}); err != nil {
		return err
	}
	in := struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Key     string `json:"key"`
	}{name, versionString(version), key}
	return s.call(ctx, "DELETE", "model-versions/delete-tag", idem, in, nil)
}

// GetModelVersionDownloadURI returns where a version's files are.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	if err := store.CheckContext(ctx); err != nil {
		return "", err
	}
	if err := validVersion(name, version); err != nil {
		return "", err
	}
	var out struct {
		ArtifactURI string `json:"artifact_uri"`
	}
	if err := s.get(ctx, "model-versions/get-download-uri", url.Values{"name": {name}, "version": {versionString(version)}}, &out); err != nil {
		return "", err
	}
	return out.ArtifactURI, nil
}

// SetRegisteredModelAlias points an alias at a version.
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := validVersion(name, version); err != nil {
		return err
	}
	if err := store.ValidateAlias(alias); err != nil {
		return err
	}
	if err := store.ValidateAliasNotReserved(alias); err != nil {
		return err
	}
	in := struct {
		Name    string `json:"name"`
		Alias   string `json:"alias"`
		Version string `json:"version"`
	}{name, alias, versionString(version)}
	return s.call(ctx, "POST", "registered-models/alias", idem, in, nil)
}

// DeleteRegisteredModelAlias removes an alias.
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	if err := store.CheckContext(ctx); err != nil {
		return err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return err
	}
	if err := store.ValidateAlias(alias); err != nil {
		return err
	}
	in := struct {
		Name  string `json:"name"`
		Alias string `json:"alias"`
	}{name, alias}
	return s.call(ctx, "DELETE", "registered-models/alias", idem, in, nil)
}

// GetModelVersionByAlias returns the version an alias points at.
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (*store.ModelVersion, error) {
	if err := store.CheckContext(ctx); err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	if err := store.ValidateAlias(alias); err != nil {
		return nil, err
	}
	if strings.EqualFold(alias, "latest") {
		// MLflow 2's server refuses the reserved alias; resolve it here,
		// as MLflow's client resolves models:/name@latest: the highest
		// version, which is the latest of some stage.
		vs, err := s.GetLatestVersions(ctx, name, nil)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, store.NotFoundf("Registered model '%s' has no versions.", name)
		}
		best := vs[0]
		for _, v := range vs[1:] {
			if v.Version > best.Version {
				best = v
			}
		}
		return best, nil
	}
	return s.versionResponse(ctx, "GET", "registered-models/alias", true, url.Values{"name": {name}, "alias": {alias}})
}
