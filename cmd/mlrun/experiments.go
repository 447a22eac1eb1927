package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/mlrun-go/mlrun/store"
)

// experimentJSON is one experiment in `mlrun experiments --json` output.
type experimentJSON struct {
	ExperimentID     string            `json:"experiment_id"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location"`
	LifecycleStage   string            `json:"lifecycle_stage"`
	CreationTime     int64             `json:"creation_time"`
	LastUpdateTime   int64             `json:"last_update_time"`
	Tags             map[string]string `json:"tags"`
}

func runExperiments(ctx context.Context, cmd *cmdEnv) error {
	fs := cmd.flags()
	uri := trackingURIFlag(fs)
	view := fs.String("view", "active", "which experiments: active, deleted or all")
	asJSON := fs.Bool("json", false, "print one JSON array")
	if _, err := cmd.parse(fs, 0, 0); err != nil {
		return err
	}
	vt, err := parseView(cmd.name, *view)
	if err != nil {
		return err
	}
	c, done, err := openExisting(ctx, *uri)
	if err != nil {
		return err
	}
	defer done()
	stdout := cmd.stdout
	var exps []*store.Experiment
	q := store.ExperimentQuery{ViewType: vt}
	for {
		page, err := c.SearchExperiments(ctx, q)
		if err != nil {
			return err
		}
		exps = append(exps, page.Experiments...)
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	if *asJSON {
		out := make([]experimentJSON, len(exps))
		for i, e := range exps {
			tags := e.Tags
			if tags == nil {
				tags = map[string]string{}
			}
			out[i] = experimentJSON{e.ID, e.Name, e.ArtifactLocation, e.LifecycleStage, e.CreationTime, e.LastUpdateTime, tags}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTAGE\tARTIFACT LOCATION")
	for _, e := range exps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, e.Name, e.LifecycleStage, e.ArtifactLocation)
	}
	return tw.Flush()
}
