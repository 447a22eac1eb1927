package mlrun_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// TestModelWorkflow is the registry workflow end to end: log a model,
// register it from runs:/, move versions through the stages (archiving the
// older ones), set an alias, and resolve every kind of model URI to the
// model's files.
func TestModelWorkflow(t *testing.T) {
	t.Setenv(mlrun.EnvModelLayout, "mlflow2") // this test checks the runs:/ (2.x) layout
	ctx := context.Background()
	c, _ := openTemp(t)
	var uris []string
	for i := range 3 {
		run, err := c.StartRun(ctx, mlrun.WithRunName("train"))
		if err != nil {
			t.Fatal(err)
		}
		lm, err := run.LogModel(ctx, "model", mlrun.Model{
			Flavors: map[string]map[string]any{"go_ridge": {"data": "weights.json", "format": "json"}},
			Files:   map[string][]byte{"weights.json": []byte(`[1,2,` + string(rune('0'+i)) + `]`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if lm.URI != "runs:/"+run.ID()+"/model" {
			t.Errorf("URI %q", lm.URI)
		}
		b, err := os.ReadFile(filepath.Join(lm.LocalPath, "MLmodel"))
		if err != nil || !strings.Contains(string(b), "go_ridge:") || !strings.Contains(string(b), "run_id: "+run.ID()) {
			t.Errorf("MLmodel %q %v", b, err)
		}
		got, _ := run.Get(ctx)
		hist, _ := got.Tag(mlrun.LogModelHistoryTag)
		var h []map[string]any
		if err := json.Unmarshal([]byte(hist), &h); err != nil || len(h) != 1 || h[0]["artifact_path"] != "model" || h[0]["model_uuid"] != lm.ModelUUID {
			t.Errorf("history %q: %v", hist, err)
		}
		if err := run.End(ctx); err != nil {
			t.Fatal(err)
		}
		uris = append(uris, lm.URI)
	}
	for i, u := range uris {
		mv, err := c.RegisterModel(ctx, u, "ridge", mlrun.WithVersionDescription("sweep ✓"), mlrun.WithVersionTags(map[string]string{"i": string(rune('0' + i))}))
		if err != nil {
			t.Fatal(err)
		}
		if mv.Version != int64(i+1) || !strings.HasPrefix(mv.Source, "file://") || !strings.HasSuffix(mv.Source, "/artifacts/model") || mv.RunID == "" {
			t.Errorf("registered %+v", mv)
		}
		if _, err := c.TransitionModelVersionStage(ctx, "ridge", mv.Version, "Production", true); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetRegisteredModelAlias(ctx, "ridge", "champion", 3); err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{
		"models:/ridge/3":          "2]",
		"models:/ridge/Production": "2]",
		"models:/ridge/production": "2]",
		"models:/ridge@champion":   "2]",
		"models:/ridge/latest":     "2]",
		"models:/ridge/1":          "0]",
		"models:/ridge/Archived":   "1]",
		uris[0]:                    "0]",
	} {
		p, err := c.ResolveModelURI(ctx, uri)
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		b, err := os.ReadFile(filepath.Join(p, "weights.json"))
		if err != nil || !strings.HasSuffix(string(b), want) {
			t.Errorf("%s: %s: %q %v, want …%s", uri, p, b, err, want)
		}
	}
	latest, _ := c.GetLatestVersions(ctx, "ridge")
	if len(latest) != 2 || latest[0].CurrentStage != "Production" || latest[0].Version != 3 || latest[1].Version != 2 {
		t.Errorf("latest %+v", latest)
	}
	for _, bad := range []string{"models:/ridge/Prod", "models:/ridge/9", "models:/ridge@nobody", "models:/nope/1", "models:/ridge", "runs:/x y/model"} {
		if _, err := c.ResolveModelURI(ctx, bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	// Bad input: clear errors, nothing written.
	for _, name := range []string{"a/b", "50%", " ", ""} {
		if _, err := c.RegisterModel(ctx, uris[0], name); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("register as %q: %v", name, err)
		}
	}
	for _, alias := range []string{"latest", "v3", "V1"} {
		if err := c.SetRegisteredModelAlias(ctx, "ridge", alias, 1); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("alias %q: %v", alias, err)
		}
	}
	if _, err := c.TransitionModelVersionStage(ctx, "ridge", 1, "Shipping", false); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("bad stage: %v", err)
	}
	if _, err := c.TransitionModelVersionStage(ctx, "ridge", 42, "Staging", false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}
	page, _ := c.SearchRegisteredModels(ctx, store.RegisteredModelQuery{})
	if len(page.Models) != 1 {
		t.Errorf("%d models after bad input, want 1", len(page.Models))
	}
	rm, _ := c.GetRegisteredModel(ctx, "ridge")
	if len(rm.Aliases) != 1 {
		t.Errorf("aliases after bad input: %v", rm.Aliases)
	}
}

func TestLogModelBadInput(t *testing.T) {
	ctx := context.Background()
	c, _ := openTemp(t)
	run, err := c.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		m    mlrun.Model
	}{
		{"model", mlrun.Model{}},
		{"", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}}},
		{"../x", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}}},
		{"model", mlrun.Model{Flavors: map[string]map[string]any{"f": {}}, Files: map[string][]byte{"MLmodel": nil}}},
	} {
		if _, err := run.LogModel(ctx, tc.path, tc.m); err == nil {
			t.Errorf("LogModel(%q, %+v): no error", tc.path, tc.m)
		}
	}
}
