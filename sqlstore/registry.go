package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mlrun-go/mlrun/internal/pystr"
	"github.com/mlrun-go/mlrun/internal/registryguard"
	"github.com/mlrun-go/mlrun/store"
)

// The model registry, as MLflow's SQL registry store keeps it
// (mlflow/store/model_registry/sqlalchemy_store.py of MLflow 2.22.5 and
// 3.17.2) in the tables registered_models, model_versions,
// registered_model_tags, model_version_tags and registered_model_aliases.
//
// Every call is one transaction (a write transaction, BEGIN IMMEDIATE, for
// every method that writes), retried as a whole while the database is
// busy; so version numbers (max + 1) and archive_existing_versions are
// atomic across goroutines and processes.
//
// What is written, row by row, is what MLflow writes:
//
//   - create_registered_model: creation_time = last_updated_time = now,
//     description NULL when empty, one row per tag key (the last value of
//     a repeated key);
//   - create_model_version: version = max(version) + 1 over every row of
//     the name, soft-deleted ones included, so a number is never reused
//     (MLflow deletes versions softly, see below); current_stage 'None',
//     status 'READY', storage_location the given one or else source, NULL
//     for an empty description, run_id, run_link and user_id (MLflow's
//     SQL store never sets user_id); registered_models.last_updated_time
//     becomes the version's creation time;
//   - update_registered_model / update_model_version: the description and
//     the row's own last_updated_time (the model is not touched by a
//     version update);
//   - rename_registered_model: the model's name, through the foreign keys'
//     ON UPDATE CASCADE to versions, tags, version tags and aliases;
//     last_updated_time of the model and of all its versions (deleted ones
//     too); a taken name is store.ErrAlreadyExists;
//   - delete_registered_model: the model and every row of its versions,
//     version tags, tags and aliases (MLflow's ORM cascade);
//   - transition_model_version_stage: with archive_existing_versions, the
//     other versions in the target stage become 'Archived', then the
//     version gets the stage; all of them and the model get
//     last_updated_time = now;
//   - delete_model_version: soft delete, the row stays with current_stage
//     'Deleted_Internal', description, user_id and status_message NULL,
//     source, run_id and run_link 'REDACTED-SOURCE-PATH', 'REDACTED-RUN-ID'
//     and 'REDACTED-RUN-LINK'; its tags are kept, the aliases pointing at
//     it are deleted, and the model's last_updated_time is touched;
//   - tags and aliases are upserts and deletes that touch no timestamp;
//   - on MLflow 3.10+ schemas every row has workspace 'default' and every
//     query is restricted to it, as MLflow in single-tenant mode.
//
// Differences from MLflow's SQL store, deliberate and on the side of the
// store.Registry contract that fsstore follows too:
//
//   - names are checked by store.ValidateRegisteredModelName (MLflow's SQL
//     store also accepts '%' and names longer than a file name);
//   - an unknown alias is store.ErrNotFound (MLflow: INVALID_PARAMETER_VALUE),
//     and the alias "latest" resolves on 2.22.5 schemas too (MLflow 2.22.5's
//     store looks for an alias row named latest);
//   - search results carry the versions' aliases (MLflow's SQL
//     search_model_versions returns them empty; get_model_version fills
//     them);
//   - the schema has no model_id column: CreateModelVersionRequest.ModelID
//     is not stored and ModelVersion.ModelID reads "", as MLflow's
//     SqlModelVersion.to_mlflow_entity returns no model_id. MLflow 3 links a
//     logged model to its versions by the logged model's
//     mlflow.modelVersions tag, which the caller sets;
//   - as MLflow 3's create_model_version, on a schema with logged models a
//     models:/<model_id> source without a StorageLocation is resolved to
//     the logged model's artifact_location, and an empty RunID becomes the
//     source run of the logged model of the source or of ModelID (a model
//     that is missing or deleted is store.ErrNotFound); other models:/
//     sources are not resolved here: the caller passes the resolved
//     StorageLocation (mlrun.Client.RegisterModel does).

var _ store.Registry = (*Store)(nil)

// registryWorkspace reports whether the registry tables have MLflow 3.10's
// workspace column (with the tracking tables, which Open inspects).
func (s *Store) registryWorkspace() bool { return s.features.experimentWorkspace }

