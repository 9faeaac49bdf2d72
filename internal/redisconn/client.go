// Package redisconn connects authd to Redis (standalone, Sentinel or Cluster) and
// keeps track of whether it is reachable.
//
// authd treats Redis as an accelerator, never as the source of truth: when it
// is unreachable the client reports itself degraded, callers fall back (the
// cache to the database, rate limits to in-process counters) without waiting
// for timeouts, and a background probe brings it back when Redis answers.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// ErrDegraded is returned instead of running a command while Redis is
// unreachable.
var ErrDegraded = errors.New("redis: degraded (unreachable); serving without it")

// Options configure a Client.
type Options struct {
	// URL names the server, in one of these forms (all take go-redis's query
	// parameters, e.g. pool_size, dial_timeout, read_timeout, write_timeout):
	//   redis://[user:pass@]host:6379/0                    standalone (rediss:// for TLS)
	//   unix://[user:pass@]/path/to/redis.sock?db=0        standalone on a Unix socket
	//   redis://host:26379?master_name=mymaster&addr=h2:26379  Sentinel
	//   redis://host:7000?cluster=true&addr=h2:7001       Cluster (any addr= implies it)
	URL string
	// ProbeInterval is how often a degraded client pings Redis (default 1s).
	ProbeInterval time.Duration
	Logger        *slog.Logger
	// TracerProvider makes a span per command and pipeline, named after the
	// command, without its arguments (keys and values may hold tokens).
	// Nil makes none.
	TracerProvider trace.TracerProvider
}

// Client is a go-redis universal client with a health state. It is safe for
// concurrent use.
type Client struct {
	rdb      redis.UniversalClient
	opts     redis.UniversalOptions // as opened, for Dedicated
	mode     string
	log      *slog.Logger
	interval time.Duration

	up atomic.Bool
	mu sync.Mutex
	// upc is closed while the client is up, for WaitUp; going degraded
	// replaces it with an open one.
	upc     chan struct{}
	probing bool
	closed  bool
	// recover hooks run, in order, before a degraded client is marked up
	// again; a failing hook keeps it degraded until the next probe.
	recover []func(context.Context, redis.UniversalClient) error
	stop    chan struct{}
	wg      sync.WaitGroup

	transitions atomic.Int64 // times the client went degraded
}

// Open parses opts.URL and connects. An unreachable server is not an error:
// the client starts degraded and keeps probing. A malformed URL is.
func Open(ctx context.Context, opts Options) (*Client, error) {
	uopts, mode, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	// authd answers from the database when Redis is slow; waiting long for
	// it would only add latency, so the defaults are much shorter than
	// go-redis's (the URL can override every one of them).
	if uopts.DialTimeout == 0 {
		uopts.DialTimeout = time.Second
	}
	if uopts.ReadTimeout == 0 {
		uopts.ReadTimeout = 500 * time.Millisecond
	}
	if uopts.WriteTimeout == 0 {
		uopts.WriteTimeout = 500 * time.Millisecond
	}
	if uopts.MaxRetries == 0 {
		uopts.MaxRetries = 1
	}
	if uopts.DialerRetries == 0 {
		// go-redis redials a refused connection 5 times, 100ms apart: half a
		// second before a request learns that Redis is gone.
		uopts.DialerRetries = 1
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		rdb:      redis.NewUniversalClient(uopts),
		opts:     *uopts,
		mode:     mode,
		log:      log,
		interval: opts.ProbeInterval,
		stop:     make(chan struct{}),
		upc:      make(chan struct{}),
	}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	if opts.TracerProvider != nil {
		if err := redisotel.InstrumentTracing(c.rdb,
			redisotel.WithTracerProvider(opts.TracerProvider),
			redisotel.WithDBStatement(false),
			redisotel.WithCallerEnabled(false),
		); err != nil {
			c.rdb.Close()
			return nil, fmt.Errorf("redis: tracing: %w", err)
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.rdb.Ping(pingCtx).Err(); err != nil {
		c.markDown(err)
	} else {
		c.up.Store(true)
		close(c.upc)
	}
	return c, nil
}

// ParseURL turns an AUTH_REDIS_URL into go-redis options and names the
// topology: "standalone", "sentinel" or "cluster".
func ParseURL(raw string) (*redis.UniversalOptions, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("AUTH_REDIS_URL: %w", errors.Unwrap(err))
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, "", fmt.Errorf("AUTH_REDIS_URL (sentinel): %w", err)
		}
		return &redis.UniversalOptions{
			Addrs: o.SentinelAddrs, MasterName: o.MasterName, DB: o.DB,
			Username: o.Username, Password: o.Password,
			SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword,
			TLSConfig: o.TLSConfig, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout,
			WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns,
			DialerRetries: o.DialerRetries, DialerRetryTimeout: o.DialerRetryTimeout,
			MaxIdleConns: o.MaxIdleConns, PoolTimeout: o.PoolTimeout, MaxRetries: o.MaxRetries,
		}, "sentinel", nil
	case q.Has("addr") || q.Has("cluster"):
		if v := q.Get("cluster"); v != "" && v != "true" {
			return nil, "", fmt.Errorf("AUTH_REDIS_URL: cluster=%q: only cluster=true is meaningful", v)
		}
		q.Del("cluster")
		u.RawQuery = q.Encode()
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("AUTH_REDIS_URL (cluster): %w", err)
		}
		return &redis.UniversalOptions{
			Addrs: o.Addrs, IsClusterMode: true, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout,
			WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns,
			DialerRetries: o.DialerRetries, DialerRetryTimeout: o.DialerRetryTimeout,
			MaxIdleConns: o.MaxIdleConns, PoolTimeout: o.PoolTimeout, MaxRetries: o.MaxRetries,
			MaxRedirects: o.MaxRedirects,
		}, "cluster", nil
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, "", fmt.Errorf("AUTH_REDIS_URL: %w", err)
		}
		// A unix:// URL gives the socket's path as the address, which
		// go-redis dials as a Unix socket because it starts with a slash.
		return &redis.UniversalOptions{
			Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout,
			WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns,
			DialerRetries: o.DialerRetries, DialerRetryTimeout: o.DialerRetryTimeout,
			MaxIdleConns: o.MaxIdleConns, PoolTimeout: o.PoolTimeout, MaxRetries: o.MaxRetries,
		}, "standalone", nil
	}
}

