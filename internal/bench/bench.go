package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/talentforge/authd/internal/auth"
)

// MaxDuration bounds a scenario's duration, so that every run ends by itself
// in predictable time.
const MaxDuration = 10 * time.Minute

// maxLimitDuration is how long each CPU limit (argon2id, tokens) is measured
// at most: a few seconds give a stable rate.
const maxLimitDuration = 3 * time.Second

// Options configure a run.
type Options struct {
	// URLs are the base URLs of the running authd replicas, e.g.
	// http://127.0.0.1:8080. Worker i of every scenario talks to URLs[i%n],
	// so that the replicas share the load evenly.
	URLs []string
	// Scenarios are run in this order (see AllScenarios).
	Scenarios []string
	// Concurrency is the number of workers of each scenario.
	Concurrency int
	// Duration is how long each scenario runs, at most MaxDuration.
	Duration time.Duration
	// Users is how many seeded users must exist (bench-0 … bench-(Users-1)).
	Users int
	// Password is the password of the users seeded and registered, at least
	// 8 characters. Seeded users keep it: a later run logs in as them only
	// with the same one.
	Password string
	// NewPassword says that Password was made for this run, so users
	// seeded before it have another: a run that logs in fails at once when
	// it finds such users, and a seed-only run warns.
	NewPassword bool
	// FloodLogins is the number of login workers of the flood scenario.
	FloodLogins int
	// SeedOnly stops the run after seeding.
	SeedOnly bool
	// Limits measures the machine's limits before the scenarios.
	Limits bool
	// LimitDuration is how long each CPU limit is measured; 0 means
	// Duration, at most three seconds. The bare handler always runs for
	// Duration, as verify does.
	LimitDuration time.Duration
	// Server describes how the server is configured, for the report.
	Server Server
	// Progress receives a line as each step starts; nil discards them.
	Progress io.Writer
}

// Server is the configuration of the authd under test that matters to its
// figures, as the AUTH_* environment gives it.
type Server struct {
	Argon2MemoryKiB   uint32
	Argon2Iterations  uint32
	Argon2Parallelism uint8
	Algorithm         string
}

// Hasher is what a run needs of password.Hasher: one hash of the password for
// the seeded users, and verifications of it for the argon2id limit. It must
// hash with the server's parameters, or every login makes the server re-hash.
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	passwordVerifier
}

// Deps are the parts of authd a run uses besides its HTTP API.
type Deps struct {
	// Store seeds users; required when a scenario logs in or SeedOnly is set.
	Store Importer
	// Hasher is required when users are seeded or limits measured. To
	// measure the argon2id limit it must allow GOMAXPROCS concurrent hashes.
	Hasher Hasher
	// Tokens signs and verifies access tokens for the token limit; nil skips
	// that limit. The limit verifies one token over and over, so Tokens must
	// not remember verified tokens, or it measures a cache hit instead of a
	// signature check.
	Tokens auth.TokenIssuer
	// Sizes reads the database's table sizes, reported after the run; nil
	// (the embedded SQLite backend) reports none, with a note saying so.
	Sizes SizeFunc
}

// Validate reports, in one line naming the flag, the first problem with o.
// Run validates too; callers use Validate to fail before any set-up.
func (o Options) Validate() error {
	_, err := o.validate()
	return err
}

// validate checks o and returns it normalised: the URLs without a trailing
// slash, scenarios without duplicates, LimitDuration set.
func (o Options) validate() (Options, error) {
	if len(o.URLs) == 0 {
		return o, errors.New("--url: want at least one http://host:port")
	}
	urls := make([]string, 0, len(o.URLs))
	for _, s := range o.URLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("--url %q: want http://host:port", s)
		}
		s = strings.TrimRight(s, "/")
		// The same replica twice would be counted as two.
		if slices.Contains(urls, s) {
			return o, fmt.Errorf("--url %q: given twice", s)
		}
		urls = append(urls, s)
	}
	o.URLs = urls
	var names []string
	for _, s := range o.Scenarios {
		if !validScenario(s) {
			return o, fmt.Errorf("unknown scenario %q: want some of %s,%s", s, strings.Join(AllScenarios(), ","), Flood)
		}
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	o.Scenarios = names
	switch {
	case len(o.Scenarios) == 0 && !o.SeedOnly:
		return o, errors.New("no scenario to run")
	case o.Concurrency < 1 || o.Concurrency > 100_000:
		return o, fmt.Errorf("--concurrency %d: want 1..100000", o.Concurrency)
	case o.Duration <= 0 || o.Duration > MaxDuration:
		return o, fmt.Errorf("--duration %v: want more than 0 and at most %v", o.Duration, MaxDuration)
	case o.Users < 1 && o.SeedsUsers():
		return o, fmt.Errorf("--users %d: the scenarios need at least one user", o.Users)
	case slices.Contains(o.Scenarios, Flood) && (o.FloodLogins < 1 || o.FloodLogins > 100_000):
		return o, fmt.Errorf("--flood-logins %d: want 1..100000", o.FloodLogins)
	case utf8.RuneCountInString(o.Password) < 8:
		return o, errors.New("--password: want at least 8 characters")
	case o.LimitDuration < 0:
		return o, fmt.Errorf("negative limit duration %v", o.LimitDuration)
	}
	if o.LimitDuration == 0 {
		o.LimitDuration = min(o.Duration, maxLimitDuration)
	}
	return o, nil
}

