package mlflowhttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

func quick(retries int) Config {
	f, j := time.Millisecond, time.Duration(0)
	return Config{MaxRetries: &retries, BackoffFactor: &f, BackoffJitter: &j, Timeout: 5 * time.Second}
}

func newClient(t *testing.T, url string, cfg Config) *Client {
	t.Helper()
	c, err := New(url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRetryPolicy: which failures are retried for idempotent and
// non-idempotent requests.
func TestRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		idem      Idempotency
		wantCalls int32
	}{
		{"500 idempotent", 500, `{"error_code":"INTERNAL_ERROR","message":"x"}`, Idempotent, 4},
		{"500 not idempotent", 500, `{"error_code":"INTERNAL_ERROR","message":"x"}`, NotIdempotent, 1},
		{"500 INVALID_STATE is an answer", 500, `{"error_code":"INVALID_STATE","message":"x"}`, Idempotent, 1},
		{"502 not idempotent", 502, "bad gateway", NotIdempotent, 1},
		{"503 not idempotent", 503, "busy", NotIdempotent, 4},
		{"429 not idempotent", 429, `{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}`, NotIdempotent, 4},
		{"400 never", 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}`, Idempotent, 1},
		{"404 never", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"gone"}`, Idempotent, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, quick(3))
			_, err := c.Do(ctx, Request{Method: "POST", Path: "/x", Body: []byte("{}"), Idempotency: tc.idem})
			var he *Error
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Fatalf("err = %v, want an *Error with status %d", err, tc.status)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if he.Attempts != int(tc.wantCalls) {
				t.Errorf("Attempts = %d", he.Attempts)
			}
		})
	}
}

// TestErrorCodes: MLflow JSON errors keep their code; other answers get
// the code MLflow's client derives from the status.
func TestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		status   int
		body     string
		wantCode string
	}{
		{400, `{"error_code":"RESOURCE_ALREADY_EXISTS","message":"dup"}`, "RESOURCE_ALREADY_EXISTS"},
		{404, "<html>not found</html>", "ENDPOINT_NOT_FOUND"},
		{401, "Unauthorized", "UNAUTHENTICATED"},
		{403, "Forbidden", "PERMISSION_DENIED"},
		{400, `{"error_code":3002,"message":"numeric"}`, "RESOURCE_DOES_NOT_EXIST"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c := newClient(t, srv.URL, quick(0))
		_, err := c.Do(ctx, Request{Method: "GET", Path: "/x"})
		var he *Error
		if !errors.As(err, &he) || he.Code != tc.wantCode {
			t.Errorf("%d %s: %v, want code %s", tc.status, tc.body, err, tc.wantCode)
		}
		srv.Close()
	}
}

// TestNotSentRetried: a connection refused (nothing sent) is retried even
// for a create, and the error says retries ran out.
func TestNotSentRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := newClient(t, "http://"+addr, quick(3))
	start := time.Now()
	_, err = c.Do(ctx, Request{Method: "POST", Path: "/x", Body: []byte("{}"), Idempotency: NotIdempotent})
	if !errors.Is(err, ErrRetriesExhausted) {
		t.Fatalf("err = %v, want ErrRetriesExhausted", err)
	}
	if sent, retries := c.Stats(); sent != 4 || retries != 3 {
		t.Errorf("sent %d, retries %d; want 4, 3", sent, retries)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestAmbiguousNotRetried: a create whose request reached the server and
// whose answer was lost is not sent again; an idempotent request is.
func TestAmbiguousNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.ReadAll(r.Body)
		// Drop the connection without an answer.
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, quick(3))
	if _, err := c.Do(ctx, Request{Method: "POST", Path: "/create", Body: []byte("{}"), Idempotency: NotIdempotent}); err == nil {
		t.Fatal("no error")
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("create sent %d times, want 1", got)
	}
	calls.Store(0)
	if _, err := c.Do(ctx, Request{Method: "POST", Path: "/log", Body: []byte("{}"), Idempotency: Idempotent}); !errors.Is(err, ErrRetriesExhausted) {
		t.Fatalf("err = %v", err)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("idempotent request sent %d times, want 4", got)
	}
}

// TestRetryAfter: a 429's Retry-After is waited for instead of the
// backoff, unless disabled.
func TestRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, quick(2))
	if _, err := c.Do(ctx, Request{Method: "POST", Path: "/x", Body: []byte("{}"), Idempotency: NotIdempotent}); err != nil {
		t.Fatal(err)
	}
	if d := times[1].Sub(times[0]); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want the Retry-After of 1s", d)
	}
	if d, ok := parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", time.Date(2015, 10, 21, 7, 27, 58, 0, time.UTC)); !ok || d != 2*time.Second {
		t.Errorf("HTTP-date Retry-After = %v, %v", d, ok)
	}
}

// TestBackoff follows urllib3: 0, then factor*2^(n-1), capped at 120 s.
func TestBackoff(t *testing.T) {
	f, j := 2*time.Second, time.Duration(0)
	c := &Client{cfg: Config{BackoffFactor: &f, BackoffJitter: &j}}
	var got []time.Duration
	for n := 1; n <= 8; n++ {
		got = append(got, c.backoff(n))
	}
	want := []time.Duration{0, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 64 * time.Second, 120 * time.Second, 120 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff = %v, want %v", got, want)
		}
	}
	j = time.Second
	for range 100 {
		if d := c.backoff(2); d < 4*time.Second || d > 5*time.Second {
			t.Fatalf("jittered backoff %v", d)
		}
	}
}

