package reststore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/internal/mlflowtest"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/reststore/internal/mlflowserver"
)

var ctx = context.Background()

// pinnedVersions are the MLflow versions the REST backend is proven
// against (internal/compat/mlflow-versions.txt): the last 2.x on SQLite, the newest
// 3.x on PostgreSQL with the artifact proxy.
func pinnedVersions() []string { return []string{"2.22.5", "3.17.2"} }

func versions() []string { return mlflowtest.Versions(pinnedVersions) }

// usesPostgres reports whether the shared server of an MLflow version runs
// on PostgreSQL with --serve-artifacts (MLflow 3) or on SQLite with file:
// artifact URIs (MLflow 2).
func usesPostgres(version string) bool { return !strings.HasPrefix(version, "2.") }

// shared is one server per MLflow version per test binary: starting one
// takes seconds, so the conformance cases share it and each case starts
// from an emptied database (Server.Reset).
type shared struct {
	once sync.Once
	srv  *mlflowserver.Server
	pg   *mlflowserver.Postgres
	dir  string // the database file and artifacts
	err  error
	took time.Duration
}

var (
	sharedMu      sync.Mutex // guards sharedServers
	sharedServers = map[string]*shared{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	for v, sh := range sharedServers {
		if sh.srv != nil {
			sh.srv.Stop()
		}
		if sh.pg != nil {
			sh.pg.Stop()
		}
		if sh.dir != "" {
			os.RemoveAll(sh.dir)
		}
		if sh.took > 0 && testing.Verbose() {
			fmt.Fprintf(os.Stderr, "reststore: MLflow %s server started in %v\n", v, sh.took.Round(time.Millisecond))
		}
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// mlflowBin returns the mlflow executable of a version's virtualenv; it
// skips the test, or fails it when MLRUN_REQUIRE_MLFLOW=1, if the venv is
// missing.
func mlflowBin(t testing.TB, version string) string {
	t.Helper()
	return filepath.Join(filepath.Dir(mlflowtest.Python(t, version)), "mlflow")
}

// sharedServer returns the version's shared server, started on first use.
func sharedServer(t testing.TB, version string) *mlflowserver.Server {
	t.Helper()
	bin := mlflowBin(t, version)
	sharedMu.Lock()
	sh := sharedServers[version]
	if sh == nil {
		sh = &shared{}
		sharedServers[version] = sh
	}
	sharedMu.Unlock()
	sh.once.Do(func() {
		start := time.Now()
		sh.srv, sh.pg, sh.dir, sh.err = startServer(bin, version)
		sh.took = time.Since(start)
	})
	if sh.err != nil {
		t.Fatalf("MLflow %s server: %v", version, sh.err)
	}
	return sh.srv
}

// startServer starts an MLflow server of version with its own database,
// in a new directory it returns: PostgreSQL and the artifact proxy for
// MLflow 3, SQLite for MLflow 2.
func startServer(bin, version string) (_ *mlflowserver.Server, _ *mlflowserver.Postgres, dir string, err error) {
	if dir, err = os.MkdirTemp("", "mlrun-rest-"); err != nil {
		return nil, nil, "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
			dir = ""
		}
	}()
	cfg := mlflowserver.Config{MLflow: bin, ArtifactsDir: filepath.Join(dir, "artifacts")}
	if err := os.MkdirAll(cfg.ArtifactsDir, 0o755); err != nil {
		return nil, nil, dir, err
	}
	var pg *mlflowserver.Postgres
	if usesPostgres(version) {
		if err := checkPsycopg(bin); err != nil {
			return nil, nil, dir, err
		}
		if pg, err = mlflowserver.StartPostgres(ctx); err != nil {
			return nil, nil, dir, err
		}
		if err := pg.CreateDatabase(ctx, "mlflow"); err != nil {
			pg.Stop()
			return nil, nil, dir, err
		}
		cfg.Backend = mlflowserver.PostgresDB{PG: pg, Name: "mlflow"}
		cfg.ServeArtifacts = true
	} else {
		cfg.Backend = mlflowserver.SQLiteDB{Path: filepath.Join(dir, "mlflow.db")}
	}
	srv, err := mlflowserver.Start(ctx, cfg)
	if err != nil {
		if pg != nil {
			pg.Stop()
		}
		return nil, nil, dir, err
	}
	return srv, pg, dir, nil
}

// checkPsycopg fails clearly when the venv lacks the PostgreSQL driver
// (scripts/mlflow-venvs.sh installs psycopg2-binary into 3.x venvs).
func checkPsycopg(mlflow string) error {
	py := filepath.Join(filepath.Dir(mlflow), "python")
	if out, err := exec.Command(py, "-c", "import psycopg2").CombinedOutput(); err != nil {
		return fmt.Errorf("psycopg2 is not installed in %s (run scripts/mlflow-venvs.sh): %v\n%s", filepath.Dir(filepath.Dir(py)), err, out)
	}
	return nil
}

// testHTTP is the transport configuration of the tests: MLflow's
// defaults, but quick retries.
func testHTTP() *mlflowhttp.Config {
	retries := 5
	factor := 50 * time.Millisecond
	jitter := 20 * time.Millisecond
	return &mlflowhttp.Config{MaxRetries: &retries, BackoffFactor: &factor, BackoffJitter: &jitter, Timeout: 60 * time.Second}
}

// openFresh empties the shared server of version and opens a store on it.
func openFresh(t testing.TB, version string) *reststore.Store {
	t.Helper()
	srv := sharedServer(t, version)
	if err := srv.Reset(ctx); err != nil {
		t.Fatalf("reset MLflow %s server: %v", version, err)
	}
	s, err := reststore.Open(ctx, srv.URL, &reststore.Options{HTTP: testHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