// where returns " WHERE cond" restricted to the default workspace on a
// schema with workspaces, and its arguments: args, then the workspace's
// (the condition comes last, after any SET arguments of the statement).
func (s *Store) where(cond string, args ...any) (string, []any) {
	if s.registryWorkspace() {
		return " WHERE " + cond + " AND workspace = ?", append(slices.Clip(args), defaultWorkspace)
	}
	return " WHERE " + cond, args
}

// regExec runs head with the WHERE clause of where(cond, args), and
// returns the number of rows changed. args holds head's arguments, then
// cond's.
func (s *Store) regExec(ctx context.Context, tx *sql.Tx, head, cond string, args ...any) (int64, error) {
	w, all := s.where(cond, args...)
	st, err := s.txStmt(ctx, tx, head+w)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, all...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// regQuery runs head with the WHERE clause of where(cond, args).
func (s *Store) regQuery(ctx context.Context, tx *sql.Tx, head, cond string, args ...any) (*sql.Rows, error) {
	w, all := s.where(cond, args...)
	st, err := s.txStmt(ctx, tx, head+w)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, all...)
}

// regInsert inserts a row into a registry table, with workspace 'default'
// on schemas that have the column.
func (s *Store) regInsert(ctx context.Context, tx *sql.Tx, table string, cols []string, vals []any) error {
	if s.registryWorkspace() {
		cols = append(slices.Clip(cols), "workspace")
		vals = append(slices.Clip(vals), defaultWorkspace)
	}
	st, err := s.txStmt(ctx, tx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+placeholders(len(cols))+")")
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, vals...)
	return err
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	return isCode(err, sqliteConstraintUnique) || isCode(err, sqliteConstraintPK)
}

// Placeholder values MLflow writes into a soft-deleted version.
const (
	redactedSource  = "REDACTED-SOURCE-PATH"
	redactedRunID   = "REDACTED-RUN-ID"
	redactedRunLink = "REDACTED-RUN-LINK"
)

// modelExists reports whether the registered model exists, as
// _get_registered_model checks it.
func (s *Store) modelExists(ctx context.Context, tx *sql.Tx, name string) error {
	rows, err := s.regQuery(ctx, tx, "SELECT 1 FROM registered_models", "name = ?", name)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return registryguard.ModelNotFound(name)
	}
	return nil
}

// liveVersionExists reports whether a version exists and is not deleted,
// as _get_sql_model_version checks it.
func (s *Store) liveVersionExists(ctx context.Context, tx *sql.Tx, name string, version int64) error {
	rows, err := s.regQuery(ctx, tx, "SELECT 1 FROM model_versions",
		"name = ? AND version = ? AND current_stage != ?", name, version, store.StageDeletedInternal)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return registryguard.VersionNotFound(name, version)
	}
	return nil
}

// ---- reading ----

// modelVersionColumns are the columns scanModelVersion reads, in order.
const modelVersionColumns = "name, version, creation_time, last_updated_time, description, user_id, current_stage, " +
	"source, run_id, status, status_message, run_link, storage_location"

// mvColumns returns modelVersionColumns for the schema: NULL for
// storage_location where model_versions has none (MLflow before 2.8).
func (s *Store) mvColumns() string {
	if s.features.storageLocation {
		return modelVersionColumns
	}
	return strings.TrimSuffix(modelVersionColumns, "storage_location") + "NULL"
}

// scanModelVersion reads a row of modelVersionColumns; NULLs read as "" and 0.
func scanModelVersion(rows *sql.Rows) (*store.ModelVersion, error) {
	var (
		mv                                  store.ModelVersion
		created, updated                    sql.NullInt64
		desc, user, stage, source, runID    sql.NullString
		status, statusMsg, runLink, storage sql.NullString
	)
	if err := rows.Scan(&mv.Name, &mv.Version, &created, &updated, &desc, &user, &stage, &source, &runID,
		&status, &statusMsg, &runLink, &storage); err != nil {
		return nil, err
	}
	mv.CreationTimestamp, mv.LastUpdatedTimestamp = created.Int64, updated.Int64
	mv.Description, mv.UserID, mv.CurrentStage = desc.String, user.String, stage.String
	mv.Source, mv.RunID, mv.Status, mv.StatusMessage = source.String, runID.String, status.String, statusMsg.String
	mv.RunLink, mv.StorageLocation = runLink.String, storage.String
	mv.Tags = map[string]string{}
	return &mv, nil
}

// versionKey identifies a model version.
type versionKey struct {
	name    string
	version int64
}

