package redisconn_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url, mode string
		check     func(t *testing.T, o *redis.UniversalOptions)
	}{
		{"redis://127.0.0.1:6379/2?pool_size=7&read_timeout=250ms", "standalone", func(t *testing.T, o *redis.UniversalOptions) {
			if len(o.Addrs) != 1 || o.Addrs[0] != "127.0.0.1:6379" || o.DB != 2 || o.PoolSize != 7 || o.ReadTimeout != 250*time.Millisecond {
				t.Errorf("options %+v", o)
			}
		}},
		{"rediss://user:secret@cache.example:6380/0", "standalone", func(t *testing.T, o *redis.UniversalOptions) {
			if o.TLSConfig == nil || o.Username != "user" || o.Password != "secret" {
				t.Errorf("TLS or credentials lost: %+v", o)
			}
		}},
		{"redis://s1:26379?master_name=mymaster&addr=s2:26379&addr=s3:26379", "sentinel", func(t *testing.T, o *redis.UniversalOptions) {
			if o.MasterName != "mymaster" || len(o.Addrs) != 3 {
				t.Errorf("sentinel options %+v", o)
			}
		}},
		{"redis://n1:7000?addr=n2:7000&addr=n3:7000&pool_size=3", "cluster", func(t *testing.T, o *redis.UniversalOptions) {
			if !o.IsClusterMode || len(o.Addrs) != 3 || o.PoolSize != 3 {
				t.Errorf("cluster options %+v", o)
			}
		}},
		{"unix:///run/redis/redisconn.sock?db=3&dial_timeout=2s", "standalone", func(t *testing.T, o *redis.UniversalOptions) {
			if len(o.Addrs) != 1 || o.Addrs[0] != "/run/redis/redisconn.sock" || o.DB != 3 || o.DialTimeout != 2*time.Second {
				t.Errorf("unix socket options %+v", o)
			}
		}},
		{"redis://n1:7000?cluster=true", "cluster", func(t *testing.T, o *redis.UniversalOptions) {
			if !o.IsClusterMode || len(o.Addrs) != 1 {
				t.Errorf("single-seed cluster options %+v", o)
			}
		}},
	}
	for _, tt := range tests {
		o, mode, err := redisconn.ParseURL(tt.url)
		if err != nil || mode != tt.mode {
			t.Fatalf("%s: mode %q, %v; want %q", tt.url, mode, err, tt.mode)
		}
		tt.check(t, o)
	}
	for _, bad := range []string{
		"http://127.0.0.1:6379",
		"redis://127.0.0.1:6379?no_such_option=1",
		"redis://127.0.0.1:6379?cluster=yes",
		"redis://127.0.0.1:6379/notanumber",
		"redis://%zz",
	} {
		if _, _, err := redisconn.ParseURL(bad); err == nil || !strings.Contains(err.Error(), "AUTH_REDIS_URL") {
			t.Errorf("%s: error %v, want one naming AUTH_REDIS_URL", bad, err)
		}
	}
}

