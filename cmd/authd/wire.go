package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	noopmetric "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/config"
	"github.com/talentforge/authd/internal/logging"
	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/metrics"
	"github.com/talentforge/authd/internal/oauth"
	"github.com/talentforge/authd/internal/password"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/sqlite"
	"github.com/talentforge/authd/internal/telemetry"
	"github.com/talentforge/authd/internal/token"
	"github.com/talentforge/authd/internal/ui"
)

// database is what authd needs of a storage backend.
type database interface {
	auth.Store
	token.KeyStore
	MigrateUp(ctx context.Context) error
	MigrateDown(ctx context.Context) error
	MigrationStatus(ctx context.Context, w io.Writer) error
	MigrationsPending(ctx context.Context) (bool, error)
	SchemaVersion(ctx context.Context) (int64, error)
	PoolStats() metrics.DBStats
	Close() error
}

func loadConfig(getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(getenv, ".env")
	if err != nil {
		return nil, err
	}
	if err := cfg.EnsureSecret(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// openDatabase opens PostgreSQL when AUTH_DATABASE_URL is set and the SQLite
// file in AUTH_DATA_DIR otherwise. With tel (nil: none) each PostgreSQL
// query makes a span; SQLite queries make none: they run in process and
// show as the time of their parent span.
func openDatabase(ctx context.Context, cfg *config.Config, tel *telemetry.Tracing) (database, error) {
	if !cfg.Embedded() {
		var opts []postgres.Option
		if tp := tel.Recorder(); tp != nil {
			opts = append(opts, postgres.WithTracerProvider(tp))
		}
		db, err := postgres.Open(ctx, cfg.DatabaseURL, opts...)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "authd.db"))
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	return db, nil
}

// openReady opens the database for serving: in embedded mode it applies the
// migrations first, since that mode must work with no set-up step; with
// PostgreSQL, `authd migrate up` is a deliberate, separately rolled-out job, so
// a schema that lags behind the binary is refused with a clear message.
// tel makes the query spans, as for openDatabase.
func openReady(ctx context.Context, cfg *config.Config, tel *telemetry.Tracing) (database, error) {
	db, err := openDatabase(ctx, cfg, tel)
	if err != nil {
		return nil, err
	}
	if cfg.Embedded() {
		if err := db.MigrateUp(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		return db, nil
	}
	pending, err := db.MigrationsPending(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if pending {
		db.Close()
		return nil, errors.New("the database schema is not up to date: run `authd migrate up` first")
	}
	return db, nil
}

// newLogger returns the JSON logger at AUTH_LOG_LEVEL whose lines written
// during a request carry the request's id, trace id, route, client IP and
// user (see package logging).
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	return slog.New(logging.NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel})))
}

func tokenConfig(cfg *config.Config, log *slog.Logger) token.Config {
	rotation := cfg.KeyRotationPeriod
	if rotation == 0 {
		rotation = -1 // AUTH_KEY_ROTATION_PERIOD=0 disables automatic rotation
	}
	verified := cfg.VerifiedTokens
	if verified == 0 {
		verified = -1 // AUTH_VERIFIED_TOKEN_CACHE=0 disables the cache
	}
	return token.Config{
		Issuer:         cfg.Issuer,
		Audience:       cfg.Audience,
		Algorithm:      cfg.SigningAlg,
		AccessTTL:      cfg.AccessTokenTTL,
		RotationPeriod: rotation,
		PublishDelay:   cfg.KeyPublishDelay,
		Secret:         []byte(cfg.SecretKey),
		Logger:         log,

		VerifiedCacheSize: verified,
		// The tolerated clock skew between replicas, which differ by far
		// less than a second: the usual 30s would let a 5s token (the
		// shortest AUTH_ACCESS_TOKEN_TTL) live seven times its lifetime.
		Leeway: min(token.DefaultLeeway, cfg.AccessTokenTTL/10),
	}
}