// SeedsUsers reports whether a run with o seeds users, and so needs
// Deps.Store.
func (o Options) SeedsUsers() bool {
	return o.SeedOnly || slices.ContainsFunc(o.Scenarios, NeedsUsers)
}

// Run seeds the users the scenarios need, then runs the scenarios against
// the authd replicas at o.URLs, measuring each limit right before the first scenario
// compared with it (the others after the last scenario), and reports every
// figure. A scenario whose workers can't be prepared (the server refuses
// the seeded users' logins) is reported with its error and the run goes on;
// Run then returns the report together with an error naming the failed
// scenarios. Other failures end the run with an error and the report of
// what was measured so far.
func Run(ctx context.Context, o Options, deps Deps) (*Report, error) {
	o, err := o.validate()
	if err != nil {
		return nil, err
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{Machine: thisMachine(), Options: o}
	client := NewClient(max(o.Concurrency, o.FloodLogins))
	defer client.CloseIdleConnections()
	t := make([]*target, len(o.URLs))
	for i, u := range o.URLs {
		t[i] = &target{client: client, base: u, password: o.Password}
		// Fail at once, rather than after seeding, when a replica does not answer.
		if status, _, err := t[i].send(ctx, http.MethodGet, "/healthz", "", nil, false); err != nil {
			return nil, fmt.Errorf("no authd answers at %s: %w", u, err)
		} else if status != http.StatusOK {
			return nil, fmt.Errorf("authd at %s is not healthy: /healthz answered %d", u, status)
		}
	}

	var hash string
	if o.SeedsUsers() || o.Limits {
		if deps.Hasher == nil {
			return rep, errors.New("bench: no password hasher")
		}
		// One hash for every seeded user; argon2id is expensive by design.
		if hash, err = deps.Hasher.Hash(ctx, o.Password); err != nil {
			return rep, fmt.Errorf("hash the bench password: %w", err)
		}
	}
	if o.SeedsUsers() {
		if deps.Store == nil {
			return rep, errors.New("bench: no store to seed users into")
		}
		fmt.Fprintf(progress, "seeding %d users…\n", o.Users)
		res, err := seed(ctx, deps.Store, o.Users, hash)
		rep.Seed = &res
		if err != nil {
			return rep, err
		}
		if o.NewPassword && res.Inserted < res.Users {
			old := fmt.Sprintf("%d of the %d users were seeded by an earlier run and sign in only with its password: pass that one with --password",
				res.Users-res.Inserted, res.Users)
			if !o.SeedOnly {
				return rep, errors.New(old)
			}
			rep.Warnings = append(rep.Warnings, old)
		}
	}
	if o.SeedOnly {
		measureSizesInto(ctx, rep, deps.Sizes)
		return rep, nil
	}
	var meter *limitMeter
	if o.Limits {
		meter = &limitMeter{o: o, deps: deps, hash: hash, client: client, progress: progress,
			lim: Limits{Workers: runtime.GOMAXPROCS(0)}}
		rep.Limits = &meter.lim
	}

	runID := strings.ToLower(rand.Text()[:8])
	var failed []string
	for _, name := range o.Scenarios {
		if meter != nil {
			if err := meter.before(ctx, name); err != nil {
				return rep, err
			}
		}
		if name == Flood {
			fmt.Fprintf(progress, "running %s: %d login workers and %d verify workers for %v…\n", name, o.FloodLogins, o.Concurrency, o.Duration)
			results, err := runFlood(ctx, time.Now, t, o, runID)
			if err != nil {
				return rep, err
			}
			for i := range results {
				results[i].LimitName, results[i].Limit = rep.Limits.of(results[i].Name)
			}
			rep.Scenarios = append(rep.Scenarios, results...)
			continue
		}
		fmt.Fprintf(progress, "running %s: %d workers for %v…\n", name, o.Concurrency, o.Duration)
		res := Result{Name: name}
		ws, err := newWorkers(name, t, o.Concurrency, o.Users, runID)
		if err != nil {
			return rep, err
		}
		stop := watchMemory(ctx, t)
		res.Summary, err = run(ctx, time.Now, ws, o.Duration)
		res.Memory = stop()
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			res.Err = err.Error()
			failed = append(failed, name)
		}
		res.LimitName, res.Limit = rep.Limits.of(name)
		rep.Scenarios = append(rep.Scenarios, res)
	}
	if meter != nil {
		if err := meter.rest(ctx); err != nil {
			return rep, err
		}
	}
	measureSizesInto(ctx, rep, deps.Sizes)
	rep.Warnings = warnings(rep)
	if len(failed) > 0 {
		return rep, fmt.Errorf("scenarios failed to start: %s", strings.Join(failed, ", "))
	}
	return rep, nil
}

