package mlrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// Registry returns the client's model registry: the store's, if its
// backend has one (the file store and the SQLite store do).
func (c *Client) Registry() (store.Registry, error) {
	if err := c.valid(); err != nil {
		return nil, err
	}
	r, ok := c.store.(store.Registry)
	if !ok {
		return nil, store.InvalidStatef("the store at %q has no model registry", c.uri)
	}
	return r, nil
}

// RegisterOption configures [Client.RegisterModel].
type RegisterOption func(*registerConfig) error

type registerConfig struct {
	description string
	tags        map[string]string
	runLink     string
}

// WithVersionDescription sets the new version's description.
func WithVersionDescription(text string) RegisterOption {
	return func(c *registerConfig) error {
		if err := store.ValidateDescription(text); err != nil {
			return err
		}
		c.description = text
		return nil
	}
}

// WithVersionTags sets tags on the new version.
func WithVersionTags(tags map[string]string) RegisterOption {
	return func(c *registerConfig) error {
		for _, t := range sortedTags(tags) {
			if err := store.ValidateRegistryTag(t); err != nil {
				return err
			}
		}
		if c.tags == nil {
			c.tags = map[string]string{}
		}
		maps.Copy(c.tags, tags)
		return nil
	}
}

// WithRunLink sets the new version's run link (a URL to the run).
func WithRunLink(link string) RegisterOption {
	return func(c *registerConfig) error {
		if err := store.ValidateText("run_link", link); err != nil {
			return err
		}
		c.runLink = link
		return nil
	}
}

// RegisterModel registers the model at modelURI as a new version of the
// registered model name, creating the model if needed, as
// mlflow.register_model does. modelURI is runs:/<run_id>/<path> (the
// version's source becomes the run's artifact location, and its run id is
// recorded), models:/<name>/<version|stage|latest> or models:/<name>@<alias>
// (the version's files are those of the named version), models:/<model_id>
// (an MLflow 3 logged model: the version records the model id, its source
// run and artifact location, and the model's mlflow.modelVersions tag lists
// the version, as in MLflow 3), or any other URI or path, recorded as
// given. A runs:/ URI with no MLmodel at its path names, as in MLflow 3,
// the logged model of that name logged by the run.
func (c *Client) RegisterModel(ctx context.Context, modelURI, name string, opts ...RegisterOption) (*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	var cfg registerConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	if err := store.ValidateRegisteredModelName(name); err != nil {
		return nil, err
	}
	req := store.CreateModelVersionRequest{Name: name, Source: modelURI, Description: cfg.description, RunLink: cfg.runLink, UserID: ""}
	if len(cfg.tags) > 0 {
		req.Tags = sortedTags(cfg.tags)
	}
	var logged *store.LoggedModel // an MLflow 3 logged model being registered
	switch {
	case strings.HasPrefix(modelURI, "runs:/"):
		runID, p, err := parseRunsURI(modelURI)
		if err != nil {
			return nil, err
		}
		run, err := c.store.GetRun(ctx, runID)
		if err != nil {
			return nil, err
		}
		req.RunID = runID
		req.Source = joinURIPath(run.Info.ArtifactURI, p)
		if logged, err = c.loggedModelForRunPath(ctx, run, p); err != nil {
			return nil, err
		} else if logged != nil {
			req.Source = logged.URI()
			req.ModelID, req.StorageLocation = logged.ModelID, logged.ArtifactLocation
		}
	case isLoggedModelURI(modelURI):
		// models:/<model_id>: as MLflow 3's register_model and file
		// registry, source stays the URI, storage_location is the model's
		// artifact location and run_id its source run.
		id, _ := store.IsLoggedModelURI(modelURI)
		lm, err := c.GetLoggedModel(ctx, id)
		if err != nil {
			return nil, err
		}
		logged = lm
		req.ModelID, req.RunID, req.StorageLocation = lm.ModelID, lm.SourceRunID, lm.ArtifactLocation
	case strings.HasPrefix(modelURI, "models:/"):
		mv, err := c.resolveModelVersion(ctx, modelURI)
		if err != nil {
			return nil, err
		}
		req.RunID = mv.RunID
		req.StorageLocation = mv.StorageLocation
		if req.StorageLocation == "" {
			req.StorageLocation = mv.Source
		}
	}
	if err := store.ValidateCreateModelVersion(req); err != nil {
		return nil, err
	}
	if _, err := r.CreateRegisteredModel(ctx, name, nil, ""); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return nil, err
	}
	mv, err := r.CreateModelVersion(ctx, req)
	if err != nil || logged == nil {
		return mv, err
	}
	lms, _ := c.LoggedModels()
	return mv, linkModelVersion(ctx, lms, logged.ModelID, mv.Name, mv.Version)
}

