package mail_test

import (
	"net/url"
	"testing"

	"github.com/talentforge/authd/internal/mail"
)

func TestLink(t *testing.T) {
	for _, tc := range []struct{ ui, path, token, want string }{
		{"https://app.example.com", mail.VerifyEmailPath, "abc", "https://app.example.com/verify-email#token=abc"},
		{"https://app.example.com/", mail.ResetPasswordPath, "abc", "https://app.example.com/reset-password#token=abc"},
		{"https://example.com/account", mail.VerifyEmailPath, "abc", "https://example.com/account/verify-email#token=abc"},
		{"https://example.com/account/", mail.VerifyEmailPath, "abc", "https://example.com/account/verify-email#token=abc"},
		{"http://localhost:3000", mail.VerifyEmailPath, "abc", "http://localhost:3000/verify-email#token=abc"},
		{"HTTPS://App.Example.com", mail.VerifyEmailPath, "abc", "https://App.Example.com/verify-email#token=abc"},
		{"https://app.example.com", mail.VerifyEmailPath, "a+b/c=d&e f#g", "https://app.example.com/verify-email#token=a%2Bb%2Fc%3Dd%26e+f%23g"},
	} {
		got, err := mail.Link(tc.ui, tc.path, tc.token)
		if err != nil {
			t.Errorf("Link(%q, %q, %q): %v", tc.ui, tc.path, tc.token, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Link(%q, %q, %q) = %q, want %q", tc.ui, tc.path, tc.token, got, tc.want)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatal(err)
		}
		frag, err := url.ParseQuery(u.EscapedFragment())
		if u.RawQuery != "" || err != nil || frag.Get("token") != tc.token {
			t.Errorf("%s: query %q, token in fragment %q (%v); want no query and %q", got, u.RawQuery, frag.Get("token"), err, tc.token)
		}
	}
}

func TestLinkRefuses(t *testing.T) {
	for _, tc := range []struct{ name, ui, path, token string }{
		{"relative UI URL", "/app", mail.VerifyEmailPath, "abc"},
		{"host without scheme", "app.example.com", mail.VerifyEmailPath, "abc"},
		{"other scheme", "ftp://app.example.com", mail.VerifyEmailPath, "abc"},
		{"javascript", "javascript:alert(1)", mail.VerifyEmailPath, "abc"},
		{"no host", "https://", mail.VerifyEmailPath, "abc"},
		{"query in UI URL", "https://app.example.com/?next=x", mail.VerifyEmailPath, "abc"},
		{"fragment in UI URL", "https://app.example.com/#/", mail.VerifyEmailPath, "abc"},
		{"user information", "https://user:pw@app.example.com", mail.VerifyEmailPath, "abc"},
		{"empty token", "https://app.example.com", mail.VerifyEmailPath, ""},
		{"empty path", "https://app.example.com", "", "abc"},
		{"absolute path", "https://app.example.com", "/verify-email", "abc"},
		{"query in path", "https://app.example.com", "verify-email?token=x", "abc"},
	} {
		if got, err := mail.Link(tc.ui, tc.path, tc.token); err == nil {
			t.Errorf("%s: Link(%q, %q, %q) = %q, want an error", tc.name, tc.ui, tc.path, tc.token, got)
		}
	}
}