// newHasher returns the password hasher of the configuration, making the
// password.hash and password.verify spans with tel (nil: none).
func newHasher(cfg *config.Config, tel *telemetry.Tracing) (*password.Hasher, error) {
	params := password.DefaultParams
	params.Memory = cfg.Argon2MemoryKiB
	params.Time = cfg.Argon2Iterations
	params.Threads = cfg.Argon2Parallelism
	pc := password.Config{
		Params:        params,
		MinLength:     cfg.PasswordMinLength,
		MaxConcurrent: cfg.HashConcurrency,
		QueueTimeout:  cfg.HashQueueTimeout,
		Priority:      cfg.HashPriority,
	}
	pc.TracerProvider = tel.Recorder()
	if err := pc.Validate(); err != nil {
		return nil, fmt.Errorf("password hashing settings (AUTH_ARGON2_*, AUTH_PASSWORD_MIN_LENGTH): %w", err)
	}
	return password.New(pc), nil
}

// newPages returns the hosted pages under /ui/, or nil when
// AUTH_UI_ENABLED is false.
func newPages(cfg *config.Config, hasher *password.Hasher, redirects *auth.Redirects) (http.Handler, error) {
	if !cfg.UI.Enabled {
		return nil, nil
	}
	minLength, maxLength := hasher.Lengths()
	h, err := ui.New(ui.Config{
		Branding: ui.Branding{
			ProductName:  cfg.ProductName,
			LogoURL:      cfg.UI.LogoURL,
			PrimaryColor: cfg.UI.PrimaryColor,
		},
		Issuer:            cfg.Issuer,
		PasswordMinLength: minLength,
		PasswordMaxLength: maxLength,
		RedirectURLs:      redirects.URLs(),
	})
	if err != nil {
		return nil, fmt.Errorf("hosted pages: %w", err)
	}
	return h, nil
}

// newComposer loads the mail templates (the embedded ones, overridden from
// AUTH_MAIL_TEMPLATES_DIR) and returns the composer that renders and seals
// the domain's mail. A broken template or setting fails here, at start-up.
func newComposer(cfg *config.Config) (*mail.Composer, error) {
	t, err := mail.Load(cfg.MailTemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("mail templates (AUTH_MAIL_TEMPLATES_DIR): %w", err)
	}
	c, err := mail.NewComposer(t, mail.ComposerConfig{
		Product: cfg.ProductName,
		From:    cfg.SMTPFrom,
		UIURL:   cfg.UIURL,
		Secret:  []byte(cfg.SecretKey),
	})
	if err != nil {
		return nil, fmt.Errorf("mail settings: %w", err)
	}
	return c, nil
}

// newSender returns the SMTP sender of AUTH_SMTP_URL, making an smtp.send
// span per mail with tel (nil: none), or, without one, the sender that
// writes each mail with its links to the log.
func newSender(cfg *config.Config, log *slog.Logger, tel *telemetry.Tracing) (mail.Sender, error) {
	if cfg.SMTPURL == "" {
		return mail.NewLog(log), nil
	}
	var opts []mail.SMTPOption
	if tp := tel.Recorder(); tp != nil {
		opts = append(opts, mail.WithTracerProvider(tp))
	}
	s, err := mail.NewSMTP(cfg.SMTPURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("AUTH_SMTP_URL: %w", err)
	}
	return s, nil
}

// version is "<version> (<commit>)"; see buildVersion.
func version() string {
	v, commit := buildVersion()
	return v + " (" + commit + ")"
}

// buildVersion returns the module version ("devel" when built from a work
// tree) and the first 12 digits of vcs.revision, +dirty for uncommitted
// changes ("unknown" when the build recorded none).
func buildVersion() (v, commit string) {
	v, commit = "devel", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v, commit
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit != "unknown" {
		commit += "+dirty"
	}
	return v, commit
}

