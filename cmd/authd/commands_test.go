package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/postgres/pgtest"
)

// cli runs authd in process with the given environment and stdin.
func cli(t *testing.T, vars map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := run(ctx, args, environment(vars), strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestCommandsOnBothBackends(t *testing.T) {
	backends := map[string]func(t *testing.T) map[string]string{
		"sqlite": func(t *testing.T) map[string]string {
			return map[string]string{"AUTH_DATA_DIR": filepath.Join(t.TempDir(), "data")}
		},
		"postgres": func(t *testing.T) map[string]string {
			return map[string]string{
				"AUTH_DATABASE_URL": pgtest.URL(t),
				"AUTH_SECRET_KEY":   "0123456789abcdef0123456789abcdef-commands",
			}
		},
	}
	for name, vars := range backends {
		t.Run(name, func(t *testing.T) {
			env := vars(t)
			// Cheap hashing: this test is about the commands, not argon2id.
			env["AUTH_ARGON2_MEMORY_KIB"] = "64"
			env["AUTH_ARGON2_ITERATIONS"] = "1"

			if name == "postgres" {
				_, err := cli(t, env, "", "keys", "rotate")
				if err == nil || !strings.Contains(err.Error(), "authd migrate up") {
					t.Fatalf("keys rotate on an unmigrated database: %v", err)
				}
			}
			out, err := cli(t, env, "", "migrate", "up")
			if err != nil || !strings.Contains(out, "00001_init.sql") {
				t.Fatalf("migrate up: %v\n%s", err, out)
			}
			out, err = cli(t, env, "a long admin passphrase\n", "users", "create", "--email", "Admin@Example.com", "--role", "admin")
			if err != nil || !strings.Contains(out, "<admin@example.com> with roles admin") {
				t.Fatalf("users create: %v\n%s", err, out)
			}
			out, err = cli(t, env, "a long admin passphrase\n", "users", "create", "--email", "admin@example.com")
			if err == nil || !strings.Contains(err.Error(), "already") {
				t.Fatalf("duplicate users create: %v\n%s", err, out)
			}
			if _, err = cli(t, env, "password\n", "users", "create", "--email", "weak@example.com"); err == nil {
				t.Fatal("users create accepted a common password")
			}
			if _, err = cli(t, env, "", "users", "create", "--email", "nopw@example.com"); err == nil {
				t.Fatal("users create without a password succeeded")
			}
			if _, err = cli(t, env, "a long passphrase here\n", "users", "create", "--email", "x@example.com", "--role", "wizard"); err == nil {
				t.Fatal("users create accepted an unknown role")
			}

			out, err = cli(t, env, "", "keys", "rotate")
			if err != nil || !strings.Contains(out, "created; the running servers publish it in their JWKS within 1m (their key reload interval) and sign with it from ") {
				t.Fatalf("keys rotate: %v\n%s", err, out)
			}

			out, err = cli(t, env, "", "migrate", "status")
			if err != nil || !strings.Contains(out, "00001_init.sql") {
				t.Fatalf("migrate status: %v\n%s", err, out)
			}
			out, err = cli(t, env, "", "migrate", "down", "--yes")
			if err != nil || !strings.Contains(out, "pending") {
				t.Fatalf("migrate down: %v\n%s", err, out)
			}
		})
	}
}

func TestConfigCommandMasksSecrets(t *testing.T) {
	out, err := cli(t, map[string]string{
		"AUTH_DATA_DIR":     filepath.Join(t.TempDir(), "data"),
		"AUTH_SECRET_KEY":   "do-not-print-me-0123456789abcdefghij",
		"AUTH_DATABASE_URL": "postgres://authd:db-password-here@db:5432/authd",
	}, "", "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "do-not-print-me") || strings.Contains(out, "db-password-here") {
		t.Fatalf("config printed a secret:\n%s", out)
	}
	if !strings.Contains(out, "AUTH_ACCESS_TOKEN_TTL=15m") {
		t.Fatalf("config output:\n%s", out)
	}
}

func TestProductionRefusesToStartWithOneClearLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"no secret", map[string]string{"AUTH_ENV": "production", "AUTH_ISSUER": "https://auth.example.com"}, "AUTH_SECRET_KEY is required"},
		{"http issuer", map[string]string{"AUTH_ENV": "production", "AUTH_SECRET_KEY": "7f3e9a1c5b2d4e6f8a0c1e3f5a7b9d0e2f4a6c8e", "AUTH_ISSUER": "http://auth.example.com"}, "AUTH_ISSUER must be an https URL"},
		{"bad duration", map[string]string{"AUTH_ACCESS_TOKEN_TTL": "soon"}, "AUTH_ACCESS_TOKEN_TTL"},
		{"bad argon2 settings", map[string]string{"AUTH_ARGON2_MEMORY_KIB": "8", "AUTH_ARGON2_PARALLELISM": "16", "AUTH_DATA_DIR": t.TempDir()}, "AUTH_ARGON2"},
		// Refused before the database is opened: nothing listens there.
		{"PostgreSQL without Redis", map[string]string{"AUTH_ENV": "production", "AUTH_SECRET_KEY": "7f3e9a1c5b2d4e6f8a0c1e3f5a7b9d0e2f4a6c8e",
			"AUTH_ISSUER": "https://auth.example.com", "AUTH_SMTP_URL": "smtp://127.0.0.1:1",
			"AUTH_DATABASE_URL": "postgres://authd@127.0.0.1:1/authd?connect_timeout=1"}, "AUTH_REDIS_URL is required"},
		// Mail's links carry tokens: not to the log, not over http.
		{"no SMTP server", map[string]string{"AUTH_ENV": "production", "AUTH_SECRET_KEY": "7f3e9a1c5b2d4e6f8a0c1e3f5a7b9d0e2f4a6c8e",
			"AUTH_ISSUER": "https://auth.example.com"}, "AUTH_SMTP_URL is required"},
		{"http UI URL", map[string]string{"AUTH_ENV": "production", "AUTH_SECRET_KEY": "7f3e9a1c5b2d4e6f8a0c1e3f5a7b9d0e2f4a6c8e",
			"AUTH_ISSUER": "https://auth.example.com", "AUTH_SMTP_URL": "smtp://127.0.0.1:1", "AUTH_UI_URL": "http://app.example.com"}, "AUTH_UI_URL must be an https URL"},
		{"bad SMTP URL", map[string]string{"AUTH_SMTP_URL": "smtp://mailer:se#cret@mail.example.com"}, "AUTH_SMTP_URL is invalid"},
		{"bad mail template", map[string]string{"AUTH_MAIL_TEMPLATES_DIR": brokenTemplates(t), "AUTH_DATA_DIR": t.TempDir()}, "AUTH_MAIL_TEMPLATES_DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cli(t, tc.vars, "", "serve")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("serve error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	out, err := cli(t, nil, "", "frobnicate")
	if err == nil || !strings.Contains(out, "usage: authd") {
		t.Fatalf("unknown command: %v\n%s", err, out)
	}
	out, err = cli(t, nil, "", "version")
	if err != nil || !strings.HasPrefix(out, "authd ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

// brokenTemplates returns a template directory whose verification subject
// does not parse.
func brokenTemplates(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "verify_email.subject.tmpl"), []byte("Welcome {{.Product"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