// measureSizesInto puts the database's table sizes into rep, or a note
// saying why there are none: a run that measured everything else is worth
// its report without them.
func measureSizesInto(ctx context.Context, rep *Report, sizes SizeFunc) {
	if sizes == nil {
		rep.SizesNote = "not measured: only PostgreSQL reports table sizes, and only a run that seeds users opens the database"
		return
	}
	s, err := measureSizes(ctx, sizes)
	if err != nil {
		rep.SizesNote = "not measured: " + err.Error()
		return
	}
	rep.Sizes = s
}

// limitMeter measures each of the machine's limits once (see Limits), right
// before the first scenario compared with it, so that a scenario and its
// limit see the same background load: on a shared machine, a limit measured
// minutes earlier can be off by a factor of two.
type limitMeter struct {
	o        Options
	deps     Deps
	hash     string // the seeded users' password hash
	client   *http.Client
	progress io.Writer

	lim                  Limits
	argon2, tokens, bare bool   // measured already
	token                string // sent to the bare handler
}

// before measures the limit scenario is compared with, if not done yet.
func (m *limitMeter) before(ctx context.Context, scenario string) error {
	switch scenario {
	case Login:
		return m.measureArgon2id(ctx)
	case Verify, Me, Flood:
		if scenario == Flood {
			if err := m.measureArgon2id(ctx); err != nil {
				return err
			}
		}
		// The token limit first: its token is the one the bare handler gets.
		if err := m.measureTokens(ctx); err != nil {
			return err
		}
		return m.measureBare(ctx)
	}
	return nil
}

// rest measures the limits no scenario asked for, so that every run with
// limits reports all of them.
func (m *limitMeter) rest(ctx context.Context) error {
	return errors.Join(m.measureArgon2id(ctx), m.measureTokens(ctx), m.measureBare(ctx))
}

func (m *limitMeter) measureArgon2id(ctx context.Context) error {
	if m.argon2 {
		return nil
	}
	m.argon2 = true
	fmt.Fprintf(m.progress, "measuring argon2id verifications on %d goroutines for %v…\n", m.lim.Workers, m.o.LimitDuration)
	r, err := measureArgon2id(ctx, time.Now, m.deps.Hasher, m.o.Password, m.hash, m.lim.Workers, m.o.LimitDuration)
	if err != nil {
		return fmt.Errorf("argon2id limit: %w", err)
	}
	m.lim.Argon2id = r
	return nil
}

func (m *limitMeter) measureTokens(ctx context.Context) error {
	if m.tokens || m.deps.Tokens == nil {
		return nil
	}
	m.tokens = true
	token, err := issueToken(ctx, m.deps.Tokens)
	if err != nil {
		return err
	}
	m.token = token
	fmt.Fprintf(m.progress, "measuring access-token verifications on %d goroutines for %v…\n", m.lim.Workers, m.o.LimitDuration)
	r, err := measureTokens(ctx, time.Now, m.deps.Tokens, token, m.lim.Workers, m.o.LimitDuration)
	if err != nil {
		return fmt.Errorf("access-token limit: %w", err)
	}
	m.lim.Tokens = r
	return nil
}

func (m *limitMeter) measureBare(ctx context.Context) error {
	if m.bare {
		return nil
	}
	m.bare = true
	token := m.token
	if token == "" {
		// The length of a real ES256 token: the handler does not read it.
		token = strings.Repeat("x", 400)
	}
	fmt.Fprintf(m.progress, "running a bare net/http handler: %d workers for %v…\n", m.o.Concurrency, m.o.Duration)
	bare, err := measureBare(ctx, time.Now, m.client, m.o.Concurrency, m.o.Duration, token)
	if err != nil {
		return fmt.Errorf("bare handler: %w", err)
	}
	m.lim.Bare = &bare
	return nil
}

// runFlood runs the flood scenario: the verify workers log in first, then
// the login flood and the verify workers run side by side for o.Duration,
// with the servers' memory sampled throughout.
func runFlood(ctx context.Context, now func() time.Time, t []*target, o Options, runID string) ([]Result, error) {
	verify, err := newWorkers(Verify, t, o.Concurrency, o.Users, runID)
	if err != nil {
		return nil, err
	}
	logins, err := newWorkers(Login, t, o.FloodLogins, o.Users, runID)
	if err != nil {
		return nil, err
	}
	if err := prepareAll(ctx, verify); err != nil {
		return nil, fmt.Errorf("flood: %w", err)
	}
	stop := watchMemory(ctx, t)
	var (
		wg           sync.WaitGroup
		loginSummary Summary
	)
	wg.Go(func() { loginSummary = runPrepared(ctx, now, logins, o.Duration) })
	verifySummary := runPrepared(ctx, now, verify, o.Duration)
	wg.Wait()
	mem := stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []Result{
		{Name: FloodLogin, Summary: loginSummary, Memory: mem},
		{Name: FloodVerify, Summary: verifySummary, Memory: mem},
	}, nil
}
