package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/mail/mailtest"
	"github.com/talentforge/authd/internal/oauth"
	"github.com/talentforge/authd/internal/oauth/oauthtest"
)

// The browser suite's administrator, made with `authd users create` before
// authd starts, and its OpenID Provider as the sign-in page shows it.
const (
	uiAdminEmail    = "admin@ui.test"
	uiAdminPassword = "the ui admin passphrase"
	uiProvider      = "corp"
	uiProviderName  = "Corp SSO"
	chromiumPath    = "/usr/bin/chromium"
	uiSuiteTimeout  = 5 * time.Minute
)

// TestHostedPagesInBrowser runs the hosted pages (/ui/) in a real headless
// Chromium against authd serving them in process on SQLite, with a real
// SMTP server catching its mail and a real OpenID Provider, all on
// loopback. The scenarios are node:test files in web/e2e driving the
// browser with playwright-core; this test starts what they talk to, hands
// them the addresses in the environment and fails when node does.
func TestHostedPagesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser for minutes")
	}
	web := requireBrowserTools(t)

	smtp := mailtest.Start(t)
	// authd's address must be known before it starts: the OP checks the
	// callback URL against the one registered, and the pages' redirect_to
	// (issuer/ui/…) must be in AUTH_REDIRECT_URLS.
	addr := freeAddr(t)
	issuer := "http://" + addr
	op := oauthtest.StartOP(t, oauthtest.OPClient{
		ID: "authd-ui", Secret: "ui-op-secret", RedirectURIs: []string{oauth.RedirectURL(issuer, uiProvider)},
	})
	vars := backendVars(t, "sqlite", uiVars(issuer, smtp, op))
	if out, err := cli(t, vars, uiAdminPassword+"\n", "users", "create", "--email", uiAdminEmail, "--role", "admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, out)
	}
	s := serveInProcess(t, vars)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("authd log (last 80 lines):\n%s", logTail(s.logs, 80))
		}
	})
	if got := s.addr(t); got != addr {
		t.Fatalf("authd listens on %s, want %s", got, addr)
	}

	artifacts := artifactsDir(t)
	t.Cleanup(func() {
		if t.Failed() {
			// The whole log, for the scenario that failed: the tail above
			// is only the last one's.
			log := filepath.Join(artifacts, "authd.log")
			if err := os.WriteFile(log, []byte(s.logs.String()), 0o644); err == nil {
				t.Logf("authd's whole log: %s", log)
			}
		}
	})

	env := map[string]string{
		"AUTHD_URL":         issuer,
		"MAIL_URL":          serveMailbox(t, smtp),
		"ATTACKER_URL":      serveAttacker(t, issuer),
		"ADMIN_EMAIL":       uiAdminEmail,
		"ADMIN_PASSWORD":    uiAdminPassword,
		"OIDC_PROVIDER":     uiProvider,
		"OIDC_DISPLAY_NAME": uiProviderName,
		"OIDC_ISSUER":       op.Issuer,
		"OIDC_USERNAME":     "test-user@127.0.0.1", // the example OP's user on this host
		"OIDC_PASSWORD":     oauthtest.UserPassword,
		"OIDC_EMAIL":        oauthtest.UserEmail,
		"ARTIFACTS_DIR":     artifacts,
		"CHROMIUM":          chromiumPath,
		"NO_COLOR":          "1",
	}
	runNodeSuite(t, web, env)
	t.Logf("screenshots and failure artifacts in %s", artifacts)
}

// requireBrowserTools returns the web directory when node, its packages
// and Chromium are there; otherwise it skips, or fails when
// AUTH_TEST_REQUIRE_SERVERS=1 (CI installs them).
func requireBrowserTools(t *testing.T) string {
	t.Helper()
	web, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	var missing string
	switch {
	case lookPath("node") != nil:
		missing = "node is not on PATH (apt-get install nodejs)"
	case statErr(filepath.Join(web, "node_modules", "playwright-core")) != nil,
		statErr(filepath.Join(web, "node_modules", "@axe-core", "playwright")) != nil:
		missing = "web/node_modules lacks playwright-core or @axe-core/playwright (cd web && npm ci)"
	case statErr(chromiumPath) != nil:
		missing = chromiumPath + " is missing (apt-get install chromium)"
	}
	if missing == "" {
		return web
	}
	if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
		t.Fatalf("%s and AUTH_TEST_REQUIRE_SERVERS=1", missing)
	}
	t.Skip(missing)
	return ""
}

// artifactsDir returns where the suite writes screenshots (and a failed
// scenario's last page): $AUTH_TEST_UI_ARTIFACTS, relative to the repository's
// root (scripts/ui-screenshots runs from there, go test from cmd/authd), or
// a directory of t's.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AUTH_TEST_UI_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	dir, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("AUTH_TEST_UI_ARTIFACTS: %v", err)
	}
	return dir
}

func lookPath(name string) error { _, err := exec.LookPath(name); return err }
func statErr(path string) error  { _, err := os.Stat(path); return err }

