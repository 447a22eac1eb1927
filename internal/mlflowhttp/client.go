package mlflowhttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Idempotency tells the Client which failures of a request may be retried.
type Idempotency int

const (
	// Idempotent requests (reads, and writes whose repetition changes
	// nothing) are retried after any transient failure: a connection
	// error, a timeout, or a 408, 429, 500, 502, 503 or 504 response.
	Idempotent Idempotency = iota
	// NotIdempotent requests (creations) are retried only when the server
	// cannot have processed them: the connection failed before the whole
	// request was sent, or the server answered 429 or 503 (it refused the
	// request). A failure after the request was sent is returned at once,
	// since a retry could create a second entity.
	NotIdempotent
)

// Request is one call to the server.
type Request struct {
	Method string
	// Path is appended to the tracking URI's path, e.g.
	// "/api/2.0/mlflow/runs/create". It is sent as given (escape it).
	Path  string
	Query url.Values
	// Body is the request body (JSON unless ContentType says otherwise).
	Body        []byte
	ContentType string
	// BodyFunc, if set, opens the body anew for every attempt (uploads).
	BodyFunc    func() (io.ReadCloser, int64, error)
	Idempotency Idempotency
}

// Response is a successful (2xx) response with its whole body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Error is an error response of the server: an MLflow error
// ({"error_code": ..., "message": ...}) or another non-2xx answer, whose
// Code is then derived from the status as MLflow's client does.
type Error struct {
	Method, URL string
	Status      int
	Code        string // e.g. RESOURCE_DOES_NOT_EXIST
	Message     string
	Attempts    int // how many times the request was sent
}

func (e *Error) Error() string {
	msg := e.Message
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	s := fmt.Sprintf("%s %s: HTTP %d %s: %s", e.Method, e.URL, e.Status, e.Code, msg)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

// ErrRetriesExhausted is wrapped by the error of a request that failed
// on every attempt with a transient error.
var ErrRetriesExhausted = errors.New("retries exhausted")

// Client sends requests to one MLflow server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	cfg  Config
	http *http.Client
	// fresh sends NotIdempotent requests, each on a new connection: on a
	// pooled connection the server may have closed while idle, a request
	// can be written and then fail with nothing read, which looks like a
	// request the server may have processed; on a new connection that
	// cannot happen, so a failure is then either before sending (retried)
	// or truly ambiguous (returned).
	fresh   *http.Client
	agent   string
	auth    string // the Authorization header, "" for none
	sleep   func(ctx context.Context, d time.Duration) error
	sent    atomic.Int64 // attempts sent, for tests and stats
	retries atomic.Int64 // retries made
}

// DefaultUserAgent is sent unless Config.UserAgent is set.
const DefaultUserAgent = "mlrun-go"

// New returns a client for the server at baseURL (an http or https
// tracking URI).
func New(baseURL string, cfg Config) (*Client, error) {
	base, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rt, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, cfg: cfg, agent: cfg.UserAgent, sleep: sleepCtx,
		http: &http.Client{Transport: rt}, fresh: &http.Client{Transport: rt}}
	if t, ok := rt.(*http.Transport); ok {
		ft := t.Clone()
		ft.DisableKeepAlives = true
		c.fresh.Transport = ft
	}
	if c.agent == "" {
		c.agent = DefaultUserAgent
	}
	switch {
	case cfg.Username != "" && cfg.Password != "":
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password))
	case cfg.Token != "":
		c.auth = "Bearer " + cfg.Token
	}
	return c, nil
}

// BaseURL returns the tracking URI the client talks to (without a
// trailing slash).
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// Stats returns how many attempts were sent and how many of them were
// retries.
func (c *Client) Stats() (attempts, retries int64) { return c.sent.Load(), c.retries.Load() }