// registrySnapshot is the registry (or one model of it) read in one
// transaction.
type registrySnapshot struct {
	models   []*store.RegisteredModel // by name
	versions []*store.ModelVersion    // live versions, by name and version
	// prompts holds the names that have a version tagged
	// mlflow.prompt.is_prompt = 'true' (deleted versions included), which
	// MLflow's search_model_versions leaves out.
	prompts map[string]bool
}

// loadRegistry reads every registered model, or only the model name when
// one is true, with tags, aliases and live versions (with their tags and
// aliases), and fills in each model's latest version per stage.
func (s *Store) loadRegistry(ctx context.Context, tx *sql.Tx, name string, one bool) (*registrySnapshot, error) {
	cond, args := "1 = 1", []any(nil)
	if one {
		cond, args = "name = ?", []any{name}
	}
	snap := &registrySnapshot{prompts: map[string]bool{}}
	byName := map[string]*store.RegisteredModel{}

	rows, err := s.regQuery(ctx, tx, "SELECT name, creation_time, last_updated_time, description FROM registered_models", cond, args...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var m store.RegisteredModel
		var created, updated sql.NullInt64
		var desc sql.NullString
		if err := rows.Scan(&m.Name, &created, &updated, &desc); err != nil {
			return err
		}
		m.CreationTimestamp, m.LastUpdatedTimestamp, m.Description = created.Int64, updated.Int64, desc.String
		m.Tags, m.Aliases = map[string]string{}, map[string]int64{}
		snap.models = append(snap.models, &m)
		byName[m.Name] = &m
		return nil
	})
	if err != nil || len(snap.models) == 0 {
		return snap, err
	}

	rows, err = s.regQuery(ctx, tx, `SELECT name, "key", value FROM registered_model_tags`, cond, args...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var n, k string
		var v sql.NullString
		if err := rows.Scan(&n, &k, &v); err != nil {
			return err
		}
		if m := byName[n]; m != nil {
			m.Tags[k] = v.String
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	aliases := map[versionKey][]string{}
	if err := s.loadAliases(ctx, tx, cond, args, byName, aliases); err != nil {
		return nil, err
	}

	live := map[versionKey]*store.ModelVersion{}
	rows, err = s.regQuery(ctx, tx, "SELECT "+s.mvColumns()+" FROM model_versions",
		cond+" AND current_stage != ?", append(slices.Clip(args), store.StageDeletedInternal)...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		mv, err := scanModelVersion(rows)
		if err != nil {
			return err
		}
		if byName[mv.Name] == nil {
			return nil
		}
		k := versionKey{mv.Name, mv.Version}
		mv.Aliases = sortedAliases(aliases[k])
		live[k] = mv
		snap.versions = append(snap.versions, mv)
		return nil
	})
	if err != nil {
		return nil, err
	}

	rows, err = s.regQuery(ctx, tx, `SELECT name, version, "key", value FROM model_version_tags`, cond, args...)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var n, k string
		var ver int64
		var v sql.NullString
		if err := rows.Scan(&n, &ver, &k, &v); err != nil {
			return err
		}
		if k == store.PromptTagKey && v.String == "true" {
			snap.prompts[n] = true
		}
		if mv := live[versionKey{n, ver}]; mv != nil {
			mv.Tags[k] = v.String
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	slices.SortFunc(snap.versions, func(a, b *store.ModelVersion) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.Version, b.Version)
	})
	perModel := map[string][]*store.ModelVersion{}
	for _, mv := range snap.versions {
		perModel[mv.Name] = append(perModel[mv.Name], mv)
	}
	for _, m := range snap.models {
		if m.LatestVersions, err = store.LatestPerStage(perModel[m.Name], nil); err != nil {
			return nil, err
		}
	}
	sort.Slice(snap.models, func(i, j int) bool { return snap.models[i].Name < snap.models[j].Name })
	return snap, nil
}

// eachRow calls fn for every row and closes rows.
func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedAliases(a []string) []string {
	if len(a) == 0 {
		return nil
	}
	out := slices.Clone(a)
	slices.Sort(out)
	return out
}

// getModel reads one registered model with everything it holds.
func (s *Store) getModel(ctx context.Context, tx *sql.Tx, name string) (*store.RegisteredModel, *registrySnapshot, error) {
	snap, err := s.loadRegistry(ctx, tx, name, true)
	if err != nil {
		return nil, nil, err
	}
	if len(snap.models) == 0 {
		return nil, nil, registryguard.ModelNotFound(name)
	}
	return snap.models[0], snap, nil
}

