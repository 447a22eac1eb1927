package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/mlrun-go/mlrun/store"
)

// modelVersionJSON is one version in `mlrun models --json` output.
type modelVersionJSON struct {
	Version     int64             `json:"version"`
	Stage       string            `json:"stage"`
	Aliases     []string          `json:"aliases"`
	Source      string            `json:"source"`
	RunID       string            `json:"run_id,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

type modelJSON struct {
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	Tags        map[string]string  `json:"tags,omitempty"`
	Aliases     map[string]int64   `json:"aliases"`
	Versions    []modelVersionJSON `json:"versions"`
}

// runModels lists registered models: mlrun models --tracking-uri URI [--json] [--filter F].
func runModels(ctx context.Context, cmd *cmdEnv) error {
	fs := cmd.flags()
	uri := trackingURIFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	filter := fs.String("filter", "", "MLflow filter for registered models, e.g. \"name LIKE 'ridge%'\"")
	if _, err := cmd.parse(fs, 0, 0); err != nil {
		return err
	}
	c, done, err := openExisting(ctx, *uri)
	if err != nil {
		return err
	}
	defer done()
	stdout := cmd.stdout
	var models []modelJSON
	token := ""
	for {
		page, err := c.SearchRegisteredModels(ctx, store.RegisteredModelQuery{Filter: *filter, PageToken: token, MaxResults: 1000})
		if err != nil {
			return err
		}
		for _, m := range page.Models {
			mj := modelJSON{Name: m.Name, Description: m.Description, Tags: m.Tags, Aliases: m.Aliases, Versions: []modelVersionJSON{}}
			vtoken := ""
			for {
				vp, err := c.SearchModelVersions(ctx, store.ModelVersionQuery{Filter: "name = '" + m.Name + "'", PageToken: vtoken})
				if err != nil {
					return err
				}
				for _, v := range vp.Versions {
					if v.Name != m.Name {
						continue
					}
					al := v.Aliases
					if al == nil {
						al = []string{}
					}
					mj.Versions = append(mj.Versions, modelVersionJSON{Version: v.Version, Stage: v.CurrentStage, Aliases: al,
						Source: v.Source, RunID: v.RunID, Description: v.Description, Tags: v.Tags})
				}
				if vtoken = vp.NextPageToken; vtoken == "" {
					break
				}
			}
			sort.Slice(mj.Versions, func(i, j int) bool { return mj.Versions[i].Version < mj.Versions[j].Version })
			models = append(models, mj)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if *asJSON {
		if models == nil {
			models = []modelJSON{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(models)
	}
	if len(models) == 0 {
		fmt.Fprintln(stdout, "no registered models")
		return nil
	}
	for _, m := range models {
		fmt.Fprintf(stdout, "%s", m.Name)
		if m.Description != "" {
			fmt.Fprintf(stdout, "  — %s", strings.ReplaceAll(m.Description, "\n", " "))
		}
		fmt.Fprintln(stdout)
		for _, v := range m.Versions {
			al := ""
			if len(v.Aliases) > 0 {
				al = "  @" + strings.Join(v.Aliases, " @")
			}
			fmt.Fprintf(stdout, "  v%-4d %-10s %s%s\n", v.Version, v.Stage, v.Source, al)
		}
	}
	return nil
}
