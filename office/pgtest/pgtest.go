package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinGlob is where Debian installs the server's programs (one folder per
// major version).
const BinGlob = "/usr/lib/postgresql/*/bin/initdb"

// port names the socket file (.s.PGSQL.PORT) in the cluster's own
// folder: no TCP port is opened, so clusters cannot collide.
const port = 5432

// Options configure a cluster.
type Options struct {
	// Durable keeps fsync and synchronous commits on, as in production:
	// for benchmarks. Tests leave it off, a throwaway cluster needs no
	// crash safety and starts and commits faster without it.
	Durable bool
	// Dir, when set, keeps the cluster in this folder across runs (a
	// benchmark's cached data set): an existing cluster there is started
	// again instead of made. The caller deletes the folder when it wants
	// a fresh one.
	Dir string
	// Settings are more server settings, name=value.
	Settings []string
}

// Server is a running PostgreSQL cluster.
type Server struct {
	t       testing.TB
	dir     string // the socket and log; data in dir/data
	bin     string
	asUser  string // "postgres" when running as root
	opt     Options
	started atomic.Bool
	dbs     atomic.Int64
}

// Start makes (or reuses, with Options.Dir) a cluster and starts it; the
// test's cleanup stops it and deletes it unless it lives in Options.Dir.
// The server's log is printed if the test fails.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s := &Server{t: t, opt: opt}
	bins, _ := filepath.Glob(BinGlob)
	if len(bins) == 0 {
		t.Fatalf("pgtest: no PostgreSQL server (%s): install Debian's postgresql (scripts/setup-debian, or apt-get install postgresql)", BinGlob)
	}
	slices.SortFunc(bins, func(a, b string) int { return majorOf(b) - majorOf(a) }) // newest first
	s.bin = filepath.Dir(bins[0])
	if os.Geteuid() == 0 {
		s.asUser = "postgres"
	}
	if err := s.prepare(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(s.logFile())
			t.Logf("PostgreSQL log (%s):\n%s", s.logFile(), lastLines(string(log), 40))
		}
		if opt.Dir == "" {
			os.RemoveAll(s.dir)
		}
	})
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

func majorOf(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// prepare makes the folder (owned by the server's user) and the cluster.
func (s *Server) prepare() error {
	s.dir = s.opt.Dir
	if s.dir == "" {
		// Not t.TempDir(): its parents are private to the test's user,
		// and as root the server runs as postgres.
		d, err := os.MkdirTemp("", "joren-pgtest-")
		if err != nil {
			return err
		}
		s.dir = d
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	if s.asUser != "" {
		u, err := user.Lookup(s.asUser)
		if err != nil {
			return fmt.Errorf("running as root needs the user %q that Debian's postgresql package creates: %w", s.asUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(s.dataDir(), "PG_VERSION")); err == nil {
		return nil // a kept cluster
	}
	out, err := s.command("initdb", "-D", s.dataDir(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v: %s", err, out)
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "server.log") }

// command runs one of the server's programs, as postgres when root.
func (s *Server) command(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, prog)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (s *Server) start() error {
	opts := []string{"-k", s.dir, "-c", "listen_addresses=", "-p", strconv.Itoa(port)}
	if !s.opt.Durable {
		opts = append(opts, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, kv := range s.opt.Settings {
		opts = append(opts, "-c", kv)
	}
	out, err := s.command("pg_ctl", "-D", s.dataDir(), "-l", s.logFile(), "-w", "-t", "60", "-o", strings.Join(opts, " "), "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, lastLines(string(log), 10))
	}
	s.started.Store(true)
	return nil
}

// Stop stops the server (fast shutdown: sessions are ended, committed
// data is kept). Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if !s.started.Swap(false) {
		return
	}
	if out, err := s.command("pg_ctl", "-D", s.dataDir(), "-w", "-t", "30", "-m", "fast", "stop").CombinedOutput(); err != nil {
		s.t.Logf("pgtest: pg_ctl stop: %v: %s", err, out)
	}
}

// DSN is the address of database db, as joren-office takes it.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, s.dir, port)
}

// NewDatabase creates an empty database for one test and returns its
// DSN; the cluster's cleanup drops it with everything else.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), s.dbs.Add(1))
	s.Exec(t, "postgres", "CREATE DATABASE "+name)
	return s.DSN(name)
}

// Exec runs one statement in database db.
func (s *Server) Exec(t testing.TB, db, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", db, err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// Restart starts a stopped server again, with its data.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("pgtest: restarting: %v", err)
	}
}
