package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gatewayConf is the nginx example operators copy; the test runs this file.
const gatewayConf = "../../infra/nginx/authd.conf"

// TestGateway puts Debian's nginx, configured by infra/nginx/authd.conf, in
// front of authd and a small application, all on loopback, and checks what
// the application sees: the identity of a valid token's holder and nothing
// else, and no request at all when the token is missing, invalid, logged
// out, its user disabled, or authd down.
func TestGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nginx")
	}
	bin := nginxBinary(t)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { gatewayWalk(t, bin, backend) })
	}
}

func gatewayWalk(t *testing.T, nginx, backend string) {
	const pw = "gateway test passphrase"
	vars := gatewayVars(t, backend)
	if out, err := cli(t, vars, pw+"\n", "users", "create", "--email", "root@example.com", "--role", "admin"); err != nil {
		t.Fatalf("authd users create: %v\n%s", err, out)
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	_, authd := serveApp(t, cfg)
	tap := startAuthdTap(t, authd.URL)
	app := startGatewayApp(t)
	gw := startNginx(t, nginx, tap.srv.Listener.Addr().String(), app.srv.Listener.Addr().String())

	// authd's API is reached through the gateway, without auth_request.
	res := callWith(t, "POST", gw+"/api/v1/auth/register", "", nil, `{"email":"alice@example.com","password":"`+pw+`","name":"Alice"}`)
	res.want(t, 201)
	alice := res.tokens(t).Access
	aliceID := gatewayWhoIs(t, authd.URL, alice)
	admin := gatewayLogin(t, gw, "root@example.com", pw).Access
	adminID := gatewayWhoIs(t, authd.URL, admin)
	if !slices.Contains(adminID.Roles, "admin") {
		t.Fatalf("the bootstrapped admin's roles are %v", adminID.Roles)
	}

	t.Run("the hosted pages are reached without a token, with their CSP", func(t *testing.T) {
		n := app.count()
		res := callWith(t, "GET", gw+"/ui/sign-up", "", nil, "")
		res.want(t, 200)
		if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("the sign-up page came through the gateway with CSP %q", csp)
		}
		if app.count() != n {
			t.Error("a request for a hosted page reached the application")
		}
	})

	t.Run("a valid token reaches the application with its holder's identity", func(t *testing.T) {
		for _, who := range []struct {
			token string
			id    gatewayIdentity
		}{{alice, aliceID}, {admin, adminID}} {
			n := app.count()
			callWith(t, "GET", gw+"/orders/7?page=2", who.token, nil, "").want(t, 200)
			got := app.last(t, n)
			if got.method != "GET" || got.uri != "/orders/7?page=2" {
				t.Errorf("the application got %s %s, want GET /orders/7?page=2", got.method, got.uri)
			}
			got.wantIdentity(t, who.id)
		}
	})

	t.Run("the check works for every method and leaves the body to the application", func(t *testing.T) {
		n := app.count()
		callWith(t, "POST", gw+"/orders", alice, nil, `{"item":"tea"}`).want(t, 200)
		got := app.last(t, n)
		if got.method != "POST" || got.body != `{"item":"tea"}` {
			t.Errorf("the application got %s with body %q, want POST with the client's body", got.method, got.body)
		}
		got.wantIdentity(t, aliceID)
	})

	t.Run("authd is asked with the token and nothing else of the client's", func(t *testing.T) {
		h := http.Header{
			"Cookie":          {"session=browser-secret"},
			"X-Forwarded-For": {"203.0.113.9"},
			"X-Auth-User-Id":  {adminID.UserID},
			"X-Request-Id":    {"client-chosen"},
		}
		n, v := app.count(), tap.count()
		callWith(t, "POST", gw+"/orders", alice, h, `{"item":"tea"}`).want(t, 200)
		checks := tap.since(t, v)
		if len(checks) != 1 {
			t.Fatalf("authd received %d requests for one request to the gateway, want 1", len(checks))
		}
		check, got := checks[0], app.last(t, n)
		if check.method != "GET" || check.uri != "/api/v1/auth/verify" || check.body != "" {
			t.Errorf("authd received %s %s with body %q, want GET /api/v1/auth/verify without a body", check.method, check.uri, check.body)
		}
		if a := check.header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer "+alice {
			t.Errorf("authd received Authorization %q, want the client's", a)
		}
		for _, name := range []string{"Cookie", "X-Auth-User-Id", "Content-Type", "Content-Length"} {
			if v, ok := check.header[name]; ok {
				t.Errorf("authd received %s: %q", name, v)
			}
		}
		// The client's address as nginx saw it, not as the client claims.
		if xff := check.header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "127.0.0.1" {
			t.Errorf("authd received X-Forwarded-For %q, want 127.0.0.1", xff)
		}
		// One request id for the check and the application's request, so
		// that their logs can be joined; not the client's.
		id := check.header.Get("X-Request-Id")
		if id == "" || id == "client-chosen" || got.header.Get("X-Request-Id") != id {
			t.Errorf("request ids: authd %q, application %q", id, got.header.Values("X-Request-Id"))
		}
	})

	t.Run("no valid token, no request to the application", func(t *testing.T) {
		for name, authorization := range map[string]string{
			"none":        "",
			"garbage":     "Bearer not-a-token",
			"empty":       "Bearer ",
			"basic":       "Basic cm9vdEBleGFtcGxlLmNvbTpnYXRld2F5",
			"token alone": alice, // no scheme
			"tampered":    "Bearer " + alice[:len(alice)-4] + "AAAA",
		} {
			n := app.count()
			h := http.Header{}
			if authorization != "" {
				h.Set("Authorization", authorization)
			}
			res := callWith(t, "GET", gw+"/orders", "", h, "")
			wantGatewayError(t, name, res, 401, "unauthorized")
			if v := res.header.Values("WWW-Authenticate"); len(v) != 1 || !strings.HasPrefix(v[0], "Bearer ") {
				t.Errorf("%s: WWW-Authenticate %q, want one Bearer challenge", name, v)
			}
			app.wantNone(t, n, name)
		}
	})

	t.Run("identity headers sent by the client never reach the application", func(t *testing.T) {
		forged := http.Header{
			"X-Auth-User-Id":        {adminID.UserID, "someone-else"},
			"x-auth-user-id":        {adminID.UserID},
			"X-Auth-Roles":          {"admin"},
			"X-Auth-Session-Id":     {adminID.SessionID},
			"X-Auth-Email-Verified": {"true"},
			"X-Auth-User_Id":        {adminID.UserID}, // what some servers read as X-Auth-User-Id
		}
		n := app.count()
		res := callWith(t, "GET", gw+"/orders", "", forged, "")
		wantGatewayError(t, "forged, no token", res, 401, "unauthorized")
		app.wantNone(t, n, "forged headers without a token")

		callWith(t, "GET", gw+"/orders", alice, forged, "").want(t, 200)
		app.last(t, n).wantIdentity(t, aliceID)
	})

	t.Run("a logged-out token is refused", func(t *testing.T) {
		tk := gatewayLogin(t, gw, "alice@example.com", pw).Access
		callWith(t, "GET", gw+"/orders", tk, nil, "").want(t, 200)
		callWith(t, "POST", gw+"/api/v1/auth/logout", tk, nil, "").want(t, 204)
		n := app.count()
		wantGatewayError(t, "after logout", callWith(t, "GET", gw+"/orders", tk, nil, ""), 401, "unauthorized")
		app.wantNone(t, n, "after logout")
		// Alice's other session is untouched.
		callWith(t, "GET", gw+"/orders", alice, nil, "").want(t, 200)
	})

	t.Run("a disabled user's unexpired token is refused", func(t *testing.T) {
		res := callWith(t, "POST", gw+"/api/v1/auth/register", "", nil, `{"email":"bob@example.com","password":"`+pw+`","name":"Bob"}`)
		res.want(t, 201)
		bob := res.tokens(t).Access
		bobID := gatewayWhoIs(t, authd.URL, bob)
		callWith(t, "GET", gw+"/orders", bob, nil, "").want(t, 200)
		callWith(t, "PATCH", gw+"/api/v1/users/"+bobID.UserID, admin, nil, `{"status":"disabled"}`).want(t, 200)
		n := app.count()
		wantGatewayError(t, "disabled", callWith(t, "GET", gw+"/orders", bob, nil, ""), 401, "unauthorized")
		app.wantNone(t, n, "disabled user")
	})

	t.Run("authd down: 503, and the application is not reached", func(t *testing.T) {
		// What nginx talks to stops listening: connections are refused as
		// they are when authd is down. Closing twice (here and at cleanup)
		// is allowed.
		tap.srv.Close()
		n := app.count()
		res := callWith(t, "GET", gw+"/orders", alice, nil, "")
		wantGatewayError(t, "authd down", res, 503, "unavailable")
		if res.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		app.wantNone(t, n, "authd down")
		wantGatewayError(t, "authd API while down", callWith(t, "POST", gw+"/api/v1/auth/login", "", nil, `{"email":"alice@example.com","password":"`+pw+`"}`), 503, "unavailable")
	})
}

