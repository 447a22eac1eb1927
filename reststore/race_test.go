package reststore_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
