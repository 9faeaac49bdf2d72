package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Var describes one configuration variable.
type Var struct {
	Name    string
	Default string
	Help    string
	Secret  bool // masked by Print
}

// Vars is every variable authd reads, in the order .env.example and
// `authd config` present them.
var Vars = []Var{
	{Name: "AUTH_ENV", Default: "development", Help: "production turns on the strict start-up checks"},
	{Name: "AUTH_ADDR", Default: ":8080", Help: "listen address"},
	{Name: "AUTH_DATA_DIR", Default: "./data", Help: "embedded mode: SQLite file and generated secrets"},
	{Name: "AUTH_DATABASE_URL", Default: "", Help: "postgres://… selects PostgreSQL; empty selects SQLite in AUTH_DATA_DIR", Secret: true},
	{Name: "AUTH_REDIS_URL", Default: "", Help: "redis://…; empty keeps cache and limits in process", Secret: true},
	{Name: "AUTH_REDIS_KEY_PREFIX", Default: "authd:", Help: "prefix of every key authd writes to Redis (to share one Redis between deployments)"},
	{Name: "AUTH_REDIS_LOCAL_CACHE_MB", Default: "32", Help: "MiB of warm cache entries each replica keeps in memory, kept current by Redis's invalidation messages (standalone and Sentinel; 0: every lookup asks Redis)"},
	{Name: "AUTH_SINGLE_REPLICA", Default: "false", Help: "true declares that one replica serves the PostgreSQL database, so production may run without Redis"},
	{Name: "AUTH_ISSUER", Default: "http://localhost:8080", Help: "iss of tokens and base of the well-known URLs (https in production)"},
	{Name: "AUTH_AUDIENCE", Default: "", Help: "aud of access tokens; empty means the issuer"},
	{Name: "AUTH_SECRET_KEY", Default: "", Help: "at least 32 characters; encrypts signing keys at rest (generated in embedded mode)", Secret: true},
	{Name: "AUTH_ACCESS_TOKEN_TTL", Default: "15m", Help: "access-token lifetime, 5s to 24h"},
	{Name: "AUTH_REFRESH_TOKEN_TTL", Default: "720h", Help: "refresh-token lifetime"},
	{Name: "AUTH_REFRESH_REUSE_GRACE", Default: "10s", Help: "grace interval for concurrent refreshes (0 disables)"},
	{Name: "AUTH_SESSION_MAX_LIFETIME", Default: "2160h", Help: "a session ends this long after sign-in however often it is refreshed (0: refreshes extend it forever)"},
	{Name: "AUTH_SESSION_IDLE_TIMEOUT", Default: "0", Help: "a session not refreshed for this long ends; must exceed AUTH_ACCESS_TOKEN_TTL (0: off)"},
	{Name: "AUTH_SESSION_RETENTION", Default: "720h", Help: "how long ended (expired or revoked) sessions are kept before deletion (0 keeps them forever)"},
	{Name: "AUTH_VERIFIED_TOKEN_CACHE", Default: "16384", Help: "access tokens each replica remembers as verified, to skip repeat signature checks (0 disables)"},
	{Name: "AUTH_SIGNING_ALG", Default: "ES256", Help: "access-token algorithm: ES256, EdDSA or RS256"},
	{Name: "AUTH_KEY_ROTATION_PERIOD", Default: "720h", Help: "age at which the signing key is rotated automatically (0 disables)"},
	{Name: "AUTH_KEY_PUBLISH_DELAY", Default: "10m", Help: "how long a new signing key is published in the JWKS before it signs"},
	{Name: "AUTH_PASSWORD_MIN_LENGTH", Default: "8", Help: "minimum password length in characters (8..1024)"},
	{Name: "AUTH_ARGON2_MEMORY_KIB", Default: "19456", Help: "argon2id memory cost in KiB (OWASP minimum 19456)"},
	{Name: "AUTH_ARGON2_ITERATIONS", Default: "2", Help: "argon2id time cost"},
	{Name: "AUTH_ARGON2_PARALLELISM", Default: "1", Help: "argon2id lanes"},
	{Name: "AUTH_HASH_CONCURRENCY", Default: "", Help: "password hashes computed at once; empty means GOMAXPROCS (the CPU limit)"},
	{Name: "AUTH_HASH_QUEUE_TIMEOUT", Default: "2s", Help: "how long a login waits for a hashing slot before 503 + Retry-After"},
	{Name: "AUTH_HASH_PRIORITY", Default: "10", Help: "nice value (0..19) of the threads that compute password hashes, so requests get the CPU first; 0 hashes at the process's priority (Linux only)"},
	{Name: "AUTH_CACHE_TTL", Default: "5m", Help: "longest a cached session or profile is kept (every write invalidates it at once)"},
	{Name: "AUTH_RATE_LOGIN_ACCOUNT", Default: "5/15m", Help: "failed logins per email and client IP before that IP is locked out of the account; also per remembered device and per session (N/period, or off)"},
	{Name: "AUTH_LOGIN_MAX_LOCKOUT", Default: "1h", Help: "cap of the lockout, which doubles with each repeated lockout (0: no escalation)"},
	{Name: "AUTH_RATE_LOGIN_ACCOUNT_GLOBAL", Default: "100/15m", Help: "failed logins per email from all IPs together (distributed guessing); remembered devices are exempt (N/period, or off)"},
	{Name: "AUTH_RATE_LOGIN_IP", Default: "50/15m", Help: "failed logins per client IP (N/period, or off)"},
	{Name: "AUTH_RATE_REGISTER_IP", Default: "20/1h", Help: "registrations per client IP (N/period, or off)"},
	{Name: "AUTH_RATE_REFRESH_IP", Default: "120/1m", Help: "token refreshes per client IP (N/period, or off)"},
	{Name: "AUTH_RATE_CLIENT_IP", Default: "60/1m", Help: "failed service-client authentications per client IP (N/period, or off)"},
	{Name: "AUTH_RATE_MAIL_IP", Default: "10/15m", Help: "requests that send mail (forgot password, resend verification) per client IP (N/period, or off)"},
	{Name: "AUTH_RATE_MAIL_ADDRESS", Default: "3/1h", Help: "requests that send mail per address, known or not (N/period, or off)"},
	{Name: "AUTH_RATE_IPV4_PREFIX", Default: "32", Help: "per-IP limits count IPv4 clients by this prefix length (16..32)"},
	{Name: "AUTH_RATE_IPV6_PREFIX", Default: "64", Help: "per-IP limits count IPv6 clients by this prefix length (32..128); a subscriber usually holds a whole /64"},
	{Name: "AUTH_AUDIT_RETENTION", Default: "2160h", Help: "age at which audit events are deleted (0 keeps them forever)"},
	{Name: "AUTH_TRUSTED_PROXIES", Default: "", Help: "comma-separated CIDRs whose X-Forwarded-For/-Proto are trusted"},
	{Name: "AUTH_SMTP_URL", Default: "", Help: "smtp://[user:pass@]host[:port] (STARTTLS when offered; ?starttls=required to insist), smtps://… for implicit TLS; empty writes mail, links included, to the log (development only; required in production)", Secret: true},
	{Name: "AUTH_SMTP_FROM", Default: "", Help: "sender address of mail, e.g. Example <no-reply@example.com>; empty means no-reply@ and the issuer's host"},
	{Name: "AUTH_UI_URL", Default: "", Help: "base of the links in mail (…/verify-email#token=…, …/reset-password#token=…); empty means AUTH_ISSUER/ui (https in production)"},
	{Name: "AUTH_PRODUCT_NAME", Default: "authd", Help: "product name in mail subjects and bodies and on the hosted pages"},
	{Name: "AUTH_UI_ENABLED", Default: "true", Help: "false turns the hosted pages under /ui/ off (404), for deployments with pages of their own"},
	{Name: "AUTH_UI_LOGO_URL", Default: "", Help: "logo on the hosted pages: an https URL or a path on authd's origin; empty shows AUTH_PRODUCT_NAME as text"},
	{Name: "AUTH_UI_PRIMARY_COLOR", Default: "#4f46e5", Help: "the hosted pages' brand colour as #rrggbb (buttons, links, focus rings; the text on it is black or white by contrast)"},
	{Name: "AUTH_MAIL_TEMPLATES_DIR", Default: "", Help: "directory of mail templates overriding the embedded ones, file by file (checked at start-up)"},
	{Name: "AUTH_REQUIRE_VERIFIED_EMAIL", Default: "false", Help: "true refuses password login until the account's address is verified"},
	{Name: "AUTH_VERIFY_TOKEN_TTL", Default: "24h", Help: "how long an email verification (or email change) link works, 10m to 720h"},
	{Name: "AUTH_RESET_TOKEN_TTL", Default: "1h", Help: "how long a password reset link works, 5m to 24h"},
	{Name: "AUTH_MAIL_GIVE_UP_AFTER", Default: "72h", Help: "age at which an undeliverable mail is dropped (audited as mail.undeliverable), 10m to 720h"},
	{Name: "AUTH_REDIRECT_URLS", Default: "", Help: "comma-separated URLs social login may send the browser back to (redirect_to), matched exactly after normalisation; required when a social provider is on (https in production)"},
	{Name: "AUTH_GOOGLE_CLIENT_ID", Default: "", Help: "Google OAuth client ID; empty turns Google sign-in off"},
	{Name: "AUTH_GOOGLE_CLIENT_SECRET", Default: "", Help: "Google OAuth client secret (set with the client ID)", Secret: true},
	{Name: "AUTH_GITHUB_CLIENT_ID", Default: "", Help: "GitHub OAuth app client ID; empty turns GitHub sign-in off"},
	{Name: "AUTH_GITHUB_CLIENT_SECRET", Default: "", Help: "GitHub OAuth app client secret (set with the client ID)", Secret: true},
	{Name: "AUTH_GITHUB_URL", Default: "https://github.com", Help: "GitHub's web URL; a GitHub Enterprise Server's own, e.g. https://github.example.com (https in production)"},
	{Name: "AUTH_GITHUB_API_URL", Default: "https://api.github.com", Help: "GitHub's REST API URL; for GitHub Enterprise Server https://github.example.com/api/v3 (https in production)"},
	{Name: "AUTH_OIDC_PROVIDERS", Default: "", Help: "comma-separated names of generic OpenID Connect providers; each NAME takes AUTH_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _SCOPES and _DISPLAY_NAME"},
	{Name: "AUTH_DEBUG_ADDR", Default: "", Help: "loopback address serving Go's pprof profiles, e.g. 127.0.0.1:6060 (empty: off)"},
	{Name: "AUTH_METRICS_ADDR", Default: "", Help: "address of a listener of its own for /metrics, e.g. :9090; empty serves /metrics on AUTH_ADDR (set it in production)"},
	{Name: "AUTH_SHUTDOWN_DELAY", Default: "5s", Help: "how long SIGTERM keeps serving with /readyz at 503, so that load balancers stop routing before connections are refused (0: none)"},
	{Name: "AUTH_SHUTDOWN_TIMEOUT", Default: "20s", Help: "how long SIGTERM waits for in-flight requests"},
	{Name: "AUTH_LOG_LEVEL", Default: "info", Help: "debug, info, warn, error"},
	{Name: "AUTH_LOG_HOT_PATHS", Default: "debug", Help: "level of the access-log lines of successful verify, users/me and introspect requests: debug or info"},
}