// Mode is the topology named by the URL: standalone, sentinel or cluster.
func (c *Client) Mode() string { return c.mode }

// Up reports whether Redis answered the last command or probe.
func (c *Client) Up() bool { return c.up.Load() }

// State is "ok" or "degraded", as /readyz reports it.
func (c *Client) State() string {
	if c.Up() {
		return "ok"
	}
	return "degraded"
}

// WaitUp blocks until the client is up (Redis answered and every recovery
// hook succeeded), or ctx is done, and then returns ctx's error. A client
// that is up returns at once.
func (c *Client) WaitUp(ctx context.Context) error {
	c.mu.Lock()
	upc := c.upc
	c.mu.Unlock()
	select {
	case <-upc:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Degradations counts how many times the client has gone degraded.
func (c *Client) Degradations() int64 { return c.transitions.Load() }

// Dedicated returns a new client of one connection to the same server as c
// (the master, under Sentinel), speaking RESP2, that runs onConnect on each
// connection it opens: for a long-lived subscription that needs set-up
// before it subscribes. It has no health state of its own and is closed by
// the caller. A Cluster has no single server, so Dedicated returns false.
func (c *Client) Dedicated(onConnect func(context.Context, *redis.Conn) error) (redis.UniversalClient, bool) {
	if c.mode == "cluster" {
		return nil, false
	}
	o := c.opts
	o.Protocol = 2
	o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
	o.OnConnect = onConnect
	return redis.NewUniversalClient(&o), true
}

// Universal returns the underlying client, for pool statistics and tests.
func (c *Client) Universal() redis.UniversalClient { return c.rdb }

// Do runs fn unless the client is degraded, in which case it returns
// ErrDegraded at once. An error that says Redis is unreachable (network,
// timeout, cluster down, loading) marks the client degraded and is returned
// wrapped in ErrDegraded; any other error (a script error, redis.Nil) is
// returned as is.
func (c *Client) Do(ctx context.Context, fn func(redis.UniversalClient) error) error {
	if !c.up.Load() {
		return ErrDegraded
	}
	err := fn(c.rdb)
	if err == nil || !unreachable(ctx, err) {
		return err
	}
	c.markDown(err)
	return fmt.Errorf("%w: %v", ErrDegraded, err)
}

// OnRecover registers fn to run when Redis answers again after an outage,
// before the client is marked up: for example to replay cache invalidations
// that could not be delivered. If fn fails the client stays degraded and the
// hooks run again at the next probe.
func (c *Client) OnRecover(fn func(context.Context, redis.UniversalClient) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recover = append(c.recover, fn)
}

// MarkDown puts the client into degraded mode, as Do does on a connection
// error. Callers that talk to Redis outside Do use it.
func (c *Client) MarkDown(err error) { c.markDown(err) }

func (c *Client) markDown(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	wasUp := c.up.Swap(false)
	if wasUp {
		c.upc = make(chan struct{})
	}
	if wasUp || c.transitions.Load() == 0 {
		c.transitions.Add(1)
		c.log.Warn("redis unreachable: serving degraded (cache bypassed, in-process rate limits)",
			"mode", c.mode, "err", err)
	}
	if c.probing {
		return
	}
	c.probing = true
	c.wg.Add(1)
	go c.probe(c.interval)
}

// SetProbeInterval changes how often a degraded client pings Redis, from the
// next outage on.
func (c *Client) SetProbeInterval(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.interval = d
	}
}

// probe pings until Redis answers and every recovery hook succeeds.
func (c *Client) probe(interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.tryRecover(); err != nil {
			c.log.Debug("redis still unreachable", "err", err)
			continue
		}
		return
	}
}

func (c *Client) tryRecover() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	c.mu.Lock()
	hooks := append([]func(context.Context, redis.UniversalClient) error(nil), c.recover...)
	c.mu.Unlock()
	for _, h := range hooks {
		if err := h(ctx, c.rdb); err != nil {
			return fmt.Errorf("recovery hook: %w", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.probing = false
	if !c.up.Swap(true) {
		close(c.upc)
	}
	c.log.Info("redis reachable again: leaving degraded mode", "mode", c.mode)
	return nil
}

// Close stops the probe and closes the connections.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	c.wg.Wait()
	return c.rdb.Close()
}

// unreachable reports whether err means Redis could not be reached, as
// opposed to a command-level error or the caller's own cancellation.
func unreachable(ctx context.Context, err error) bool {
	if errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return false
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, net.ErrClosed):
		return true
	}
	// Server-side states in which the data is not available.
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, prefix := range []string{"CLUSTERDOWN", "LOADING", "MASTERDOWN", "TRYAGAIN", "READONLY"} {
			if len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
				return true
			}
		}
		return false
	}
	// Anything else from the connection layer (EOF, connection reset) is
	// treated as unreachable: failing over is always safe, only slower.
	return true
}
