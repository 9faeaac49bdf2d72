package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	validatorerrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// docServer is a server on SQLite in a temporary directory whose access log
// records the route each request matched.
type docServer struct {
	*server
	h      http.Handler
	svc    *auth.Service
	routes *routeLog
}

func newDocServer(t *testing.T) *docServer {
	t.Helper()
	redirects, err := auth.NewRedirects([]string{docApp})
	if err != nil {
		t.Fatal(err)
	}
	w := wiringtest.Embedded
	db := w.Open(t, nil)
	svc, keys := authtest.NewService(t, db, w.Options(t, authtest.Options{Social: auth.SocialConfig{
		Providers: []auth.SocialProvider{docProvider{}}, Redirects: redirects,
	}}))
	rl := &routeLog{}
	s := newServer(svc, keys, db, Config{Issuer: authtest.Issuer}, slog.New(rl))
	return &docServer{server: s, h: s.handler(), svc: svc, routes: rl}
}

// docApp is the doc server's one allowed redirect_to.
const docApp = "https://app.example.com/auth/done"

// docProvider is a social provider that signs in social@example.com
// whatever the code: enough to walk the social endpoints' answers.
type docProvider struct{}

func (docProvider) Name() string        { return "google" }
func (docProvider) DisplayName() string { return "Google" }
func (docProvider) AuthCodeURL(state, _, _ string) (string, error) {
	return "https://google.test/authorize?state=" + state, nil
}
func (docProvider) Exchange(context.Context, string, string, string) (*auth.SocialProfile, error) {
	return &auth.SocialProfile{Provider: "google", Subject: "g-1", Email: "social@example.com", EmailVerified: true}, nil
}

