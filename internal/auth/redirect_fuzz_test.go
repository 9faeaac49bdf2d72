package auth

import (
	"net/url"
	"testing"
)

// FuzzNormalizeRedirect: whatever a client sends as redirect_to, the
// normal form is a fixed point (so the allowlist compares one spelling),
// and it parses back to an http(s) URL with the host it was allowed for and
// no user information: what a browser would be sent to is what was checked.
func FuzzNormalizeRedirect(f *testing.F) {
	for _, seed := range []string{
		"https://app.example.com/cb", "//evil.com", "/\\evil.com", "https://app.example.com@evil.com",
		"https://app.example.com.evil.com", "javascript:alert(1)", "HTTPS://APP.example.com:443",
		"http://[::1]:80/x?y=z", "https://xn--80ak6aa92e.com/", "https://a%2F@b/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := normalizeRedirect(raw)
		if err != nil {
			return
		}
		again, err := normalizeRedirect(n)
		if err != nil || again != n {
			t.Fatalf("normalizeRedirect(%q) = %q, whose own normal form is %q (%v)", raw, n, again, err)
		}
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Host == "" || u.Fragment != "" {
			t.Fatalf("normal form %q of %q is not a plain http(s) URL", n, raw)
		}
		r, _ := NewRedirects([]string{n})
		if got, ok := r.Allow(raw); !ok || got != n {
			t.Fatalf("an allowlist of %q refuses %q", n, raw)
		}
	})
}
