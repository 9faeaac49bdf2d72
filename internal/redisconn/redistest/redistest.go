// Package redistest gives tests the real Redis servers: the standalone server
// named by AUTH_TEST_REDIS_URL, the Cluster named by
// AUTH_TEST_REDIS_CLUSTER_URL, and private redis-server processes that a fault
// test may stop, flush and restart without disturbing other tests. It is a
// regular (non-test) package so that the tests of any package can import it.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/testport"
)

// URL returns AUTH_TEST_REDIS_URL. Without it the test is skipped, or fails
// when AUTH_TEST_REQUIRE_SERVERS=1.
func URL(tb testing.TB) string { return env(tb, "AUTH_TEST_REDIS_URL") }

// ClusterURL returns AUTH_TEST_REDIS_CLUSTER_URL (scripts/redis-cluster
// starts one on ports 7000-7002), skipping or failing like URL.
func ClusterURL(tb testing.TB) string { return env(tb, "AUTH_TEST_REDIS_CLUSTER_URL") }

func env(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
			tb.Fatalf("%s is not set and AUTH_TEST_REQUIRE_SERVERS=1", name)
		}
		tb.Skipf("set %s to run this test", name)
	}
	return v
}

// Prefix returns a key prefix unique to this test ("authdtest:<random>:"),
// so that tests sharing one server run in parallel without seeing each
// other's keys. Keys under it are deleted when the test ends.
func Prefix(tb testing.TB, rawURL string) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	prefix := "authdtest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { deletePrefix(tb, rawURL, prefix) })
	return prefix
}

// deletePrefix deletes the keys under prefix, on every master of a Cluster.
// A failure is reported, not ignored: it leaves keys behind on a server that
// other tests share.
func deletePrefix(tb testing.TB, rawURL, prefix string) {
	opts, err := redis.ParseURL(rawURL)
	var rdb redis.UniversalClient
	if err == nil {
		rdb = redis.NewClient(opts)
	} else if copts, cerr := redis.ParseClusterURL(stripCluster(rawURL)); cerr == nil {
		rdb = redis.NewClusterClient(copts)
	} else {
		tb.Errorf("redistest: delete the keys under %s: %v", prefix, errors.Join(err, cerr))
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, scan)
	} else {
		err = scan(ctx, rdb.(*redis.Client))
	}
	if err != nil {
		tb.Errorf("redistest: delete the keys under %s: %v", prefix, err)
	}
}

// stripCluster removes the cluster=true marker of authd's URL form, which
// go-redis's own parser does not know.
func stripCluster(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Del("cluster")
	u.RawQuery = q.Encode()
	return u.String()
}

// Server is a redis-server process owned by one test, keeping nothing on
// disk. It is shut down when the test ends.
//
// A server from StartServer listens on a Unix socket in a directory of its
// own, and no TCP port: a fault test stops and restarts it, and a port it
// was given would be free while it is down, for any process on the machine
// to take before the restart. Nothing else can take the socket's path.
type Server struct {
	tb testing.TB
	// Port is the loopback TCP port of a server from StartTCPServer, 0 for
	// one on a Unix socket.
	Port   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// StartServer starts a private redis-server on a Unix socket. The test fails
// if the binary is missing (it is part of the machine's set-up, not
// optional).
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	s := newServer(tb)
	if err := s.start(); err != nil {
		tb.Fatal(err)
	}
	return s
}

// StartTCPServer starts a private redis-server on a free loopback port, for
// a Sentinel to monitor (it names its master by host and port). It can't be
// restarted: Start after Stop fails the test, since the port may have been
// taken by another process in between.
func StartTCPServer(tb testing.TB) *Server {
	tb.Helper()
	s := newServer(tb)
	// redis-server can't pick a port itself (--port 0 turns TCP off), so
	// the port is found free first; another process can take it before
	// redis-server binds it, and then it exits and another port is tried.
	var err error
	for range 3 {
		s.Port = testport.Free(tb)
		if err = s.start(); err == nil {
			return s
		}
	}
	tb.Fatal(err)
	return nil
}

func newServer(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server not found: %v", err)
	}
	// Not tb.TempDir: its path, named after the test, can be longer than
	// a Unix socket's path may be (108 bytes).
	dir, err := os.MkdirTemp("", "authd-redistest-")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{tb: tb, dir: dir}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	tb.Cleanup(s.Stop) // runs before the removal
	return s
}

// URL is the server's URL: unix:// for a server on a socket, redis:// on a
// TCP port.
func (s *Server) URL() string {
	if s.Port == 0 {
		return "unix://" + s.socket()
	}
	return "redis://" + s.addr() + "/0"
}