// CloseIdleConnections closes the pooled connections.
func (c *Client) CloseIdleConnections() {
	c.http.CloseIdleConnections()
	c.fresh.CloseIdleConnections()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do sends req, retrying as its Idempotency allows, and returns the
// response of the first attempt that succeeds (2xx). A non-2xx answer is
// an *Error. A cancelled ctx stops at once, also during a wait.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	resp, err := c.do(ctx, req, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", req.Method, c.url(req), err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// Stream is Do for large responses: it returns the response once its
// headers arrived, and the caller reads and closes the body. The
// per-attempt timeout covers the wait for the headers only.
func (c *Client) Stream(ctx context.Context, req Request) (*http.Response, error) {
	return c.do(ctx, req, true)
}

func (c *Client) url(req Request) string {
	u := *c.base
	u.RawPath = ""
	u.Path = c.base.Path + req.Path
	if strings.ContainsAny(req.Path, "%") {
		// The path is already escaped: keep it as given.
		u.RawPath = c.base.EscapedPath() + req.Path
		if p, err := url.PathUnescape(u.RawPath); err == nil {
			u.Path = p
		}
	}
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}
	return u.String()
}

// outcome classifies a failed attempt.
type outcome int

const (
	final     outcome = iota // do not retry
	notSent                  // the server cannot have processed it: retry any request
	ambiguous                // it may have been processed: retry idempotent requests only
)

func (c *Client) do(ctx context.Context, req Request, stream bool) (*http.Response, error) {
	target := c.url(req)
	max := c.cfg.maxRetries()
	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, kind, wait, err := c.attempt(ctx, req, target, stream)
		if err == nil {
			return resp, nil
		}
		var herr *Error
		if errors.As(err, &herr) {
			herr.Attempts = attempt + 1
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		retry := kind == notSent || (kind == ambiguous && req.Idempotency == Idempotent)
		if !retry {
			return nil, err
		}
		if attempt >= max {
			if herr != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w after %d attempts: %w", ErrRetriesExhausted, attempt+1, lastErr)
		}
		if wait < 0 {
			wait = c.backoff(attempt + 1)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		c.retries.Add(1)
	}
}

// backoff is urllib3's Retry.get_backoff_time before the n-th retry (n
// from 1): nothing before the first, then factor*2^(n-1) plus up to
// jitter, capped at 120 s.
func (c *Client) backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := c.cfg.backoffFactor() * time.Duration(1<<min(n-1, 20))
	if j := c.cfg.backoffJitter(); j > 0 {
		d += time.Duration(rand.Int64N(int64(j) + 1))
	}
	return min(d, MaxBackoff)
}

