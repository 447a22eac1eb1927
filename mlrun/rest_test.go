package mlrun_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun-go/mlrun/mlrun"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/store"
)

// TestTrackingURIREST: http(s) URIs select the REST backend; Databricks
// and SQL server URIs are refused with a clear error, and a bare
// "databricks" no longer becomes a ./databricks file store.
func TestTrackingURIREST(t *testing.T) {
	for _, uri := range []string{"http://localhost:5000", "https://mlflow.example.com/prefix", "HTTP://127.0.0.1:8080/"} {
		b, p, err := mlrun.ParseTrackingURI(uri)
		if err != nil || b != mlrun.BackendREST || p != uri {
			t.Errorf("ParseTrackingURI(%q) = %q, %q, %v; want rest", uri, b, p, err)
		}
	}
	for _, bad := range []string{"databricks", "Databricks", "databricks://profile", "databricks-uc", "uc:", "uc",
		"postgresql://u@h/db", "postgresql+psycopg2://u@h/db", "mysql://h/db", "http://", "http://h:5000/?x=1"} {
		_, _, err := mlrun.ParseTrackingURI(bad)
		if !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("ParseTrackingURI(%q) error = %v, want ErrInvalidParameter", bad, err)
		}
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if _, err := mlrun.Open(context.Background(), mlrun.WithTrackingURI("databricks")); err == nil || !strings.Contains(err.Error(), "Databricks is not supported") {
		t.Errorf("Open(databricks) = %v, want the Databricks error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "databricks")); !os.IsNotExist(err) {
		t.Errorf("Open(databricks) created ./databricks: %v", err)
	}
}

// TestOpenREST: mlrun.Open with an http URI logs through the server's REST
// API (a fake server here; reststore's tests run real MLflow servers).
func TestOpenREST(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/2.0/mlflow/experiments/get-by-name":
			w.Write([]byte(`{"experiment":{"experiment_id":"7","name":"team","artifact_location":"mlflow-artifacts:/7","lifecycle_stage":"active","creation_time":1,"last_update_time":1}}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error_code":"ENDPOINT_NOT_FOUND","message":"no"}`))
		}
	}))
	defer srv.Close()
	t.Setenv("MLFLOW_TRACKING_URI", srv.URL)
	c, err := mlrun.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Store().(*reststore.Store); !ok {
		t.Fatalf("store is %T, want *reststore.Store", c.Store())
	}
	exp, err := c.SetExperiment(context.Background(), "team")
	if err != nil || exp.ID != "7" {
		t.Fatalf("SetExperiment = %+v, %v", exp, err)
	}
	if len(paths) != 1 || !strings.HasPrefix(paths[0], "GET /api/2.0/mlflow/experiments/get-by-name") {
		t.Errorf("requests %q", paths)
	}
}

// TestOpenRESTArtifactRoot: an MLflow server decides its runs' artifact
// root, so WithArtifactRoot is refused for an http URI.
func TestOpenRESTArtifactRoot(t *testing.T) {
	_, err := mlrun.Open(context.Background(), mlrun.WithTrackingURI("http://127.0.0.1:1"), mlrun.WithArtifactRoot(t.TempDir()))
	if !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("Open(http, WithArtifactRoot) = %v, want ErrInvalidParameter", err)
	}
}
