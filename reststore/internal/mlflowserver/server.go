package mlflowserver

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver, to reset a server's database
)

// Config describes an `mlflow server`.
type Config struct {
	// MLflow is the mlflow executable of a virtualenv.
	MLflow string
	// Backend is the backend store: a Postgres database or an SQLite file.
	Backend Database
	// ServeArtifacts runs the artifact proxy (--serve-artifacts) with its
	// destination in ArtifactsDir; otherwise runs get file: artifact URIs
	// under ArtifactsDir (--default-artifact-root).
	ServeArtifacts bool
	ArtifactsDir   string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds the wait for /health (default 3 minutes).
	StartTimeout time.Duration
}

// Database is a server's backend store.
type Database interface {
	URI() string
	// Reset empties every table but the Default experiment, as a new
	// store has it.
	Reset(ctx context.Context) error
}

// Server is a running `mlflow server`.
type Server struct {
	URL  string // http://127.0.0.1:<port>
	Port int

	cfg  Config
	work string // the server's working directory
	proc *process
}

// Start starts the server and waits until GET /health answers.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 3 * time.Minute
	}
	work, err := os.MkdirTemp("", "mlrun-mlflow-server-")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, work: work}
	for attempt := 0; ; attempt++ {
		port := cfg.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		s.Port, s.URL = port, "http://127.0.0.1:"+strconv.Itoa(port)
		err = s.start(ctx)
		if err == nil || cfg.Port != 0 || attempt == 2 || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	args := []string{"server", "--backend-store-uri", s.cfg.Backend.URI(),
		"--host", "127.0.0.1", "--port", strconv.Itoa(s.Port), "--workers", "1"}
	if s.cfg.ServeArtifacts {
		args = append(args, "--serve-artifacts", "--artifacts-destination", s.cfg.ArtifactsDir)
	} else {
		args = append(args, "--no-serve-artifacts", "--default-artifact-root", "file://"+s.cfg.ArtifactsDir)
	}
	cmd := exec.Command(s.cfg.MLflow, args...)
	cmd.Dir = s.work
	cmd.Env = serverEnv()
	s.proc = startProcess(cmd, nil)
	if s.proc.err != nil {
		return fmt.Errorf("start mlflow server: %w", s.proc.err)
	}
	if err := s.waitHealthy(ctx); err != nil {
		s.proc.kill()
		return fmt.Errorf("mlflow server %s: %w\nserver output:\n%s", s.URL, err, s.proc.log.String())
	}
	return nil
}

func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "MLFLOW_") || name == "PYTHONPATH" || name == "PYTHONWARNINGS" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (s *Server) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.proc.done:
			return fmt.Errorf("exited before becoming healthy: %v", s.proc.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not healthy: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill kills the server (SIGKILL to its process group), as a crash would.
func (s *Server) Kill() { s.proc.kill() }

// Restart starts the server again on the same port and database, after
// Kill.
func (s *Server) Restart(ctx context.Context) error {
	s.proc.kill()
	return s.start(ctx)
}

// Reset empties the server's database and artifacts (see Database.Reset).
func (s *Server) Reset(ctx context.Context) error {
	if err := s.cfg.Backend.Reset(ctx); err != nil {
		return err
	}
	entries, _ := os.ReadDir(s.cfg.ArtifactsDir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(s.cfg.ArtifactsDir, e.Name()))
	}
	return nil
}

// Log returns what the server printed so far.
func (s *Server) Log() string { return s.proc.log.String() }

// Stop kills the server and removes its working directory.
func (s *Server) Stop() {
	s.proc.kill()
	os.RemoveAll(s.work)
}

// keepTables are never emptied by a reset.
const keepTables = "alembic_version"

// PostgresDB is a database of a Postgres cluster.
type PostgresDB struct {
	PG   *Postgres
	Name string
}

// URI returns the database's SQLAlchemy URI.
func (d PostgresDB) URI() string { return d.PG.URI(d.Name) }

// Reset truncates every table but alembic_version and experiments, and
// deletes every experiment but Default (id 0), which it makes active and
// named Default again.
func (d PostgresDB) Reset(ctx context.Context) error {
	out, err := d.PG.Exec(ctx, d.Name, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
	if err != nil {
		return err
	}
	var tables []string
	for _, t := range strings.Fields(out) {
		if t != keepTables && t != "experiments" {
			tables = append(tables, `"`+t+`"`)
		}
	}
	q := "TRUNCATE " + strings.Join(tables, ", ") + " CASCADE; " +
		"DELETE FROM experiments WHERE experiment_id <> 0; " +
		"UPDATE experiments SET name = 'Default', lifecycle_stage = 'active' WHERE experiment_id = 0;"
	_, err = d.PG.Exec(ctx, d.Name, q)
	return err
}

// SQLiteDB is an SQLite database file.
type SQLiteDB struct{ Path string }

// URI returns sqlite:////<absolute path>.
func (d SQLiteDB) URI() string { return "sqlite:///" + d.Path }

// Reset deletes every row but the Default experiment's (see PostgresDB.Reset).
func (d SQLiteDB) Reset(ctx context.Context) error {
	db, err := sql.Open("sqlite", "file:"+d.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		if t != keepTables && t != "experiments" {
			tables = append(tables, t)
		}
	}
	rows.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM "`+t+`"`); err != nil {
			return fmt.Errorf("reset %s: %w", t, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM experiments WHERE experiment_id <> 0"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE experiments SET name = 'Default', lifecycle_stage = 'active' WHERE experiment_id = 0"); err != nil {
		return err
	}
	return tx.Commit()
}