// isLoggedModelURI reports whether uri is models:/<model_id> of an MLflow 3
// logged model in this client's store (a registered model may have a name
// like m-…; MLflow 3 parses such a URI as a model id too).
func isLoggedModelURI(uri string) bool {
	_, ok := store.IsLoggedModelURI(uri)
	return ok
}

// parseRunsURI splits runs:/<run_id>/<path>.
func parseRunsURI(uri string) (runID, path string, err error) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return "", "", store.Invalidf("not a runs:/ URI: %q", uri)
	}
	rest = strings.TrimLeft(rest, "/")
	runID, path, _ = strings.Cut(rest, "/")
	if err := store.ValidateRunID(runID); err != nil {
		return "", "", store.Invalidf("invalid runs:/ URI %q: %v", uri, err)
	}
	path = strings.Trim(path, "/")
	if err := store.ValidateArtifactPath(path); err != nil {
		return "", "", err
	}
	return runID, path, nil
}

func joinURIPath(base, p string) string {
	if p == "" {
		return base
	}
	return strings.TrimRight(base, "/") + "/" + p
}

// resolveModelVersion finds the version a models:/ URI names:
// models:/name/3, models:/name/Production (the latest version in the
// stage), models:/name/latest (the highest version), models:/name@alias.
func (c *Client) resolveModelVersion(ctx context.Context, uri string) (*store.ModelVersion, error) {
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(uri, "models:/")
	if !ok {
		return nil, store.Invalidf("not a models:/ URI: %q", uri)
	}
	rest = strings.Trim(rest, "/")
	if u, err := url.PathUnescape(rest); err == nil {
		rest = u
	}
	if name, alias, ok := strings.Cut(rest, "@"); ok && !strings.Contains(alias, "/") {
		if name == "" || alias == "" {
			return nil, store.Invalidf("invalid model URI %q: want models:/<name>@<alias>", uri)
		}
		return r.GetModelVersionByAlias(ctx, name, alias)
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 || i == len(rest)-1 {
		return nil, store.Invalidf("invalid model URI %q: want models:/<name>/<version|stage|latest> or models:/<name>@<alias>", uri)
	}
	name, suffix := rest[:i], rest[i+1:]
	if v, err := store.ParseModelVersion(suffix); err == nil {
		return r.GetModelVersion(ctx, name, v)
	}
	if strings.EqualFold(suffix, "latest") {
		return r.GetModelVersionByAlias(ctx, name, "latest")
	}
	stage, err := store.CanonicalStage(suffix)
	if err != nil {
		return nil, store.Invalidf("invalid model URI %q: %q is not a version, stage or 'latest'", uri, suffix)
	}
	vs, err := r.GetLatestVersions(ctx, name, []string{stage})
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, store.NotFoundf("No versions of model with name '%s' and stage '%s' found", name, stage)
	}
	return vs[0], nil
}

// ResolveModelVersion returns the model version a models:/ URI names.
func (c *Client) ResolveModelVersion(ctx context.Context, uri string) (*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c.resolveModelVersion(ctx, uri)
}

// ResolveModelURI returns the local path of a model given by URI:
// models:/<model_id> (an MLflow 3 logged model), models:/name/3, models:/name/Production, models:/name/latest,
// models:/name@champion, runs:/<run_id>/<path>, or a file:// URI.
func (c *Client) ResolveModelURI(ctx context.Context, uri string) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	switch {
	case isLoggedModelURI(uri):
		id, _ := store.IsLoggedModelURI(uri)
		lm, err := c.GetLoggedModel(ctx, id)
		if err != nil {
			return "", err
		}
		return artifactDir(lm.ArtifactLocation)
	case strings.HasPrefix(uri, "models:/"):
		mv, err := c.resolveModelVersion(ctx, uri)
		if err != nil {
			return "", err
		}
		loc := mv.StorageLocation
		if loc == "" {
			loc = mv.Source
		}
		if strings.HasPrefix(loc, "runs:/") || strings.HasPrefix(loc, "models:/") {
			return c.ResolveModelURI(ctx, loc)
		}
		return artifactDir(loc)
	case strings.HasPrefix(uri, "runs:/"):
		runID, p, err := parseRunsURI(uri)
		if err != nil {
			return "", err
		}
		return c.ArtifactPath(ctx, runID, p)
	}
	p, err := artifactDir(uri)
	if err != nil {
		return "", fmt.Errorf("resolve model URI %q: %w", uri, err)
	}
	return p, nil
}