// attempt sends the request once. On failure it says whether the server
// may have processed it and how long to wait first (-1: the backoff).
func (c *Client) attempt(ctx context.Context, req Request, target string, stream bool) (_ *http.Response, _ outcome, wait time.Duration, _ error) {
	wait = -1
	actx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(c.cfg.timeout(), cancel)
	timedOut := func() bool { return !timer.Stop() }
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	var body io.Reader
	var size int64 = -1
	if req.BodyFunc != nil {
		rc, n, err := req.BodyFunc()
		if err != nil {
			cancel()
			return nil, final, wait, err
		}
		body, size = rc, n
	} else if req.Body != nil {
		body, size = bytes.NewReader(req.Body), int64(len(req.Body))
	}
	hreq, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), req.Method, target, body)
	if err != nil {
		cancel()
		if rc, ok := body.(io.Closer); ok {
			rc.Close()
		}
		return nil, final, wait, err
	}
	if size >= 0 {
		hreq.ContentLength = size
	}
	if body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hreq.Header.Set("Content-Type", ct)
	}
	hreq.Header.Set("User-Agent", c.agent)
	if c.auth != "" {
		hreq.Header.Set("Authorization", c.auth)
	}
	c.sent.Add(1)
	hc := c.http
	if req.Idempotency == NotIdempotent {
		hc = c.fresh
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		expired := timedOut()
		cancel()
		if ctx.Err() != nil {
			return nil, final, wait, ctx.Err()
		}
		err = fmt.Errorf("%s %s: %w", req.Method, target, err)
		if expired {
			err = fmt.Errorf("%w (timed out after %v; set %s to wait longer)", err, c.cfg.timeout(), EnvTimeout)
		}
		if wrote.Load() {
			return nil, ambiguous, wait, err
		}
		return nil, notSent, wait, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if stream {
			timer.Stop()
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			return resp, final, wait, nil
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		expired := timedOut()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, final, wait, ctx.Err()
			}
			if expired {
				err = fmt.Errorf("timed out after %v: %w", c.cfg.timeout(), err)
			}
			// The server answered success but the body was cut: it
			// processed the request.
			return nil, ambiguous, wait, fmt.Errorf("%s %s: read response: %w", req.Method, target, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(data))
		return resp, final, wait, nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	timer.Stop()
	cancel()
	herr := parseError(req.Method, target, resp.StatusCode, data)
	kind := final
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		// The server refused the request without processing it.
		kind = notSent
	case http.StatusRequestTimeout, http.StatusBadGateway, http.StatusGatewayTimeout:
		kind = ambiguous
	case http.StatusInternalServerError:
		// An MLflow error with a definite code (INVALID_STATE is a 500)
		// is an answer; only an internal error may be transient.
		if herr.Code == "INTERNAL_ERROR" {
			kind = ambiguous
		}
	}
	if kind != final && !c.cfg.IgnoreRetryAfter {
		switch resp.StatusCode {
		case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = d
			}
		}
	}
	return nil, kind, wait, herr
}

// cancelOnClose releases a streamed response's context when the body is
// closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			n = 0
		}
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// statusCodes is MLflow's client mapping of a non-JSON error response's
// status to an error code (rest_utils.verify_rest_response and
// exceptions.HTTP_STATUS_TO_ERROR_CODE).
var statusCodes = map[int]string{
	400: "BAD_REQUEST",
	401: "UNAUTHENTICATED",
	403: "PERMISSION_DENIED",
	404: "ENDPOINT_NOT_FOUND",
	408: "DEADLINE_EXCEEDED",
	409: "ALREADY_EXISTS",
	429: "RESOURCE_EXHAUSTED",
	500: "INTERNAL_ERROR",
	501: "NOT_IMPLEMENTED",
	502: "INTERNAL_ERROR",
	503: "TEMPORARILY_UNAVAILABLE",
	504: "DEADLINE_EXCEEDED",
}

func parseError(method, target string, status int, body []byte) *Error {
	e := &Error{Method: method, URL: target, Status: status}
	var js struct {
		ErrorCode json.RawMessage `json:"error_code"`
		Message   string          `json:"message"`
	}
	if json.Unmarshal(body, &js) == nil && len(js.ErrorCode) > 0 {
		var code string
		if json.Unmarshal(js.ErrorCode, &code) == nil {
			e.Code = code
		} else {
			var n int
			if json.Unmarshal(js.ErrorCode, &n) == nil {
				e.Code = numericCodes[n]
			}
		}
		e.Message = js.Message
	}
	if e.Code == "" {
		e.Code = statusCodes[status]
		if e.Code == "" {
			e.Code = "INTERNAL_ERROR"
		}
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
	}
	return e
}

// numericCodes are the numbers of databricks.proto's ErrorCode for the
// codes a server may send as integers.
var numericCodes = map[int]string{
	1: "INTERNAL_ERROR", 2: "TEMPORARILY_UNAVAILABLE", 4: "BAD_REQUEST",
	1000: "INVALID_PARAMETER_VALUE", 1001: "ENDPOINT_NOT_FOUND", 1002: "MALFORMED_REQUEST",
	1003: "INVALID_STATE", 1004: "PERMISSION_DENIED", 1008: "RESOURCE_CONFLICT",
	1010: "NOT_IMPLEMENTED", 3001: "RESOURCE_ALREADY_EXISTS", 3002: "RESOURCE_DOES_NOT_EXIST",
}