// Config is the effective configuration.
type Config struct {
	Env                  string
	Addr                 string
	DataDir              string
	DatabaseURL          string
	RedisURL             string
	RedisKeyPrefix       string
	RedisLocalCacheMB    int
	SingleReplica        bool
	Issuer               string
	Audience             string
	SecretKey            string
	SecretGenerated      bool // SecretKey was read from or written to DataDir
	AccessTokenTTL       time.Duration
	RefreshTokenTTL      time.Duration
	RefreshReuseGrace    time.Duration
	SigningAlg           string
	VerifiedTokens       int
	KeyRotationPeriod    time.Duration
	KeyPublishDelay      time.Duration
	PasswordMinLength    int
	Argon2MemoryKiB      uint32
	Argon2Iterations     uint32
	Argon2Parallelism    uint8
	HashConcurrency      int // 0: the hasher's default
	HashQueueTimeout     time.Duration
	HashPriority         int // nice value of the hashing threads; 0: the process's
	CacheTTL             time.Duration
	AuditRetention       time.Duration
	LoginAccountRate     Rate
	LoginMaxLockout      time.Duration
	LoginIPRate          Rate
	RegisterIPRate       Rate
	RefreshIPRate        Rate
	LoginGlobalRate      Rate
	ClientIPRate         Rate
	IPv4Prefix           int // bits of an IPv4 address per-IP limits count by
	IPv6Prefix           int // bits of an IPv6 address per-IP limits count by
	TrustedProxies       []netip.Prefix
	MailIPRate           Rate
	MailAddressRate      Rate
	SMTPURL              string
	SMTPFrom             string // never empty: AUTH_SMTP_FROM or its default
	UIURL                string // never empty: AUTH_UI_URL or AUTH_ISSUER/ui
	ProductName          string
	UI                   UI
	MailTemplatesDir     string // "": the embedded templates
	RequireVerifiedEmail bool
	VerifyTokenTTL       time.Duration
	ResetTokenTTL        time.Duration
	MailGiveUpAfter      time.Duration
	ShutdownDelay        time.Duration
	ShutdownTimeout      time.Duration
	DebugAddr            string
	MetricsAddr          string // "": /metrics on Addr
	LogLevel             slog.Level
	// LogHotPaths is the level of successful requests' access-log lines on
	// the routes gateways call for every request (AUTH_LOG_HOT_PATHS).
	LogHotPaths slog.Level

	// Session lifetimes and the retention of ended sessions; 0 turns each
	// off (and keeps ended sessions forever).
	SessionMaxLifetime time.Duration
	SessionIdleTimeout time.Duration
	SessionRetention   time.Duration

	// Social is social login: the redirect_to allowlist and the providers
	// turned on.
	Social SocialConfig

	raw     map[string]string // effective string values, for Print
	dynamic []Var             // the AUTH_OIDC_<NAME>_* variables read, for Print

	dotenvPath  string   // the .env file read, for UnknownVars
	dotenvNames []string // the variables it sets
}

