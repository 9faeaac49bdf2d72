package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runCLI runs authd in process with the environment vars and returns its
// stdout, stderr and exit status.
func runCLI(t *testing.T, vars map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := run(ctx, args, environment(vars), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), exitCode(err)
}

// sideEffectFree is an environment under which any command that started
// would leave a trace or fail: a data directory that must not be created,
// an unreachable database.
func sideEffectFree(t *testing.T) (map[string]string, string) {
	dataDir := filepath.Join(t.TempDir(), "must-not-exist")
	return map[string]string{
		"AUTH_DATA_DIR":     dataDir,
		"AUTH_DATABASE_URL": "postgres://authd@127.0.0.1:1/authd?connect_timeout=1",
		"AUTH_ADDR":         "127.0.0.1:1",
	}, dataDir
}

var commands = [][]string{
	{}, // authd alone: its usage for -h
	{"serve"},
	{"migrate"},
	{"migrate", "up"},
	{"migrate", "down"},
	{"migrate", "status"},
	{"keys"},
	{"keys", "rotate"},
	{"keys", "revoke"},
	{"users"},
	{"users", "create"},
	{"bench"},
	{"config"},
	{"healthcheck"},
	{"version"},
	{"help"},
}

func TestEveryCommandHelpsWithoutSideEffects(t *testing.T) {
	for _, cmd := range commands {
		for _, h := range []string{"-h", "--help", "-help"} {
			args := append(append([]string{}, cmd...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				vars, dataDir := sideEffectFree(t)
				stdout, stderr, code := runCLI(t, vars, "", args...)
				if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: authd") {
					t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
				want := "usage: authd " + strings.Join(cmd, " ")
				if len(cmd) == 0 {
					want = "usage: authd [command]"
				}
				if !strings.HasPrefix(stdout, want) {
					t.Errorf("usage starts %q, want %q", strings.SplitN(stdout, "\n", 2)[0], want)
				}
				if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
					t.Errorf("%s created or touched the data directory: %v", args, err)
				}
			})
		}
	}
	// help <command> is <command> -h.
	stdout, stderr, code := runCLI(t, nil, "", "help", "migrate", "down")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: authd migrate down [--yes]") {
		t.Fatalf("help migrate down: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestUsageErrorsExitTwoAndRunNothing(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--port", "1"},
		{"serve", "extra"},
		{"--port", "1"},
		{"frobnicate"},
		{"migrate"},
		{"migrate", "sideways"},
		{"migrate", "--yes"},
		{"migrate", "up", "extra"},
		{"migrate", "up", "--yes"},
		{"migrate", "down", "--force"},
		{"migrate", "down", "--yes", "extra"},
		{"migrate", "status", "--verbose"},
		{"keys"},
		{"keys", "delete"},
		{"keys", "rotate", "extra"},
		{"healthcheck", "extra"},
		{"healthcheck", "--url", "x"},
		{"keys", "rotate", "--alg", "RS256"},
		{"keys", "rotate", "--now", "extra"},
		{"keys", "revoke"},                               // --kid is required
		{"keys", "revoke", "--kid", "k1", "--yes", "k2"}, // a stray argument
		{"keys", "revoke", "--kid", "k1"},                // no --yes off a terminal
		{"users"},
		{"users", "delete"},
		{"users", "create"}, // --email is required
		{"users", "create", "--email", "a@example.com", "extra"},
		{"users", "create", "--email", "a@example.com", "--admin"},
		{"bench", "extra"},
		{"bench", "--bogus"},
		{"config", "extra"},
		{"config", "--json"},
		{"version", "extra"},
		{"version", "--short"},
		{"help", "frobnicate"},
		{"help", "--bogus"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			vars, dataDir := sideEffectFree(t)
			stdout, stderr, code := runCLI(t, vars, "a long passphrase here\n", args...)
			if code != exitUsage || stdout != "" {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			first, rest, _ := strings.Cut(stderr, "\n")
			if !strings.HasPrefix(first, "authd") || !strings.HasPrefix(rest, "usage: authd") {
				t.Errorf("stderr is not one line and the usage:\n%s", stderr)
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("created or touched the data directory: %v", err)
			}
		})
	}
}

func TestMigrateDownNeedsYesWithoutATerminal(t *testing.T) {
	env := map[string]string{"AUTH_DATA_DIR": filepath.Join(t.TempDir(), "data")}
	status := func() string {
		t.Helper()
		stdout, stderr, code := runCLI(t, env, "", "migrate", "status")
		if code != 0 {
			t.Fatalf("migrate status: exit %d\n%s", code, stderr)
		}
		return stdout
	}
	if _, stderr, code := runCLI(t, env, "", "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: exit %d\n%s", code, stderr)
	}
	before := status()
	if strings.Contains(before, "Pending") || strings.Contains(before, "pending") {
		t.Fatalf("status after migrate up:\n%s", before)
	}

	// "yes" on a non-terminal stdin is not a confirmation.
	_, stderr, code := runCLI(t, env, "yes\n", "migrate", "down")
	if code != exitUsage || !strings.Contains(stderr, "pass --yes") {
		t.Fatalf("migrate down without --yes: exit %d\n%s", code, stderr)
	}
	if after := status(); after != before {
		t.Fatalf("migrate down without --yes changed the schema:\n%s\nthen\n%s", before, after)
	}

	stdout, stderr, code := runCLI(t, env, "", "migrate", "down", "--yes")
	if code != 0 || !strings.Contains(stdout, "ending") {
		t.Fatalf("migrate down --yes: exit %d\n%s%s", code, stdout, stderr)
	}
	if after := status(); after == before {
		t.Fatalf("migrate down --yes left the schema as it was:\n%s", after)
	}
}

func TestUnknownVariablesAreWarnedAbout(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"AUTH_DATA_DIR":            filepath.Join(dir, "data"),
		"AUTH_DATABSE_URL":         "postgres://typo",
		"AUTH_OIDC_PROVIDERS":      "acme",
		"AUTH_OIDC_ACME_ISSUER":    "https://id.acme.test",
		"AUTH_OIDC_ACME_CLIENT_ID": "authd",
		"AUTH_REDIRECT_URLS":       "https://app.acme.test/done",
		"AUTH_TEST_WHATEVER":       "1",
	}
	for _, args := range [][]string{{"config"}, {"migrate", "status"}} {
		stdout, stderr, code := runCLI(t, env, "", args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", args, code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) ||
			!strings.Contains(lines[0], "unknown variable AUTH_DATABSE_URL ignored; did you mean AUTH_DATABASE_URL?") {
			t.Errorf("%s: want one warning about AUTH_DATABSE_URL, got:\n%s", args, stderr)
		}
	}
}

func TestVersionLine(t *testing.T) {
	stdout, stderr, code := runCLI(t, nil, "", "version")
	if code != 0 || stderr != "" || !regexp.MustCompile(`^authd \S+ \([0-9a-f]{12}(\+dirty)?\)\n$|^authd \S+ \(unknown\)\n$`).MatchString(stdout) {
		t.Fatalf("version: exit %d %q %q", code, stdout, stderr)
	}
}