// The methods below call the store's registry; see [store.Registry].

// CreateRegisteredModel creates a registered model.
func (c *Client) CreateRegisteredModel(ctx context.Context, name string, tags map[string]string, description string) (*store.RegisteredModel, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.CreateRegisteredModel(ctx, name, sortedTags(tags), description)
}

// GetRegisteredModel returns a registered model.
func (c *Client) GetRegisteredModel(ctx context.Context, name string) (*store.RegisteredModel, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.GetRegisteredModel(ctx, name)
}

// RenameRegisteredModel renames a registered model.
func (c *Client) RenameRegisteredModel(ctx context.Context, name, newName string) (*store.RegisteredModel, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.RenameRegisteredModel(ctx, name, newName)
}

// UpdateRegisteredModel sets a registered model's description.
func (c *Client) UpdateRegisteredModel(ctx context.Context, name, description string) (*store.RegisteredModel, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.UpdateRegisteredModel(ctx, name, description)
}

// DeleteRegisteredModel deletes a registered model and its versions.
func (c *Client) DeleteRegisteredModel(ctx context.Context, name string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.DeleteRegisteredModel(ctx, name)
}

// SearchRegisteredModels searches registered models.
func (c *Client) SearchRegisteredModels(ctx context.Context, q store.RegisteredModelQuery) (*store.RegisteredModelPage, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.SearchRegisteredModels(ctx, q)
}

// SetRegisteredModelTag sets a registered-model tag.
func (c *Client) SetRegisteredModelTag(ctx context.Context, name, key, value string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.SetRegisteredModelTag(ctx, name, store.Tag{Key: key, Value: value})
}

// DeleteRegisteredModelTag removes a registered-model tag.
func (c *Client) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.DeleteRegisteredModelTag(ctx, name, key)
}

// GetModelVersion returns a model version.
func (c *Client) GetModelVersion(ctx context.Context, name string, version int64) (*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.GetModelVersion(ctx, name, version)
}

// UpdateModelVersion sets a model version's description.
func (c *Client) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.UpdateModelVersion(ctx, name, version, description)
}

// DeleteModelVersion deletes a model version; its number is not reused.
func (c *Client) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.DeleteModelVersion(ctx, name, version)
}

// TransitionModelVersionStage moves a version to a stage (None, Staging,
// Production, Archived; any case). With archiveExisting, the versions in
// that stage (Staging or Production only) are archived.
func (c *Client) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.TransitionModelVersionStage(ctx, name, version, stage, archiveExisting)
}

// GetLatestVersions returns the latest version per stage.
func (c *Client) GetLatestVersions(ctx context.Context, name string, stages ...string) ([]*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.GetLatestVersions(ctx, name, stages)
}

// SearchModelVersions searches model versions.
func (c *Client) SearchModelVersions(ctx context.Context, q store.ModelVersionQuery) (*store.ModelVersionPage, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.SearchModelVersions(ctx, q)
}

// SetModelVersionTag sets a model-version tag.
func (c *Client) SetModelVersionTag(ctx context.Context, name string, version int64, key, value string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.SetModelVersionTag(ctx, name, version, store.Tag{Key: key, Value: value})
}

// DeleteModelVersionTag removes a model-version tag.
func (c *Client) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.DeleteModelVersionTag(ctx, name, version, key)
}

// SetRegisteredModelAlias points an alias (e.g. "champion") at a version.
func (c *Client) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.SetRegisteredModelAlias(ctx, name, alias, version)
}

// DeleteRegisteredModelAlias removes an alias.
func (c *Client) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	r, err := c.Registry()
	if err != nil {
		return err
	}
	return r.DeleteRegisteredModelAlias(ctx, name, alias)
}

// GetModelVersionByAlias returns the version an alias points at.
func (c *Client) GetModelVersionByAlias(ctx context.Context, name, alias string) (*store.ModelVersion, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	r, err := c.Registry()
	if err != nil {
		return nil, err
	}
	return r.GetModelVersionByAlias(ctx, name, alias)
}

// GetModelVersionDownloadURI returns where a version's files are.
func (c *Client) GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	r, err := c.Registry()
	if err != nil {
		return "", err
	}
	return r.GetModelVersionDownloadURI(ctx, name, version)
}
