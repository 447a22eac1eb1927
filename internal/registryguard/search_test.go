package registryguard_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/sqlstore"
	"github.com/mlrun-go/mlrun/store"
)

var ctx = context.Background()

// TestSearchScope checks, on each backend, that a search whose filter
// has a clause name = '<n>' (which reads model n only, see SearchScope)
// answers as the same search with name LIKE '<n>' (which reads the whole
// registry): filters, order, pages and prompts included.
func TestSearchScope(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) (store.Registry, error)
	}{
		{"fsstore", func(t *testing.T) (store.Registry, error) { return fsstore.Open(ctx, t.TempDir(), nil) }},
		{"sqlstore", func(t *testing.T) (store.Registry, error) {
			return sqlstore.Open(ctx, filepath.Join(t.TempDir(), "mlflow.db"), &sqlstore.Options{ArtifactRoot: t.TempDir()})
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			s, err := b.open(t)
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := s.(interface{ Close() error }); ok {
				t.Cleanup(func() { c.Close() })
			}
			testSearchScope(t, s)
		})
	}
}

func testSearchScope(t *testing.T, s store.Registry) {
	for _, name := range []string{"a", "ab", "b", "p"} {
		var tags []store.Tag
		if name == "p" {
			tags = []store.Tag{{Key: store.PromptTagKey, Value: "true"}}
		}
		if _, err := s.CreateRegisteredModel(ctx, name, tags, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			req := store.CreateModelVersionRequest{Name: name, Source: "/src/" + name, Tags: []store.Tag{{Key: "i", Value: string(rune('0' + i))}}}
			if name == "p" {
				req.Tags = append(req.Tags, store.Tag{Key: store.PromptTagKey, Value: "true"})
			}
			if _, err := s.CreateModelVersion(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	versionsOf := func(p *store.ModelVersionPage) []string {
		var out []string
		for _, mv := range p.Versions {
			out = append(out, mv.Name+"/"+strconv.FormatInt(mv.Version, 10))
		}
		return append(out, "next="+p.NextPageToken)
	}
	modelsOf := func(p *store.RegisteredModelPage) []string {
		var out []string
		for _, m := range p.Models {
			out = append(out, m.Name)
		}
		return append(out, "next="+p.NextPageToken)
	}
	for _, rest := range []string{"", " AND version_number > 1", " AND tags.i = '2'", " AND tags.`" + store.PromptTagKey + "` = 'true'"} {
		for _, name := range []string{"a", "p", "nope", "..", ".mlrun.lock"} {
			for _, q := range []store.ModelVersionQuery{{}, {MaxResults: 2}, {OrderBy: []string{"version_number ASC"}, MaxResults: 1}} {
				scoped, like := q, q
				scoped.Filter, like.Filter = "name = '"+name+"'"+rest, "name LIKE '"+name+"'"+rest
				got, err := s.SearchModelVersions(ctx, scoped)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.SearchModelVersions(ctx, like)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := versionsOf(got), versionsOf(want); !slices.Equal(g, w) {
					t.Errorf("SearchModelVersions(%+v) = %v, want %v", scoped, g, w)
				}
			}
		}
	}
	for _, rest := range []string{"", " AND tags.`" + store.PromptTagKey + "` = 'true'"} {
		for _, name := range []string{"a", "p", "nope"} {
			scoped := store.RegisteredModelQuery{Filter: "name = '" + name + "'" + rest}
			like := store.RegisteredModelQuery{Filter: "name LIKE '" + name + "'" + rest}
			got, err := s.SearchRegisteredModels(ctx, scoped)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.SearchRegisteredModels(ctx, like)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := modelsOf(got), modelsOf(want); !slices.Equal(g, w) {
				t.Errorf("SearchRegisteredModels(%q) = %v, want %v", scoped.Filter, g, w)
			}
		}
	}
}
