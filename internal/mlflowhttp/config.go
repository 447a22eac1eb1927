// Package mlflowhttp is the HTTP transport mlrun uses to talk to an MLflow
// tracking server: authentication, TLS, timeouts and retries as MLflow's
// Python client does them (mlflow/utils/rest_utils.py, request_utils.py,
// credentials.py), with one difference made on purpose: a request that is
// not idempotent is retried only when the server cannot have processed it.
// The REST store (reststore) and the artifact proxy client (artifactrepo)
// share it.
package mlflowhttp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv, with MLflow's names and
// defaults (mlflow/environment_variables.py).
const (
	EnvUsername          = "MLFLOW_TRACKING_USERNAME"
	EnvPassword          = "MLFLOW_TRACKING_PASSWORD"
	EnvToken             = "MLFLOW_TRACKING_TOKEN"
	EnvInsecureTLS       = "MLFLOW_TRACKING_INSECURE_TLS"
	EnvServerCertPath    = "MLFLOW_TRACKING_SERVER_CERT_PATH"
	EnvClientCertPath    = "MLFLOW_TRACKING_CLIENT_CERT_PATH"
	EnvTimeout           = "MLFLOW_HTTP_REQUEST_TIMEOUT"
	EnvMaxRetries        = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
	EnvBackoffFactor     = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"
	EnvBackoffJitter     = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"
	EnvRespectRetryAfter = "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER"
)

// MLflow's defaults and limits.
const (
	DefaultTimeout       = 120 * time.Second
	DefaultMaxRetries    = 7
	DefaultBackoffFactor = 2 * time.Second
	DefaultBackoffJitter = 1 * time.Second
	MaxRetriesLimit      = 10                // MLflow rejects max_retries >= 10
	MaxBackoffFactor     = 120 * time.Second // and backoff_factor >= 120
	MaxBackoff           = 120 * time.Second // urllib3's DEFAULT_BACKOFF_MAX
)

// Config configures a Client. The zero value of a field means MLflow's
// default, except where noted.
type Config struct {
	// Username and Password give HTTP Basic authentication; when both are
	// set they win over Token, as in MLflow's client.
	Username, Password string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// InsecureTLS skips certificate verification. It cannot be combined
	// with ServerCertPath.
	InsecureTLS bool
	// ServerCertPath is a PEM bundle of CAs to verify the server with.
	ServerCertPath string
	// ClientCertPath is a PEM file holding the client certificate and its
	// key, for mutual TLS (requests' cert=<path>).
	ClientCertPath string
	// Timeout bounds each attempt (connect, send, read); 0 means 120 s.
	Timeout time.Duration
	// MaxRetries is how many times a failed attempt is retried; nil means
	// 7. It must be below 10.
	MaxRetries *int
	// BackoffFactor is urllib3's backoff_factor: no wait before the first
	// retry, then factor*2^(n-1) before the n-th further one, capped at
	// 120 s; nil means 2 s.
	BackoffFactor *time.Duration
	// BackoffJitter is the most random time added to each wait; nil means 1 s.
	BackoffJitter *time.Duration
	// IgnoreRetryAfter disables honouring a Retry-After header on 413, 429
	// and 503 (MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER=false).
	IgnoreRetryAfter bool
	// UserAgent replaces the default User-Agent.
	UserAgent string
	// Transport, if set, is used instead of a transport built from the TLS
	// settings (tests).
	Transport http.RoundTripper
}

// ConfigFromEnv reads the Config from MLflow's environment variables, with
// ~/.mlflow/credentials as the fallback for the username and password, key
// by key, as MLflow's get_default_host_creds does. Malformed values are
// errors, as MLflow rejects them.
func ConfigFromEnv() (Config, error) {
	var c Config
	c.Username, c.Password = os.Getenv(EnvUsername), os.Getenv(EnvPassword)
	if c.Username == "" || c.Password == "" {
		u, p := readCredentialsFile()
		if c.Username == "" {
			c.Username = u
		}
		if c.Password == "" {
			c.Password = p
		}
	}
	c.Token = os.Getenv(EnvToken)
	var err error
	if c.InsecureTLS, err = envBool(EnvInsecureTLS, false); err != nil {
		return Config{}, err
	}
	c.ServerCertPath = os.Getenv(EnvServerCertPath)
	c.ClientCertPath = os.Getenv(EnvClientCertPath)
	if v := os.Getenv(EnvTimeout); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive number of seconds", EnvTimeout, v)
		}
		c.Timeout = time.Duration(n) * time.Second
	}
	if v := os.Getenv(EnvMaxRetries); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want an integer", EnvMaxRetries, v)
		}
		c.MaxRetries = &n
	}
	if v := os.Getenv(EnvBackoffFactor); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want an integer number of seconds", EnvBackoffFactor, v)
		}
		d := time.Duration(n) * time.Second
		c.BackoffFactor = &d
	}
	if v := os.Getenv(EnvBackoffJitter); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return Config{}, fmt.Errorf("%s=%q: want a non-negative number of seconds", EnvBackoffJitter, v)
		}
		d := time.Duration(f * float64(time.Second))
		c.BackoffJitter = &d
	}
	respect, err := envBool(EnvRespectRetryAfter, true)
	if err != nil {
		return Config{}, err
	}
	c.IgnoreRetryAfter = !respect
	return c, c.validate()
}

