// Package mlflowserver starts the real services the REST backend's tests
// run against: a throwaway PostgreSQL cluster (Debian's postgresql
// binaries) and `mlflow server` from the MLflow virtualenvs, on free
// loopback ports, and can kill, restart and reset them. Every process is
// started in its own process group and killed if the test process dies.
package mlflowserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Postgres is a running PostgreSQL cluster in a temporary directory.
type Postgres struct {
	Port int
	User string // the superuser, "mlflow"; trust authentication on loopback

	bin  string // directory of initdb, postgres, psql
	dir  string // holds data/ and the log
	cred *syscall.Credential
	proc *process
}

// PostgresBinDir returns the directory of the newest installed PostgreSQL
// server binaries (/usr/lib/postgresql/<major>/bin, Debian's layout, or
// the directory of initdb on $PATH).
func PostgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (initdb) found: install Debian's postgresql package (scripts/test.sh does)")
}

// StartPostgres initialises a cluster in a new temporary directory and
// starts it on a free loopback port, without durability (fsync off): it is
// for tests. PostgreSQL refuses to run as root, so as root the cluster
// belongs to the "postgres" user.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{User: "mlflow", bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.dir, err = os.MkdirTemp("", "mlrun-pg-"); err != nil {
		return nil, err
	}
	if p.cred != nil {
		if err := os.Chown(p.dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			p.cleanup()
			return nil, err
		}
	}
	data := filepath.Join(p.dir, "data")
	if out, err := p.run(ctx, "initdb", "-D", data, "-U", p.User, "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		err = p.start(ctx)
		if err == nil || attempt == 2 || !strings.Contains(err.Error(), "already in use") {
			break
		}
	}
	if err != nil {
		p.cleanup()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) start(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	p.Port = port
	cmd := exec.Command(filepath.Join(p.bin, "postgres"), "-D", filepath.Join(p.dir, "data"),
		"-p", strconv.Itoa(port), "-k", p.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	p.proc = startProcess(cmd, p.cred)
	if err := p.proc.err; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := p.psql(ctx, "postgres", "SELECT 1"); err == nil {
			return nil
		}
		select {
		case <-p.proc.done:
			return fmt.Errorf("postgres exited: %v\n%s", p.proc.waitErr, p.proc.log.String())
		case <-ctx.Done():
			p.proc.kill()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.proc.kill()
			return fmt.Errorf("postgres not ready after 60 s:\n%s", p.proc.log.String())
		}
	}
}

// run runs one of the cluster's binaries as the cluster's owner.
func (p *Postgres) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd.CombinedOutput()
}

// psql runs SQL in a database and returns the unaligned, tuples-only output.
func (p *Postgres) psql(ctx context.Context, db, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", db, "-c", sql)
	cmd.Dir = os.TempDir()
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// Exec runs SQL in database db.
func (p *Postgres) Exec(ctx context.Context, db, sql string) (string, error) {
	return p.psql(ctx, db, sql)
}

// CreateDatabase creates an empty database.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	_, err := p.psql(ctx, "postgres", `CREATE DATABASE "`+name+`"`)
	return err
}

// URI returns the SQLAlchemy URI of database db, with the psycopg2 driver
// (SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql://).
func (p *Postgres) URI(db string) string {
	return fmt.Sprintf("postgresql+psycopg2://%s@127.0.0.1:%d/%s", p.User, p.Port, db)
}

// Stop kills the cluster and removes its directory.
func (p *Postgres) Stop() {
	if p.proc != nil {
		p.proc.kill()
	}
	p.cleanup()
}

func (p *Postgres) cleanup() { os.RemoveAll(p.dir) }

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
