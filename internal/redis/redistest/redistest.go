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
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
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

func deletePrefix(tb testing.TB, rawURL, prefix string) {
	opts, err := goredis.ParseURL(rawURL)
	var rdb goredis.UniversalClient
	if err == nil {
		rdb = goredis.NewClient(opts)
	} else if copts, cerr := goredis.ParseClusterURL(stripCluster(rawURL)); cerr == nil {
		rdb = goredis.NewClusterClient(copts)
	} else {
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	scan := func(ctx context.Context, c *goredis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, scan)
		return
	}
	_ = scan(ctx, rdb.(*goredis.Client))
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

// Server is a redis-server process owned by one test, on a free loopback
// port, keeping nothing on disk. It is shut down when the test ends.
type Server struct {
	tb     testing.TB
	Port   int
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// StartServer starts a private redis-server. The test fails if the binary is
// missing (it is part of the machine's set-up, not optional).
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server not found: %v", err)
	}
	s := &Server{tb: tb, dir: tb.TempDir()}
	tb.Cleanup(s.Stop)
	// Another process can take the free port before redis-server binds it;
	// then try another.
	var err error
	for range 3 {
		s.Port = freePort(tb)
		if err = s.start(); err == nil {
			return s
		}
	}
	tb.Fatal(err)
	return nil
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.Port) + "/0" }

// Start starts the server (again) on the same port and waits until it answers.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *Server) start() error {
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.exited)
	rdb := goredis.NewClient(&goredis.Options{Addr: s.addr(), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			return fmt.Errorf("redis-server on port %d exited during start-up; its log:\n%s", s.Port, s.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.Stop()
	return fmt.Errorf("redis-server on port %d did not answer within 20s; its log:\n%s", s.Port, s.log())
}

// log returns the end of the server's log file, for failure messages.
func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
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
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart stops the server and starts an empty one on the same port.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.Start()
}

// Flush deletes every key, as FLUSHALL by an operator would.
func (s *Server) Flush() {
	s.tb.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: s.addr()})
	defer rdb.Close()
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		s.tb.Fatalf("flushall: %v", err)
	}
}

// StartSentinel starts a Sentinel on a free loopback port that monitors
// master under the name "mymaster", and waits until it reports the master.
// It is stopped when the test ends. It returns the Sentinel's port.
func StartSentinel(tb testing.TB, master *Server) int {
	tb.Helper()
	port := freePort(tb)
	dir := tb.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := "port " + strconv.Itoa(port) + "\nbind 127.0.0.1\ndir " + dir + "\n" +
		"sentinel monitor mymaster 127.0.0.1 " + strconv.Itoa(master.Port) + " 1\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("redis-server", conf, "--sentinel", "--logfile", filepath.Join(dir, "sentinel.log"))
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start redis sentinel: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), MaxRetries: -1})
	defer sc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		addr, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
		cancel()
		if err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(master.Port) {
			return port
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("redis sentinel on port %d did not report its master within 10s", port)
	return 0
}

func (s *Server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