// Production reports whether the strict production checks apply.
func (c *Config) Production() bool { return c.Env == "production" }

// Embedded reports whether authd runs on SQLite in DataDir.
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// Load reads the configuration: a variable set in the environment (getenv)
// wins over the same variable in the .env file at dotenvPath (a missing file
// is fine), which wins over the default. It returns an error naming the first
// malformed variable. Load does not touch the file system otherwise; call
// EnsureSecret and Validate next.
func Load(getenv func(string) string, dotenvPath string) (*Config, error) {
	file := map[string]string{}
	if dotenvPath != "" {
		m, err := godotenv.Read(dotenvPath)
		switch {
		case err == nil:
			file = m
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("read %s: %w", dotenvPath, err)
		}
	}
	lookup := func(name, def string) string {
		val := getenv(name)
		if val == "" {
			val = file[name]
		}
		if val == "" {
			val = def
		}
		return strings.TrimSpace(val)
	}
	raw := make(map[string]string, len(Vars))
	for _, v := range Vars {
		raw[v.Name] = lookup(v.Name, v.Default)
	}
	p := parser{raw: raw}
	c := &Config{
		Env:                  raw["AUTH_ENV"],
		Addr:                 raw["AUTH_ADDR"],
		DataDir:              raw["AUTH_DATA_DIR"],
		DatabaseURL:          raw["AUTH_DATABASE_URL"],
		RedisURL:             raw["AUTH_REDIS_URL"],
		RedisKeyPrefix:       raw["AUTH_REDIS_KEY_PREFIX"],
		RedisLocalCacheMB:    p.int("AUTH_REDIS_LOCAL_CACHE_MB", 0, 64<<10),
		SingleReplica:        raw["AUTH_SINGLE_REPLICA"] == "true",
		Issuer:               strings.TrimRight(raw["AUTH_ISSUER"], "/"),
		Audience:             raw["AUTH_AUDIENCE"],
		SecretKey:            raw["AUTH_SECRET_KEY"],
		AccessTokenTTL:       p.duration("AUTH_ACCESS_TOKEN_TTL", 5*time.Second, 24*time.Hour),
		RefreshTokenTTL:      p.duration("AUTH_REFRESH_TOKEN_TTL", time.Minute, 10*365*24*time.Hour),
		RefreshReuseGrace:    p.duration("AUTH_REFRESH_REUSE_GRACE", 0, 5*time.Minute),
		SigningAlg:           raw["AUTH_SIGNING_ALG"],
		VerifiedTokens:       p.int("AUTH_VERIFIED_TOKEN_CACHE", 0, 10_000_000),
		KeyRotationPeriod:    p.duration("AUTH_KEY_ROTATION_PERIOD", 0, 10*365*24*time.Hour),
		KeyPublishDelay:      p.duration("AUTH_KEY_PUBLISH_DELAY", time.Second, 24*time.Hour), // 0 would mean the default, silently: refused
		PasswordMinLength:    p.int("AUTH_PASSWORD_MIN_LENGTH", 8, 1024),
		Argon2MemoryKiB:      uint32(p.int("AUTH_ARGON2_MEMORY_KIB", 8, 4<<20)),
		Argon2Iterations:     uint32(p.int("AUTH_ARGON2_ITERATIONS", 1, 100)),
		Argon2Parallelism:    uint8(p.int("AUTH_ARGON2_PARALLELISM", 1, 255)),
		HashQueueTimeout:     p.duration("AUTH_HASH_QUEUE_TIMEOUT", 0, time.Minute),
		HashPriority:         p.int("AUTH_HASH_PRIORITY", 0, 19),
		CacheTTL:             p.duration("AUTH_CACHE_TTL", time.Second, 24*time.Hour),
		AuditRetention:       p.duration("AUTH_AUDIT_RETENTION", 0, 100*365*24*time.Hour),
		LoginAccountRate:     p.rate("AUTH_RATE_LOGIN_ACCOUNT"),
		LoginMaxLockout:      p.duration("AUTH_LOGIN_MAX_LOCKOUT", 0, 30*24*time.Hour),
		LoginIPRate:          p.rate("AUTH_RATE_LOGIN_IP"),
		RegisterIPRate:       p.rate("AUTH_RATE_REGISTER_IP"),
		RefreshIPRate:        p.rate("AUTH_RATE_REFRESH_IP"),
		LoginGlobalRate:      p.rate("AUTH_RATE_LOGIN_ACCOUNT_GLOBAL"),
		ClientIPRate:         p.rate("AUTH_RATE_CLIENT_IP"),
		IPv4Prefix:           p.int("AUTH_RATE_IPV4_PREFIX", 16, 32),
		IPv6Prefix:           p.int("AUTH_RATE_IPV6_PREFIX", 32, 128),
		MailIPRate:           p.rate("AUTH_RATE_MAIL_IP"),
		MailAddressRate:      p.rate("AUTH_RATE_MAIL_ADDRESS"),
		SMTPURL:              raw["AUTH_SMTP_URL"],
		SMTPFrom:             raw["AUTH_SMTP_FROM"],
		UIURL:                raw["AUTH_UI_URL"],
		ProductName:          raw["AUTH_PRODUCT_NAME"],
		MailTemplatesDir:     raw["AUTH_MAIL_TEMPLATES_DIR"],
		RequireVerifiedEmail: raw["AUTH_REQUIRE_VERIFIED_EMAIL"] == "true",
		VerifyTokenTTL:       p.duration("AUTH_VERIFY_TOKEN_TTL", 10*time.Minute, 30*24*time.Hour),
		ResetTokenTTL:        p.duration("AUTH_RESET_TOKEN_TTL", 5*time.Minute, 24*time.Hour),
		MailGiveUpAfter:      p.duration("AUTH_MAIL_GIVE_UP_AFTER", 10*time.Minute, 30*24*time.Hour),
		ShutdownDelay:        p.duration("AUTH_SHUTDOWN_DELAY", 0, 5*time.Minute),
		ShutdownTimeout:      p.duration("AUTH_SHUTDOWN_TIMEOUT", 0, 10*time.Minute),
		DebugAddr:            raw["AUTH_DEBUG_ADDR"],
		MetricsAddr:          raw["AUTH_METRICS_ADDR"],
		raw:                  raw,
	}
	c.SessionMaxLifetime = p.optionalDuration("AUTH_SESSION_MAX_LIFETIME", time.Minute, 10*365*24*time.Hour)
	c.SessionIdleTimeout = p.optionalDuration("AUTH_SESSION_IDLE_TIMEOUT", time.Minute, 10*365*24*time.Hour)
	c.SessionRetention = p.duration("AUTH_SESSION_RETENTION", 0, 100*365*24*time.Hour)
	// Empty leaves 0: the hasher then uses GOMAXPROCS, which follows a
	// container's CPU limit.
	if raw["AUTH_HASH_CONCURRENCY"] != "" {
		c.HashConcurrency = p.int("AUTH_HASH_CONCURRENCY", 1, 1024)
	}
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	switch c.Env {
	case "development", "production", "test":
	default:
		p.fail("AUTH_ENV", "must be development, production or test")
	}
	if v := raw["AUTH_SINGLE_REPLICA"]; v != "true" && v != "false" {
		p.fail("AUTH_SINGLE_REPLICA", "must be true or false")
	}
	switch c.SigningAlg {
	case "ES256", "EdDSA", "RS256":
	default:
		p.fail("AUTH_SIGNING_ALG", "must be ES256, EdDSA or RS256")
	}
	if err := c.LogLevel.UnmarshalText([]byte(raw["AUTH_LOG_LEVEL"])); err != nil {
		p.fail("AUTH_LOG_LEVEL", "must be debug, info, warn or error")
	}
	switch raw["AUTH_LOG_HOT_PATHS"] {
	case "debug":
		c.LogHotPaths = slog.LevelDebug
	case "info":
		c.LogHotPaths = slog.LevelInfo
	default:
		p.fail("AUTH_LOG_HOT_PATHS", "must be debug or info")
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail("AUTH_ISSUER", "must be an absolute http(s) URL")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		p.fail("AUTH_DATABASE_URL", "must start with postgres:// (or be empty for SQLite)")
	}
	for _, s := range strings.Split(raw["AUTH_TRUSTED_PROXIES"], ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.fail("AUTH_TRUSTED_PROXIES", fmt.Sprintf("%q is not a CIDR or an IP address", s))
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}
	if c.SessionIdleTimeout > 0 && c.SessionIdleTimeout <= c.AccessTokenTTL {
		// Only a refresh marks a session used: a client that refreshes when
		// its access token expires would otherwise find its session idle.
		p.fail("AUTH_SESSION_IDLE_TIMEOUT", "must be longer than AUTH_ACCESS_TOKEN_TTL (or 0 for off)")
	}
	if c.DebugAddr != "" && !loopback(c.DebugAddr) {
		// Profiles reveal memory contents and cost CPU on demand: never
		// reachable from outside the host.
		p.fail("AUTH_DEBUG_ADDR", "must be a loopback address such as 127.0.0.1:6060")
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr != "" && err != nil {
		p.fail("AUTH_METRICS_ADDR", "must be host:port or :port, e.g. :9090")
	}
	c.loadMail(&p)
	c.loadUI(&p)
	c.loadSocial(&p, lookup)
	c.dotenvPath = dotenvPath
	for name := range file {
		c.dotenvNames = append(c.dotenvNames, name)
	}
	if p.err != nil {
		return nil, p.err
	}
	return c, nil
}

// loopback reports whether addr is host:port with a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// minSecretLength is the shortest AUTH_SECRET_KEY accepted: 32 characters of a
// random base64 or hex string carry at least 128 bits.
const minSecretLength = 32

// secretFile is where embedded mode keeps its generated secret.
const secretFile = "secret.key"

// EnsureSecret fills SecretKey in embedded development setups: when it is
// unset and the environment is not production, it is read from
// DataDir/secret.key, which is created (mode 0600, DataDir 0700) on first use.
// In production it does nothing, so Validate reports the missing secret.
func (c *Config) EnsureSecret() error {
	if c.SecretKey != "" || c.Production() {
		return nil
	}
	path := filepath.Join(c.DataDir, secretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		c.SecretKey = strings.TrimSpace(string(b))
		c.SecretGenerated = true
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read generated secret: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	key := hex.EncodeToString(secret)
	// O_EXCL: two processes starting at once must not each write a different
	// secret; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return c.EnsureSecret()
	}
	if err != nil {
		return fmt.Errorf("create generated secret: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write generated secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write generated secret: %w", err)
	}
	c.SecretKey = key
	c.SecretGenerated = true
	return nil
}

// Validate returns an error describing, in one line, the first reason the
// configuration can't be used. Production adds strict checks: a real secret,
// an https issuer.
func (c *Config) Validate() error {
	switch {
	case c.SecretKey == "" && c.Production():
		return errors.New("AUTH_SECRET_KEY is required when AUTH_ENV=production")
	case c.SecretKey == "":
		return errors.New("AUTH_SECRET_KEY is empty")
	case len(c.SecretKey) < minSecretLength:
		return fmt.Errorf("AUTH_SECRET_KEY is too short: it needs at least %d characters", minSecretLength)
	case distinctBytes(c.SecretKey) < 8:
		return errors.New("AUTH_SECRET_KEY is too weak: it repeats too few characters; generate one with `openssl rand -hex 32`")
	}
	if c.Production() {
		if c.SecretGenerated {
			return errors.New("AUTH_SECRET_KEY must be set explicitly when AUTH_ENV=production (a generated development key would be used)")
		}
		if !strings.HasPrefix(c.Issuer, "https://") {
			return fmt.Errorf("AUTH_ISSUER must be an https URL when AUTH_ENV=production (got %q)", c.Issuer)
		}
		if !strings.HasPrefix(c.UIURL, "https://") {
			// The links carry reset tokens.
			return fmt.Errorf("AUTH_UI_URL must be an https URL when AUTH_ENV=production (got %q)", c.UIURL)
		}
		if c.SMTPURL == "" {
			return errors.New("AUTH_SMTP_URL is required when AUTH_ENV=production: without it mail is written to the log, " +
				"and whoever reads the log can use its password-reset links")
		}
		if err := c.Social.checkProduction(); err != nil {
			return err
		}
	}
	return nil
}

// CheckServe judges the configuration for serving next to other replicas.
// With PostgreSQL and no Redis every replica keeps its own cache and rate-limit
// counters: in production that is an error, in one line, unless
// AUTH_SINGLE_REPLICA=true declares a single replica; elsewhere it is a
// warning for the log. Both are empty when replicas share their state.
func (c *Config) CheckServe() (warning string, err error) {
	if c.Embedded() || c.RedisURL != "" || c.SingleReplica {
		return "", nil
	}
	consequence := fmt.Sprintf("each replica keeps its own cache and rate-limit counters, so with several replicas "+
		"a revocation may lag by up to AUTH_CACHE_TTL (%s) on the others and rate limits multiply by the replica count", c.CacheTTL)
	if c.Production() {
		return "", fmt.Errorf("AUTH_REDIS_URL is required when AUTH_ENV=production with PostgreSQL: %s; "+
			"set AUTH_SINGLE_REPLICA=true if only one replica runs", consequence)
	}
	return "PostgreSQL without AUTH_REDIS_URL: " + consequence, nil
}

func distinctBytes(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
}

// Print writes the effective configuration as NAME=value lines, secrets and
// URL passwords masked.
func (c *Config) Print(w io.Writer) error {
	for _, v := range Vars {
		val := c.raw[v.Name]
		if v.Name == "AUTH_SECRET_KEY" && c.SecretGenerated {
			val = c.SecretKey
		}
		if v.Secret {
			val = mask(val)
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", v.Name, val); err != nil {
			return err
		}
	}
	for _, v := range c.dynamic {
		val := c.raw[v.Name]
		if v.Secret {
			val = mask(val)
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", v.Name, val); err != nil {
			return err
		}
	}
	return nil
}

// mask hides a secret: URLs keep everything but their password, anything
// else becomes a fixed marker (its length would be a hint).
func mask(s string) string {
	if s == "" {
		return ""
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	return "********"
}

type parser struct {
	raw map[string]string
	err error
}

func (p *parser) fail(name, msg string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s %s", name, msg)
	}
}

func (p *parser) duration(name string, min, max time.Duration) time.Duration {
	d, err := time.ParseDuration(p.raw[name])
	if err != nil {
		p.fail(name, fmt.Sprintf("is not a duration like 15m or 720h: %q", p.raw[name]))
		return 0
	}
	if d < min || d > max {
		p.fail(name, fmt.Sprintf("must be between %s and %s", min, max))
	}
	return d
}

// optionalDuration is duration for a setting that 0 turns off: 0, or a
// duration from min to max.
func (p *parser) optionalDuration(name string, min, max time.Duration) time.Duration {
	d, err := time.ParseDuration(p.raw[name])
	if err != nil {
		p.fail(name, fmt.Sprintf("is not a duration like 15m or 720h: %q", p.raw[name]))
		return 0
	}
	if d != 0 && (d < min || d > max) {
		p.fail(name, fmt.Sprintf("must be 0 (off) or between %s and %s", min, max))
	}
	return d
}

func (p *parser) int(name string, min, max int) int {
	n, err := strconv.Atoi(p.raw[name])
	if err != nil {
		p.fail(name, fmt.Sprintf("is not an integer: %q", p.raw[name]))
		return 0
	}
	if n < min || n > max {
		p.fail(name, fmt.Sprintf("must be between %d and %d", min, max))
	}
	return n
}

// Rate is "N attempts per Period"; the zero Rate is off.
type Rate struct {
	Limit  int
	Period time.Duration
}

// rate parses "N/period" (e.g. "5/15m"), or "off" / "0" for no limit.
func (p *parser) rate(name string) Rate {
	v := p.raw[name]
	if v == "off" || v == "0" {
		return Rate{}
	}
	n, per, ok := strings.Cut(v, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit < 1 || limit > 1_000_000 {
		p.fail(name, "must be N/period, e.g. 5/15m (N from 1 to 1000000), or off")
		return Rate{}
	}
	period, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || period < time.Second || period > 30*24*time.Hour {
		p.fail(name, "the period must be a duration from 1s to 720h, e.g. 5/15m")
		return Rate{}
	}
	if period/time.Duration(limit) < time.Millisecond {
		p.fail(name, "more than one attempt per millisecond can't be limited")
		return Rate{}
	}
	return Rate{Limit: limit, Period: period}
}
