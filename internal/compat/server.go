package compat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running `mlflow server` process.
type Server struct {
	URL string // http://127.0.0.1:<port>

	cmd     *exec.Cmd
	workDir string
	log     *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
	stop    sync.Once
}

// ServerStartTimeout bounds how long StartServer waits for /health.
var ServerStartTimeout = 2 * time.Minute

// StartServer starts `mlflow server --backend-store-uri backend --host
// 127.0.0.1 --port <free port> --workers 1` in its own process group, with
// MLFLOW_ALLOW_FILE_STORE=true, and waits until GET /health answers. The
// caller must call Stop (tests: t.Cleanup(s.Stop)), which kills the whole
// process group.
func (m *MLflow) StartServer(ctx context.Context, backend string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := m.startServer(ctx, backend)
		if err == nil {
			return s, nil
		}
		lastErr = err
		// Another process may have taken the port between picking and binding.
		if !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

func (m *MLflow) startServer(ctx context.Context, backend string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// The server may write next to its working directory (mlartifacts/,
	// mlflow.db for a job store): keep that out of the caller's tree.
	work, err := os.MkdirTemp("", "mlrun-server-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(m.bin("mlflow"), "server",
		"--backend-store-uri", backend,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "1")
	cmd.Env = m.Env()
	cmd.Dir = work
	s := &Server{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		cmd:     cmd,
		workDir: work,
		log:     &syncBuffer{},
		done:    make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(work)
		return nil, fmt.Errorf("MLflow %s: start server: %w", m.Version, err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("MLflow %s server: %w\nserver output:\n%s", m.Version, err, s.Log())
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ServerStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited before becoming healthy: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not healthy at %s/health: %w", s.URL, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop terminates the server's process group (SIGTERM, then SIGKILL after
// 5 s) and waits for it. It is safe to call more than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		signalGroup(s.cmd, false)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
		// Kill whatever is left of the group (workers) in any case.
		signalGroup(s.cmd, true)
		<-s.done
		os.RemoveAll(s.workDir)
	})
}

// Log returns everything the server printed so far.
func (s *Server) Log() string { return s.log.String() }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("compat: no TCP port")
	}
	return addr.Port, nil
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// process's stdout and stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
