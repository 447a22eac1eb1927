package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun-go/mlrun/fsstore"
	"github.com/mlrun-go/mlrun/store"
)

func TestModelsCommand(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "mlruns")
	s, err := fsstore.Open(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.CreateRegisteredModel(ctx, "ridge", nil, "best ✓")
	for range 2 {
		s.CreateModelVersion(ctx, store.CreateModelVersionRequest{Name: "ridge", Source: "file:///m"})
	}
	s.TransitionModelVersionStage(ctx, "ridge", 2, "Production", true)
	s.SetRegisteredModelAlias(ctx, "ridge", "champion", 2)
	s.Close()

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"models", "--tracking-uri", root}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "v2    Production file:///m  @champion") {
		t.Errorf("text output:\n%s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"models", "--tracking-uri", root, "--json"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var got []modelJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Aliases["champion"] != 2 || len(got[0].Versions) != 2 || got[0].Versions[1].Stage != "Production" || got[0].Description != "best ✓" {
		t.Errorf("json %+v", got)
	}
	if err := run(ctx, []string{"models", "--tracking-uri", root, "--filter", "name = bad"}, &out, &errOut); err == nil {
		t.Error("bad filter: no error")
	}
}
