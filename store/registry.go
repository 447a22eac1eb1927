package store

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Registry is MLflow's model registry: registered models, their numbered
// versions, stages, aliases and tags. It is an optional capability of a
// Store: backends that have a registry implement it, and callers check with
// a type assertion (reg, ok := s.(store.Registry)).
//
// Names follow MLflow's file-store rules on every backend (non-blank, no
// '/', ':' or '%', stable as a path), so that a registry can move between
// backends. Versions are numbered from 1 and never reused, even after a
// version is deleted. Every method validates its input before writing: a
// rejected request returns ErrInvalidParameter and changes nothing.
type Registry interface {
	// CreateRegisteredModel creates a model; a taken name is ErrAlreadyExists.
	CreateRegisteredModel(ctx context.Context, name string, tags []Tag, description string) (*RegisteredModel, error)
	// GetRegisteredModel returns a model with its tags, aliases and the
	// latest version in each stage.
	GetRegisteredModel(ctx context.Context, name string) (*RegisteredModel, error)
	// RenameRegisteredModel renames a model and all its versions.
	RenameRegisteredModel(ctx context.Context, name, newName string) (*RegisteredModel, error)
	// UpdateRegisteredModel sets a model's description.
	UpdateRegisteredModel(ctx context.Context, name, description string) (*RegisteredModel, error)
	// DeleteRegisteredModel removes a model with its versions, tags and aliases.
	DeleteRegisteredModel(ctx context.Context, name string) error
	// SearchRegisteredModels lists models matching q, by MLflow's filter
	// language (name, tags).
	SearchRegisteredModels(ctx context.Context, q RegisteredModelQuery) (*RegisteredModelPage, error)
	// SetRegisteredModelTag sets (or replaces) a model tag.
	SetRegisteredModelTag(ctx context.Context, name string, tag Tag) error
	// DeleteRegisteredModelTag removes a model tag; a missing tag is a no-op.
	DeleteRegisteredModelTag(ctx context.Context, name, key string) error

	// CreateModelVersion adds the next version (max existing + 1) to a model,
	// in stage None, status READY.
	CreateModelVersion(ctx context.Context, req CreateModelVersionRequest) (*ModelVersion, error)
	// GetModelVersion returns a version; a deleted one is ErrNotFound.
	GetModelVersion(ctx context.Context, name string, version int64) (*ModelVersion, error)
	// UpdateModelVersion sets a version's description.
	UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*ModelVersion, error)
	// DeleteModelVersion soft-deletes a version (stage Deleted_Internal) and
	// removes its aliases. Its number is never reused.
	DeleteModelVersion(ctx context.Context, name string, version int64) error
	// TransitionModelVersionStage moves a version to a stage (any case of
	// None, Staging, Production, Archived). With archiveExisting (allowed for
	// Staging and Production only) every other version in that stage is
	// archived first, atomically with the transition.
	TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (*ModelVersion, error)
	// GetLatestVersions returns the highest version in each of the given
	// stages (all stages when empty), in the order None, Staging,
	// Production, Archived.
	GetLatestVersions(ctx context.Context, name string, stages []string) ([]*ModelVersion, error)
	// SearchModelVersions lists versions matching q, by MLflow's filter
	// language (name, version_number, run_id, source_path, tags).
	SearchModelVersions(ctx context.Context, q ModelVersionQuery) (*ModelVersionPage, error)
	// SetModelVersionTag sets (or replaces) a version tag.
	SetModelVersionTag(ctx context.Context, name string, version int64, tag Tag) error
	// DeleteModelVersionTag removes a version tag; a missing tag is a no-op.
	DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error
	// GetModelVersionDownloadURI returns where a version's files are: its
	// storage location, or else its source.
	GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error)

	// SetRegisteredModelAlias points an alias at an existing version,
	// replacing its previous target. "latest" and v<N> are reserved.
	SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error
	// DeleteRegisteredModelAlias removes an alias; a missing one is a no-op.
	DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error
	// GetModelVersionByAlias returns the version an alias points at. The
	// alias "latest" (any case) means the highest version.
	GetModelVersionByAlias(ctx context.Context, name, alias string) (*ModelVersion, error)
}

// Model version stages, as MLflow spells them.
const (
	StageNone            = "None"
	StageStaging         = "Staging"
	StageProduction      = "Production"
	StageArchived        = "Archived"
	StageDeletedInternal = "Deleted_Internal" // soft-deleted; never returned
)

// AllStages lists the user-visible stages in MLflow's order.
var AllStages = []string{StageNone, StageStaging, StageProduction, StageArchived}

// CanonicalStage returns MLflow's spelling of a stage given in any case
// ("production" gives "Production"), or ErrInvalidParameter.
func CanonicalStage(stage string) (string, error) {
	for _, s := range AllStages {
		if strings.EqualFold(s, stage) {
			return s, nil
		}
	}
	return "", Invalidf("Invalid Model Version stage: %s. Value must be one of %s.", stage, strings.Join(AllStages, ", "))
}

