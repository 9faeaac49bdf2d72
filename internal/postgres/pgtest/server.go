package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server owned by one test: a cluster made by initdb
// in a temporary directory, with trust authentication and fsync off (a stop
// is a crash of the server, not of the machine, so nothing committed is
// lost). A fault test may stop it and start it again without disturbing
// other tests. It is stopped and its directory removed when the test ends.
//
// It listens on a Unix socket in its directory, and on no TCP port. A fault
// test restarts it, and a port would be free while it is down, for any
// process on the machine to take before the restart; PostgreSQL can't bind
// port 0 and report the port it got, and nothing else can take a path in a
// directory of ours.
type Server struct {
	tb  testing.TB
	bin string // directory of initdb, pg_ctl and postgres
	dir string // holds the cluster's data directory, its log and its socket
	// cred runs the server as the postgres user when the test runs as root,
	// which initdb and postgres refuse; nil otherwise.
	cred    *syscall.Credential
	running bool
}

// StartServer makes and starts a private server. Without the PostgreSQL
// server binaries the test is skipped, or fails when
// AUTH_TEST_REQUIRE_SERVERS=1.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
			tb.Fatalf("pgtest: %v, and AUTH_TEST_REQUIRE_SERVERS=1", err)
		}
		tb.Skipf("pgtest: %v", err)
	}
	s := &Server{tb: tb, bin: bin}
	// t.TempDir's parent is private to root; the server's user must reach
	// its directory.
	if s.dir, err = os.MkdirTemp("", "authd-pgtest-"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(s.dir) })
	tb.Cleanup(s.Stop) // runs before the removal
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("pgtest: running as root, and initdb refuses root: %v", err)
		}
		uid, err := strconv.Atoi(u.Uid)
		if err != nil {
			tb.Fatalf("pgtest: uid of postgres: %v", err)
		}
		gid, err := strconv.Atoi(u.Gid)
		if err != nil {
			tb.Fatalf("pgtest: gid of postgres: %v", err)
		}
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.command("initdb", "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// binDir finds the directory of initdb and pg_ctl: on PATH, or where Debian
// and Ubuntu install them (/usr/lib/postgresql/<version>/bin, newest first).
func binDir() (string, error) {
	if p, err := osexec.LookPath("pg_ctl"); err == nil {
		if _, err := osexec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	// Glob fails only on a malformed pattern, and a version that is no
	// number sorts last.
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
}

func (s *Server) command(name string, args ...string) *osexec.Cmd {
	cmd := osexec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// socketPort names the server's socket file (.s.PGSQL.5432). It is no TCP
// port, and the socket's directory is the server's own, so any number does.
const socketPort = 5432

// URL is a connection URL for the server's postgres database as the
// superuser postgres, through its socket.
func (s *Server) URL() string {
	return "postgres://postgres@/postgres?host=" + url.QueryEscape(s.dir) +
		"&port=" + strconv.Itoa(socketPort) + "&sslmode=disable"
}

// Start starts the server (again) on the same socket and waits until it
// accepts connections.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *Server) start() error {
	if s.running {
		return nil
	}
	// The socket in our directory, not the system server's, and no TCP (see
	// Server). A small shared_buffers, because other servers share the
	// machine.
	opts := fmt.Sprintf("-p %d -c listen_addresses= -c unix_socket_directories=%s "+
		"-c fsync=off -c full_page_writes=off "+
		"-c shared_buffers=16MB -c max_connections=40", socketPort, s.dir)
	out, err := s.command("pg_ctl", "start", "-D", filepath.Join(s.dir, "data"),
		"-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "30", "-o", opts).CombinedOutput()
	if err != nil {
		// pg_ctl may have given up waiting on a server that is still coming
		// up; stopping one that did not start fails, and says nothing more.
		_ = s.command("pg_ctl", "stop", "-D", filepath.Join(s.dir, "data"), "-m", "immediate").Run()
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\nserver log:\n%s", err, out, s.log())
	}
	s.running = true
	// pg_ctl -w has seen the server ready; the server is another process, so
	// a connection is still polled for, bounded, before a test relies on it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.URL())
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if ctx.Err() != nil {
			s.Stop()
			return fmt.Errorf("pgtest: server started but does not accept connections: %v\nserver log:\n%s", err, s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server at once, as a crash would (pg_ctl stop -m
// immediate): every connection is cut without a goodbye.
func (s *Server) Stop() {
	s.tb.Helper()
	if !s.running {
		return
	}
	out, err := s.command("pg_ctl", "stop", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "-t", "30").CombinedOutput()
	if err != nil {
		s.tb.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
		return
	}
	s.running = false
}

// log returns the end of the server's log, for failure messages.
func (s *Server) log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
