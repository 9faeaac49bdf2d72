package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/talentforge/authd/internal/config"
)

// migrationStatuser is what reading the schema version needs of a backend.
type migrationStatuser interface {
	MigrationStatus(ctx context.Context, w io.Writer) error
}

// schemaVersionTTL is how long /readyz reuses a schema version it read:
// load balancers poll readiness every few seconds, and the version only
// changes when `authd migrate` runs.
const schemaVersionTTL = 30 * time.Second

// schemaVersion returns a reader of the database's applied migration
// version, for /readyz: the highest version MigrationStatus lists as
// applied, reread at most every schemaVersionTTL. The backends expose no
// cheaper accessor; the status is one query of goose's version table.
func schemaVersion(db migrationStatuser) func(ctx context.Context) (int64, error) {
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
		var buf bytes.Buffer
		if err := db.MigrationStatus(ctx, &buf); err != nil {
			return 0, err
		}
		got, err := appliedVersion(&buf)
		if err != nil {
			return 0, err
		}
		v, read = got, time.Now()
		return v, nil
	}
}

// appliedVersion parses MigrationStatus's table (VERSION, NAME, APPLIED AT
// or "pending") and returns the highest applied version, 0 when none is.
func appliedVersion(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	var highest int64
	header := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if header {
			header = false
			continue
		}
		if line == "" || strings.HasSuffix(line, "pending") {
			continue
		}
		field, _, _ := strings.Cut(line, " ")
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration status: unexpected line %q", line)
		}
		highest = max(highest, n)
	}
	return highest, sc.Err()
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