// socialCode runs a sign-in through start and callback and returns the
// one-time code the app got.
func (d *docServer) socialCode(t *testing.T) string {
	t.Helper()
	rec, _ := d.serve(httptest.NewRequest("GET", "/api/v1/oauth/google/start?redirect_to="+url.QueryEscape(docApp), nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil {
		t.Fatalf("start: %d %v", rec.Code, rec.Header())
	}
	req := httptest.NewRequest("GET", "/api/v1/oauth/google/callback?code=x&state="+url.QueryEscape(loc.Query().Get("state")), nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	rec, _ = d.serve(req)
	if loc, err = url.Parse(rec.Header().Get("Location")); rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("callback: %d %v", rec.Code, rec.Header())
	}
	return loc.Query().Get("code")
}

// serve sends req through the whole handler and returns the response and
// the route the access log names ("unmatched" when the mux found none).
func (d *docServer) serve(req *http.Request) (*httptest.ResponseRecorder, string) {
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	return rec, d.routes.last()
}

// routeLog is a slog.Handler that keeps the route of each access-log line.
type routeLog struct {
	mu     sync.Mutex
	routes []string
}

func (l *routeLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *routeLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *routeLog) WithGroup(string) slog.Handler            { return l }
func (l *routeLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "route" {
			l.mu.Lock()
			l.routes = append(l.routes, a.Value.String())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *routeLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.routes) == 0 {
		return ""
	}
	return l.routes[len(l.routes)-1]
}

// The parts of the document the tests read.
type (
	testDoc struct {
		OpenAPI    string                           `json:"openapi"`
		Servers    []struct{ URL string }           `json:"servers"`
		Paths      map[string]map[string]testDocOp  `json:"paths"`
		Components struct{ Schemas map[string]any } `json:"components"`
	}
	testDocOp struct {
		Description string                      `json:"description"`
		Parameters  []struct{ Name, In string } `json:"parameters"`
		RequestBody *struct {
			Required bool                       `json:"required"`
			Content  map[string]json.RawMessage `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Content map[string]json.RawMessage
			Headers map[string]json.RawMessage
		} `json:"responses"`
		Security   []map[string][]string `json:"security"`
		Permission string                `json:"x-required-permission"`
	}
)

func parseDoc(t *testing.T, b []byte) *testDoc {
	t.Helper()
	var d testDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	return &d
}

// concrete fills a pattern path's parameters with a dummy value.
func concrete(path string) string {
	return pathParam.ReplaceAllString(path, "x")
}

func TestOpenAPIValid(t *testing.T) {
	d := newDocServer(t)
	b := d.openAPI

	if again := d.buildOpenAPI(); !bytes.Equal(b, again) {
		t.Error("two builds of the OpenAPI document differ; the output must be deterministic")
	}
	if bytes.Contains(b, []byte(`"additionalProperties":false`)) {
		t.Error(`the document has "additionalProperties": false, but unknown fields are ignored`)
	}
	if bytes.Contains(b, []byte("$defs")) {
		t.Error("the document still refers to $defs; named types belong in components.schemas")
	}

	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatalf("libopenapi can't read the document: %v", err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("building the document model: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Error("the document is not valid OpenAPI 3.1:")
		reportValidation(t, verrs)
	}

	// Every local reference resolves.
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	walkJSON(root, func(m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		if resolvePointer(root, ref) == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	})
}

func reportValidation(t *testing.T, errs []*validatorerrors.ValidationError) {
	t.Helper()
	for _, e := range errs {
		t.Errorf("%s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			t.Errorf("  %s (%s): %s", f.FieldPath, f.KeywordLocation, f.Reason)
		}
	}
}

func walkJSON(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, x := range v {
			walkJSON(x, fn)
		}
	case []any:
		for _, x := range v {
			walkJSON(x, fn)
		}
	}
}

func resolvePointer(root any, ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	cur := root
	for tok := range strings.SplitSeq(ref[2:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

// TestOpenAPICoverage checks the document and the mux against each other:
// every route is documented, every documented operation is served by the
// route the table says, and the mux serves nothing else on those paths.
func TestOpenAPICoverage(t *testing.T) {
	d := newDocServer(t)
	doc := parseDoc(t, d.openAPI)

	inTable := map[string]bool{}       // mux patterns
	byOperation := map[string]*route{} // "GET /docs/assets/{file}": the route documented so
	for i := range d.table {
		rt := &d.table[i]
		inTable[rt.pattern()] = true
		path, _ := openAPIPath(rt.path)
		byOperation[rt.method+" "+path] = rt
		if _, ok := doc.Paths[path][strings.ToLower(rt.method)]; !ok {
			t.Errorf("%s is served but not documented", rt.pattern())
		}
	}

	documented := 0
	for path, item := range doc.Paths {
		for method := range item {
			documented++
			method = strings.ToUpper(method)
			rt := byOperation[method+" "+path]
			if rt == nil {
				t.Errorf("%s %s is documented but not in the route table", method, path)
				continue
			}
			req := httptest.NewRequest(method, concrete(path), nil)
			if _, pattern := d.mux.Handler(req); pattern != rt.pattern() {
				t.Errorf("%s %s: the mux matches %q, want %q", method, path, pattern, rt.pattern())
			}
			rec, served := d.serve(req)
			if served != rt.pattern() {
				t.Errorf("%s %s: served as %q (status %d), want %q", method, path, served, rec.Code, rt.pattern())
			}
			if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
				t.Errorf("%s %s: status %d: %s", method, path, rec.Code, rec.Body)
			}
		}
	}
	if documented != len(d.table) {
		t.Errorf("the document has %d operations, the route table %d routes", documented, len(d.table))
	}

	// Nothing outside the table answers on a documented path, whatever the
	// method. (GET patterns serve HEAD too, as net/http does.)
	for path := range doc.Paths {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			req := httptest.NewRequest(method, concrete(path), nil)
			_, pattern := d.mux.Handler(req)
			if pattern == "" {
				continue
			}
			if !inTable[pattern] {
				t.Errorf("%s %s is served by %q, which is not in the route table", method, path, pattern)
				continue
			}
			m := method
			if m == "HEAD" && byOperation["HEAD "+path] == nil {
				m = "GET"
			}
			if rt := byOperation[m+" "+path]; rt == nil || rt.pattern() != pattern {
				t.Errorf("%s %s is served by %q, which documents another operation", method, path, pattern)
			}
		}
	}
}

// TestOpenAPIOperations checks what each operation promises against its route.
func TestOpenAPIOperations(t *testing.T) {
	d := newDocServer(t)
	doc := parseDoc(t, d.openAPI)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != authtest.Issuer {
		t.Errorf("servers = %v, want the issuer %s", doc.Servers, authtest.Issuer)
	}
	for i := range d.table {
		rt := &d.table[i]
		path, params := openAPIPath(rt.path)
		op := doc.Paths[path][strings.ToLower(rt.method)]
		t.Run(rt.pattern(), func(t *testing.T) {
			if string(rt.perm) != op.Permission {
				t.Errorf("x-required-permission = %q, want %q", op.Permission, rt.perm)
			}
			if rt.perm != "" && !strings.Contains(op.Description, string(rt.perm)) {
				t.Errorf("the description doesn't name the permission %s: %q", rt.perm, op.Description)
			}
			hasScheme := func(name string) bool {
				return slices.ContainsFunc(op.Security, func(req map[string][]string) bool { _, ok := req[name]; return ok })
			}
			switch rt.access {
			case bearer:
				if !hasScheme(schemeBearer) {
					t.Errorf("a bearer route without security %s: %v", schemeBearer, op.Security)
				}
			case client:
				if !hasScheme(schemeClientBasic) {
					t.Errorf("a client route without security %s: %v", schemeClientBasic, op.Security)
				}
			case public:
				if len(op.Security) > 0 {
					t.Errorf("a public route with security %v", op.Security)
				}
			}

			var got []string
			for _, p := range op.Parameters {
				if p.In == "path" {
					got = append(got, p.Name)
				}
			}
			if !slices.Equal(got, params) {
				t.Errorf("path parameters %v, want %v", got, params)
			}

			switch {
			case rt.body == nil && op.RequestBody != nil:
				t.Error("documents a request body the route doesn't take")
			case rt.body != nil && op.RequestBody == nil:
				t.Error("takes a body but documents none")
			case rt.body != nil:
				if op.RequestBody.Required == rt.optional {
					t.Errorf("requestBody.required = %v, but optional = %v", op.RequestBody.Required, rt.optional)
				}
				if _, ok := op.RequestBody.Content["application/x-www-form-urlencoded"]; ok != rt.form {
					t.Errorf("form body documented: %v, route form: %v", ok, rt.form)
				}
				if rt.form {
					checkFormTags(t, rt.body)
				}
			}

			if _, ok := op.Responses[fmt.Sprint(rt.status)]; !ok {
				t.Errorf("the success status %d is not documented", rt.status)
			}
			// API v2 answers problem+json, its OAuth endpoints RFC 6749
			// errors, and everything else the v1 body (as dispatch does
			// for unmatched paths).
			wantStyle := errorsV1
			switch {
			case strings.HasPrefix(rt.path, "/api/v2/oauth/"):
				wantStyle = errorsOAuth
			case strings.HasPrefix(rt.path, "/api/v2/"):
				wantStyle = errorsProblem
			}
			if rt.style != wantStyle {
				t.Errorf("error style %d, want %d for this path", rt.style, wantStyle)
			}
			wantMedia, wantSchema := "application/json", "ErrorBody"
			switch rt.style {
			case errorsProblem:
				wantMedia, wantSchema = "application/problem+json", "Problem"
			case errorsOAuth:
				wantSchema = "OauthError"
			}
			// Any API call may need the database, and answers 503 with a
			// Retry-After while it can't be reached.
			if strings.HasPrefix(rt.path, "/api/") {
				if res, ok := op.Responses["503"]; !ok || res.Headers["Retry-After"] == nil {
					t.Error("503 with Retry-After is not documented")
				}
			}
			for _, status := range rt.errors {
				res, ok := op.Responses[fmt.Sprint(status)]
				if !ok {
					t.Errorf("error status %d is not documented", status)
					continue
				}
				if c, ok := res.Content[wantMedia]; !ok || !bytes.Contains(c, []byte(`"#/components/schemas/`+wantSchema+`"`)) {
					t.Errorf("error %d: want %s with the %s schema, have %v", status, wantMedia, wantSchema, res.Content)
				}
			}
		})
	}
}

// TestOpenAPIPagedListings: every listing that pages documents its limit
// and cursor parameters and a response with next_cursor.
func TestOpenAPIPagedListings(t *testing.T) {
	d := newDocServer(t)
	doc := parseDoc(t, d.openAPI)
	for _, path := range []string{
		"/api/v1/auth/sessions", "/api/v1/users/{id}/sessions",
		"/api/v1/users", "/api/v2/users", "/api/v1/audit", "/api/v2/audit",
	} {
		op, ok := doc.Paths[path]["get"]
		if !ok {
			t.Errorf("GET %s is not documented", path)
			continue
		}
		var query []string
		for _, p := range op.Parameters {
			if p.In == "query" {
				query = append(query, p.Name)
			}
		}
		if !slices.Contains(query, "limit") || !slices.Contains(query, "cursor") {
			t.Errorf("GET %s: query parameters %v, want limit and cursor", path, query)
		}
		var content struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		}
		if err := json.Unmarshal(op.Responses["200"].Content["application/json"], &content); err != nil {
			t.Errorf("GET %s: 200 response: %v", path, err)
			continue
		}
		schema, _ := doc.Components.Schemas[strings.TrimPrefix(content.Schema.Ref, "#/components/schemas/")].(map[string]any)
		props, _ := schema["properties"].(map[string]any)
		if _, ok := props["next_cursor"]; !ok {
			t.Errorf("GET %s: response schema %s has no next_cursor: %v", path, content.Schema.Ref, schema)
		}
	}
}

// checkFormTags checks that a body accepted as a form names each field the
// same in the form as in JSON, since one schema documents both.
func checkFormTags(t *testing.T, body any) {
	t.Helper()
	for _, f := range reflect.VisibleFields(reflect.TypeOf(body)) {
		name, _, ok := jsonField(f)
		if !ok {
			continue
		}
		if form := f.Tag.Get("form"); form != name {
			t.Errorf("field %s: form name %q, JSON name %q", f.Name, form, name)
		}
	}
}

// TestOpenAPIMatchesResponses validates real exchanges, errors included,
// against the document: a handler that writes another shape than its route
// declares fails here.
func TestOpenAPIMatchesResponses(t *testing.T) {
	d := newDocServer(t)
	doc, err := libopenapi.NewDocument(d.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx := t.Context()
	if _, err := d.svc.CreateUser(ctx, "root@example.com", "correct horse battery staple", []string{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	root, pair, err := d.svc.Login(ctx, auth.LoginInput{Email: "root@example.com", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	admin := pair.AccessToken
	if _, _, err := d.svc.Login(ctx, auth.LoginInput{Email: "root@example.com", Password: "correct horse battery staple"}); err != nil {
		t.Fatal(err) // a second session, so that a page of one has a next_cursor
	}

	// A social sign-in's code for the exchange case, and a social-only
	// account (whose one identity can't go).
	socialCode := d.socialCode(t)
	_, socialPair, err := d.svc.ExchangeSocialCode(ctx, d.socialCode(t), "", auth.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	social := socialPair.AccessToken

	cases := []struct {
		method, path, token, contentType, body string
		status                                 int
	}{
		{"GET", "/api/v1/oauth/providers", "", "", "", 200},
		{"GET", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape(docApp), "", "", "", 302},
		{"GET", "/api/v1/oauth/google/start?redirect_to=" + url.QueryEscape("https://evil.example.com/"), "", "", "", 400},
		{"GET", "/api/v1/oauth/nope/start?redirect_to=" + url.QueryEscape(docApp), "", "", "", 404},
		{"GET", "/api/v1/oauth/google/callback?state=x&code=y", "", "", "", 400},
		{"POST", "/api/v1/oauth/exchange", "", "application/json", `{"code":"` + socialCode + `"}`, 200},
		{"POST", "/api/v1/oauth/exchange", "", "application/json", `{"code":"` + socialCode + `"}`, 400},
		{"POST", "/api/v2/oauth/token", "", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=x", 400},
		{"GET", "/api/v1/oauth/identities", social, "", "", 200},
		{"GET", "/api/v1/oauth/identities", admin, "", "", 200},
		{"DELETE", "/api/v1/oauth/identities/google", social, "", "", 409},
		{"DELETE", "/api/v1/oauth/identities/google", admin, "", "", 404},
		{"POST", "/api/v1/auth/register", "", "application/json", `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`, 201},
		{"POST", "/api/v1/auth/register", "", "application/json", `{"email":"ada@example.com","password":"correct horse battery staple"}`, 409},
		{"POST", "/api/v1/auth/login", "", "application/json", `{"email":"ada@example.com","password":"wrong password!"}`, 401},
		{"POST", "/api/v1/auth/login", "", "text/plain", `x`, 415},
		{"GET", "/api/v1/users/me", admin, "", "", 200},
		{"GET", "/api/v1/users/me", "", "", "", 401},
		{"GET", "/api/v1/auth/sessions", admin, "", "", 200},
		{"GET", "/api/v1/auth/sessions?limit=1", admin, "", "", 200},
		{"GET", "/api/v1/auth/sessions?limit=1000", admin, "", "", 400},
		{"GET", "/api/v1/users/" + root.ID + "/sessions?limit=1", admin, "", "", 200},
		{"GET", "/api/v1/auth/verify", admin, "", "", 200},
		{"GET", "/api/v1/users?limit=2", admin, "", "", 200},
		{"GET", "/api/v1/roles", admin, "", "", 200},
		{"GET", "/api/v1/roles/admin", admin, "", "", 200},
		{"GET", "/api/v1/roles/nope", admin, "", "", 404},
		{"GET", "/api/v1/audit?limit=5", admin, "", "", 200},
		{"POST", "/api/v2/clients", admin, "application/json", `{"name":"billing"}`, 201},
		{"GET", "/api/v2/clients", admin, "", "", 200},
		{"GET", "/api/v2/clients", "", "", "", 401},
		{"GET", "/api/v2/users", admin, "", "", 200},
		{"POST", "/api/v2/oauth/token", "", "application/x-www-form-urlencoded", "grant_type=password&username=ada%40example.com&password=correct+horse+battery+staple", 200},
		{"POST", "/api/v2/oauth/token", "", "application/x-www-form-urlencoded", "grant_type=bogus", 400},
		{"POST", "/api/v2/oauth/introspect", "", "application/x-www-form-urlencoded", "token=x", 401},
		{"POST", "/api/v1/auth/password/forgot", "", "application/json", `{"email":"ada@example.com"}`, 202},
		{"POST", "/api/v1/auth/password/forgot", "", "application/json", `{"email":"nobody"}`, 400},
		{"POST", "/api/v1/auth/password/reset", "", "application/json", `{"token":"x","new_password":"correct horse battery staple"}`, 400},
		{"POST", "/api/v1/auth/email/verify", "", "application/json", `{"token":"x"}`, 400},
		{"POST", "/api/v1/auth/email/resend", admin, "", "", 202},
		{"PATCH", "/api/v1/users/me", admin, "application/json", `{"email":"new-root@example.com","current_password":"correct horse battery staple"}`, 202},
		{"PATCH", "/api/v1/users/me", admin, "application/json", `{"email":"ada@example.com","current_password":"correct horse battery staple"}`, 409},
		{"GET", "/.well-known/jwks.json", "", "", "", 200},
		{"GET", "/.well-known/openid-configuration", "", "", "", 200},
		{"GET", "/healthz", "", "", "", 200},
		{"GET", "/readyz", "", "", "", 200},
		{"GET", "/openapi.json", "", "", "", 200},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s %s %d", c.method, c.path, c.status)
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, authtest.Issuer+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec, _ := d.serve(req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			res := rec.Result()
			// The validator reads the bodies again.
			req = httptest.NewRequest(c.method, authtest.Issuer+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res.Body = io.NopCloser(bytes.NewReader(rec.Body.Bytes()))
			res.Request = req
			if ok, verrs := v.ValidateHttpResponse(req, res); !ok {
				reportValidation(t, verrs)
				t.Logf("body: %s", rec.Body)
			}
		})
	}
}

func TestDocsPage(t *testing.T) {
	d := newDocServer(t)
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec, _ := d.serve(req)
		return rec
	}

	rec := get("/openapi.json")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), d.openAPI) {
		t.Errorf("GET /openapi.json: %d %q, body equal to the built document: %v",
			rec.Code, rec.Header().Get("Content-Type"), bytes.Equal(rec.Body.Bytes(), d.openAPI))
	}

	rec = get("/docs")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q allows more than this origin", csp)
	}
	page := rec.Body.String()
	if regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`).MatchString(page) || regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(page) {
		t.Error("the page has inline script, which the CSP forbids")
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page) {
		t.Error("the page loads something from another origin")
	}

	// Every file the page links to is served, with its type and for good.
	links := regexp.MustCompile(`(?:src|href)="(docs/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) != 3 {
		t.Fatalf("the page links %d assets, want the stylesheet, the bundle and init.js: %s", len(links), page)
	}
	for _, l := range links {
		url := "/" + strings.ReplaceAll(l[1], "&amp;", "&")
		rec := get(url)
		want := "text/javascript; charset=utf-8"
		if strings.Contains(url, ".css") {
			want = "text/css; charset=utf-8"
		}
		if rec.Code != 200 || rec.Header().Get("Content-Type") != want || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q (%d bytes), want 200 %q", url, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), want)
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want a long-lived immutable entry", url, cc)
		}
	}

	rec = get("/docs/assets/swagger-ui-bundle.js")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		!bytes.Contains(rec.Body.Bytes(), []byte("SwaggerUIBundle")) {
		t.Errorf("GET /docs/assets/swagger-ui-bundle.js: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if cc := rec.Header().Get("Cache-Control"); strings.Contains(cc, "immutable") || strings.Contains(cc, "no-store") {
		t.Errorf("an unversioned asset link: Cache-Control %q, want revalidation", cc)
	}
	if etag := rec.Header().Get("ETag"); etag == "" {
		t.Error("assets carry no ETag")
	} else if rec := get("/docs/assets/swagger-ui-bundle.js", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("a conditional GET with the ETag: %d, want 304", rec.Code)
	}
	if rec := get("/docs/assets/LICENSE"); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Apache License") {
		t.Errorf("GET /docs/assets/LICENSE: %d", rec.Code)
	}

	for _, name := range []string{"nope.js", "index.html", "README.md", "..%2Fdocs.go", "swagger-ui-bundle.js.map"} {
		rec := get("/docs/assets/" + name)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET /docs/assets/%s: %d, want 404", name, rec.Code)
			continue
		}
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != auth.ENotFound {
			t.Errorf("GET /docs/assets/%s: body %s, want the not_found error", name, rec.Body)
		}
	}
}

// TestDocsVendored checks that the vendored Swagger UI is the version the
// script pins, so a bumped pin can't be committed without its files.
func TestDocsVendored(t *testing.T) {
	script, err := os.ReadFile("../../scripts/vendor-swagger-ui")
	if err != nil {
		t.Skipf("no vendoring script: %v", err)
	}
	m := regexp.MustCompile(`VERSION="\$\{1:-([^}]+)\}"`).FindSubmatch(script)
	if m == nil {
		t.Fatal("can't find the pinned version in scripts/vendor-swagger-ui")
	}
	readme, err := os.ReadFile("docs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := "swagger-ui-dist@" + string(m[1]); !bytes.Contains(readme, []byte(want)) {
		t.Errorf("docs/README.md doesn't say %s; rerun scripts/vendor-swagger-ui", want)
	}
}

type downPinger struct{}

func (downPinger) Ping(context.Context) error { return errors.New("connection refused") }

// TestOpenAPIReadyzUnavailable validates the 503 of /readyz, which carries
// the readiness body, not an error body.
func TestOpenAPIReadyzUnavailable(t *testing.T) {
	d := newDocServer(t)
	s := newServer(d.svc, d.keys, downPinger{}, Config{Issuer: authtest.Issuer}, slog.New(slog.DiscardHandler))
	if op := parseDoc(t, s.openAPI).Paths["/readyz"]["get"]; bytes.Contains(op.Responses["503"].Content["application/json"], []byte("ErrorBody")) {
		t.Fatal("the 503 of /readyz is documented as an error body; it is the readiness body (readyJSON)")
	}
	doc, err := libopenapi.NewDocument(s.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	req := httptest.NewRequest("GET", authtest.Issuer+"/readyz", nil)
	rec := httptest.NewRecorder()
	s.handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	res := rec.Result()
	res.Request = req
	if ok, verrs := v.ValidateHttpResponse(req, res); !ok {
		reportValidation(t, verrs)
	}
}

type upPinger struct{}

func (upPinger) Ping(context.Context) error { return nil }

// TestReadyzShuttingDown: once ShuttingDown reports true, /readyz answers
// 503 "shutting_down" with the documented readiness body (the schema version
// still in it), while /healthz stays 200.
func TestReadyzShuttingDown(t *testing.T) {
	d := newDocServer(t)
	var down atomic.Bool
	s := newServer(d.svc, d.keys, upPinger{}, Config{
		Issuer:        authtest.Issuer,
		ShuttingDown:  down.Load,
		SchemaVersion: func(context.Context) (int64, error) { return 42, nil },
	}, slog.New(slog.DiscardHandler))
	doc, err := libopenapi.NewDocument(s.openAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	get := func(path string) (int, readyJSON) {
		t.Helper()
		req := httptest.NewRequest("GET", authtest.Issuer+path, nil)
		rec := httptest.NewRecorder()
		s.handler().ServeHTTP(rec, req)
		res := rec.Result()
		res.Request = req
		if ok, verrs := v.ValidateHttpResponse(req, res); !ok {
			reportValidation(t, verrs)
		}
		var body readyJSON
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v: %s", path, err, rec.Body)
		}
		return rec.Code, body
	}
	if code, body := get("/readyz"); code != http.StatusOK || body.Status != "ok" || body.SchemaVersion != 42 || body.Checks.Database != "ok" {
		t.Fatalf("ready: %d %+v", code, body)
	}
	down.Store(true)
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body.Status != "shutting_down" || body.SchemaVersion != 42 || body.Checks.Database != "ok" {
		t.Fatalf("shutting down: %d %+v, want 503 shutting_down", code, body)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body.Status != "ok" {
		t.Fatalf("healthz while shutting down: %d %+v, want 200", code, body)
	}
}
