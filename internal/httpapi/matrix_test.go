package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// The authorization matrix: every route that needs a permission, called by
// every kind of caller, must answer exactly the expected status. The routes
// come from the route table, so a new admin route is covered (or fails
// here) without anyone remembering to add it.

const matrixPassword = "correct horse battery staple"

// world is a small populated authd: an admin, a target user with a session,
// and one custom role per permission, plus roles and a client that the
// mutating routes can act on.
type world struct {
	t      *testing.T
	srv    *server
	h      http.Handler
	svc    *auth.Service
	admin  string // access tokens
	tokens map[string]string
	target struct{ id, session string }
	client string // id of a service client
}

func newWorld(t *testing.T, wiring wiringtest.Wiring) *world {
	t.Helper()
	svc, tokens, db := newTestService(t, wiring)
	w := &world{t: t, svc: svc, tokens: map[string]string{}}
	w.srv = newServer(svc, tokens, db, Config{Issuer: authtest.Issuer}, slog.New(slog.DiscardHandler))
	w.h = w.srv.handler()

	ctx := t.Context()
	if _, err := svc.CreateUser(ctx, "root@example.com", matrixPassword, []string{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	w.admin = w.login("root@example.com")
	adm := w.principal(w.admin)

	// One role holding exactly each permission, and one holding all others.
	for _, perm := range auth.Permissions() {
		var others []string
		for _, o := range auth.Permissions() {
			if o != perm {
				others = append(others, o)
			}
		}
		w.roleUser(adm, "with-"+perm, "with", perm, []string{perm})
		w.roleUser(adm, "without-"+perm, "without", perm, others)
	}
	w.register("plain@example.com")
	w.tokens["user"] = w.login("plain@example.com")

	target, pair, err := svc.Register(ctx, auth.RegisterInput{Email: "target@example.com", Password: matrixPassword})
	if err != nil {
		t.Fatal(err)
	}
	w.target.id, w.target.session = target.ID, pair.SessionID
	for _, name := range []string{"plain-role", "doomed-role"} {
		if _, err := svc.CreateRole(ctx, adm, auth.RoleInput{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.GrantRole(ctx, adm, target.ID, "doomed-role"); err != nil {
		t.Fatal(err)
	}
	c, _, err := svc.CreateClient(ctx, adm, auth.ClientInput{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	w.client = c.ID
	return w
}

var nonWord = regexp.MustCompile(`[^a-z]+`)

// roleUser creates a role with perms and a user holding it, whose token is
// stored under kind+":"+perm.
func (w *world) roleUser(adm *auth.Principal, role, kind, perm string, perms []string) {
	w.t.Helper()
	name := nonWord.ReplaceAllString(role, "-")
	if _, err := w.svc.CreateRole(w.t.Context(), adm, auth.RoleInput{Name: name, Permissions: perms}); err != nil {
		w.t.Fatal(err)
	}
	email := name + "@example.com"
	u := w.register(email)
	if err := w.svc.GrantRole(w.t.Context(), adm, u, name); err != nil {
		w.t.Fatal(err)
	}
	w.tokens[kind+":"+perm] = w.login(email)
}

func (w *world) register(email string) string {
	w.t.Helper()
	u, _, err := w.svc.Register(w.t.Context(), auth.RegisterInput{Email: email, Password: matrixPassword})
	if err != nil {
		w.t.Fatal(err)
	}
	return u.ID
}

func (w *world) login(email string) string {
	w.t.Helper()
	_, pair, err := w.svc.Login(w.t.Context(), auth.LoginInput{Email: email, Password: matrixPassword})
	if err != nil {
		w.t.Fatal(err)
	}
	return pair.AccessToken
}

func (w *world) principal(token string) *auth.Principal {
	w.t.Helper()
	p, err := w.svc.Authenticate(w.t.Context(), token)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// path fills rt's path parameters with objects of the world; missing
// replaces the user or client id with one that names nothing.
func (w *world) path(rt *route, missing bool) string {
	id := w.target.id
	if strings.HasPrefix(rt.path, "/api/v2/clients/") {
		id = w.client
	}
	if missing {
		id = "0190c0de-0000-7000-8000-000000000000"
	}
	name := "doomed-role"
	if rt.method == http.MethodPut {
		name = "plain-role"
	}
	return strings.NewReplacer("{id}", id, "{sid}", w.target.session, "{role}", name, "{name}", name).Replace(rt.path)
}

// matrixBodies are valid request bodies for the routes that need one.
var matrixBodies = map[string]string{
	"PATCH /api/v1/users/{id}":   `{"name":"Renamed"}`,
	"POST /api/v1/roles":         `{"name":"brand-new","permissions":[]}`,
	"PATCH /api/v1/roles/{name}": `{"description":"edited"}`,
	"POST /api/v2/clients":       `{"name":"another","scopes":["read"]}`,
}

func (w *world) call(rt *route, token string, missing bool) *httptest.ResponseRecorder {
	w.t.Helper()
	var body *bytes.Reader
	if b, ok := matrixBodies[rt.pattern()]; ok {
		body = bytes.NewReader([]byte(b))
	} else if rt.body != nil && !rt.optional {
		w.t.Fatalf("%s needs a body in matrixBodies", rt.pattern())
	}
	req := httptest.NewRequest(rt.method, w.path(rt, missing), nil)
	if body != nil {
		req = httptest.NewRequest(rt.method, w.path(rt, missing), body)
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec
}

func TestAuthorizationMatrix(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, wiring wiringtest.Wiring) {
		var routes []route
		for _, rt := range newWorld(t, wiring).srv.table {
			if rt.perm != "" {
				routes = append(routes, rt)
			}
		}
		if len(routes) < 19 {
			t.Fatalf("only %d routes need a permission; the table lost some", len(routes))
		}
		for _, rt := range routes {
			t.Run(rt.pattern(), func(t *testing.T) {
				t.Parallel()
				if rt.access != bearer {
					t.Fatalf("route needs %q but is not behind bearer authentication", rt.perm)
				}
				if !auth.KnownPermission(rt.perm) {
					t.Fatalf("route documents an unknown permission %q", rt.perm)
				}
				// Refusals change nothing, so one world serves them all.
				w := newWorld(t, wiring)
				refused := []struct {
					caller, token string
					want          int
				}{
					{"anonymous", "", http.StatusUnauthorized},
					{"garbage token", "not-a-token", http.StatusUnauthorized},
					{"user", w.tokens["user"], http.StatusForbidden},
					{"role without the permission", w.tokens["without:"+rt.perm], http.StatusForbidden},
				}
				for _, c := range refused {
					rec := w.call(&rt, c.token, false)
					if rec.Code != c.want {
						t.Errorf("%s: status %d, want %d: %s", c.caller, rec.Code, c.want, rec.Body)
					}
					wantErrorStyle(t, &rt, rec)
				}
				// Allowed callers each get a fresh world: their calls change it.
				for _, caller := range []string{"role with the permission", "admin"} {
					w := newWorld(t, wiring)
					token := w.admin
					if caller != "admin" {
						token = w.tokens["with:"+rt.perm]
					}
					if rec := w.call(&rt, token, false); rec.Code != rt.status {
						t.Errorf("%s: status %d, want %d: %s", caller, rec.Code, rt.status, rec.Body)
					}
				}
			})
		}
	})
}

// TestNoIDOR: to a caller without the permission, another user's id and an
// id that names nothing get byte-identical answers (but the request id and
// the problem instance, which echo the request).
func TestNoIDOR(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, wiring wiringtest.Wiring) {
		w := newWorld(t, wiring)
		reqID := regexp.MustCompile(`"(request_id|instance)":"[^"]*"`)
		for _, rt := range w.srv.table {
			if rt.perm == "" || !strings.Contains(rt.path, "{id}") {
				continue
			}
			for _, token := range []string{w.tokens["user"], w.tokens["without:"+rt.perm]} {
				a, b := w.call(&rt, token, false), w.call(&rt, token, true)
				ab := reqID.ReplaceAllString(a.Body.String(), "")
				bb := reqID.ReplaceAllString(b.Body.String(), "")
				if a.Code != b.Code || ab != bb {
					t.Errorf("%s: existing id %d %s, missing id %d %s", rt.pattern(), a.Code, ab, b.Code, bb)
				}
			}
		}
		// The v1 own-session route: another user's session is a missing one.
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodDelete, "/api/v1/auth/sessions/"+w.target.session, nil)
		req.Header.Set("Authorization", "Bearer "+w.tokens["user"])
		w.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("deleting another user's session: %d, want 404", rec.Code)
		}
	})
}

// wantErrorStyle checks that an error response has the shape of its route's
// API version.
func wantErrorStyle(t *testing.T, rt *route, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %s", rec.Body)
	}
	switch rt.style {
	case errorsProblem:
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("v2 error with Content-Type %q", ct)
		}
		if body["status"] != float64(rec.Code) || body["type"] == nil || body["title"] == nil {
			t.Errorf("not a problem detail: %s", rec.Body)
		}
	case errorsV1:
		if e, ok := body["error"].(map[string]any); !ok || e["code"] == nil {
			t.Errorf("not a v1 error: %s", rec.Body)
		}
	}
}
