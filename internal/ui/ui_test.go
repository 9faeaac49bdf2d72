package ui

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

var testConfig = Config{
	Branding:          Branding{ProductName: "TalentForge", LogoURL: "https://cdn.example.com/logo.svg", PrimaryColor: "#0f766e"},
	Issuer:            "https://auth.example.com",
	PasswordMinLength: 10,
	PasswordMaxLength: 512,
	RedirectURLs:      []string{"https://app.example.com/"},
}

func testHandler(t *testing.T) *Handler {
	t.Helper()
	files, err := load(fstest.MapFS{
		"index.html":                      {Data: []byte("<p>sign in</p>")},
		"404.html":                        {Data: []byte("<p>not found</p>")},
		"sign-up/index.html":              {Data: []byte("<p>sign up</p>")},
		"__next._tree.txt":                {Data: []byte("tree")},
		"_next/static/chunks/app-1a2b.js": {Data: []byte("console.log(1)")},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(files, testConfig)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPagesResolve(t *testing.T) {
	h := testHandler(t)
	for _, tc := range []struct {
		path, body, cache string
		status            int
	}{
		{"/ui/", "<p>sign in</p>", "no-cache", 200},
		{"/ui/sign-up", "<p>sign up</p>", "no-cache", 200},
		{"/ui/sign-up/", "<p>sign up</p>", "no-cache", 200},
		{"/ui/_next/static/chunks/app-1a2b.js", "console.log(1)", "public, max-age=31536000, immutable", 200},
		{"/ui/__next._tree.txt", "tree", "no-cache", 200},
		{"/ui/nope", "<p>not found</p>", "no-store", 404},
		{"/ui/sign-up/index.html", "<p>not found</p>", "no-store", 404}, // one URL per page
		{"/ui/_next/static/chunks/app-1a2b.js/", "<p>not found</p>", "no-store", 404},
		{"/ui/../ui/index.html", "<p>not found</p>", "no-store", 404},
		{"/ui/sign-up//", "<p>not found</p>", "no-store", 404},
	} {
		rec := get(h, tc.path)
		if rec.Code != tc.status || rec.Body.String() != tc.body || rec.Header().Get("Cache-Control") != tc.cache {
			t.Errorf("%s: %d %q Cache-Control %q; want %d %q %q", tc.path, rec.Code, rec.Body, rec.Header().Get("Cache-Control"), tc.status, tc.body, tc.cache)
		}
		for _, name := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
			if rec.Header().Get(name) == "" {
				t.Errorf("%s: no %s", tc.path, name)
			}
		}
	}
	if ct := get(h, "/ui/sign-up").Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("page Content-Type %q", ct)
	}
	etag := get(h, "/ui/").Header().Get("ETag")
	if rec := get(h, "/ui/", "If-None-Match", etag); etag == "" || rec.Code != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %d", etag, rec.Code)
	}
}

func TestPolicyAllowsNothingInline(t *testing.T) {
	csp := get(testHandler(t), "/ui/").Header().Get("Content-Security-Policy")
	for _, want := range []string{
		"script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'",
		"img-src 'self' data: https://cdn.example.com;",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows something unsafe: %q", csp)
	}
}

func TestConfigJSON(t *testing.T) {
	rec := get(testHandler(t), "/ui/config.json")
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%s (%s): %v", rec.Body, rec.Header().Get("Content-Type"), err)
	}
	want := `{"issuer":"https://auth.example.com","logo_url":"https://cdn.example.com/logo.svg","password":{"max_length":512,"min_length":10},"primary_color":"#0f766e","product_name":"TalentForge","redirect_urls":["https://app.example.com/"]}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("config.json\n got %s\nwant %s", b, want)
	}
}

func TestReturnURLs(t *testing.T) {
	got := ReturnURLs("https://auth.example.com/")
	if strings.Join(got, " ") != "https://auth.example.com/ui/ https://auth.example.com/ui/account/" {
		t.Errorf("ReturnURLs: %v", got)
	}
}

// The committed export is what the CSP must hold for: no inline script
// in any page, every script and stylesheet it names is embedded, and
// every page of SPEC §12 exists.
func TestEmbeddedExport(t *testing.T) {
	h, err := New(testConfig)
	if err != nil {
		t.Fatal(err)
	}
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	ref := regexp.MustCompile(`(?:src|href)="(/ui/[^"]*)"`)
	pages := 0
	for name, f := range h.files {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		pages++
		html := string(f.body)
		for _, at := range regexp.MustCompile(`<script[^>]*>`).FindAllStringIndex(html, -1) {
			if tag := html[at[0]:at[1]]; !strings.Contains(tag, " src=") && inline.MatchString(html[at[0]:]) {
				t.Errorf("%s: inline script %s", name, tag)
			}
		}
		if strings.Contains(html, " style=\"") || strings.Contains(html, "<style") {
			t.Errorf("%s: inline style", name)
		}
		for _, m := range ref.FindAllStringSubmatch(html, -1) {
			if rec := get(h, m[1]); rec.Code != 200 {
				t.Errorf("%s names %s, which answers %d", name, m[1], rec.Code)
			}
		}
	}
	if pages == 0 {
		t.Fatal("the export has no page")
	}
	for _, page := range []string{"/ui/", "/ui/sign-up/", "/ui/forgot-password/", "/ui/reset-password/", "/ui/verify-email/", "/ui/account/", "/ui/admin/"} {
		if rec := get(h, page); rec.Code != 200 {
			t.Errorf("%s: %d", page, rec.Code)
		}
	}
}

func TestTextIsGzippedForClientsThatTakeIt(t *testing.T) {
	h := testHandler(t)
	plain := get(h, "/ui/_next/static/chunks/app-1a2b.js")
	if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("without Accept-Encoding: %v", plain.Header())
	}
	for _, accept := range []string{"gzip", "br, gzip;q=0.8, deflate", "GZIP"} {
		rec := get(h, "/ui/_next/static/chunks/app-1a2b.js", "Accept-Encoding", accept)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%q: Content-Encoding %q", accept, rec.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || string(body) != "console.log(1)" {
			t.Fatalf("%q: decoded %q, %v", accept, body, err)
		}
		etag := rec.Header().Get("ETag")
		if etag == plain.Header().Get("ETag") {
			t.Error("the gzip encoding has the plain file's ETag")
		}
		if again := get(h, "/ui/_next/static/chunks/app-1a2b.js", "Accept-Encoding", accept, "If-None-Match", etag); again.Code != http.StatusNotModified {
			t.Errorf("revalidating the gzip encoding: %d", again.Code)
		}
	}
	for _, accept := range []string{"gzip;q=0", "br", "identity"} {
		if rec := get(h, "/ui/", "Accept-Encoding", accept); rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "<p>sign in</p>" {
			t.Errorf("%q: Content-Encoding %q, body %q", accept, rec.Header().Get("Content-Encoding"), rec.Body)
		}
	}
}