// TestDegradedModeAndRecovery drives a private server down and up again:
// commands fail fast with ErrDegraded while it is down, recovery hooks run
// before the client is up again, and a failing hook keeps it degraded.
func TestDegradedModeAndRecovery(t *testing.T) {
	srv := redistest.StartServer(t)
	c, err := redisconn.Open(t.Context(), redisconn.Options{URL: srv.URL(), ProbeInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if !c.Up() || c.State() != "ok" || c.Mode() != "standalone" {
		t.Fatalf("fresh client: up=%v state=%q mode=%q", c.Up(), c.State(), c.Mode())
	}
	set := func(ctx context.Context) error {
		return c.Do(ctx, func(rdb redis.UniversalClient) error { return rdb.Set(ctx, "k", "v", 0).Err() })
	}
	if err := set(t.Context()); err != nil {
		t.Fatal(err)
	}
	// redisconn.Nil and command errors are not outages.
	err = c.Do(t.Context(), func(rdb redis.UniversalClient) error { return rdb.Get(t.Context(), "missing").Err() })
	if !errors.Is(err, redis.Nil) || !c.Up() {
		t.Fatalf("GET of a missing key: %v, up=%v", err, c.Up())
	}
	err = c.Do(t.Context(), func(rdb redis.UniversalClient) error { return rdb.Incr(t.Context(), "k").Err() })
	if err == nil || errors.Is(err, redisconn.ErrDegraded) || !c.Up() {
		t.Fatalf("INCR of a string: %v, up=%v", err, c.Up())
	}
	// The caller's own cancellation is not an outage either.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := set(cancelled); err == nil || !c.Up() {
		t.Fatalf("cancelled command: %v, up=%v", err, c.Up())
	}

	// hookRuns receives a value each time the hook fails.
	hookRuns := make(chan struct{}, 100)
	failHook := atomic.Bool{}
	failHook.Store(true)
	c.OnRecover(func(ctx context.Context, rdb redis.UniversalClient) error {
		if failHook.Load() {
			select {
			case hookRuns <- struct{}{}:
			default: // the test has seen enough of them
			}
			return errors.New("not yet")
		}
		return rdb.Set(ctx, "recovered", "1", 0).Err()
	})

	srv.Stop()
	if err := set(t.Context()); !errors.Is(err, redisconn.ErrDegraded) {
		t.Fatalf("command with the server down: %v, want ErrDegraded", err)
	}
	if c.Up() || c.State() != "degraded" || c.Degradations() != 1 {
		t.Fatalf("after the outage: up=%v state=%q degradations=%d", c.Up(), c.State(), c.Degradations())
	}
	// Degraded, the client doesn't even try: fn is never called.
	called := false
	err = c.Do(t.Context(), func(redis.UniversalClient) error { called = true; return nil })
	if !errors.Is(err, redisconn.ErrDegraded) || called {
		t.Fatalf("degraded command: %v, fn called %v; want ErrDegraded without a call", err, called)
	}

	srv.Start()
	for range 2 {
		receive(t, hookRuns, "the recovery hook to run")
	}
	if c.Up() {
		t.Fatal("client up although its recovery hook failed")
	}
	failHook.Store(false)
	waitUp(t, c)
	if err := set(t.Context()); err != nil {
		t.Fatalf("command after recovery: %v", err)
	}
	if v, err := c.Universal().Get(t.Context(), "recovered").Result(); v != "1" {
		t.Fatalf("the recovery hook's write: %q, %v; want 1", v, err)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c.Collectors()...)
	if got := metricValue(t, reg, "authd_redis_up"); got != 1 {
		t.Fatalf("authd_redis_up = %v", got)
	}
	if got := metricValue(t, reg, "authd_redis_degraded_total"); got != 1 {
		t.Fatalf("authd_redis_degraded_total = %v", got)
	}
}

// TestOpenUnreachableStartsDegraded: a replica whose Redis is down at start
// serves degraded rather than refusing to start, and recovers later.
func TestOpenUnreachableStartsDegraded(t *testing.T) {
	srv := redistest.StartServer(t)
	srv.Stop()
	c, err := redisconn.Open(t.Context(), redisconn.Options{URL: srv.URL(), ProbeInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open with Redis down: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Up() || c.Degradations() != 1 {
		t.Fatalf("up=%v degradations=%d", c.Up(), c.Degradations())
	}
	srv.Start()
	waitUp(t, c)
}

func TestCloseStopsProbe(t *testing.T) {
	srv := redistest.StartServer(t)
	srv.Stop()
	c, err := redisconn.Open(t.Context(), redisconn.Options{URL: srv.URL(), ProbeInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// A Close that waited on the probe for ever would hang the test until
	// go test's timeout, which then shows where.
	if err := c.Close(); err != nil {
		t.Fatalf("Close while the probe runs: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestWaitUp: WaitUp returns at once for a client that is up, and while it
// is degraded only when it recovers or the context ends.
func TestWaitUp(t *testing.T) {
	srv := redistest.StartServer(t)
	c, err := redisconn.Open(t.Context(), redisconn.Options{URL: srv.URL(), ProbeInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WaitUp(t.Context()); err != nil {
		t.Fatalf("WaitUp on a client that is up: %v", err)
	}
	srv.Stop()
	c.MarkDown(errors.New("test: outage"))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.WaitUp(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitUp on a degraded client with a cancelled context: %v", err)
	}
	srv.Start()
	waitUp(t, c)
	if !c.Up() {
		t.Fatal("WaitUp returned and the client is not up")
	}
}

// waitUp waits for the client to leave degraded mode. Its probe reaches a
// server that another process runs, so the wait is bounded: a generous bound
// that only a broken recovery reaches.
func waitUp(t *testing.T, c *redisconn.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.WaitUp(ctx); err != nil {
		t.Fatalf("client still degraded after 10s: %v", err)
	}
}

// receive waits, bounded like waitUp, for a value on ch.
func receive(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// metricValue reads the value of the registered gauge or counter name.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestSentinel reaches a master through a real Sentinel with the
// master_name URL form.
func TestSentinel(t *testing.T) {
	master := redistest.StartTCPServer(t)
	port := redistest.StartSentinel(t, master)
	url := "redis://127.0.0.1:" + strconv.Itoa(port) + "?master_name=mymaster"
	c, err := redisconn.Open(t.Context(), redisconn.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if !c.Up() || c.Mode() != "sentinel" {
		t.Fatalf("up=%v mode=%q", c.Up(), c.Mode())
	}
	err = c.Do(t.Context(), func(rdb redis.UniversalClient) error {
		return rdb.Set(t.Context(), "through-sentinel", "1", 0).Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// The write landed on the master the Sentinel named.
	direct, err := redisconn.Open(t.Context(), redisconn.Options{URL: master.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	if v, err := direct.Universal().Get(t.Context(), "through-sentinel").Result(); v != "1" {
		t.Fatalf("value on the master: %q, %v", v, err)
	}
}
