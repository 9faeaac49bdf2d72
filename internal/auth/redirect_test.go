package auth_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

func TestRedirectsAllowOnlyTheListedURLs(t *testing.T) {
	r, err := auth.NewRedirects([]string{
		"https://app.example.com/auth/callback",
		"HTTPS://Other.Example.com:443",
		"http://localhost:3000/cb?from=authd",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw, want string
	}{
		{"https://app.example.com/auth/callback", "https://app.example.com/auth/callback"},
		{"https://APP.example.com:443/auth/callback", "https://app.example.com/auth/callback"},
		{"HTTPS://app.example.com/auth/callback", "https://app.example.com/auth/callback"},
		{"https://other.example.com", "https://other.example.com/"},
		{"https://other.example.com/", "https://other.example.com/"},
		{"http://localhost:3000/cb?from=authd", "http://localhost:3000/cb?from=authd"},
	} {
		got, ok := r.Allow(tc.raw)
		if !ok || got != tc.want {
			t.Errorf("Allow(%q) = %q, %v; want %q, true", tc.raw, got, ok, tc.want)
		}
	}
	for _, raw := range []string{
		"",
		"//evil.com",
		"/\\evil.com",
		"\\\\evil.com",
		"https:\\\\evil.com",
		"https://evil.com/auth/callback",
		"https://app.example.com.evil.com/auth/callback",
		"https://app.example.com@evil.com/auth/callback",
		"https://evil.com@app.example.com/auth/callback",
		"https://evil.com#@app.example.com/auth/callback",
		"https://app.example.com/auth/callback#x",
		"https://app.example.com/auth/callback/",
		"https://app.example.com/auth/callback/../callback",
		"https://app.example.com/auth/callback?x=1",
		"https://app.example.com/auth/Callback",
		"https://app.example.com:8443/auth/callback",
		"http://app.example.com/auth/callback",
		"javascript:alert(1)",
		"javascript://app.example.com/auth/callback",
		"data:text/html,hi",
		"/auth/callback",
		"app.example.com/auth/callback",
		"https://app.example.com/auth/callback\x00",
		"https://app.example.com/auth/callback ",
		" https://app.example.com/auth/callback",
		"https://app.example.com\t/auth/callback",
		"http://localhost:3000/cb",
		"http://localhost:3000/cb?from=evil",
		"https://аpp.example.com/auth/callback", // Cyrillic а
	} {
		if got, ok := r.Allow(raw); ok {
			t.Errorf("Allow(%q) = %q, true; want it refused", raw, got)
		}
	}
}

func TestRedirectsRefuseMalformedEntries(t *testing.T) {
	for _, raw := range []string{
		"", "//app.example.com/cb", "/cb", "javascript:x", "https://user@app.example.com/cb",
		"https://app.example.com/cb#frag", "ftp://app.example.com/cb", "https:///cb", "https://app.example.com\\cb",
	} {
		if _, err := auth.NewRedirects([]string{"https://ok.example.com/cb", raw}); err == nil {
			t.Errorf("NewRedirects accepted %q", raw)
		}
	}
}
