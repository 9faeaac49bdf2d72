package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/mail/mailtest"
)

// TestEndToEnd builds the real binary, runs it on a port of its choosing
// with a fresh data directory and the production password-hashing defaults,
// walks the main flows over HTTP, stops it with SIGTERM and checks that a
// restart on the same data directory still honours earlier tokens (the keys
// persisted).
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "authd")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	smtp := mailtest.Start(t)
	const uiURL = "https://app.e2e.test/account"
	mailEnv := []string{"AUTH_SMTP_URL=" + smtp.URL(), "AUTH_UI_URL=" + uiURL}

	srv := start(t, bin, dataDir, mailEnv...)
	base := srv.base
	const pw = "end to end passphrase"

	res := call(t, "POST", base+"/api/v1/auth/register", "", `{"email":"e2e@example.com","password":"`+pw+`","name":"E2E"}`)
	res.want(t, 201)
	// The sign-up's verification mail, sent by the outbox through SMTP.
	verification := smtp.WaitFor(t, 1, 30*time.Second)[0]
	link := verification.Link()
	if len(verification.To) != 1 || verification.To[0] != "e2e@example.com" ||
		!strings.HasPrefix(link, uiURL+"/verify-email#token=") || len(link) == len(uiURL+"/verify-email#token=") {
		t.Fatalf("verification mail to %v with link %q, want e2e@example.com and %s/verify-email#token=…", verification.To, link, uiURL)
	}
	res = call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"e2e@example.com","password":"`+pw+`"}`)
	res.want(t, 200)
	login := res.tokens(t)
	if res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("login Cache-Control %q", res.header.Get("Cache-Control"))
	}

	call(t, "GET", base+"/api/v1/users/me", login.Access, "").want(t, 200)

	res = call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+login.Refresh+`"}`)
	res.want(t, 200)
	refreshed := res.tokens(t)

	// A second login whose refresh token will be reused outside the grace
	// window: the server was started with AUTH_REFRESH_REUSE_GRACE=0.
	res = call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"e2e@example.com","password":"`+pw+`"}`)
	res.want(t, 200)
	victim := res.tokens(t)
	call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+victim.Refresh+`"}`).want(t, 200)
	call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+victim.Refresh+`"}`).want(t, 401)
	call(t, "GET", base+"/api/v1/auth/verify", victim.Access, "").want(t, 401) // reuse ended that session

	// Logout ends the first session at once.
	session3 := call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"e2e@example.com","password":"`+pw+`"}`)
	session3.want(t, 200)
	survivor := session3.tokens(t)
	call(t, "POST", base+"/api/v1/auth/logout", refreshed.Access, "").want(t, 204)
	call(t, "GET", base+"/api/v1/auth/verify", refreshed.Access, "").want(t, 401)
	call(t, "GET", base+"/api/v1/auth/verify", survivor.Access, "").want(t, 200)

	stop(t, srv)
	if token := link[strings.Index(link, "#token=")+len("#token="):]; strings.Contains(srv.logs.String(), token) {
		t.Error("the log holds the mailed verification token")
	}
	if n := len(smtp.Messages()); n != 1 {
		t.Errorf("%d mails sent, want the one verification", n)
	}

	// Restart on the same data dir: the surviving session's access and
	// refresh tokens still work, the logged-out one stays dead.
	srv = start(t, bin, dataDir)
	base = srv.base
	call(t, "GET", base+"/api/v1/auth/verify", survivor.Access, "").want(t, 200)
	call(t, "GET", base+"/api/v1/auth/verify", refreshed.Access, "").want(t, 401)
	call(t, "POST", base+"/api/v1/auth/refresh", "", `{"refresh_token":"`+survivor.Refresh+`"}`).want(t, 200)
	stop(t, srv)

	// Bootstrap an administrator with the CLI, then administer everything
	// over the documented endpoints.
	bootstrap := exec.Command(bin, "users", "create", "--email", "root@example.com", "--role", "admin")
	bootstrap.Env = append(os.Environ(), "AUTH_DATA_DIR="+dataDir, "AUTH_DATABASE_URL=", "AUTH_SECRET_KEY=")
	bootstrap.Dir = t.TempDir()
	bootstrap.Stdin = strings.NewReader(pw + "\n")
	if out, err := bootstrap.CombinedOutput(); err != nil {
		t.Fatalf("authd users create: %v\n%s", err, out)
	}
	srv = start(t, bin, dataDir)
	adminWalk(t, srv.base, pw)
	stop(t, srv)

	if info, err := os.Stat(filepath.Join(dataDir, "secret.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("generated secret: %v, %v", info, err)
	}
}

// server is a child process running `authd serve`.
type server struct {
	cmd  *exec.Cmd
	base string // http://host:port of its public listener
	logs *logRecords
	done chan error
}

// start runs `authd serve` as a child process and returns once it has
// logged that it listens. The child binds port 0 and logs the port the
// system gave it: a port found free by the test and passed to the child
// could be taken by another process before the child binds it, and at every
// restart, as the port is free while the child is down.
func start(t *testing.T, bin, dataDir string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"AUTH_ADDR=127.0.0.1:0",
		"AUTH_DATA_DIR="+dataDir,
		// The issuer, which tokens carry, stays the same across restarts;
		// the port does not.
		"AUTH_ISSUER=http://authd.e2e.test",
		"AUTH_REFRESH_REUSE_GRACE=0s",
		"AUTH_DATABASE_URL=",
		"AUTH_SECRET_KEY=",
		"AUTH_SHUTDOWN_DELAY=0", // stop at once at SIGTERM
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = t.TempDir() // no stray .env
	logs := newLogRecords()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: logs, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		// It has exited already if the test stopped it.
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	select {
	case <-logs.listening:
	case err := <-s.done:
		t.Fatalf("authd exited during start-up: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		// The child is another process: a bound on its start-up, so that
		// a hang fails here with its log.
		t.Fatalf("authd did not listen within 30s:\n%s", logs.String())
	}
	s.base = "http://" + logs.addr(t, "authd listening")
	return s
}

func stop(t *testing.T, s *server) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("authd exited with %v after SIGTERM:\n%s", err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("authd did not stop after SIGTERM")
	}
	if !strings.Contains(s.logs.String(), "authd stopped") {
		t.Errorf("no clean shutdown in log:\n%s", s.logs.String())
	}
	for _, secret := range []string{"end to end passphrase", "refresh_token\":\"", "$argon2id$"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

type result struct {
	status int
	header http.Header
	body   []byte
	what   string
}

// e2eClient bounds every request of call: a server that hangs fails the
// test with the request it hung on, not the whole run at go test's timeout.
var e2eClient = &http.Client{Timeout: time.Minute}

func call(t *testing.T, method, url, bearer, body string) result {
	t.Helper()
	return callWith(t, method, url, bearer, nil, body)
}

// callWith is call with extra request headers, set as given (not
// canonicalized), so that a test can send what a hostile client would.
func callWith(t *testing.T, method, url, bearer string, header http.Header, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := e2eClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return result{resp.StatusCode, resp.Header, b, fmt.Sprintf("%s %s", method, url)}
}

func (r result) want(t *testing.T, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", r.what, r.status, status, r.body)
	}
}

type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

func (r result) tokens(t *testing.T) tokens {
	t.Helper()
	var tk tokens
	if err := json.Unmarshal(r.body, &tk); err != nil || tk.Access == "" || tk.Refresh == "" {
		t.Fatalf("%s: no token pair in %s", r.what, r.body)
	}
	return tk
}

// adminWalk is what an operator does on day one: find a user, give them a
// role, take it back, disable them, register a service client for a
// resource server, and read the audit log, entirely over HTTP.
func adminWalk(t *testing.T, base, pw string) {
	t.Helper()
	res := call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"root@example.com","password":"`+pw+`"}`)
	res.want(t, 200)
	admin := res.tokens(t).Access
	res = call(t, "POST", base+"/api/v1/auth/login", "", `{"email":"e2e@example.com","password":"`+pw+`"}`)
	res.want(t, 200)
	user := res.tokens(t).Access

	var page struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	res = call(t, "GET", base+"/api/v1/users?email=E2E@&status=active", admin, "")
	res.want(t, 200)
	if err := json.Unmarshal(res.body, &page); err != nil || len(page.Users) != 1 {
		t.Fatalf("user search: %s", res.body)
	}
	id := page.Users[0].ID

	call(t, "GET", base+"/api/v1/audit", user, "").want(t, 403)
	call(t, "POST", base+"/api/v1/roles", admin, `{"name":"auditor","permissions":["audit:read"]}`).want(t, 201)
	call(t, "PUT", base+"/api/v1/users/"+id+"/roles/auditor", admin, "").want(t, 204)
	call(t, "GET", base+"/api/v1/audit?type=login.succeeded&limit=5", user, "").want(t, 200) // same token, new role
	call(t, "DELETE", base+"/api/v1/users/"+id+"/roles/auditor", admin, "").want(t, 204)
	call(t, "GET", base+"/api/v1/audit", user, "").want(t, 403)

	res = call(t, "POST", base+"/api/v2/clients", admin, `{"name":"orders","scopes":["orders:read"]}`)
	res.want(t, 201)
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(res.body, &client); err != nil || client.Secret == "" {
		t.Fatalf("client: %s", res.body)
	}
	form := func(path, body string) result {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client.ID, client.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return result{resp.StatusCode, resp.Header, b, "POST " + path}
	}
	form("/api/v2/oauth/token", "grant_type=client_credentials").want(t, 200)
	res = form("/api/v2/oauth/introspect", "token="+user)
	res.want(t, 200)
	if !strings.Contains(string(res.body), `"active":true`) {
		t.Fatalf("introspection: %s", res.body)
	}

	// Disabling ends the user's sessions at once.
	call(t, "PATCH", base+"/api/v1/users/"+id, admin, `{"status":"disabled"}`).want(t, 200)
	call(t, "GET", base+"/api/v1/auth/verify", user, "").want(t, 401)
	res = form("/api/v2/oauth/introspect", "token="+user)
	if !strings.Contains(string(res.body), `"active":false`) {
		t.Fatalf("introspection after disable: %s", res.body)
	}
	res = call(t, "GET", base+"/api/v1/audit?user_id="+id+"&type=user.disabled", admin, "")
	res.want(t, 200)
	if !strings.Contains(string(res.body), `"type":"user.disabled"`) {
		t.Fatalf("audit: %s", res.body)
	}
	call(t, "GET", base+"/openapi.json", "", "").want(t, 200)
	call(t, "GET", base+"/docs", "", "").want(t, 200)
}
