package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/talentforge/authd/internal/bench"
	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/sqlite"
	"github.com/talentforge/authd/internal/token"
)

const benchUsage = "usage: authd bench [--url U[,U…]] [--scenarios register,login,refresh,verify,me] [--concurrency N] [--duration D] [--users N] [--password P] [--flood-logins N] [--seed-only] [--json] [--limits=false]"

const benchAbout = `
Seed users into the configured database (the server's AUTH_* environment),
load the running authd at --url (several replicas: repeat --url or separate
the URLs with commas; worker i of each scenario talks to replica i mod n),
and print each scenario's figures next to
the machine's limits. Progress goes to stderr, the report to stdout. It
refuses to seed a database of AUTH_ENV=production.
`

// benchmark runs `authd bench`: it seeds users into the database of the
// configuration (the same AUTH_* environment as the server's), then loads
// the running server at --url and prints the figures next to the machine's
// limits. Progress goes to stderr, the report to stdout. The seeded users'
// password is random unless --password gives one, and is printed to stderr.
// It refuses to seed a database configured with AUTH_ENV=production.
func benchmark(ctx context.Context, args []string, env environment, stdout, stderr io.Writer) error {
	c := newCmdline("bench", benchUsage+"\n"+benchAbout)
	fs := c.fs
	var urls urlList
	fs.Var(&urls, "url", "base URL of the running authd (default http://127.0.0.1:8080); repeat it, or separate URLs with commas, to load several replicas")
	scenarios := fs.String("scenarios", strings.Join(bench.AllScenarios(), ","), "comma-separated scenarios to run, in order")
	concurrency := fs.Int("concurrency", 64, "workers per scenario, each with one request in flight")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs (at most 10m)")
	floodLogins := fs.Int("flood-logins", 1000, "login workers of the flood scenario (--scenarios flood)")
	users := fs.Int("users", 1000, "seeded users bench-<i>@bench.authd.test that must exist")
	password := fs.String("password", "", "password of the bench users; empty generates one (printed to stderr). Users seeded by an earlier run sign in only with that run's")
	seedOnly := fs.Bool("seed-only", false, "seed the users and stop")
	asJSON := fs.Bool("json", false, "print the report as one JSON document")
	limits := fs.Bool("limits", true, "measure the machine's limits (argon2id, token verification, bare net/http)")
	if err := c.parse(args, 0, stdout); err != nil {
		return err
	}
	if len(urls) == 0 {
		urls = urlList{"http://127.0.0.1:8080"}
	}
	var names []string
	for s := range strings.SplitSeq(*scenarios, ",") {
		if s = strings.TrimSpace(s); s != "" {
			names = append(names, s)
		}
	}

	cfg, err := loadCommandConfig(ctx, env, stderr)
	if err != nil {
		return err
	}
	// 130 random bits: the seeded accounts are real accounts of whatever
	// server reads this database, so their password must not be guessable.
	generated := *password == ""
	if generated {
		*password = rand.Text()
	}
	opts := bench.Options{
		URLs:        urls,
		Scenarios:   names,
		Concurrency: *concurrency,
		Duration:    *duration,
		Users:       *users,
		Password:    *password,
		NewPassword: generated,
		FloodLogins: *floodLogins,
		SeedOnly:    *seedOnly,
		Limits:      *limits && !*seedOnly,
		Server: bench.Server{
			Argon2MemoryKiB:   cfg.Argon2MemoryKiB,
			Argon2Iterations:  cfg.Argon2Iterations,
			Argon2Parallelism: cfg.Argon2Parallelism,
			Algorithm:         cfg.SigningAlg,
		},
		Progress: stderr,
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	if opts.SeedsUsers() && cfg.Production() {
		return errors.New("bench: refusing to seed bench users into a production database (AUTH_ENV=production); bench a staging copy instead")
	}
	if opts.SeedsUsers() && generated {
		fmt.Fprintf(stderr, "the seeded users' password is %s (pass --password %[1]s to log in as them in a later run)\n", *password)
	}

	// The server's hashing parameters, so that the seeded hash is the one the
	// server would make (else each login re-hashes), with one slot per CPU,
	// a queue that never refuses and the normal priority, so the argon2id
	// limit measures the CPU and nothing else.
	hcfg := *cfg
	hcfg.HashConcurrency = runtime.GOMAXPROCS(0)
	hcfg.HashQueueTimeout = time.Hour
	hcfg.HashPriority = 0
	hasher, err := newHasher(&hcfg, nil)
	if err != nil {
		return err
	}
	deps := bench.Deps{Hasher: hasher}

	if opts.SeedsUsers() {
		db, err := openReady(ctx, cfg, nil)
		if err != nil {
			return err
		}
		defer db.Close()
		store, ok := db.(bench.Importer)
		if !ok {
			return errors.New("this storage backend can't import users in bulk")
		}
		deps.Store = store
		if pg, ok := db.(*postgres.DB); ok {
			deps.Sizes = tableSizes(pg)
		}
	}
	if opts.Limits {
		tokens, cleanup, err := scratchTokens(ctx, cfg)
		if err != nil {
			return err
		}
		defer cleanup()
		deps.Tokens = tokens
	}

	rep, err := bench.Run(ctx, opts, deps)
	if rep != nil {
		var werr error
		if *asJSON {
			werr = rep.WriteJSON(stdout)
		} else {
			werr = rep.WriteText(stdout)
		}
		err = errors.Join(err, werr)
	}
	return err
}

// urlList is the value of --url: every URL given, whether in one flag
// separated by commas or in repeated flags.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	for u := range strings.SplitSeq(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			*l = append(*l, u)
		}
	}
	return nil
}

// tableSizes adapts PostgreSQL's table sizes to what bench reports.
func tableSizes(db *postgres.DB) bench.SizeFunc {
	return func(ctx context.Context, tables []string) ([]bench.TableSize, error) {
		ts, err := db.TableSizes(ctx, tables)
		if err != nil {
			return nil, err
		}
		out := make([]bench.TableSize, len(ts))
		for i, t := range ts {
			out[i] = bench.TableSize{Table: t.Table, Rows: t.Rows, Heap: t.Heap, Indexes: t.Indexes, Total: t.Total}
		}
		return out, nil
	}
}

// scratchTokens returns a token manager with the configured algorithm over a
// throwaway SQLite database, so that measuring token verification neither
// reads nor adds keys in the server's database, and a function that removes
// it. Its verified-token cache is off: the bench verifies one token over and
// over, and the limit is the cost of checking a signature, not of a cache hit.
func scratchTokens(ctx context.Context, cfg *config.Config) (*token.Manager, func(), error) {
	dir, err := os.MkdirTemp("", "authd-bench-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	db, err := sqlite.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	cleanup = func() {
		db.Close()
		os.RemoveAll(dir)
	}
	if err := db.MigrateUp(ctx); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("migrate the scratch token database: %w", err)
	}
	tc := tokenConfig(cfg, newLogger(cfg, io.Discard))
	tc.VerifiedCacheSize = -1
	m, err := token.New(ctx, db, tc)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return m, cleanup, nil
}