// gatewayVars returns the AUTH_* variables of an authd over a fresh
// database of backend (backendVars); nginx on loopback is its trusted proxy.
func gatewayVars(t *testing.T, backend string) map[string]string {
	t.Helper()
	return backendVars(t, backend, map[string]string{"AUTH_TRUSTED_PROXIES": "127.0.0.1/32"})
}

// nginxBinary finds nginx: on PATH, or where Debian installs it (/usr/sbin
// is not on every user's PATH). Without it the test is skipped, or fails
// when AUTH_TEST_REQUIRE_SERVERS=1.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("AUTH_TEST_REQUIRE_SERVERS") == "1" {
		t.Fatal("nginx is not installed and AUTH_TEST_REQUIRE_SERVERS=1 (apt-get install nginx)")
	}
	t.Skip("nginx is not installed; apt-get install nginx to run the gateway test")
	return ""
}

// startNginx runs nginx in the foreground with infra/nginx/authd.conf,
// pointed at authdAddr and appAddr and listening on a loopback port, and
// returns its base URL once it listens. nginx is stopped when the test ends.
func startNginx(t *testing.T, bin, authdAddr, appAddr string) string {
	t.Helper()
	example, err := os.ReadFile(gatewayConf)
	if err != nil {
		t.Fatal(err)
	}
	// nginx can't be told to pick a port and report it, so the test picks
	// one that is free now; another process may take it before nginx
	// binds, which nginx reports, and the test then tries another.
	for attempt := 1; ; attempt++ {
		port := gatewayPort(t)
		base, logs, err := runNginx(t, bin, string(example), authdAddr, appAddr, port)
		if err == nil {
			return base
		}
		if attempt < 5 && strings.Contains(logs, "Address already in use") {
			t.Logf("port %d was taken: trying another", port)
			continue
		}
		t.Fatalf("nginx: %v\n%s", err, logs)
	}
}