// getVersion reads a live model version with its tags and aliases.
func (s *Store) getVersion(ctx context.Context, tx *sql.Tx, name string, version int64) (*store.ModelVersion, error) {
	rows, err := s.regQuery(ctx, tx, "SELECT "+s.mvColumns()+" FROM model_versions",
		"name = ? AND version = ? AND current_stage != ?", name, version, store.StageDeletedInternal)
	if err != nil {
		return nil, err
	}
	var mv *store.ModelVersion
	err = eachRow(rows, func() error {
		mv, err = scanModelVersion(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	if mv == nil {
		return nil, registryguard.VersionNotFound(name, version)
	}
	rows, err = s.regQuery(ctx, tx, `SELECT "key", value FROM model_version_tags`, "name = ? AND version = ?", name, version)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		mv.Tags[k] = v.String
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !s.features.aliases {
		return mv, nil
	}
	rows, err = s.regQuery(ctx, tx, "SELECT alias FROM registered_model_aliases", "name = ? AND version = ?", name, version)
	if err != nil {
		return nil, err
	}
	err = eachRow(rows, func() error {
		var a string
		if err := rows.Scan(&a); err != nil {
			return err
		}
		mv.Aliases = append(mv.Aliases, a)
		return nil
	})
	slices.Sort(mv.Aliases)
	return mv, err
}

// ---- registered models ----

// CreateRegisteredModel implements store.Registry. A taken name is
// store.ErrAlreadyExists with MLflow's wording (which differs when a model
// and a prompt would share the name).
func (s *Store) CreateRegisteredModel(ctx context.Context, name string, tags []store.Tag, description string) (*store.RegisteredModel, error) {
	var out *store.RegisteredModel
	checks := []error{store.ValidateCreateRegisteredModel(name, tags, description)}
	err := s.regWrite(ctx, "create registered model", checks, func(tx *sql.Tx) error {
		now := s.now()
		err := s.regInsert(ctx, tx, "registered_models",
			[]string{"name", "creation_time", "last_updated_time", "description"},
			[]any{name, now, now, nullString(description)})
		if isConstraint(err) {
			return s.modelExistsError(ctx, tx, name, tags)
		}
		if err != nil {
			return err
		}
		m := &store.RegisteredModel{Name: name, CreationTimestamp: now, LastUpdatedTimestamp: now,
			Description: description, Tags: map[string]string{}, Aliases: map[string]int64{}}
		for _, t := range tags {
			m.Tags[t.Key] = t.Value
		}
		for _, k := range sortedKeys(m.Tags) {
			if err := s.regInsert(ctx, tx, "registered_model_tags", []string{`"key"`, "value", "name"}, []any{k, m.Tags[k], name}); err != nil {
				return err
			}
		}
		out = m
		return nil
	})
	return out, err
}

// modelExistsError is MLflow's error for a taken name
// (handle_resource_already_exist_error).
func (s *Store) modelExistsError(ctx context.Context, tx *sql.Tx, name string, tags []store.Tag) error {
	newPrompt := slices.ContainsFunc(tags, func(t store.Tag) bool { return t.Key == store.PromptTagKey })
	oldPrompt := false
	rows, err := s.regQuery(ctx, tx, `SELECT 1 FROM registered_model_tags`, `name = ? AND "key" = ?`, name, store.PromptTagKey)
	if err != nil {
		return err
	}
	if err := eachRow(rows, func() error { oldPrompt = true; return nil }); err != nil {
		return err
	}
	entity := func(prompt bool) string {
		if prompt {
			return "Prompt"
		}
		return "Registered Model"
	}
	if oldPrompt != newPrompt {
		return store.AlreadyExistsf("Tried to create a %s with name %s, but the name is already taken by a %s. "+
			"MLflow does not allow creating a model and a prompt with the same name.",
			strings.ToLower(entity(newPrompt)), pystr.Repr(name), strings.ToLower(entity(oldPrompt)))
	}
	return store.AlreadyExistsf("%s (name=%s) already exists.", entity(newPrompt), name)
}

// regWrite runs fn in a write transaction (see write) after the store's
// write gate and the request's checks (see package registryguard, then
// the schema's), which are evaluated by the caller and returned in order:
// the first that failed, with nothing written.
func (s *Store) regWrite(ctx context.Context, op string, checks []error, fn func(tx *sql.Tx) error) error {
	if err := s.enterWrite(ctx); err != nil {
		return err
	}
	defer s.leave()
	if err := firstErr(checks); err != nil {
		return err
	}
	return s.write(ctx, op, fn)
}

// regRead is regWrite for a read transaction (see read).
func (s *Store) regRead(ctx context.Context, op string, checks []error, fn func(tx *sql.Tx) error) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.leave()
	if err := firstErr(checks); err != nil {
		return err
	}
	return s.read(ctx, op, fn)
}

// firstErr returns the first non-nil error of errs.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// GetRegisteredModel implements store.Registry.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*store.RegisteredModel, error) {
	var out *store.RegisteredModel
	err := s.regRead(ctx, "get registered model", []error{registryguard.Name(name)}, func(tx *sql.Tx) error {
		var err error
		out, _, err = s.getModel(ctx, tx, name)
		return err
	})
	return out, err
}

// UpdateRegisteredModel implements store.Registry: it sets the description
// and last_updated_time.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*store.RegisteredModel, error) {
	var out *store.RegisteredModel
	err := s.regWrite(ctx, "update registered model", []error{registryguard.Update(name, description)}, func(tx *sql.Tx) error {
		n, err := s.regExec(ctx, tx, "UPDATE registered_models SET description = ?, last_updated_time = ?", "name = ?",
			description, s.now(), name)
		if err != nil {
			return err
		}
		if n == 0 {
			return registryguard.ModelNotFound(name)
		}
		out, _, err = s.getModel(ctx, tx, name)
		return err
	})
	return out, err
}