// uiVars are the AUTH_* variables of the authd under test, on top of
// backendVars' cheap hashing and fresh SQLite database.
func uiVars(issuer string, smtp *mailtest.Server, op *oauthtest.OP) map[string]string {
	return map[string]string{
		"AUTH_ADDR":       strings.TrimPrefix(issuer, "http://"),
		"AUTH_ISSUER":     issuer,
		"AUTH_SMTP_URL":   smtp.URL(),
		"AUTH_UI_URL":     issuer + "/ui",
		"AUTH_SECRET_KEY": "0123456789abcdef0123456789abcdef-ui-browser",
		// The pages send the browser back to themselves after social
		// sign-in and linking.
		"AUTH_REDIRECT_URLS":           issuer + "/ui/," + issuer + "/ui/account/",
		"AUTH_OIDC_PROVIDERS":          uiProvider,
		"AUTH_OIDC_CORP_ISSUER":        op.Issuer,
		"AUTH_OIDC_CORP_CLIENT_ID":     "authd-ui",
		"AUTH_OIDC_CORP_CLIENT_SECRET": "ui-op-secret",
		"AUTH_OIDC_CORP_DISPLAY_NAME":  uiProviderName,
		// No grace: a page that refreshed twice with one cookie would look
		// like reuse and be signed out, and the reuse scenario is immediate.
		"AUTH_REFRESH_REUSE_GRACE": "0",
		// Every browser is 127.0.0.1: the per-IP limits would count the
		// whole suite as one client. The per-account lockout stays at its
		// default (5/15m), which the lockout scenario exercises.
		"AUTH_RATE_LOGIN_IP":    "1000/15m",
		"AUTH_RATE_REGISTER_IP": "1000/1h",
		"AUTH_RATE_REFRESH_IP":  "1000/1m",
		"AUTH_RATE_MAIL_IP":     "1000/15m",
		"AUTH_LOG_LEVEL":        "info",
	}
}

// mailJSON is a caught mail as the browser scenarios read it.
type mailJSON struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	Links   []string `json:"links"`
}

// serveMailbox serves the mail smtp caught as JSON (GET /messages, oldest
// first) and returns its URL.
func serveMailbox(t *testing.T, smtp *mailtest.Server) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, _ *http.Request) {
		out := []mailJSON{}
		for _, m := range smtp.Messages() {
			out = append(out, mailJSON{To: m.To, Subject: m.Subject, Text: m.Text, Links: mailLinks(m.Text)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return serveLoopback(t, mux)
}

// mailLinks returns the http(s) links of a text body: authd's templates
// write every link as a word of its own.
func mailLinks(text string) []string {
	links := []string{}
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://") {
			links = append(links, w)
		}
	}
	return links
}

// serveAttacker serves the pages of a hostile site on another port of
// 127.0.0.1: cross-origin to authd but same-site, so that SameSite=Strict
// alone would let the browser send authd's cookie along. Each page attacks
// as soon as it loads and reports what it saw in #result.
func serveAttacker(t *testing.T, issuer string) string {
	t.Helper()
	form := func(path string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// An empty form post: what the pages' own refresh sends, less the
			// header, which a form cannot set.
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>attacker</title>
<form id="f" method="POST" action="%s%s"></form>
<script>document.getElementById('f').submit()</script></html>`, issuer, path)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form/refresh", form("/api/v1/auth/refresh"))
	mux.HandleFunc("GET /form/logout", form("/api/v1/auth/logout"))
	mux.HandleFunc("GET /fetch/refresh", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>attacker</title><pre id="result">pending</pre>
<script>
fetch(%q, {method: 'POST', credentials: 'include', headers: {'X-Authd-Refresh': 'cookie'}})
  .then(async r => { document.getElementById('result').textContent = 'status ' + r.status + ' ' + await r.text(); })
  .catch(e => { document.getElementById('result').textContent = 'blocked ' + e.name; });
</script></html>`, issuer+"/api/v1/auth/refresh")
	})
	return serveLoopback(t, mux)
}

// serveLoopback serves h on a port of 127.0.0.1 until t ends and returns
// its URL.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// runNodeSuite runs node's test runner on web/e2e with env added to the
// process's environment, logging its output line by line as it comes, and
// fails the test when node fails. A context bounds the run: on timeout the
// whole process group (node, its test files and their Chromium) is killed.
func runNodeSuite(t *testing.T, web string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), uiSuiteTimeout)
	defer cancel()
	// AUTH_TEST_UI_SCENARIOS names the scenario files to run (e.g. "pages" for
	// e2e/pages.test.mjs); all of them by default.
	files := []string{"e2e/"}
	if only := os.Getenv("AUTH_TEST_UI_SCENARIOS"); only != "" {
		files = nil
		for _, name := range strings.Fields(only) {
			files = append(files, "e2e/"+name+".test.mjs")
		}
	}
	args := append([]string{"--test", "--test-concurrency=1", "--test-reporter=spec"}, files...)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = web
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		lines := bufio.NewScanner(out)
		lines.Buffer(make([]byte, 64*1024), 1024*1024)
		for lines.Scan() {
			t.Log(lines.Text())
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	err := cmd.Run()
	w.Close()
	<-logged
	if cmd.Process != nil {
		// A Chromium may outlive a node that failed: end the group either way.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.Fatalf("the browser suite did not finish within %v", uiSuiteTimeout)
	case err != nil:
		t.Fatalf("node --test web/e2e: %v", err)
	}
}
