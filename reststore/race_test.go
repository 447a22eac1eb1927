package reststore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/store"
)

// TestParamRaceResent: a log-batch that lost a param insert race on
// PostgreSQL (MLflow answers BAD_REQUEST with the IntegrityError) is sent
// again, and succeeds; other INVALID_PARAMETER answers are not resent.
func TestParamRaceResent(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case string(body) == `{"run_id":"0123456789abcdef0123456789abcdef","params":[{"key":"bad","value":"2"}]}`:
			w.WriteHeader(400)
			io.WriteString(w, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Changing param values is not allowed."}`)
		case n == 1:
			w.WriteHeader(400)
			io.WriteString(w, `{"error_code":"BAD_REQUEST","message":"(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"param_pk\"\nDETAIL: Key (key, run_uuid)=(common, x) already exists."}`)
		default:
			io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	s, err := reststore.Open(ctx, srv.URL, &reststore.Options{HTTP: testHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	run := "0123456789abcdef0123456789abcdef"
	if err := s.LogBatch(ctx, run, nil, []store.Param{{Key: "common", Value: "v"}}, nil); err != nil {
		t.Fatalf("LogBatch after a lost param race: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	calls.Store(10)
	err = s.LogBatch(ctx, run, nil, []store.Param{{Key: "bad", Value: "2"}}, nil)
	if !errors.Is(err, store.ErrInvalidParameter) || calls.Load() != 11 {
		t.Errorf("changed param: %v after %d requests, want ErrInvalidParameter after 1", err, calls.Load()-10)
	}
}

// TestLoggedModelsProbe: GET /version decides once whether the server has
// logged models; a server that cannot be asked makes the call fail under
// the caller's context instead of guessing.
func TestLoggedModelsProbe(t *testing.T) {
	var version atomic.Value
	version.Store("2.22.5")
	var probes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			probes.Add(1)
			io.WriteString(w, version.Load().(string))
			return
		}
		io.WriteString(w, `{"model":{"info":{"model_id":"m-0123456789abcdef0123456789abcdef","status":"LOGGED_MODEL_PENDING"}}}`)
	}))
	defer srv.Close()
	s, _ := reststore.Open(ctx, srv.URL, &reststore.Options{HTTP: testHTTP()})
	for range 2 {
		if s.HasLoggedModels() {
			t.Error("MLflow 2: HasLoggedModels true")
		}
	}
	if probes.Load() != 1 {
		t.Errorf("MLflow 2: asked for the version %d times, want once", probes.Load())
	}
	if _, err := s.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{}); !errors.Is(err, store.ErrInvalidState) {
		t.Errorf("CreateLoggedModel on MLflow 2: %v", err)
	}
	version.Store("3.17.2")
	s3, _ := reststore.Open(ctx, srv.URL, &reststore.Options{HTTP: testHTTP()})
	lm, err := s3.CreateLoggedModel(ctx, store.CreateLoggedModelRequest{})
	if err != nil || lm.Status != store.LoggedModelPending {
		t.Errorf("CreateLoggedModel on MLflow 3: %+v, %v", lm, err)
	}
	srv.Close()
	down, _ := reststore.Open(ctx, srv.URL, &reststore.Options{HTTP: testHTTP()})
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := down.GetLoggedModel(cctx, "m-0123456789abcdef0123456789abcdef"); err == nil || errors.Is(err, store.ErrInvalidState) {
		t.Errorf("GetLoggedModel on a server that cannot be asked: %v, want its transport error", err)
	}
}