// RenameRegisteredModel implements store.Registry. The new name reaches
// the versions, tags, version tags and aliases through the schema's ON
// UPDATE CASCADE foreign keys; the model and all its versions get
// last_updated_time = now, as in MLflow.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*store.RegisteredModel, error) {
	var out *store.RegisteredModel
	err := s.regWrite(ctx, "rename registered model", []error{registryguard.Rename(name, newName)}, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		now := s.now()
		_, err := s.regExec(ctx, tx, "UPDATE registered_models SET name = ?, last_updated_time = ?", "name = ?", newName, now, name)
		if isConstraint(err) {
			return registryguard.ModelExists(newName)
		}
		if err != nil {
			return err
		}
		if _, err := s.regExec(ctx, tx, "UPDATE model_versions SET last_updated_time = ?", "name = ?", now, newName); err != nil {
			return err
		}
		out, _, err = s.getModel(ctx, tx, newName)
		return err
	})
	return out, err
}

// DeleteRegisteredModel implements store.Registry: the model and all rows
// of its versions, version tags, tags and aliases are deleted.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return s.regWrite(ctx, "delete registered model", []error{registryguard.Name(name)}, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		for _, table := range []string{"model_version_tags", "model_versions", "registered_model_tags", "registered_model_aliases", "registered_models"} {
			if !s.schema.HasTable(table) {
				continue
			}
			if _, err := s.regExec(ctx, tx, "DELETE FROM "+table, "name = ?", name); err != nil {
				return err
			}
		}
		return nil
	})
}

// setTagRow updates a tag row, or inserts it if there is none: MLflow's
// session.merge.
func (s *Store) setTagRow(ctx context.Context, tx *sql.Tx, table, cond string, keyArgs []any, cols []string, value string) error {
	n, err := s.regExec(ctx, tx, "UPDATE "+table+" SET value = ?", cond, append([]any{value}, keyArgs...)...)
	if err != nil || n > 0 {
		return err
	}
	return s.regInsert(ctx, tx, table, append(cols, "value"), append(slices.Clip(keyArgs), value))
}

// SetRegisteredModelTag implements store.Registry (an upsert; no
// timestamp changes, as in MLflow's SQL store).
func (s *Store) SetRegisteredModelTag(ctx context.Context, name string, tag store.Tag) error {
	return s.regWrite(ctx, "set registered model tag", []error{registryguard.SetTag(name, tag)}, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		return s.setTagRow(ctx, tx, "registered_model_tags", `name = ? AND "key" = ?`, []any{name, tag.Key},
			[]string{"name", `"key"`}, tag.Value)
	})
}

