package compat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// RegistryQueries are the searches and look-ups a registry dump also runs
// (py/registry_dump.py --queries).
type RegistryQueries struct {
	RM       []string    `json:"rm"`       // search_registered_models filters
	MV       []string    `json:"mv"`       // search_model_versions filters
	Missing  [][2]string `json:"missing"`  // [name, version] pairs get_model_version must reject
	MLmodel  []string    `json:"mlmodel"`  // MLmodel paths for mlflow.models.Model.load (Python only)
	Download []string    `json:"download"` // URIs for mlflow.artifacts.download_artifacts (Python only)
}

// DumpRegistry dumps the model registry at uri (file://, sqlite://,
// http://) through MlflowClient with py/registry_dump.py. root, if set, is
// replaced by <ROOT> in sources and download URIs.
func (m *MLflow) DumpRegistry(ctx context.Context, uri string, q *RegistryQueries, root string) (map[string]any, error) {
	dir, err := Scripts()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "mlrun-regdump-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out.json")
	args := []string{filepath.Join(dir, "registry_dump.py"), "--uri", uri, "--out", out}
	if q != nil {
		b, _ := json.Marshal(q)
		qf := filepath.Join(tmp, "q.json")
		if err := os.WriteFile(qf, b, 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--queries", qf)
	}
	if root != "" {
		args = append(args, "--normalize-root", root)
	}
	if _, err := m.run(ctx, "python", args...); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("MLflow %s: registry_dump.py: %w", m.Version, err)
	}
	return d, nil
}

