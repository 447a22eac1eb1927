package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/store"
)

// Registry names used by the example.
const (
	registeredModelName = "ridge-sweep"
	championAlias       = "champion"
)

// registerBest ends the sweep the way an MLflow user would: it logs the
// best run's model (its weights as JSON, with a custom go_ridge flavor),
// registers it as a new version of ridge-sweep, moves that version to
// Production (archiving the versions there before it) and points the alias
// champion at it. The model is then found by models:/ridge-sweep/Production
// or models:/ridge-sweep@champion, in mlrun and in MLflow.
//
// It returns nil (and does nothing) if the store has no model registry.
func registerBest(ctx context.Context, c *mlrun.Client, best result) (*store.ModelVersion, error) {
	if _, err := c.Registry(); err != nil {
		return nil, nil
	}
	weights, err := json.MarshalIndent(map[string]any{"w": best.model.w, "b": best.model.b, "alpha": best.alpha}, "", "  ")
	if err != nil {
		return nil, err
	}
	// The best run has ended: Client.LogModel adds the model to it
	// without reopening it (its status and end time stay).
	lm, err := c.LogModel(ctx, best.runID, "model", mlrun.Model{
		Flavors: map[string]map[string]any{"go_ridge": {"data": "weights.json", "format": "json", "predict": "x·w + b"}},
		Files:   map[string][]byte{"weights.json": weights},
	})
	if err != nil {
		return nil, err
	}
	mv, err := c.RegisterModel(ctx, lm.URI, registeredModelName,
		mlrun.WithVersionDescription(fmt.Sprintf("ridge, alpha=%g, valid RMSE %.4f", best.alpha, best.rmse)),
		mlrun.WithVersionTags(map[string]string{"alpha": fmt.Sprint(best.alpha)}))
	if err != nil {
		return nil, err
	}
	mv, err = c.TransitionModelVersionStage(ctx, registeredModelName, mv.Version, store.StageProduction, true)
	if err != nil {
		return nil, err
	}
	if err := c.SetRegisteredModelAlias(ctx, registeredModelName, championAlias, mv.Version); err != nil {
		return nil, err
	}
	return mv, nil
}