// Model version statuses.
const (
	ModelVersionPendingRegistration = "PENDING_REGISTRATION"
	ModelVersionFailedRegistration  = "FAILED_REGISTRATION"
	ModelVersionReady               = "READY"
)

// Registry limits (mlflow/utils/validation.py).
const (
	MaxRegistryTagKeyLength   = 250
	MaxRegistryTagValueLength = 100_000
	MaxAliasLength            = 255

	DefaultRegisteredModelMaxResults = 100
	MaxRegisteredModelMaxResults     = 1000
	DefaultModelVersionMaxResults    = 10_000
	MaxModelVersionMaxResults        = 200_000
)

// PromptTagKey marks a registered model as an MLflow prompt. Registry
// searches leave prompts out unless the filter names this tag.
const PromptTagKey = "mlflow.prompt.is_prompt"

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Name                 string
	CreationTimestamp    int64 // ms since the epoch
	LastUpdatedTimestamp int64
	Description          string // "" when unset
	Tags                 map[string]string
	Aliases              map[string]int64 // alias -> version
	// LatestVersions holds the highest version in each stage, in the
	// order None, Staging, Production, Archived.
	LatestVersions []*ModelVersion
}

// ModelVersion is one numbered version of a registered model.
type ModelVersion struct {
	Name                 string
	Version              int64
	CreationTimestamp    int64
	LastUpdatedTimestamp int64
	Description          string
	UserID               string
	CurrentStage         string // one of AllStages
	Source               string // as given: runs:/…, models:/m-…, a URI or path
	RunID                string
	RunLink              string
	Status               string // READY
	StatusMessage        string
	StorageLocation      string // the resolved artifact location
	ModelID              string // the MLflow 3 logged model, if any
	Tags                 map[string]string
	Aliases              []string // sorted
}

// ModelVersionTag is a tag of a model version.
type ModelVersionTag struct {
	Name    string
	Version int64
	Key     string
	Value   string
}

// CreateModelVersionRequest describes a new model version.
type CreateModelVersionRequest struct {
	Name        string
	Source      string // required
	RunID       string
	ModelID     string
	RunLink     string
	Description string
	Tags        []Tag
	UserID      string
	// StorageLocation is the resolved artifact location of Source; empty
	// means Source itself.
	StorageLocation string
}

// RegisteredModelQuery selects registered models.
type RegisteredModelQuery struct {
	Filter     string   // e.g. "name LIKE 'ridge%' AND tags.team = 'ml'"
	OrderBy    []string // name, last_updated_timestamp / timestamp, creation_timestamp; ASC|DESC
	MaxResults int      // 0 means 100; at most 1000
	PageToken  string
}

// RegisteredModelPage is one page of registered models.
type RegisteredModelPage struct {
	Models        []*RegisteredModel
	NextPageToken string
}

// ModelVersionQuery selects model versions.
type ModelVersionQuery struct {
	Filter     string   // e.g. "name = 'ridge' AND version_number > 2"
	OrderBy    []string // default last_updated_timestamp DESC, name ASC, version_number DESC
	MaxResults int      // 0 means 10000; at most 200000
	PageToken  string
}

// ModelVersionPage is one page of model versions.
type ModelVersionPage struct {
	Versions      []*ModelVersion
	NextPageToken string
}

// ValidateRegisteredModelName applies MLflow's rules for registered model
// names, including the file store's (no path separator, no '%'), on every
// backend.
func ValidateRegisteredModelName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Invalidf("Missing value for required parameter 'name'. See the API docs for more information about request parameters.")
	}
	if !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		return Invalidf("Invalid model name %q. Names must be valid UTF-8 without NUL.", name)
	}
	if strings.ContainsAny(name, "/:") {
		return Invalidf("Invalid model name '%s'. Names cannot contain '/' or ':'.", name)
	}
	if norm := path.Clean(name); norm != name || norm == "." || strings.HasPrefix(norm, "..") {
		return invalidValue("name", name, "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '"+norm+"'")
	}
	if strings.Contains(name, "%") {
		return Invalidf("Invalid name: '%s'. Registered model name cannot contain '%%' character", name)
	}
	if len(name) > 255 {
		return Invalidf("Invalid model name '%s'. Names are at most 255 bytes (a directory name).", name)
	}
	return nil
}

var aliasRegex = regexp.MustCompile(`^[\p{L}\p{N}_\-]*$`)
var versionAliasRegex = regexp.MustCompile(`^[vV]\d+$`)

