// Package mlflowuri forwards to internal/mlflowuri, where MLflow's URI
// helpers now live so that store and fsstore use them too. It remains only
// for sqlstore/schema's import; new code imports internal/mlflowuri.
package mlflowuri

import "github.com/mlrun-go/mlrun/internal/mlflowuri"

// DefaultLocalArtifactPath is mlflowuri.DefaultLocalArtifactPath.
const DefaultLocalArtifactPath = mlflowuri.DefaultLocalArtifactPath

// DefaultArtifactRoot is mlflowuri.DefaultArtifactRoot.
func DefaultArtifactRoot() (string, error) { return mlflowuri.DefaultArtifactRoot() }

// ResolveIfLocal is mlflowuri.ResolveIfLocal.
func ResolveIfLocal(uri string) (string, error) { return mlflowuri.ResolveIfLocal(uri) }

// AppendPath is mlflowuri.AppendPath.
func AppendPath(uri string, paths ...string) (string, error) {
	return mlflowuri.AppendPath(uri, paths...)
}