// runNginx starts nginx on port and waits until it listens, or exits.
func runNginx(t *testing.T, bin, example, authdAddr, appAddr string, port int) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	conf := example
	for _, r := range []struct{ placeholder, value string }{
		{"server authd:8080;", "server " + authdAddr + ";"},
		{"server app:8081;", "server " + appAddr + ";"},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port)},
	} {
		// Exactly once: if the example changes shape, this test must be
		// changed with it rather than quietly run something else.
		if n := strings.Count(conf, r.placeholder); n != 1 {
			t.Fatalf("%s has %q %d times, want once", gatewayConf, r.placeholder, n)
		}
		conf = strings.Replace(conf, r.placeholder, r.value, 1)
	}
	writeGatewayFile(t, filepath.Join(dir, "authd.conf"), conf)

	// The main file stands in for Debian's /etc/nginx/nginx.conf: every
	// path nginx writes is under dir. A master run as root starts its
	// workers as nobody, who could not enter dir.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	writeGatewayFile(t, filepath.Join(dir, "nginx.conf"), fmt.Sprintf(`%[1]s
worker_processes 1;
events { worker_connections 256; }
http {
    default_type application/octet-stream;
    access_log /dev/stderr;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/authd.conf;
}
`, user, dir))

	cmd := exec.Command(bin, "-e", "stderr", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", fmt.Sprintf("daemon off; pid %s/nginx.pid; error_log stderr notice;", dir))
	// A group of its own, so that the workers can be stopped with the
	// master whatever state it is in.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The master logs this once it has bound its listening sockets.
	logs := newGatewayLog("start worker processes")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		// SIGTERM is nginx's fast shutdown; SIGKILL to the group after a
		// bound, so a hung nginx fails the test instead of outliving it.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("nginx did not stop within 10s of SIGTERM")
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-logs.seen:
	case err := <-done:
		return "", logs.String(), fmt.Errorf("exited during start-up: %v", err)
	case <-time.After(30 * time.Second):
		stop()
		return "", logs.String(), errors.New("did not listen within 30s")
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("nginx log:\n%s", logs.String())
		}
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), "", nil
}

func gatewayPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeGatewayFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gatewayLog collects a process's output and closes seen at the first
// write that completes a line containing marker.
type gatewayLog struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	seen   chan struct{}
	closed bool
}

func newGatewayLog(marker string) *gatewayLog {
	return &gatewayLog{marker: marker, seen: make(chan struct{})}
}

func (l *gatewayLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.closed && strings.Contains(l.buf.String(), l.marker) {
		l.closed = true
		close(l.seen)
	}
	return len(p), nil
}

func (l *gatewayLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// gatewayApp is the application behind the gateway: it answers 200 to
// everything and records what it received.
type gatewayApp struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []gatewayRequest
}

type gatewayRequest struct {
	method, uri, body string
	header            http.Header
}

func startGatewayApp(t *testing.T) *gatewayApp {
	t.Helper()
	a := &gatewayApp{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.seen = append(a.seen, gatewayRequest{method: r.Method, uri: r.RequestURI, body: string(body), header: r.Header.Clone()})
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "application\n")
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *gatewayApp) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

// last returns the one request received since the application had
// received n. nginx answers the client after the application answered it,
// so a request the client saw answered is recorded already.
func (a *gatewayApp) last(t *testing.T, n int) gatewayRequest {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) != n+1 {
		t.Fatalf("the application received %d requests, want 1", len(a.seen)-n)
	}
	return a.seen[n]
}

func (a *gatewayApp) wantNone(t *testing.T, n int, what string) {
	t.Helper()
	if got := a.count(); got != n {
		t.Errorf("%s: the application received %d requests, want none", what, got-n)
	}
}

// wantIdentity checks that the request carried id's identity headers, each
// once, and no other header a server might read as one of them.
func (r gatewayRequest) wantIdentity(t *testing.T, id gatewayIdentity) {
	t.Helper()
	verifiedEmail := "false"
	if id.EmailVerified {
		verifiedEmail = "true"
	}
	want := map[string]string{
		"X-Auth-User-Id":        id.UserID,
		"X-Auth-Session-Id":     id.SessionID,
		"X-Auth-Roles":          strings.Join(id.Roles, ","),
		"X-Auth-Email-Verified": verifiedEmail,
	}
	for name, values := range r.header {
		lower := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if !strings.HasPrefix(lower, "x-auth-") {
			continue
		}
		w, ok := want[http.CanonicalHeaderKey(lower)]
		if !ok || name != http.CanonicalHeaderKey(lower) {
			t.Errorf("the application received %s: %q, which authd did not set", name, values)
			continue
		}
		if len(values) != 1 || values[0] != w {
			t.Errorf("the application received %s: %q, want %q", name, values, w)
		}
	}
	for name := range want {
		if _, ok := r.header[name]; !ok {
			t.Errorf("the application received no %s", name)
		}
	}
}

// tap stands between nginx and authd and records what nginx sends.
type authdTap struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []gatewayRequest
}

func startAuthdTap(t *testing.T, authdURL string) *authdTap {
	t.Helper()
	target, err := url.Parse(authdURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	tp := &authdTap{}
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// ReverseProxy appends the peer to X-Forwarded-For; record the
		// request as nginx sent it.
		tp.mu.Lock()
		tp.seen = append(tp.seen, gatewayRequest{method: r.Method, uri: r.RequestURI, body: string(body), header: r.Header.Clone()})
		tp.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *authdTap) count() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.seen)
}

// since returns the requests received after the first n. nginx answers the
// client after the check's answer, so a request the client saw answered
// has had its check recorded.
func (tp *authdTap) since(t *testing.T, n int) []gatewayRequest {
	t.Helper()
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return slices.Clone(tp.seen[n:])
}

// gatewayIdentity is what authd's verify endpoint says of a token.
type gatewayIdentity struct {
	UserID        string   `json:"user_id"`
	SessionID     string   `json:"session_id"`
	Roles         []string `json:"roles"`
	EmailVerified bool     `json:"email_verified"`
}

// whoIs asks authd itself, not through the gateway, whose token it is.
func gatewayWhoIs(t *testing.T, authdURL, token string) gatewayIdentity {
	t.Helper()
	res := callWith(t, "GET", authdURL+"/api/v1/auth/verify", token, nil, "")
	res.want(t, 200)
	var v gatewayIdentity
	if err := json.Unmarshal(res.body, &v); err != nil || v.UserID == "" || v.SessionID == "" {
		t.Fatalf("verify: %s (%v)", res.body, err)
	}
	return v
}

func gatewayLogin(t *testing.T, base, email, pw string) tokens {
	t.Helper()
	res := callWith(t, "POST", base+"/api/v1/auth/login", "", nil, `{"email":"`+email+`","password":"`+pw+`"}`)
	res.want(t, 200)
	return res.tokens(t)
}

// wantGatewayError checks an error the gateway answered itself: status and
// the v1 error body's code, as JSON, like authd's own errors.
func wantGatewayError(t *testing.T, what string, res result, status int, code string) {
	t.Helper()
	var body struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if res.status != status {
		t.Errorf("%s: status %d, want %d: %s", what, res.status, status, res.body)
		return
	}
	if err := json.Unmarshal(res.body, &body); err != nil || body.Error.Code != code || body.Error.RequestID == "" {
		t.Errorf("%s: body %s, want a JSON error with code %q and a request id", what, res.body, code)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
}
