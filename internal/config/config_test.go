package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joho/godotenv"

	"github.com/talentforge/authd/internal/auth"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Issuer != "http://localhost:8080" || c.Audience != c.Issuer {
		t.Errorf("defaults: addr %q issuer %q audience %q", c.Addr, c.Issuer, c.Audience)
	}
	if c.AccessTokenTTL != 15*time.Minute || c.RefreshTokenTTL != 720*time.Hour || c.RefreshReuseGrace != 10*time.Second {
		t.Errorf("token defaults: %v %v %v", c.AccessTokenTTL, c.RefreshTokenTTL, c.RefreshReuseGrace)
	}
	if c.ShutdownDelay != 5*time.Second || c.ShutdownTimeout != 20*time.Second {
		t.Errorf("shutdown defaults: delay %v timeout %v", c.ShutdownDelay, c.ShutdownTimeout)
	}
	if !c.Embedded() || c.Production() {
		t.Errorf("default mode: embedded %v production %v", c.Embedded(), c.Production())
	}
	if c.Argon2MemoryKiB < 19456 || c.Argon2Iterations < 2 {
		t.Errorf("argon2id defaults below OWASP minimum: %d KiB, t=%d", c.Argon2MemoryKiB, c.Argon2Iterations)
	}
}

func TestShutdownDelayZeroIsAllowed(t *testing.T) {
	c, err := Load(env(map[string]string{"AUTH_SHUTDOWN_DELAY": "0"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.ShutdownDelay != 0 {
		t.Errorf("AUTH_SHUTDOWN_DELAY=0: got %v", c.ShutdownDelay)
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	os.WriteFile(path, []byte("AUTH_ADDR=:9000\nAUTH_LOG_LEVEL=debug\n"), 0o600)
	c, err := Load(env(map[string]string{"AUTH_ADDR": ":7000"}), path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7000" {
		t.Errorf("environment must win over .env: got %q", c.Addr)
	}
	if c.LogLevel.String() != "DEBUG" {
		t.Errorf(".env must win over defaults: level %v", c.LogLevel)
	}
}

func TestLoadRejectsMalformed(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"AUTH_ACCESS_TOKEN_TTL", "fifteen", "AUTH_ACCESS_TOKEN_TTL"},
		{"AUTH_ACCESS_TOKEN_TTL", "1s", "between"},
		{"AUTH_ACCESS_TOKEN_TTL", "4s", "between 5s and"},
		{"AUTH_ACCESS_TOKEN_TTL", "24h1s", "between 5s and"},
		{"AUTH_REFRESH_REUSE_GRACE", "-1s", "between"},
		{"AUTH_SHUTDOWN_DELAY", "soon", "AUTH_SHUTDOWN_DELAY"},
		{"AUTH_SHUTDOWN_DELAY", "-1s", "AUTH_SHUTDOWN_DELAY must be between 0s and 5m0s"},
		{"AUTH_SHUTDOWN_DELAY", "6m", "AUTH_SHUTDOWN_DELAY must be between 0s and 5m0s"},
		{"AUTH_KEY_PUBLISH_DELAY", "0", "AUTH_KEY_PUBLISH_DELAY must be between 1s and 24h0m0s"},
		{"AUTH_SIGNING_ALG", "HS256", "AUTH_SIGNING_ALG"},
		{"AUTH_ENV", "prod", "AUTH_ENV"},
		{"AUTH_LOG_LEVEL", "loud", "AUTH_LOG_LEVEL"},
		{"AUTH_ISSUER", "localhost:8080", "AUTH_ISSUER"},
		{"AUTH_DATABASE_URL", "mysql://x", "AUTH_DATABASE_URL"},
		{"AUTH_TRUSTED_PROXIES", "10.0.0.0/8, nonsense", "AUTH_TRUSTED_PROXIES"},
		{"AUTH_PASSWORD_MIN_LENGTH", "4", "AUTH_PASSWORD_MIN_LENGTH"},
		{"AUTH_HASH_CONCURRENCY", "0", "AUTH_HASH_CONCURRENCY"},
		{"AUTH_HASH_PRIORITY", "-1", "AUTH_HASH_PRIORITY"},
		{"AUTH_HASH_PRIORITY", "20", "AUTH_HASH_PRIORITY"},
		{"AUTH_HASH_PRIORITY", "low", "AUTH_HASH_PRIORITY"},
		{"AUTH_RATE_LOGIN_ACCOUNT", "5", "N/period"},
		{"AUTH_RATE_LOGIN_ACCOUNT", "five/15m", "N/period"},
		{"AUTH_RATE_LOGIN_IP", "0/1m", "N/period"},
		{"AUTH_RATE_LOGIN_IP", "-3/1m", "N/period"},
		{"AUTH_RATE_REGISTER_IP", "5/soon", "period"},
		{"AUTH_RATE_REGISTER_IP", "5/100ms", "period"},
		{"AUTH_RATE_REFRESH_IP", "5000/1s", "millisecond"},
		{"AUTH_LOGIN_MAX_LOCKOUT", "-1m", "AUTH_LOGIN_MAX_LOCKOUT"},
		{"AUTH_CACHE_TTL", "0", "AUTH_CACHE_TTL"},
		{"AUTH_DEBUG_ADDR", ":6060", "loopback"},
		{"AUTH_DEBUG_ADDR", "0.0.0.0:6060", "loopback"},
		{"AUTH_DEBUG_ADDR", "10.0.0.1:6060", "loopback"},
		{"AUTH_METRICS_ADDR", "9090", "AUTH_METRICS_ADDR"},
	} {
		_, err := Load(env(map[string]string{tc.name: tc.value}), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %v, want one mentioning %q", tc.name, tc.value, err, tc.want)
		}
	}
}

func TestHashPriority(t *testing.T) {
	for value, want := range map[string]int{"": 10, "0": 0, "10": 10, "19": 19} {
		vars := map[string]string{}
		if value != "" {
			vars["AUTH_HASH_PRIORITY"] = value
		}
		c, err := Load(env(vars), "")
		if err != nil {
			t.Errorf("AUTH_HASH_PRIORITY=%q: %v", value, err)
			continue
		}
		if c.HashPriority != want {
			t.Errorf("AUTH_HASH_PRIORITY=%q: HashPriority %d, want %d", value, c.HashPriority, want)
		}
	}
}

// TestAccessTokenTTLRange: SPEC §3 accepts 5s to 24h, so that integrators
// can watch a token expire in a test.
func TestAccessTokenTTLRange(t *testing.T) {
	for _, v := range []string{"5s", "59s", "24h"} {
		c, err := Load(env(map[string]string{"AUTH_ACCESS_TOKEN_TTL": v}), "")
		if err != nil {
			t.Errorf("AUTH_ACCESS_TOKEN_TTL=%s: %v", v, err)
			continue
		}
		want, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessTokenTTL != want {
			t.Errorf("AUTH_ACCESS_TOKEN_TTL=%s: got %v", v, c.AccessTokenTTL)
		}
	}
}

func TestRates(t *testing.T) {
	c, err := Load(env(map[string]string{"AUTH_RATE_LOGIN_IP": " 30 / 1m ", "AUTH_RATE_REGISTER_IP": "off", "AUTH_RATE_REFRESH_IP": "0"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginAccountRate != (Rate{5, 15 * time.Minute}) || c.LoginMaxLockout != time.Hour {
		t.Errorf("login-account default: %+v, lockout %v", c.LoginAccountRate, c.LoginMaxLockout)
	}
	if c.LoginIPRate != (Rate{30, time.Minute}) {
		t.Errorf("AUTH_RATE_LOGIN_IP: %+v", c.LoginIPRate)
	}
	if c.RegisterIPRate != (Rate{}) || c.RefreshIPRate != (Rate{}) {
		t.Errorf("off and 0 must disable: %+v %+v", c.RegisterIPRate, c.RefreshIPRate)
	}
}

// TestAbuseProtectionSettings: the account-wide login limit, the client
// authentication limit and the prefixes per-IP limits count by have their
// defaults, and prefix lengths outside a sensible range are refused.
func TestAbuseProtectionSettings(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginGlobalRate != (Rate{100, 15 * time.Minute}) || c.ClientIPRate != (Rate{60, time.Minute}) {
		t.Errorf("defaults: login-account-global %+v, client-ip %+v", c.LoginGlobalRate, c.ClientIPRate)
	}
	if c.IPv4Prefix != 32 || c.IPv6Prefix != 64 {
		t.Errorf("default prefixes /%d and /%d, want /32 and /64", c.IPv4Prefix, c.IPv6Prefix)
	}
	c, err = Load(env(map[string]string{
		"AUTH_RATE_LOGIN_ACCOUNT_GLOBAL": "off", "AUTH_RATE_CLIENT_IP": "10/1m",
		"AUTH_RATE_IPV4_PREFIX": "24", "AUTH_RATE_IPV6_PREFIX": "48",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginGlobalRate != (Rate{}) || c.ClientIPRate != (Rate{10, time.Minute}) || c.IPv4Prefix != 24 || c.IPv6Prefix != 48 {
		t.Errorf("set: %+v %+v /%d /%d", c.LoginGlobalRate, c.ClientIPRate, c.IPv4Prefix, c.IPv6Prefix)
	}
	for _, tc := range []struct{ name, value string }{
		{"AUTH_RATE_IPV4_PREFIX", "15"},
		{"AUTH_RATE_IPV4_PREFIX", "33"},
		{"AUTH_RATE_IPV4_PREFIX", "/32"},
		{"AUTH_RATE_IPV6_PREFIX", "31"},
		{"AUTH_RATE_IPV6_PREFIX", "129"},
		{"AUTH_RATE_LOGIN_ACCOUNT_GLOBAL", "many"},
		{"AUTH_RATE_CLIENT_IP", "5/forever"},
	} {
		_, err := Load(env(map[string]string{tc.name: tc.value}), "")
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", tc.name, tc.value, err)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(env(map[string]string{"AUTH_TRUSTED_PROXIES": "10.1.2.3/8, 127.0.0.1 ,::1"}), "")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 127.0.0.1/32 ::1/128" {
		t.Errorf("trusted proxies %v", got)
	}
}

func TestValidateProduction(t *testing.T) {
	good := "3f1c7a9e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string // "" = valid
	}{
		{"missing secret", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com"}, "AUTH_SECRET_KEY is required"},
		{"short secret", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": "short"}, "too short"},
		{"repetitive", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": strings.Repeat("ab", 20)}, "too weak"},
		{"http issuer", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "http://auth.example.com", "AUTH_SECRET_KEY": good}, "https"},
		{"no SMTP server", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": good}, "AUTH_SMTP_URL is required"},
		{"http UI URL", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": good,
			"AUTH_SMTP_URL": "smtp://smtp.example.com", "AUTH_UI_URL": "http://app.example.com"}, "AUTH_UI_URL must be an https URL"},
		{"good", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": good, "AUTH_SMTP_URL": "smtp://smtp.example.com"}, ""},
		{"development with http", map[string]string{"AUTH_SECRET_KEY": good}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars), "")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.EnsureSecret(); err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error must be one line: %q", err)
			}
		})
	}
}

// TestCheckServe: with PostgreSQL and no Redis, replicas keep separate
// caches and counters. Production refuses that unless one replica is
// declared; elsewhere it is a warning naming the consequence.
func TestCheckServe(t *testing.T) {
	const (
		pg    = "postgres://authd@db/authd"
		redis = "redis://cache:6379/0"
		good  = "3f1c7a9e5b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
	)
	prod := func(more map[string]string) map[string]string {
		m := map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com", "AUTH_SECRET_KEY": good}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name          string
		vars          map[string]string
		warn, refusal string // "" = none
	}{
		{"development, PostgreSQL, no Redis", map[string]string{"AUTH_DATABASE_URL": pg}, "rate limits multiply by the replica count", ""},
		{"development, PostgreSQL and Redis", map[string]string{"AUTH_DATABASE_URL": pg, "AUTH_REDIS_URL": redis}, "", ""},
		{"development, SQLite", nil, "", ""},
		{"development, one replica declared", map[string]string{"AUTH_DATABASE_URL": pg, "AUTH_SINGLE_REPLICA": "true"}, "", ""},
		{"production, PostgreSQL, no Redis", prod(map[string]string{"AUTH_DATABASE_URL": pg}), "", "AUTH_REDIS_URL is required"},
		{"production, one replica declared", prod(map[string]string{"AUTH_DATABASE_URL": pg, "AUTH_SINGLE_REPLICA": "true"}), "", ""},
		{"production, PostgreSQL and Redis", prod(map[string]string{"AUTH_DATABASE_URL": pg, "AUTH_REDIS_URL": redis}), "", ""},
		{"production, SQLite", prod(nil), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars), "")
			if err != nil {
				t.Fatal(err)
			}
			warn, err := c.CheckServe()
			switch {
			case tc.refusal == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal) ||
				!strings.Contains(err.Error(), "AUTH_SINGLE_REPLICA=true") || strings.Contains(err.Error(), "\n")):
				t.Errorf("error %v, want one line containing %q and naming AUTH_SINGLE_REPLICA=true", err, tc.refusal)
			}
			switch {
			case tc.warn == "" && warn != "":
				t.Errorf("unexpected warning %q", warn)
			case tc.warn != "" && (!strings.Contains(warn, tc.warn) || !strings.Contains(warn, "revocation may lag by up to AUTH_CACHE_TTL (5m0s)")):
				t.Errorf("warning %q, want one naming the revocation lag and %q", warn, tc.warn)
			}
		})
	}
	if _, err := Load(env(map[string]string{"AUTH_SINGLE_REPLICA": "yes"}), ""); err == nil || !strings.Contains(err.Error(), "AUTH_SINGLE_REPLICA") {
		t.Errorf("AUTH_SINGLE_REPLICA=yes: %v, want an error naming it", err)
	}
}

func TestEnsureSecretGeneratesOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c1, err := Load(env(map[string]string{"AUTH_DATA_DIR": dir}), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	if err := c1.Validate(); err != nil {
		t.Fatalf("generated secret must validate: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
	}
	c2, err := Load(env(map[string]string{"AUTH_DATA_DIR": dir}), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.EnsureSecret(); err != nil {
		t.Fatal(err)
	}
	if c1.SecretKey != c2.SecretKey {
		t.Error("second start generated a different secret")
	}
	// Production never uses a generated key, even one left in the data dir.
	c3, err := Load(env(map[string]string{"AUTH_DATA_DIR": dir, "AUTH_ENV": "production", "AUTH_ISSUER": "https://a.example"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c3.EnsureSecret(); err != nil {
		t.Fatalf("EnsureSecret in production: %v, want nil (it leaves the key to Validate)", err)
	}
	if c3.SecretKey != "" {
		t.Error("production took the generated key from the data dir")
	}
	if err := c3.Validate(); err == nil {
		t.Error("production accepted a missing AUTH_SECRET_KEY")
	}
}

func TestPrintMasksSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"AUTH_SECRET_KEY":   "super-secret-value-0123456789abcdef",
		"AUTH_DATABASE_URL": "postgres://app:hunter22@db:5432/auth?sslmode=require",
		"AUTH_SMTP_URL":     "smtp://mailer:pw123456@smtp:587",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	c.Print(&b)
	out := b.String()
	for _, secret := range []string{"super-secret-value", "hunter22", "pw123456"} {
		if strings.Contains(out, secret) {
			t.Errorf("config output leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"AUTH_DATABASE_URL=postgres://app:xxxxx@db:5432/auth", "AUTH_SECRET_KEY=********", "AUTH_ADDR=:8080"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
}

// TestEnvExampleDocumentsEveryVariable keeps .env.example in step with Vars.
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	m, err := godotenv.Read("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		if _, ok := m[v.Name]; !ok {
			t.Errorf(".env.example does not document %s", v.Name)
		}
		delete(m, v.Name)
	}
	for name := range m {
		t.Errorf(".env.example documents %s, which authd does not read", name)
	}
}

func TestSessionLifetimes(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionMaxLifetime != 2160*time.Hour || c.SessionIdleTimeout != 0 || c.SessionRetention != 720*time.Hour {
		t.Errorf("session defaults: max lifetime %v, idle timeout %v, retention %v; want 2160h, 0, 720h",
			c.SessionMaxLifetime, c.SessionIdleTimeout, c.SessionRetention)
	}
	c, err = Load(env(map[string]string{
		"AUTH_SESSION_MAX_LIFETIME": "0", "AUTH_SESSION_IDLE_TIMEOUT": "72h", "AUTH_SESSION_RETENTION": "0",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionMaxLifetime != 0 || c.SessionIdleTimeout != 72*time.Hour || c.SessionRetention != 0 {
		t.Errorf("max lifetime %v, idle timeout %v, retention %v; want 0, 72h, 0", c.SessionMaxLifetime, c.SessionIdleTimeout, c.SessionRetention)
	}

	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_SESSION_MAX_LIFETIME": "forever"}, "AUTH_SESSION_MAX_LIFETIME"},
		{map[string]string{"AUTH_SESSION_MAX_LIFETIME": "-1h"}, "AUTH_SESSION_MAX_LIFETIME"},
		{map[string]string{"AUTH_SESSION_MAX_LIFETIME": "30s"}, "AUTH_SESSION_MAX_LIFETIME"},
		{map[string]string{"AUTH_SESSION_IDLE_TIMEOUT": "-1m"}, "AUTH_SESSION_IDLE_TIMEOUT"},
		// A session must outlast the access token a refresh issued, or an
		// active client would find it idle before its next refresh.
		{map[string]string{"AUTH_SESSION_IDLE_TIMEOUT": "15m"}, "AUTH_ACCESS_TOKEN_TTL"},
		{map[string]string{"AUTH_SESSION_IDLE_TIMEOUT": "20m", "AUTH_ACCESS_TOKEN_TTL": "30m"}, "AUTH_ACCESS_TOKEN_TTL"},
		{map[string]string{"AUTH_SESSION_RETENTION": "-1h"}, "AUTH_SESSION_RETENTION"},
	} {
		_, err := Load(env(tc.vars), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.vars, err, tc.want)
		}
	}
}

func TestMailDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "" || c.SMTPFrom != "no-reply@localhost" || c.UIURL != "http://localhost:8080/ui" || c.ProductName != "authd" ||
		c.MailTemplatesDir != "" || c.RequireVerifiedEmail {
		t.Errorf("mail defaults: url %q from %q ui %q product %q templates %q require verified %v",
			c.SMTPURL, c.SMTPFrom, c.UIURL, c.ProductName, c.MailTemplatesDir, c.RequireVerifiedEmail)
	}
	if c.VerifyTokenTTL != 24*time.Hour || c.ResetTokenTTL != time.Hour || c.MailGiveUpAfter != 72*time.Hour {
		t.Errorf("mail durations: verify %v reset %v give up %v", c.VerifyTokenTTL, c.ResetTokenTTL, c.MailGiveUpAfter)
	}
	if c.MailIPRate != (Rate{10, 15 * time.Minute}) || c.MailAddressRate != (Rate{3, time.Hour}) {
		t.Errorf("mail rates: %+v %+v", c.MailIPRate, c.MailAddressRate)
	}
	l := c.Limits()
	if l.MailIP != (auth.Rule{Name: auth.RuleMailIP, Limit: 10, Period: 15 * time.Minute}) ||
		l.MailAddress != (auth.Rule{Name: auth.RuleMailAddress, Limit: 3, Period: time.Hour}) {
		t.Errorf("Limits(): mail-ip %+v, mail-address %+v", l.MailIP, l.MailAddress)
	}

	// Derived from the issuer: its host (no port) and its URL, path kept.
	c, err = Load(env(map[string]string{"AUTH_ISSUER": "https://auth.example.com:8443/id/"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPFrom != "no-reply@auth.example.com" || c.UIURL != "https://auth.example.com:8443/id/ui" {
		t.Errorf("from %q, UI URL %q", c.SMTPFrom, c.UIURL)
	}
	var b strings.Builder
	if err := c.Print(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AUTH_SMTP_FROM=no-reply@auth.example.com\n", "AUTH_UI_URL=https://auth.example.com:8443/id/ui\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("config output lacks the effective %q", want)
		}
	}
}

func TestMailSettings(t *testing.T) {
	c, err := Load(env(map[string]string{
		"AUTH_SMTP_URL":               "smtps://mailer:p%40ss@smtp.example.com",
		"AUTH_SMTP_FROM":              "Example <hello@example.com>",
		"AUTH_UI_URL":                 "https://app.example.com/account/",
		"AUTH_PRODUCT_NAME":           "Example Cloud",
		"AUTH_MAIL_TEMPLATES_DIR":     "/etc/authd/mail",
		"AUTH_REQUIRE_VERIFIED_EMAIL": "true",
		"AUTH_VERIFY_TOKEN_TTL":       "48h",
		"AUTH_RESET_TOKEN_TTL":        "30m",
		"AUTH_MAIL_GIVE_UP_AFTER":     "24h",
		"AUTH_RATE_MAIL_IP":           "off",
		"AUTH_RATE_MAIL_ADDRESS":      "5/1h",
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "smtps://mailer:p%40ss@smtp.example.com" || c.SMTPFrom != "Example <hello@example.com>" ||
		c.UIURL != "https://app.example.com/account" || c.ProductName != "Example Cloud" ||
		c.MailTemplatesDir != "/etc/authd/mail" || !c.RequireVerifiedEmail {
		t.Errorf("mail settings: %q %q %q %q %q %v", c.SMTPURL, c.SMTPFrom, c.UIURL, c.ProductName, c.MailTemplatesDir, c.RequireVerifiedEmail)
	}
	if c.VerifyTokenTTL != 48*time.Hour || c.ResetTokenTTL != 30*time.Minute || c.MailGiveUpAfter != 24*time.Hour {
		t.Errorf("durations: %v %v %v", c.VerifyTokenTTL, c.ResetTokenTTL, c.MailGiveUpAfter)
	}
	if c.MailIPRate != (Rate{}) || c.MailAddressRate != (Rate{5, time.Hour}) {
		t.Errorf("rates: %+v %+v", c.MailIPRate, c.MailAddressRate)
	}
	if l := c.Limits(); l.MailIP.Limit != 0 || l.MailAddress.Limit != 5 {
		t.Errorf("Limits(): %+v %+v", l.MailIP, l.MailAddress)
	}
	var b strings.Builder
	if err := c.Print(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "p%40ss") || !strings.Contains(b.String(), "AUTH_SMTP_URL=smtps://mailer:xxxxx@smtp.example.com") {
		t.Errorf("AUTH_SMTP_URL not masked:\n%s", b.String())
	}
}

func TestMailSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_SMTP_URL": "mail.example.com:587"}, "AUTH_SMTP_URL is invalid"},
		{map[string]string{"AUTH_SMTP_URL": "http://mail.example.com"}, "AUTH_SMTP_URL is invalid: SMTP URL scheme"},
		{map[string]string{"AUTH_SMTP_URL": "smtp://mail.example.com?starttls=maybe"}, "starttls"},
		{map[string]string{"AUTH_SMTP_URL": "smtp://mailer@mail.example.com"}, "password"},
		{map[string]string{"AUTH_SMTP_URL": "smtp://mailer:pa#ss@mail.example.com"}, "AUTH_SMTP_URL is invalid"},
		{map[string]string{"AUTH_SMTP_FROM": "not an address"}, "AUTH_SMTP_FROM must be one address"},
		{map[string]string{"AUTH_SMTP_FROM": "a@example.com, b@example.com"}, "AUTH_SMTP_FROM"},
		{map[string]string{"AUTH_SMTP_FROM": "no-reply@[192.0.2.1]"}, "AUTH_SMTP_FROM"},
		{map[string]string{"AUTH_ISSUER": "http://[::1]:8080"}, "AUTH_SMTP_FROM must be set"},
		{map[string]string{"AUTH_UI_URL": "app.example.com"}, "AUTH_UI_URL must be an absolute http(s) URL"},
		{map[string]string{"AUTH_UI_URL": "ftp://app.example.com"}, "AUTH_UI_URL"},
		{map[string]string{"AUTH_UI_URL": "https://app.example.com/?next=1"}, "AUTH_UI_URL"},
		{map[string]string{"AUTH_UI_URL": "https://app.example.com/#/"}, "AUTH_UI_URL"},
		{map[string]string{"AUTH_UI_URL": "https://user:pw@app.example.com"}, "AUTH_UI_URL"},
		{map[string]string{"AUTH_PRODUCT_NAME": strings.Repeat("x", 101)}, "AUTH_PRODUCT_NAME"},
		{map[string]string{"AUTH_PRODUCT_NAME": "Two\nLines"}, "AUTH_PRODUCT_NAME"},
		{map[string]string{"AUTH_REQUIRE_VERIFIED_EMAIL": "yes"}, "AUTH_REQUIRE_VERIFIED_EMAIL must be true or false"},
		{map[string]string{"AUTH_VERIFY_TOKEN_TTL": "1m"}, "AUTH_VERIFY_TOKEN_TTL must be between"},
		{map[string]string{"AUTH_VERIFY_TOKEN_TTL": "721h"}, "AUTH_VERIFY_TOKEN_TTL"},
		{map[string]string{"AUTH_VERIFY_TOKEN_TTL": "a day"}, "AUTH_VERIFY_TOKEN_TTL is not a duration"},
		{map[string]string{"AUTH_RESET_TOKEN_TTL": "25h"}, "AUTH_RESET_TOKEN_TTL must be between"},
		{map[string]string{"AUTH_RESET_TOKEN_TTL": "1m"}, "AUTH_RESET_TOKEN_TTL"},
		{map[string]string{"AUTH_MAIL_GIVE_UP_AFTER": "0"}, "AUTH_MAIL_GIVE_UP_AFTER must be between"},
		{map[string]string{"AUTH_MAIL_GIVE_UP_AFTER": "1000h"}, "AUTH_MAIL_GIVE_UP_AFTER"},
		{map[string]string{"AUTH_RATE_MAIL_IP": "10"}, "AUTH_RATE_MAIL_IP must be N/period"},
		{map[string]string{"AUTH_RATE_MAIL_ADDRESS": "3/forever"}, "AUTH_RATE_MAIL_ADDRESS"},
	} {
		_, err := Load(env(tc.vars), "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.vars, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "pa#ss") || strings.Contains(err.Error(), "pw@") {
			t.Errorf("%v: error %q spans lines or quotes a secret", tc.vars, err)
		}
	}
}

func TestHostedPagesSettings(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := (UI{Enabled: true, PrimaryColor: "#4f46e5"}); c.UI != want {
		t.Errorf("defaults: %+v, want %+v", c.UI, want)
	}
	c, err = Load(env(map[string]string{"AUTH_UI_ENABLED": "false", "AUTH_UI_PRIMARY_COLOR": "#0F766E", "AUTH_UI_LOGO_URL": "/static/logo.svg"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := (UI{PrimaryColor: "#0f766e", LogoURL: "/static/logo.svg"}); c.UI != want {
		t.Errorf("set: %+v, want %+v", c.UI, want)
	}
	for _, ok := range []string{"https://cdn.example.com/logo.svg", "https://cdn.example.com:8443/a/logo.png?v=2", "/logo.png"} {
		if _, err := Load(env(map[string]string{"AUTH_UI_LOGO_URL": ok}), ""); err != nil {
			t.Errorf("AUTH_UI_LOGO_URL=%s: %v", ok, err)
		}
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_UI_ENABLED": "yes"}, "AUTH_UI_ENABLED must be true or false"},
		{map[string]string{"AUTH_UI_PRIMARY_COLOR": "blue"}, "AUTH_UI_PRIMARY_COLOR must be a colour as #rrggbb"},
		{map[string]string{"AUTH_UI_PRIMARY_COLOR": "#fff"}, "AUTH_UI_PRIMARY_COLOR"},
		{map[string]string{"AUTH_UI_PRIMARY_COLOR": "#4f46e5;x:y"}, "AUTH_UI_PRIMARY_COLOR"},
		{map[string]string{"AUTH_UI_LOGO_URL": "http://cdn.example.com/logo.svg"}, "AUTH_UI_LOGO_URL must be an https URL"},
		{map[string]string{"AUTH_UI_LOGO_URL": "//cdn.example.com/logo.svg"}, "AUTH_UI_LOGO_URL"},
		{map[string]string{"AUTH_UI_LOGO_URL": "javascript:alert(1)"}, "AUTH_UI_LOGO_URL"},
		{map[string]string{"AUTH_UI_LOGO_URL": "logo.svg"}, "AUTH_UI_LOGO_URL"},
		{map[string]string{"AUTH_UI_LOGO_URL": `https://cdn.example.com/a"b.svg`}, "AUTH_UI_LOGO_URL"},
		{map[string]string{"AUTH_UI_LOGO_URL": "https://u:p@cdn.example.com/logo.svg"}, "AUTH_UI_LOGO_URL"},
		// Characters a URL's host may hold but a CSP source list must not.
		{map[string]string{"AUTH_UI_LOGO_URL": "https://cdn.example.com;script-src*/logo.svg"}, "AUTH_UI_LOGO_URL"},
		{map[string]string{"AUTH_UI_LOGO_URL": "https://cdn.example.com,'unsafe-inline'/logo.svg"}, "AUTH_UI_LOGO_URL"},
	} {
		if _, err := Load(env(tc.vars), ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.vars, err, tc.want)
		}
	}
	// With the pages on, social sign-in can come back to them: no
	// AUTH_REDIRECT_URLS needed. With them off it still is.
	google := map[string]string{"AUTH_GOOGLE_CLIENT_ID": "id", "AUTH_GOOGLE_CLIENT_SECRET": "secret"}
	if _, err := Load(env(google), ""); err != nil {
		t.Errorf("Google with the pages on: %v", err)
	}
	google["AUTH_UI_ENABLED"] = "false"
	if _, err := Load(env(google), ""); err == nil || !strings.Contains(err.Error(), "AUTH_REDIRECT_URLS") {
		t.Errorf("Google with the pages off and no AUTH_REDIRECT_URLS: %v", err)
	}
}