// TestCancelStopsAtOnce: a cancelled context ends a hanging request and a
// backoff wait immediately.
func TestCancelStopsAtOnce(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/busy" {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(503)
			return
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv.URL, Config{})
	for _, path := range []string{"/hang", "/busy"} {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.Do(cctx, Request{Method: "GET", Path: path})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", path, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: cancel took %v", path, d)
		}
	}
}

// TestTimeout: an attempt that exceeds the timeout fails (and, for an
// idempotent request, is retried).
func TestTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	cfg := quick(1)
	cfg.Timeout = 50 * time.Millisecond
	c := newClient(t, srv.URL, cfg)
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/slow"})
	if err == nil || !strings.Contains(err.Error(), "timed out") || calls.Load() != 2 {
		t.Errorf("err = %v after %d calls", err, calls.Load())
	}
}

// TestAuthHeaders: Basic wins over Bearer when both are set, as in
// MLflow's client; a User-Agent is always sent.
func TestAuthHeaders(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization")+"|"+r.Header.Get("User-Agent"))
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	for _, cfg := range []Config{
		{Username: "u", Password: "p", Token: "tok"},
		{Token: "tok"},
		{},
	} {
		c := newClient(t, srv.URL, cfg)
		if _, err := c.Do(ctx, Request{Method: "GET", Path: "/x"}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Basic dTpw|mlrun-go", "Bearer tok|mlrun-go", "|mlrun-go"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("headers %q, want %q", got, want)
			break
		}
	}
}

// TestConfigFromEnv reads MLflow's variables and refuses bad values.
func TestConfigFromEnv(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	os.MkdirAll(filepath.Join(os.Getenv("HOME"), ".mlflow"), 0o700)
	os.WriteFile(filepath.Join(os.Getenv("HOME"), ".mlflow", "credentials"),
		[]byte("[mlflow]\nmlflow_tracking_username = fileuser\nmlflow_tracking_password = filepass\n"), 0o600)
	t.Setenv(EnvPassword, "envpass")
	t.Setenv(EnvTimeout, "7")
	t.Setenv(EnvMaxRetries, "3")
	t.Setenv(EnvBackoffFactor, "1")
	t.Setenv(EnvBackoffJitter, "0.5")
	t.Setenv(EnvInsecureTLS, "TRUE")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "fileuser" || cfg.Password != "envpass" || cfg.Timeout != 7*time.Second ||
		*cfg.MaxRetries != 3 || *cfg.BackoffFactor != time.Second || *cfg.BackoffJitter != 500*time.Millisecond || !cfg.InsecureTLS {
		t.Errorf("config %+v", cfg)
	}
	for name, val := range map[string]string{
		EnvMaxRetries:     "10",
		EnvBackoffFactor:  "120",
		EnvTimeout:        "x",
		EnvInsecureTLS:    "maybe",
		EnvServerCertPath: "/ca.pem", // with INSECURE_TLS=true
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, val)
			if _, err := ConfigFromEnv(); err == nil {
				t.Errorf("%s=%s accepted", name, val)
			}
		})
	}
}

// TestTLS: a server certificate is verified against
// MLFLOW_TRACKING_SERVER_CERT_PATH, refused without it, and accepted
// unverified with insecure TLS; a client certificate is presented for
// mutual TLS.
func TestTLS(t *testing.T) {
	var sawClientCert atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawClientCert.Store(r.TLS != nil && len(r.TLS.PeerCertificates) > 0)
		io.WriteString(w, "{}")
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

	if _, err := newClient(t, srv.URL, quick(0)).Do(ctx, Request{Method: "GET", Path: "/x"}); err == nil {
		t.Error("an unknown CA was accepted")
	}
	if _, err := newClient(t, srv.URL, Config{ServerCertPath: ca}).Do(ctx, Request{Method: "GET", Path: "/x"}); err != nil {
		t.Errorf("with the CA bundle: %v", err)
	}
	if _, err := newClient(t, srv.URL, Config{InsecureTLS: true}).Do(ctx, Request{Method: "GET", Path: "/x"}); err != nil {
		t.Errorf("insecure: %v", err)
	}
	// The test server's own certificate and key serve as a client pair.
	cert := srv.TLS.Certificates[0]
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, cert.PrivateKey)})
	pair := filepath.Join(dir, "client.pem")
	os.WriteFile(pair, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), keyPEM...), 0o600)
	if _, err := newClient(t, srv.URL, Config{ServerCertPath: ca, ClientCertPath: pair}).Do(ctx, Request{Method: "GET", Path: "/x"}); err != nil {
		t.Fatalf("mTLS: %v", err)
	}
	if !sawClientCert.Load() {
		t.Error("the server saw no client certificate")
	}
}

func mustPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCreatesOnFreshConnections: a create is sent on a new connection,
// never on a pooled one the server may have closed while idle (which
// would make a request that never arrived look possibly processed).
func TestCreatesOnFreshConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr]++
		mu.Unlock()
		io.WriteString(w, "{}")
	}))
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL, Config{})
	for range 3 {
		if _, err := c.Do(ctx, Request{Method: "GET", Path: "/get"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := c.Do(ctx, Request{Method: "POST", Path: "/create", Body: []byte("{}"), Idempotency: NotIdempotent}); err != nil {
			t.Fatal(err)
		}
	}
	// The reads share one pooled connection; each create has its own.
	if len(conns) != 4 {
		t.Errorf("connections %v, want 1 shared by the reads and 3 for the creates", conns)
	}
}