// ValidateAlias checks an alias name: non-empty, letters, digits, '_' and
// '-', at most 255 characters, and not reserved ("latest" in any case and
// v<N> are reserved).
func ValidateAlias(alias string) error {
	if alias == "" {
		return Invalidf("Registered model alias name cannot be empty.")
	}
	if !aliasRegex.MatchString(alias) {
		return Invalidf("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
	}
	if err := checkLength("Registered model alias name", MaxAliasLength, alias); err != nil {
		return err
	}
	return nil
}

// ValidateAliasNotReserved rejects the reserved alias names.
func ValidateAliasNotReserved(alias string) error {
	if strings.EqualFold(alias, "latest") {
		return Invalidf("'latest' alias name (case insensitive) is reserved.")
	}
	if versionAliasRegex.MatchString(alias) {
		return Invalidf("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// ValidateRegistryTag checks a registered-model or model-version tag.
func ValidateRegistryTag(t Tag) error {
	if err := validateName("key", t.Key); err != nil {
		return err
	}
	if err := checkLength("key", MaxRegistryTagKeyLength, t.Key); err != nil {
		return err
	}
	if !utf8.ValidString(t.Value) {
		return invalidText(fmt.Sprintf("Tag value for %q", t.Key), t.Value)
	}
	return checkLength("value", MaxRegistryTagValueLength, t.Value)
}

// ValidateDescription checks the description of a registered model or
// model version.
func ValidateDescription(description string) error { return ValidateText("description", description) }

// ValidateCreateRegisteredModel checks the arguments of
// CreateRegisteredModel: the name, every tag and the description.
func ValidateCreateRegisteredModel(name string, tags []Tag, description string) error {
	if err := ValidateRegisteredModelName(name); err != nil {
		return err
	}
	if err := ValidateRegistryTags(tags); err != nil {
		return err
	}
	return ValidateDescription(description)
}

// ValidateModelVersion checks a version number (MLflow versions are
// positive integers).
func ValidateModelVersion(v int64) error {
	if v < 1 {
		return Invalidf("Invalid value %d for parameter 'version' supplied: versions are positive integers.", v)
	}
	return nil
}

// ParseModelVersion parses a version number given as text, as MLflow's
// _validate_model_version does.
func ParseModelVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, Invalidf("Parameter 'version' must be an integer, got '%s'.", s)
	}
	return v, nil
}

// ValidateCreateModelVersion checks a CreateModelVersionRequest.
func ValidateCreateModelVersion(req CreateModelVersionRequest) error {
	if err := ValidateRegisteredModelName(req.Name); err != nil {
		return err
	}
	if strings.TrimSpace(req.Source) == "" {
		return Invalidf("Missing value for required parameter 'source'. See the API docs for more information about request parameters.")
	}
	for _, f := range []struct{ what, v string }{
		{"source", req.Source}, {"model_id", req.ModelID}, {"run_link", req.RunLink}, {"description", req.Description},
		{"user_id", req.UserID}, {"storage_location", req.StorageLocation},
	} {
		if err := ValidateText(f.what, f.v); err != nil {
			return err
		}
	}
	if req.RunID != "" {
		if err := ValidateRunID(req.RunID); err != nil {
			return err
		}
	}
	return ValidateRegistryTags(req.Tags)
}

// ValidateRegistryTags checks every tag of a registered model or model
// version, and that no key is a folder of another (see ValidateParams).
func ValidateRegistryTags(tags []Tag) error {
	for _, t := range tags {
		if err := ValidateRegistryTag(t); err != nil {
			return err
		}
	}
	return validateKeyPaths("tag", tags, tagKey)
}

// ValidateTransition checks a stage transition request and returns the
// canonical stage.
func ValidateTransition(stage string, archiveExisting bool) (string, error) {
	canon, err := CanonicalStage(stage)
	if err != nil {
		return "", err
	}
	if archiveExisting && canon != StageStaging && canon != StageProduction {
		return "", Invalidf("Model version transition cannot archive existing model versions because '%s' is not an Active stage. Valid stages are ['Staging', 'Production']", stage)
	}
	return canon, nil
}

// LatestPerStage picks the highest version in each wanted stage (all
// user-visible stages when stages is empty) from versions, in the order
// None, Staging, Production, Archived. Deleted versions are ignored.
func LatestPerStage(versions []*ModelVersion, stages []string) ([]*ModelVersion, error) {
	want := map[string]bool{}
	if len(stages) == 0 {
		for _, s := range AllStages {
			want[s] = true
		}
	}
	for _, s := range stages {
		c, err := CanonicalStage(s)
		if err != nil {
			return nil, err
		}
		want[c] = true
	}
	best := map[string]*ModelVersion{}
	for _, mv := range versions {
		if !want[mv.CurrentStage] {
			continue
		}
		if b := best[mv.CurrentStage]; b == nil || b.Version < mv.Version {
			best[mv.CurrentStage] = mv
		}
	}
	var out []*ModelVersion
	for _, s := range AllStages {
		if b := best[s]; b != nil {
			out = append(out, b)
		}
	}
	return out, nil
}