// DeleteRegisteredModelTag implements store.Registry.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return s.regWrite(ctx, "delete registered model tag", []error{registryguard.DeleteTag(name, key)}, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		_, err := s.regExec(ctx, tx, "DELETE FROM registered_model_tags", `name = ? AND "key" = ?`, name, key)
		return err
	})
}

// ---- model versions ----

// CreateModelVersion implements store.Registry: the next version is the
// largest number the model ever had plus one, taken under the database's
// write lock.
func (s *Store) CreateModelVersion(ctx context.Context, req store.CreateModelVersionRequest) (*store.ModelVersion, error) {
	var out *store.ModelVersion
	checks := []error{store.ValidateCreateModelVersion(req), s.checkTagLengths("model_version_tags", req.Tags)}
	err := s.regWrite(ctx, "create model version", checks, func(tx *sql.Tx) error {
		req := req
		if err := s.resolveLoggedModelSource(ctx, tx, &req); err != nil {
			return err
		}
		storage := cmp.Or(req.StorageLocation, req.Source)
		now := s.now()
		n, err := s.regExec(ctx, tx, "UPDATE registered_models SET last_updated_time = ?", "name = ?", now, req.Name)
		if err != nil {
			return err
		}
		if n == 0 {
			return registryguard.ModelNotFound(req.Name)
		}
		var maxVersion sql.NullInt64
		w, args := s.where("name = ?", req.Name)
		if err := tx.QueryRowContext(ctx, "SELECT max(version) FROM model_versions"+w, args...).Scan(&maxVersion); err != nil {
			return err
		}
		version := maxVersion.Int64 + 1
		cols := []string{"name", "version", "creation_time", "last_updated_time", "description", "user_id",
			"current_stage", "source", "run_id", "status", "status_message", "run_link", "storage_location"}
		vals := []any{req.Name, version, now, now, nullString(req.Description), nullString(req.UserID),
			store.StageNone, req.Source, nullString(req.RunID), store.ModelVersionReady, nil,
			nullString(req.RunLink), nullString(storage)}
		if !s.features.storageLocation {
			cols, vals = cols[:len(cols)-1], vals[:len(vals)-1] // MLflow before 2.8 has no storage_location
		}
		err = s.regInsert(ctx, tx, "model_versions", cols, vals)
		if isConstraint(err) {
			return store.Errorf(store.ErrInvalidState, "Model Version creation error (name=%s): version %d exists: %v", req.Name, version, err)
		}
		if err != nil {
			return err
		}
		tags := map[string]string{}
		for _, t := range req.Tags {
			tags[t.Key] = t.Value // the last value of a repeated key, as MLflow's tags_dict
		}
		for _, k := range sortedKeys(tags) {
			if err := s.regInsert(ctx, tx, "model_version_tags", []string{`"key"`, "value", "name", "version"},
				[]any{k, tags[k], req.Name, version}); err != nil {
				return err
			}
		}
		out, err = s.getVersion(ctx, tx, req.Name, version)
		return err
	})
	return out, err
}

// resolveLoggedModelSource fills in the storage location and run id of a
// version made from a logged model, as MLflow 3's create_model_version: a
// models:/<model_id> source's storage location is the model's
// artifact_location, and the run id defaults to the source run of that
// model, or else of req.ModelID.
func (s *Store) resolveLoggedModelSource(ctx context.Context, tx *sql.Tx, req *store.CreateModelVersionRequest) error {
	if !s.features.loggedModels {
		return nil
	}
	if id, ok := store.IsLoggedModelURI(req.Source); ok && req.StorageLocation == "" {
		m, err := s.liveModel(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("Unable to fetch model from model URI source artifact location '%s'. Error: %w", req.Source, err)
		}
		req.StorageLocation = m.ArtifactLocation
		req.RunID = cmp.Or(req.RunID, m.SourceRunID)
	}
	if req.RunID == "" && req.ModelID != "" {
		m, err := s.liveModel(ctx, tx, req.ModelID)
		if err != nil {
			return err
		}
		req.RunID = m.SourceRunID
	}
	return nil
}

// GetModelVersion implements store.Registry.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int64) (*store.ModelVersion, error) {
	var out *store.ModelVersion
	err := s.regRead(ctx, "get model version", []error{registryguard.Name(name)}, func(tx *sql.Tx) error {
		var err error
		out, err = s.getVersion(ctx, tx, name, version)
		return err
	})
	return out, err
}