// Start starts the server again, on the same socket, and waits until it
// answers. A TCP server can't be restarted (see StartTCPServer).
func (s *Server) Start() {
	s.tb.Helper()
	if s.cmd == nil && s.Port != 0 {
		s.tb.Fatal("redistest: a server on a TCP port can't be restarted: another process may have taken its port; use StartServer")
	}
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *Server) start() error {
	if s.cmd != nil {
		return nil
	}
	args := []string{"--port", "0", "--unixsocket", s.socket(), "--unixsocketperm", "700"}
	if s.Port != 0 {
		args = []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1"}
	}
	args = append(args, "--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		// Its exit status says nothing Stop or start-up needs: a kill is
		// how it is meant to end, and start-up reports the log instead.
		_ = cmd.Wait()
		close(done)
	}(s.exited)
	rdb := s.client()
	defer rdb.Close()
	// redis-server is another process: poll until it answers, bounded, and
	// stop early if it exits (a port taken, a bad option).
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		pid, err := serverPID(ctx, rdb)
		cancel()
		// On a TCP port, another test's server may answer until ours has
		// failed to bind it: only our own process counts.
		if err == nil && pid == cmd.Process.Pid {
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("redis-server at %s exited during start-up; its log:\n%s", s.URL(), s.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.Stop()
	return fmt.Errorf("redis-server at %s did not answer within 20s; its log:\n%s", s.URL(), s.log())
}

// client returns a go-redis client of the server that never retries.
func (s *Server) client() *redis.Client {
	if s.Port == 0 {
		return redis.NewClient(&redis.Options{Network: "unix", Addr: s.socket(), MaxRetries: -1})
	}
	return redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
}

// serverPID returns the process id of the server rdb reaches, from INFO.
func serverPID(ctx context.Context, rdb *redis.Client) (int, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("redistest: no process_id in INFO server")
}

// log returns the end of the server's log file, for failure messages.
func (s *Server) log() string { return tail(filepath.Join(s.dir, "redis.log")) }

// tail returns the end of a log file, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop kills the server (as a crash would: nothing is saved) and waits for
// it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	// An error means it has exited already, which is what Stop is for.
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart stops the server and starts an empty one on the same socket.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}

// Flush deletes every key, as FLUSHALL by an operator would.
func (s *Server) Flush() {
	s.tb.Helper()
	rdb := s.client()
	defer rdb.Close()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		s.tb.Fatalf("flushall: %v", err)
	}
}

// StartSentinel starts a Sentinel on a free loopback port that monitors
// master (from StartTCPServer) under the name "mymaster", and waits until it
// reports the master. It is stopped when the test ends. It returns the
// Sentinel's port.
func StartSentinel(tb testing.TB, master *Server) int {
	tb.Helper()
	if master.Port == 0 {
		tb.Fatal("redistest: a Sentinel monitors a master by host and port: start it with StartTCPServer")
	}
	// As in StartTCPServer: a Sentinel can't pick its own port, and one
	// found free may be taken before it binds it.
	var err error
	for range 3 {
		var port int
		if port, err = startSentinel(tb, master); err == nil {
			return port
		}
	}
	tb.Fatal(err)
	return 0
}

func startSentinel(tb testing.TB, master *Server) (int, error) {
	port := testport.Free(tb)
	dir := tb.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := "port " + strconv.Itoa(port) + "\nbind 127.0.0.1\ndir " + dir + "\n" +
		"sentinel monitor mymaster 127.0.0.1 " + strconv.Itoa(master.Port) + " 1\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	logFile := filepath.Join(dir, "sentinel.log")
	cmd := exec.Command("redis-server", conf, "--sentinel", "--logfile", logFile)
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start redis sentinel: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // a kill is how it is meant to end
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill() // fails only if it has exited already
		<-exited
	}
	sentinel := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel, MaxRetries: -1})
	defer sc.Close()
	info := redis.NewClient(&redis.Options{Addr: sentinel, MaxRetries: -1})
	defer info.Close()
	// The Sentinel is another process: poll until it reports the master,
	// bounded, and stop early if it exits (its port taken).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		addr, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
		pid, perr := serverPID(ctx, info)
		cancel()
		if err == nil && perr == nil && pid == cmd.Process.Pid && len(addr) == 2 && addr[1] == strconv.Itoa(master.Port) {
			tb.Cleanup(stop)
			return port, nil
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("redis sentinel on port %d exited during start-up; its log:\n%s", port, tail(logFile))
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	return 0, fmt.Errorf("redis sentinel on port %d did not report its master within 10s", port)
}

func (s *Server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

func (s *Server) socket() string { return filepath.Join(s.dir, "redis.sock") }