// socialConfig builds the social providers the configuration turns on,
// each with its callback URL under AUTH_ISSUER (oauth.RedirectURL), and the
// redirect_to allowlist. ctx is the app's lifetime: the OIDC providers'
// discovery runs in the background under it and is retried until it
// succeeds, so a provider that cannot be reached at start-up does not stop
// authd (its sign-in answers provider_unavailable until then). Only a
// configuration that can never work is an error. With tel (nil: none) the
// providers make a client span per HTTP call.
func socialConfig(ctx context.Context, cfg *config.Config, log *slog.Logger, tel *telemetry.Tracing) (auth.SocialConfig, error) {
	sc := cfg.Social
	client := providerClient(tel)
	allowed := sc.RedirectURLs
	if cfg.UI.Enabled {
		// The hosted pages' sign-in and account pages take a social
		// sign-in's or link's return on authd's own origin.
		allowed = append(slices.Clone(allowed), ui.ReturnURLs(cfg.Issuer)...)
	}
	redirects, err := auth.NewRedirects(allowed)
	if err != nil {
		return auth.SocialConfig{}, fmt.Errorf("AUTH_REDIRECT_URLS: %w", err)
	}
	out := auth.SocialConfig{Redirects: redirects}
	if g := sc.Google; g != nil {
		p, err := oauth.NewGoogle(ctx, oauth.Config{
			ClientID:     g.ClientID,
			ClientSecret: g.ClientSecret,
			RedirectURL:  oauth.RedirectURL(cfg.Issuer, "google"),
			Logger:       log,
			HTTPClient:   client,
		})
		if err != nil {
			return auth.SocialConfig{}, fmt.Errorf("Google sign-in (AUTH_GOOGLE_*): %w", err)
		}
		out.Providers = append(out.Providers, p)
	}
	if g := sc.GitHub; g != nil {
		p, err := oauth.NewGitHub(oauth.GitHubConfig{
			ClientID:     g.ClientID,
			ClientSecret: g.ClientSecret,
			RedirectURL:  oauth.RedirectURL(cfg.Issuer, "github"),
			WebURL:       g.WebURL,
			APIURL:       g.APIURL,
			HTTPClient:   client,
		})
		if err != nil {
			return auth.SocialConfig{}, fmt.Errorf("GitHub sign-in (AUTH_GITHUB_*): %w", err)
		}
		out.Providers = append(out.Providers, p)
	}
	for _, o := range sc.OIDC {
		p, err := oauth.NewOIDC(ctx, oauth.Config{
			Name:         o.Name,
			DisplayName:  o.DisplayName,
			Issuer:       o.Issuer,
			ClientID:     o.ClientID,
			ClientSecret: o.ClientSecret,
			RedirectURL:  oauth.RedirectURL(cfg.Issuer, o.Name),
			Scopes:       o.Scopes,
			Logger:       log,
			HTTPClient:   client,
		})
		if err != nil {
			return auth.SocialConfig{}, fmt.Errorf("OIDC provider %s (AUTH_OIDC_%s_*): %w", o.Name, strings.ToUpper(o.Name), err)
		}
		out.Providers = append(out.Providers, p)
	}
	for _, p := range out.Providers {
		log.Info("social login provider configured", "provider", p.Name(), "callback_url", oauth.RedirectURL(cfg.Issuer, p.Name()))
	}
	return out, nil
}

// providerClient returns the HTTP client of the social providers: the
// oauth package's default (nil) without tracing, otherwise one that makes a
// client span per call. It sends no traceparent: the providers are third
// parties, and our trace ids are no business of theirs.
func providerClient(tel *telemetry.Tracing) *http.Client {
	tp := tel.Recorder()
	if tp == nil {
		return nil
	}
	return &http.Client{
		Timeout: oauth.DefaultTimeout,
		Transport: otelhttp.NewTransport(http.DefaultTransport,
			otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
			otelhttp.WithMeterProvider(noopmetric.NewMeterProvider()),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "oauth " + r.Method + " " + r.URL.Host }),
		),
	}
}