// GetModelVersionDownloadURI implements store.Registry: storage_location,
// or else source.
func (s *Store) GetModelVersionDownloadURI(ctx context.Context, name string, version int64) (string, error) {
	return registryguard.DownloadURI(ctx, s.GetModelVersion, name, version)
}

// UpdateModelVersion implements store.Registry: it sets the version's
// description and last_updated_time (not the model's).
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int64, description string) (*store.ModelVersion, error) {
	var out *store.ModelVersion
	err := s.regWrite(ctx, "update model version", []error{registryguard.Update(name, description)}, func(tx *sql.Tx) error {
		n, err := s.regExec(ctx, tx, "UPDATE model_versions SET description = ?, last_updated_time = ?",
			"name = ? AND version = ? AND current_stage != ?", description, s.now(), name, version, store.StageDeletedInternal)
		if err != nil {
			return err
		}
		if n == 0 {
			return registryguard.VersionNotFound(name, version)
		}
		out, err = s.getVersion(ctx, tx, name, version)
		return err
	})
	return out, err
}

// DeleteModelVersion implements store.Registry with MLflow's soft delete:
// the row stays (so its number is never reused) in stage Deleted_Internal
// with its fields redacted; its aliases are deleted, its tags kept.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int64) error {
	return s.regWrite(ctx, "delete model version", []error{registryguard.Name(name)}, func(tx *sql.Tx) error {
		if err := s.liveVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		now := s.now()
		if _, err := s.regExec(ctx, tx, "UPDATE registered_models SET last_updated_time = ?", "name = ?", now, name); err != nil {
			return err
		}
		if s.features.aliases {
			if _, err := s.regExec(ctx, tx, "DELETE FROM registered_model_aliases", "name = ? AND version = ?", name, version); err != nil {
				return err
			}
		}
		_, err := s.regExec(ctx, tx, "UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = NULL, "+
			"user_id = NULL, source = ?, run_id = ?, run_link = ?, status_message = NULL",
			"name = ? AND version = ?",
			store.StageDeletedInternal, now, redactedSource, redactedRunID, redactedRunLink, name, version)
		return err
	})
}

// TransitionModelVersionStage implements store.Registry. With
// archiveExisting the other versions in the stage are archived in the same
// transaction, so concurrent transitions (from any process) leave exactly
// one version in the stage.
func (s *Store) TransitionModelVersionStage(ctx context.Context, name string, version int64, stage string, archiveExisting bool) (*store.ModelVersion, error) {
	canon, check := registryguard.Transition(name, stage, archiveExisting)
	var out *store.ModelVersion
	err := s.regWrite(ctx, "transition model version stage", []error{check}, func(tx *sql.Tx) error {
		if err := s.liveVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		now := s.now()
		if archiveExisting {
			if _, err := s.regExec(ctx, tx, "UPDATE model_versions SET current_stage = ?, last_updated_time = ?",
				"name = ? AND version != ? AND current_stage = ?", store.StageArchived, now, name, version, canon); err != nil {
				return err
			}
		}
		if _, err := s.regExec(ctx, tx, "UPDATE model_versions SET current_stage = ?, last_updated_time = ?",
			"name = ? AND version = ?", canon, now, name, version); err != nil {
			return err
		}
		if _, err := s.regExec(ctx, tx, "UPDATE registered_models SET last_updated_time = ?", "name = ?", now, name); err != nil {
			return err
		}
		var err error
		out, err = s.getVersion(ctx, tx, name, version)
		return err
	})
	return out, err
}

// GetLatestVersions implements store.Registry.
func (s *Store) GetLatestVersions(ctx context.Context, name string, stages []string) ([]*store.ModelVersion, error) {
	var out []*store.ModelVersion
	err := s.regRead(ctx, "get latest versions", []error{registryguard.LatestVersions(name, stages)}, func(tx *sql.Tx) error {
		_, snap, err := s.getModel(ctx, tx, name)
		if err != nil {
			return err
		}
		out, err = store.LatestPerStage(snap.versions, stages)
		return err
	})
	return out, err
}

// SetModelVersionTag implements store.Registry (an upsert; no timestamp
// changes).
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int64, tag store.Tag) error {
	checks := []error{registryguard.SetTag(name, tag), s.checkTagLengths("model_version_tags", []store.Tag{tag})}
	return s.regWrite(ctx, "set model version tag", checks, func(tx *sql.Tx) error {
		if err := s.liveVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		return s.setTagRow(ctx, tx, "model_version_tags", `name = ? AND version = ? AND "key" = ?`, []any{name, version, tag.Key},
			[]string{"name", "version", `"key"`}, tag.Value)
	})
}

