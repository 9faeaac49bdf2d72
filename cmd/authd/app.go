package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/cache"
	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/metrics"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/telemetry"
	"github.com/talentforge/authd/internal/token"
)

// app is one replica's running parts over an open database.
type app struct {
	handler http.Handler // the public API; /metrics too unless AUTH_METRICS_ADDR is set
	metrics http.Handler // the Prometheus registry's exposition
	tokens  *token.Manager
	svc     *auth.Service
	outbox  *mail.Outbox      // sends the mail the service queues; serve runs it
	redis   *redisconn.Client // nil without AUTH_REDIS_URL
	near    *cache.Near       // nil unless the local tier is on
	feed    *cache.Feed       // keeps near current; nil with near
	// shuttingDown turns /readyz to 503 when serve begins its shutdown.
	shuttingDown atomic.Bool
}

// newApp wires the service, its cache and limits (in Redis when
// AUTH_REDIS_URL is set, in process otherwise) and the HTTP handler. An
// unreachable Redis is not an error: the replica starts degraded. tel makes
// the spans (nil: none).
func newApp(ctx context.Context, cfg *config.Config, db database, log *slog.Logger, tel *telemetry.Tracing) (*app, error) {
	if tel == nil {
		tel = telemetry.Off()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	v, commit := buildVersion()
	metrics.RegisterBuildInfo(reg, v, commit, runtime.Version())
	dbName := "postgres"
	if cfg.Embedded() {
		dbName = "sqlite"
	}
	reg.MustRegister(metrics.NewDBCollector(dbName, db.PoolStats))

	tokens, err := token.New(ctx, db, tokenConfig(cfg, log))
	if err != nil {
		return nil, err
	}
	reg.MustRegister(tokens.Collectors()...)
	hasher, err := newHasher(cfg, tel)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(hasher.Collectors()...)
	limits := cfg.Limits()
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	composer, err := newComposer(cfg)
	if err != nil {
		return nil, err
	}
	sender, err := newSender(cfg, log, tel)
	if err != nil {
		return nil, err
	}
	social, err := socialConfig(ctx, cfg, log, tel)
	if err != nil {
		return nil, err
	}
	social.Observe = metrics.NewSocial(reg)
	pages, err := newPages(cfg, hasher, social.Redirects)
	if err != nil {
		return nil, err
	}

	a := &app{tokens: tokens}
	local := ratelimit.NewMemory(ratelimit.MemoryOptions{})
	var (
		backend    cache.Backend
		limiter    auth.Limiter = local
		redisState func() string
	)
	if cfg.RedisURL != "" {
		rc, err := redisconn.Open(ctx, redisconn.Options{URL: cfg.RedisURL, Logger: log, TracerProvider: tel.Recorder()})
		if err != nil {
			return nil, err
		}
		a.redis = rc
		reg.MustRegister(rc.Collectors()...)
		backend = cache.NewRedis(rc, cache.RedisOptions{Prefix: cfg.RedisKeyPrefix})
		if cfg.RedisLocalCacheMB > 0 {
			near := cache.NewNear(backend, cache.NearOptions{MaxBytes: cfg.RedisLocalCacheMB << 20})
			if feed, ok := cache.StartFeed(rc, near, cache.FeedOptions{Prefix: cfg.RedisKeyPrefix, Logger: log}); ok {
				a.near, a.feed, backend = near, feed, near
				reg.MustRegister(cache.NearCollectors(near)...)
			} else {
				log.Info("AUTH_REDIS_LOCAL_CACHE_MB has no effect on a Redis Cluster: every cache lookup asks Redis")
			}
		}
		limiter = ratelimit.NewRedis(rc, local, ratelimit.RedisOptions{
			Prefix:    cfg.RedisKeyPrefix,
			KeySecret: derive(cfg.SecretKey, "authd rate-limit keys"),
		})
		redisState = rc.State
	} else {
		backend = cache.NewMemory(cache.MemoryOptions{})
	}

	svc := auth.NewService(db, hasher, tokens, auth.Config{
		AccessTokenTTL:    cfg.AccessTokenTTL,
		RefreshTokenTTL:   cfg.RefreshTokenTTL,
		RefreshReuseGrace: cfg.RefreshReuseGrace,
		Logger:            log,
		Cache:             cache.New(backend, cache.Options{MaxTTL: cfg.CacheTTL, Registerer: reg}),
		Limiter:           ratelimit.NewMetered(limiter, reg),
		Limits:            limits,
		Secret:            []byte(cfg.SecretKey),

		SessionMaxLifetime: cfg.SessionMaxLifetime,
		SessionIdleTimeout: cfg.SessionIdleTimeout,

		Mailer:               composer,
		RequireVerifiedEmail: cfg.RequireVerifiedEmail,
		VerifyTokenTTL:       cfg.VerifyTokenTTL,
		ResetTokenTTL:        cfg.ResetTokenTTL,

		Social:   social,
		Observer: metrics.NewAuth(reg),
	})
	a.svc = svc
	a.outbox = mail.NewOutbox(db, composer, sender, mail.OutboxConfig{
		GiveUpAfter: cfg.MailGiveUpAfter,
		Logger:      log,
		Registerer:  reg,
	})
	a.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	publicMetrics := a.metrics
	if cfg.MetricsAddr != "" {
		// 404 on the public listener: pool sizes, refusal counts and cache
		// ratios tell an outsider how to hurt the service.
		publicMetrics = nil
	}
	a.handler = httpapi.New(svc, tokens, db, httpapi.Config{
		Issuer:          cfg.Issuer,
		TrustedProxies:  cfg.TrustedProxies,
		RedisState:      redisState,
		Metrics:         publicMetrics,
		ShuttingDown:    a.shuttingDown.Load,
		SchemaVersion:   schemaVersion(db),
		Registerer:      reg,
		TracerProvider:  tel.Recorder(),
		Propagator:      tel.Propagator,
		HotPathLevel:    cfg.LogHotPaths,
		RefreshTokenTTL: cfg.RefreshTokenTTL,
		Pages:           pages,
	}, log)
	return a, nil
}

// Close releases what newApp opened (not the database).
func (a *app) Close() error {
	if a.feed != nil {
		a.feed.Close()
	}
	if a.redis != nil {
		return a.redis.Close()
	}
	return nil
}

// derive returns a key for one purpose from the service secret, so that no
// two uses share key material.
func derive(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// purgeAudit deletes audit events older than retention once an hour (and at
// start) until ctx ends. Every replica runs it; the deletes are idempotent.
func (a *app) purgeAudit(ctx context.Context, retention time.Duration, log *slog.Logger) {
	if retention <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := a.svc.PurgeAudit(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("audit retention: purge failed", "err", err)
		case n > 0:
			log.Info("audit retention: old events deleted", "count", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purgeSessions runs the session retention job (auth.Service.PurgeSessions)
// every minute, and at start: often enough that a refresh-grace successor
// outlives its interval by a minute at most, since a copy of the database
// taken meanwhile would hold it. Each run is a few indexed statements when
// there is nothing to delete.
func (a *app) purgeSessions(ctx context.Context, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		p, err := a.svc.PurgeSessions(ctx, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("session retention: purge failed", "err", err)
		case p != (auth.SessionPurge{}):
			// Debug: on a busy service every run clears something.
			log.Debug("session retention: purged", "successors", p.Successors,
				"refresh_tokens", p.RefreshTokens, "sessions", p.Sessions, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
