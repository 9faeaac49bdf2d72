package authtest

import (
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/password"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/testclock"
	"github.com/talentforge/authd/internal/token"
)

// Clock is the settable test clock of package testclock.
type Clock = testclock.Clock

// NewClock returns a clock set to a fixed instant.
func NewClock() *Clock { return testclock.New() }

// ClockAt returns a clock set to t.
func ClockAt(t time.Time) *Clock { return testclock.At(t) }

// Options tune NewService. The zero value gives authd's defaults with a
// real clock.
type Options struct {
	Clock             *Clock        // nil: real time
	RefreshReuseGrace time.Duration // 0: the default 10s; negative: disabled
	HashConcurrency   int           // 0: password package default
	HashQueueTimeout  time.Duration // 0: password package default
	HashAcquired      func()        // password.Config.Acquired
	RealHashing       bool          // production argon2id parameters instead of CheapParams
	Algorithm         string        // "" : ES256
	Cache             auth.Cache    // nil: the in-process cache on Clock
	Limiter           auth.Limiter  // nil: the in-process limiter on Clock
	Limits            auth.Limits   // zero: no limits
	Secret            string        // the service's own secret (not the key store's); "": Secret
	Mailer            auth.Mailer   // nil: Composer(tb) over the embedded templates
	Observer          auth.Observer // nil: none

	RequireVerifiedEmail bool
	Social               auth.SocialConfig
	VerifyTokenTTL       time.Duration // 0: the default 24h
	ResetTokenTTL        time.Duration // 0: the default 1h

	RefreshTokenTTL    time.Duration // 0: the default 720h
	SessionMaxLifetime time.Duration // 0: off
	SessionIdleTimeout time.Duration // 0: off
	PurgeBatch         int           // 0: the service's default
}

// Secret is the service secret tests seal signing keys with.
const Secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"

// Issuer is the issuer and audience of test tokens.
const Issuer = "http://authd.test"

// CheapParams are argon2id parameters far below production strength, so that
// tests under -race (which slows argon2id about tenfold) stay fast. The
// end-to-end test uses the real defaults.
var CheapParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// NewService wires a real auth.Service over store: a cheap-parameter
// password hasher and a token manager sealing keys with Secret.
func NewService(tb testing.TB, store Backend, opts Options) (*auth.Service, *token.Manager) {
	tb.Helper()
	now := time.Now
	if opts.Clock != nil {
		now = opts.Clock.Now
	}
	tokens, err := token.New(tb.Context(), store, token.Config{
		Issuer:    Issuer,
		Algorithm: opts.Algorithm,
		AccessTTL: 15 * time.Minute,
		Secret:    []byte(Secret),
		Now:       now,
	})
	if err != nil {
		tb.Fatalf("token.New: %v", err)
	}
	grace := opts.RefreshReuseGrace
	switch {
	case grace == 0:
		grace = 10 * time.Second
	case grace < 0:
		grace = 0
	}
	secret := opts.Secret
	if secret == "" {
		secret = Secret
	}
	params := CheapParams
	if opts.RealHashing {
		params = password.DefaultParams
	}
	hasher := password.New(password.Config{Params: params, MaxConcurrent: opts.HashConcurrency, QueueTimeout: opts.HashQueueTimeout, Acquired: opts.HashAcquired})
	if opts.Cache == nil {
		opts.Cache = cache.New(cache.NewMemory(cache.MemoryOptions{Now: now}), cache.Options{})
	}
	if opts.Limiter == nil {
		opts.Limiter = ratelimit.NewMemory(ratelimit.MemoryOptions{Now: now})
	}
	if opts.Mailer == nil {
		opts.Mailer = Composer(tb)
	}
	svc := auth.NewService(store, hasher, tokens, auth.Config{
		AccessTokenTTL:    15 * time.Minute,
		RefreshReuseGrace: grace,
		Now:               now,
		Cache:             opts.Cache,
		Limiter:           opts.Limiter,
		Limits:            opts.Limits,
		Secret:            []byte(secret),

		RefreshTokenTTL:    opts.RefreshTokenTTL,
		SessionMaxLifetime: opts.SessionMaxLifetime,
		SessionIdleTimeout: opts.SessionIdleTimeout,
		PurgeBatch:         opts.PurgeBatch,

		Mailer:               opts.Mailer,
		RequireVerifiedEmail: opts.RequireVerifiedEmail,
		Social:               opts.Social,
		VerifyTokenTTL:       opts.VerifyTokenTTL,
		ResetTokenTTL:        opts.ResetTokenTTL,
		Observer:             opts.Observer,
	})
	return svc, tokens
}

// UIURL is the base of the links in test mail.
const UIURL = "http://app.authd.test/ui"

// Composer returns the mail composer tests use: the embedded templates,
// links to UIURL, sealed with Secret (Composer(tb).Open reads what any
// of them queued).
func Composer(tb testing.TB) *mail.Composer {
	tb.Helper()
	t, err := mail.Load("")
	if err != nil {
		tb.Fatalf("mail.Load: %v", err)
	}
	c, err := mail.NewComposer(t, mail.ComposerConfig{
		Product: "authd test", From: "no-reply@authd.test", UIURL: UIURL, Secret: []byte(Secret),
	})
	if err != nil {
		tb.Fatalf("mail.NewComposer: %v", err)
	}
	return c
}