// DeleteModelVersionTag implements store.Registry.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int64, key string) error {
	return s.regWrite(ctx, "delete model version tag", []error{registryguard.DeleteTag(name, key)}, func(tx *sql.Tx) error {
		if err := s.liveVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		_, err := s.regExec(ctx, tx, "DELETE FROM model_version_tags", `name = ? AND version = ? AND "key" = ?`, name, version, key)
		return err
	})
}

// ---- aliases ----

// loadAliases reads the alias rows matching cond into the models of byName
// and into aliases; a schema without aliases has none.
func (s *Store) loadAliases(ctx context.Context, tx *sql.Tx, cond string, args []any,
	byName map[string]*store.RegisteredModel, aliases map[versionKey][]string) error {
	if !s.features.aliases {
		return nil
	}
	rows, err := s.regQuery(ctx, tx, "SELECT name, alias, version FROM registered_model_aliases", cond, args...)
	if err != nil {
		return err
	}
	return eachRow(rows, func() error {
		var n, a string
		var v int64
		if err := rows.Scan(&n, &a, &v); err != nil {
			return err
		}
		if m := byName[n]; m != nil {
			m.Aliases[a] = v
			aliases[versionKey{n, v}] = append(aliases[versionKey{n, v}], a)
		}
		return nil
	})
}

// aliasCheck refuses the alias operations on a schema without aliases
// (MLflow before 2.3 has no alias API at all).
func (s *Store) aliasCheck() error {
	if s.features.aliases {
		return nil
	}
	return s.missingFeature("model version aliases (table registered_model_aliases)", "2.3.0")
}

// SetRegisteredModelAlias implements store.Registry (an upsert of the
// alias row; no timestamp changes).
func (s *Store) SetRegisteredModelAlias(ctx context.Context, name, alias string, version int64) error {
	checks := []error{registryguard.SetAlias(name, alias), s.aliasCheck()}
	return s.regWrite(ctx, "set registered model alias", checks, func(tx *sql.Tx) error {
		if err := s.liveVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		n, err := s.regExec(ctx, tx, "UPDATE registered_model_aliases SET version = ?", "name = ? AND alias = ?", version, name, alias)
		if err != nil || n > 0 {
			return err
		}
		return s.regInsert(ctx, tx, "registered_model_aliases", []string{"alias", "version", "name"}, []any{alias, version, name})
	})
}

// DeleteRegisteredModelAlias implements store.Registry.
func (s *Store) DeleteRegisteredModelAlias(ctx context.Context, name, alias string) error {
	checks := []error{registryguard.Alias(name, alias), s.aliasCheck()}
	return s.regWrite(ctx, "delete registered model alias", checks, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		_, err := s.regExec(ctx, tx, "DELETE FROM registered_model_aliases", "name = ? AND alias = ?", name, alias)
		return err
	})
}

// GetModelVersionByAlias implements store.Registry. "latest" (any case)
// is the highest live version, as MLflow 3's store resolves it.
func (s *Store) GetModelVersionByAlias(ctx context.Context, name, alias string) (*store.ModelVersion, error) {
	var out *store.ModelVersion
	err := s.regRead(ctx, "get model version by alias", []error{registryguard.Alias(name, alias), s.aliasCheck()}, func(tx *sql.Tx) error {
		if err := s.modelExists(ctx, tx, name); err != nil {
			return err
		}
		var version sql.NullInt64
		if registryguard.IsLatest(alias) {
			w, args := s.where("name = ? AND current_stage != ?", name, store.StageDeletedInternal)
			if err := tx.QueryRowContext(ctx, "SELECT max(version) FROM model_versions"+w, args...).Scan(&version); err != nil {
				return err
			}
			if !version.Valid {
				return store.NotFoundf("Latest version not found for model %s.", name)
			}
		} else {
			w, args := s.where("name = ? AND alias = ?", name, alias)
			err := tx.QueryRowContext(ctx, "SELECT version FROM registered_model_aliases"+w, args...).Scan(&version)
			if err == sql.ErrNoRows {
				return registryguard.AliasNotFound(alias)
			}
			if err != nil {
				return err
			}
		}
		var err error
		out, err = s.getVersion(ctx, tx, name, version.Int64)
		return err
	})
	return out, err
}