// envBool parses a boolean as MLflow's _BooleanEnvironmentVariable does:
// true/false/1/0 in any case.
func envBool(name string, def bool) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want one of true, false, 1, 0", name, v)
}

// readCredentialsFile reads [mlflow] mlflow_tracking_username and
// mlflow_tracking_password from ~/.mlflow/credentials (an INI file).
func readCredentialsFile() (user, password string) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", ""
	}
	data, err := os.ReadFile(filepath.Join(home, ".mlflow", "credentials"))
	if err != nil {
		return "", ""
	}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "mlflow" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "mlflow_tracking_username":
			user = strings.TrimSpace(v)
		case "mlflow_tracking_password":
			password = strings.TrimSpace(v)
		}
	}
	return user, password
}

func (c Config) validate() error {
	if c.InsecureTLS && c.ServerCertPath != "" {
		return errors.New("when 'MLFLOW_TRACKING_INSECURE_TLS' is true, 'MLFLOW_TRACKING_SERVER_CERT_PATH' must not be set")
	}
	if c.MaxRetries != nil && (*c.MaxRetries < 0 || *c.MaxRetries >= MaxRetriesLimit) {
		return fmt.Errorf("the configured max_retries value (%d) is invalid: it must be >= 0 and < %d", *c.MaxRetries, MaxRetriesLimit)
	}
	if c.BackoffFactor != nil && (*c.BackoffFactor < 0 || *c.BackoffFactor >= MaxBackoffFactor) {
		return fmt.Errorf("the configured backoff_factor value (%v) is invalid: it must be >= 0 and < %v", *c.BackoffFactor, MaxBackoffFactor)
	}
	if c.BackoffJitter != nil && *c.BackoffJitter < 0 {
		return fmt.Errorf("the configured backoff_jitter value (%v) is invalid: it must be >= 0", *c.BackoffJitter)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("the configured timeout (%v) is invalid", c.Timeout)
	}
	return nil
}

func (c Config) maxRetries() int {
	if c.MaxRetries == nil {
		return DefaultMaxRetries
	}
	return *c.MaxRetries
}

func (c Config) backoffFactor() time.Duration {
	if c.BackoffFactor == nil {
		return DefaultBackoffFactor
	}
	return *c.BackoffFactor
}

func (c Config) backoffJitter() time.Duration {
	if c.BackoffJitter == nil {
		return DefaultBackoffJitter
	}
	return *c.BackoffJitter
}

func (c Config) timeout() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// transport builds the HTTP transport: its own connection pool, the TLS
// settings, and no HTTP proxy from the environment unless asked for
// (requests honours HTTP(S)_PROXY, and so does this).
func (c Config) transport() (http.RoundTripper, error) {
	if c.Transport != nil {
		return c.Transport, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 10 // MLFLOW_HTTP_POOL_MAXSIZE
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.InsecureTLS {
		t.TLSClientConfig.InsecureSkipVerify = true
	}
	if c.ServerCertPath != "" {
		pem, err := os.ReadFile(c.ServerCertPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvServerCertPath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in %s", EnvServerCertPath, c.ServerCertPath)
		}
		t.TLSClientConfig.RootCAs = pool
	}
	if c.ClientCertPath != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCertPath, c.ClientCertPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvClientCertPath, err)
		}
		t.TLSClientConfig.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// ParseBaseURL checks a tracking URI for the REST backend: http or https,
// with a host, no query or fragment. The path is kept (a server behind a
// prefix) without a trailing slash.
func ParseBaseURL(uri string) (*url.URL, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("tracking URI %q: %w", uri, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("tracking URI %q: want http:// or https://", uri)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("tracking URI %q has no host", uri)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("tracking URI %q: a query or fragment is not allowed", uri)
	}
	if u.User != nil {
		return nil, fmt.Errorf("tracking URI %q: put credentials in MLFLOW_TRACKING_USERNAME/_PASSWORD, not in the URI", uri)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
