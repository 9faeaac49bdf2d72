package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/talentforge/authd/internal/config"
)

// schemaVersionTTL is how long /readyz reuses a schema version it read:
// load balancers poll readiness every few seconds, and the version only
// changes when `authd migrate` runs.
const schemaVersionTTL = 30 * time.Second

// schemaVersion returns a reader of the database's applied migration
// version for /readyz, reread at most every schemaVersionTTL.
func schemaVersion(db interface {
	SchemaVersion(ctx context.Context) (int64, error)
}) func(ctx context.Context) (int64, error) {
	var (
		mu   sync.Mutex
		v    int64
		read time.Time
	)
	return func(ctx context.Context) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		if !read.IsZero() && time.Since(read) < schemaVersionTTL {
			return v, nil
		}
		got, err := db.SchemaVersion(ctx)
		if err != nil {
			return 0, err
		}
		v, read = got, time.Now()
		return v, nil
	}
}

// waitShutdownDelay waits d, or until ctx ends. It is a variable so that
// a test can observe the delay beginning.
var waitShutdownDelay = func(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

const healthcheckUsage = `usage: authd healthcheck

GET /healthz on AUTH_ADDR (a loopback address when its host is empty,
0.0.0.0 or ::) with a 2s timeout; exit 0 on 200 and 1 otherwise, printing
one line. For a container HEALTHCHECK without a shell. It reads AUTH_ADDR
as serve does (environment, then .env), and nothing else: it creates no
file and warns of no variable.
`

// healthcheckTimeout bounds the whole request of authd healthcheck.
const healthcheckTimeout = 2 * time.Second

// healthcheck runs `authd healthcheck`.
func healthcheck(ctx context.Context, args []string, env environment, stdout io.Writer) error {
	c := newCmdline("healthcheck", healthcheckUsage)
	if err := c.parse(args, 0, stdout); err != nil {
		return err
	}
	// Only parsed: EnsureSecret would create a secret in the data
	// directory, and the warnings would repeat at every check.
	cfg, err := config.Load(env.getenv, ".env")
	if err != nil {
		return err
	}
	url, err := healthzURL(cfg.Addr)
	if err != nil {
		return fmt.Errorf("AUTH_ADDR: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %s: %w", url, errors.Unwrap(err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s: %s", url, resp.Status)
	}
	_, err = fmt.Fprintf(stdout, "healthy: %s: %s\n", url, resp.Status)
	return err
}

// healthzURL is the /healthz URL of a server listening on addr, with a
// loopback host for an empty or unspecified one.
func healthzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