// GoRegistryDump dumps a registry through mlrun's store.Registry in the
// format of py/registry_dump.py (the keys both can produce: models,
// versions, latest, by_alias, searches, missing).
func GoRegistryDump(ctx context.Context, r store.Registry, q *RegistryQueries, root string) (map[string]any, error) {
	norm := func(s string) any {
		if s == "" {
			return nil
		}
		if root != "" {
			s = strings.ReplaceAll(s, root, "<ROOT>")
		}
		return s
	}
	var models []*store.RegisteredModel
	token := ""
	for {
		p, err := r.SearchRegisteredModels(ctx, store.RegisteredModelQuery{MaxResults: 2, PageToken: token})
		if err != nil {
			return nil, err
		}
		models = append(models, p.Models...)
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	out := map[string]any{}
	var rms []any
	latest := map[string]any{}
	byAlias := map[string]any{}
	for _, m := range models {
		g, err := r.GetRegisteredModel(ctx, m.Name)
		if err != nil {
			return nil, err
		}
		aliases := map[string]any{}
		for a, v := range g.Aliases {
			aliases[a] = strconv.FormatInt(v, 10)
		}
		lv := []any{}
		for _, mv := range g.LatestVersions {
			lv = append(lv, []any{mv.CurrentStage, strconv.FormatInt(mv.Version, 10)})
		}
		sortPairs(lv)
		rms = append(rms, map[string]any{
			"name": g.Name, "creation_timestamp": g.CreationTimestamp, "last_updated_timestamp": g.LastUpdatedTimestamp,
			"description": norm(g.Description), "tags": strMap(g.Tags), "aliases": aliases,
			"latest_versions": lv, "search_equal": true,
		})
		lat := map[string]any{"all": lv}
		for _, st := range store.AllStages {
			vs, err := r.GetLatestVersions(ctx, g.Name, []string{st})
			if err != nil {
				return nil, err
			}
			l := []any{}
			for _, mv := range vs {
				l = append(l, strconv.FormatInt(mv.Version, 10))
			}
			lat[st] = l
		}
		latest[g.Name] = lat
		ba := map[string]any{}
		for a := range g.Aliases {
			mv, err := r.GetModelVersionByAlias(ctx, g.Name, a)
			if err != nil {
				ba[a] = map[string]any{"error": store.Code(err)}
				continue
			}
			ba[a] = strconv.FormatInt(mv.Version, 10)
		}
		byAlias[g.Name] = ba
	}
	if rms == nil {
		rms = []any{}
	}
	out["models"], out["latest"], out["by_alias"] = rms, latest, byAlias

	var mvs []*store.ModelVersion
	token = ""
	for {
		p, err := r.SearchModelVersions(ctx, store.ModelVersionQuery{MaxResults: 3, PageToken: token})
		if err != nil {
			return nil, err
		}
		mvs = append(mvs, p.Versions...)
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	sort.Slice(mvs, func(i, j int) bool {
		if mvs[i].Name != mvs[j].Name {
			return mvs[i].Name < mvs[j].Name
		}
		return mvs[i].Version < mvs[j].Version
	})
	versions := []any{}
	for _, mv := range mvs {
		uri, err := r.GetModelVersionDownloadURI(ctx, mv.Name, mv.Version)
		if err != nil {
			return nil, err
		}
		aliases := []any{}
		for _, a := range mv.Aliases {
			aliases = append(aliases, a)
		}
		versions = append(versions, map[string]any{
			"name": mv.Name, "version": strconv.FormatInt(mv.Version, 10),
			"creation_timestamp": mv.CreationTimestamp, "last_updated_timestamp": mv.LastUpdatedTimestamp,
			"current_stage": mv.CurrentStage, "description": norm(mv.Description), "user_id": norm(mv.UserID),
			"source": norm(mv.Source), "run_id": norm(mv.RunID), "run_link": norm(mv.RunLink),
			"status": mv.Status, "status_message": norm(mv.StatusMessage), "tags": strMap(mv.Tags),
			"aliases": aliases, "model_id": norm(mv.ModelID), "get_equal": true, "download_uri": norm(uri),
		})
	}
	out["versions"] = versions

	rmq, mvq, missing := map[string]any{}, map[string]any{}, map[string]any{}
	if q != nil {
		for _, f := range q.RM {
			p, err := r.SearchRegisteredModels(ctx, store.RegisteredModelQuery{Filter: f})
			if err != nil {
				rmq[f] = map[string]any{"error": store.Code(err)}
				continue
			}
			names := []any{}
			for _, m := range p.Models {
				names = append(names, m.Name)
			}
			rmq[f] = names
		}
		for _, f := range q.MV {
			p, err := r.SearchModelVersions(ctx, store.ModelVersionQuery{Filter: f})
			if err != nil {
				mvq[f] = map[string]any{"error": store.Code(err)}
				continue
			}
			pairs := []any{}
			for _, mv := range p.Versions {
				pairs = append(pairs, []any{mv.Name, strconv.FormatInt(mv.Version, 10)})
			}
			mvq[f] = pairs
		}
		for _, nv := range q.Missing {
			key := nv[0] + "/" + nv[1]
			v, err := store.ParseModelVersion(nv[1])
			if err == nil {
				var mv *store.ModelVersion
				mv, err = r.GetModelVersion(ctx, nv[0], v)
				if err == nil {
					missing[key] = map[string]any{"found": strconv.FormatInt(mv.Version, 10)}
					continue
				}
			}
			missing[key] = store.Code(err)
		}
	}
	out["searches"] = map[string]any{"rm": rmq, "mv": mvq}
	out["missing"] = missing
	// Round-trip through JSON so that the value types equal a parsed dump.
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var d map[string]any
	err = json.Unmarshal(b, &d)
	return d, err
}

func strMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortPairs(l []any) {
	sort.Slice(l, func(i, j int) bool {
		a, b := l[i].([]any), l[j].([]any)
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
}

// ComparableRegistryDump keeps the keys both dumps produce and maps empty
// strings to null (the REST API drops empty fields).
func ComparableRegistryDump(d map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"models", "versions", "latest", "by_alias", "searches", "missing"} {
		out[k] = emptyToNil(d[k])
	}
	return out
}

func emptyToNil(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
	case map[string]any:
		o := map[string]any{}
		for k, e := range x {
			if k == "message" {
				continue
			}
			o[k] = emptyToNil(e)
		}
		return o
	case []any:
		o := make([]any, len(x))
		for i, e := range x {
			o[i] = emptyToNil(e)
		}
		return o
	}
	return v
}
