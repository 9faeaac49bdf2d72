package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/redisconn"
	"github.com/talentforge/authd/internal/telemetry"
)

// serve runs the HTTP server until ctx is cancelled (SIGTERM, SIGINT). Then
// /readyz answers 503 at once, serving goes on for AUTH_SHUTDOWN_DELAY so
// that load balancers stop routing here before connections are refused, and
// only then does it stop accepting connections and drain in-flight requests
// for up to AUTH_SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, env environment, logOut io.Writer) error {
	cfg, err := loadCommandConfig(ctx, env, logOut)
	if err != nil {
		return err
	}
	warning, err := cfg.CheckServe()
	if err != nil {
		return err
	}
	log := newLogger(cfg, logOut)
	if warning != "" {
		log.Warn(warning)
	}
	// go-redis logs through a package-global logger: set once, here, so
	// that its lines join the JSON stream instead of plain text on stderr.
	redisconn.RouteLogs(log)
	telemetry.RouteErrors(log)

	tel, err := telemetry.Setup(ctx, env.getenv, version())
	if err != nil {
		return err
	}
	// Flushed last, after the HTTP drain and the outbox, so that the spans
	// of the requests drained are exported too.
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(flushCtx); err != nil {
			log.Warn("tracing: spans not exported at shutdown", "err", err)
		}
	}()
	if endpoint, protocol, ok := tel.Exporting(); ok {
		log.Info("tracing: exporting spans over OTLP", "endpoint", telemetry.StripQuery(endpoint), "protocol", protocol)
	}

	defer reserveHashingProcs(cfg, log)()

	db, err := openReady(ctx, cfg, tel)
	if err != nil {
		return err
	}
	defer db.Close()

	a, err := newApp(ctx, cfg, db, log, tel)
	if err != nil {
		return err
	}
	defer a.Close()
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	go a.tokens.Run(bg)
	go a.purgeAudit(bg, cfg.AuditRetention, log)
	go a.purgeSessions(bg, cfg.SessionRetention, log)
	// The outbox stops after the HTTP drain (requests may queue mail until
	// then), finishing the send under way.
	outboxCtx, stopOutbox := context.WithCancel(bg)
	defer stopOutbox()
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		a.outbox.Run(outboxCtx)
	}()

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           a.handler,
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
	var metricsSrv *http.Server
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("AUTH_METRICS_ADDR: %w", err)
		}
		metricsSrv = metricsServer(a.metrics)
		// Shutdown below drains it; Close covers the early returns.
		defer metricsSrv.Close()
		go func() {
			if err := metricsSrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener failed", "err", err)
			}
		}()
		log.Info("metrics served", "addr", mln.Addr().String())
	}
	mode := "embedded (SQLite)"
	if !cfg.Embedded() {
		mode = "PostgreSQL"
	}
	if a.redis != nil {
		mode += ", Redis " + a.redis.Mode()
	} else {
		mode += ", in-process cache and limits"
	}
	if cfg.DebugAddr != "" {
		addr, stopDebug, err := serveDebug(cfg.DebugAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("AUTH_DEBUG_ADDR: %w", err)
		}
		defer stopDebug()
		log.Info("pprof profiles served", "addr", addr)
	}
	// Logged once every listener is open, with the addresses they got (a
	// port 0 in the configuration is one the system picked): whoever reads
	// this line can connect to each of them.
	log.Info("authd listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "mode", mode, "version", version())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Unready first, still serving: the load balancers' next readiness
	// probe takes this replica out of rotation. Connections answered from
	// now on are closed after their response, so that clients reconnect
	// elsewhere.
	a.shuttingDown.Store(true)
	srv.SetKeepAlivesEnabled(false)
	log.Info("shutting down: /readyz answers 503, still serving", "delay", cfg.ShutdownDelay.String())
	delayed := make(chan struct{})
	go func() {
		defer close(delayed)
		waitShutdownDelay(context.WithoutCancel(ctx), cfg.ShutdownDelay)
	}()
	select {
	case <-delayed:
	case err := <-errc:
		return err
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	// The public listener first, so that its drain can still be scraped.
	err = srv.Shutdown(shutdownCtx)
	if metricsSrv != nil {
		err = errors.Join(err, metricsSrv.Shutdown(shutdownCtx))
	}
	stopOutbox()
	select {
	case <-outboxDone:
	case <-shutdownCtx.Done():
		// The mail being sent goes out again after its lease if it was
		// sent but not yet marked so.
		log.Warn("shutting down: the mail outbox was still sending at AUTH_SHUTDOWN_TIMEOUT")
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("authd stopped")
	return nil
}

// reserveHashingProcs, when hashing runs at a lowered priority
// (AUTH_HASH_PRIORITY), raises GOMAXPROCS by the number of hashing threads
// and returns the function that restores it. A hashing thread holds one of
// Go's GOMAXPROCS slots (a P) for as long as it computes, whatever its nice
// value: with as many hashes running as there are Ps, request handling
// would wait for Go's scheduler to preempt one (every 10ms) however idle the
// kernel made it. With a P of their own, hashing threads take nothing from
// requests in Go, and the kernel, which knows their priority, arbitrates
// the CPU. The hashing concurrency is fixed first from the CPU limit, so
// that raising GOMAXPROCS does not also raise it.
//
// Setting GOMAXPROCS stops the runtime from following later changes of the
// container's CPU limit; a restart picks them up.
func reserveHashingProcs(cfg *config.Config, log *slog.Logger) (restore func()) {
	if cfg.HashPriority == 0 || runtime.GOOS != "linux" {
		return func() {}
	}
	procs := runtime.GOMAXPROCS(0)
	if cfg.HashConcurrency == 0 {
		cfg.HashConcurrency = procs
	}
	runtime.GOMAXPROCS(procs + cfg.HashConcurrency)
	log.Info("password hashing on threads of lower priority", "nice", cfg.HashPriority,
		"threads", cfg.HashConcurrency, "gomaxprocs", procs+cfg.HashConcurrency)
	// serve returns within tests and `authd` subcommands; the process's
	// setting must not outlive it.
	return func() { runtime.GOMAXPROCS(procs) }
}

// metricsServer serves /metrics, and nothing else, from handler on the
// listener of AUTH_METRICS_ADDR.
func metricsServer(handler http.Handler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", handler)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

// serveDebug serves Go's pprof profiles on addr (loopback, checked by
// config) from a mux of its own, so that nothing of it can reach the public
// listener. It returns the address it listens on and a function that closes
// it.
func serveDebug(addr string) (string, func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}
