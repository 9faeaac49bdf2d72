package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/httpapi"
	"github.com/talentforge/authd/internal/token"
)

// serve runs the HTTP server until ctx is cancelled (SIGTERM, SIGINT), then
// stops accepting connections and drains in-flight requests for up to
// AUTH_SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, getenv func(string) string, logOut io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, logOut)

	db, err := openReady(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	tokens, err := token.New(ctx, db, tokenConfig(cfg, log))
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	go tokens.Run(bg)

	hasher, err := newHasher(cfg)
	if err != nil {
		return err
	}
	svc := auth.NewService(db, hasher, tokens, auth.Config{
		AccessTokenTTL:    cfg.AccessTokenTTL,
		RefreshTokenTTL:   cfg.RefreshTokenTTL,
		RefreshReuseGrace: cfg.RefreshReuseGrace,
		Logger:            log,
	})
	handler := httpapi.New(svc, tokens, db, httpapi.Config{
		Issuer:         cfg.Issuer,
		TrustedProxies: cfg.TrustedProxies,
	}, log)

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	mode := "embedded (SQLite, in-process cache)"
	if !cfg.Embedded() {
		mode = "PostgreSQL"
	}
	log.Info("authd listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "mode", mode, "version", version())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("authd stopped")
	return nil
}
