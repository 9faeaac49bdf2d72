package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// mailedToken returns the token of the link in the latest mail of kind
// sent to address, claiming from the outbox what was queued since the last
// call.
func (f *fixture) mailedToken(t *testing.T, kind auth.MailKind, address string) string {
	t.Helper()
	f.mail = append(f.mail, authtest.ClaimMail(t, f.store)...)
	for i := len(f.mail) - 1; i >= 0; i-- {
		if m := f.mail[i]; m.Kind == kind && m.Msg.To == address {
			if m.Token == "" {
				t.Fatalf("%s mail without a link:\n%s", kind, m.Msg.Text)
			}
			return m.Token
		}
	}
	t.Fatalf("no %s mail to %s among %d queued", kind, address, len(f.mail))
	return ""
}

func TestEmailVerificationOverHTTP(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		token := f.mailedToken(t, auth.MailVerifyEmail, "ada@example.com")
		f.run(t, []scenario{
			{name: "no token", method: post, path: "/api/v1/auth/email/verify", body: `{}`, wantStatus: 400, wantCode: "invalid_token"},
			{name: "a wrong token", method: post, path: "/api/v1/auth/email/verify", body: `{"token":"` + strings.Repeat("A", 64) + `"}`, wantStatus: 400, wantCode: "invalid_token"},
			{name: "wrong type", method: post, path: "/api/v1/auth/email/verify", body: `{"token":42}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "malformed JSON", method: post, path: "/api/v1/auth/email/verify", body: `{"token":`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "the token", method: post, path: "/api/v1/auth/email/verify", body: `{"token":"` + token + `"}`, wantStatus: 204},
			{name: "the token again", method: post, path: "/api/v1/auth/email/verify", body: `{"token":"` + token + `"}`, wantStatus: 400, wantCode: "invalid_token"},
			{name: "verified in /me", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 200, wantIn: []string{`"email_verified":true`}},
			{name: "resend needs a bearer", method: post, path: "/api/v1/auth/email/resend", wantStatus: 401},
			{name: "resend when verified", method: post, path: "/api/v1/auth/email/resend", token: a.access, wantStatus: 202},
		})
	})
}

func TestPasswordResetOverHTTP(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		res := f.post(t, "/api/v1/auth/password/forgot", "", `{"email":"Ada@Example.com"}`)
		if res.status != http.StatusAccepted {
			t.Fatalf("forgot: %d %s", res.status, res.body)
		}
		token := f.mailedToken(t, auth.MailResetPassword, "ada@example.com")
		const next = "a brand new passphrase"
		f.run(t, []scenario{
			{name: "no password", method: post, path: "/api/v1/auth/password/reset", body: `{"token":"` + token + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "weak password", method: post, path: "/api/v1/auth/password/reset", body: `{"token":"` + token + `","new_password":"password1"}`, wantStatus: 400, wantCode: "weak_password"},
			{name: "a verify token", method: post, path: "/api/v1/auth/password/reset", body: `{"token":"` + f.mailedToken(t, auth.MailVerifyEmail, "ada@example.com") + `","new_password":"` + next + `"}`, wantStatus: 400, wantCode: "invalid_token"},
			{name: "reset", method: post, path: "/api/v1/auth/password/reset", body: `{"token":"` + token + `","new_password":"` + next + `"}`, wantStatus: 204},
			{name: "reset again", method: post, path: "/api/v1/auth/password/reset", body: `{"token":"` + token + `","new_password":"` + next + `"}`, wantStatus: 400, wantCode: "invalid_token"},
			{name: "the old session ended", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 401},
			{name: "old password", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com","password":"` + pw + `"}`, wantStatus: 401, wantCode: "invalid_credentials"},
			{name: "new password", method: post, path: "/api/v1/auth/login", body: `{"email":"ada@example.com","password":"` + next + `"}`, wantStatus: 200, wantIn: []string{`"email_verified":true`}},
		})
	})
}

// TestForgotPasswordAnswersAlike checks that a known, an unknown and a
// disabled address get byte-identical answers (but for the request id).
func TestForgotPasswordAnswersAlike(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com")
	var bodies []string
	for _, email := range []string{"ada@example.com", "nobody@example.com", "ADA@example.com"} {
		res := f.post(t, "/api/v1/auth/password/forgot", "", `{"email":"`+email+`"}`)
		if res.status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", email, res.status, res.body)
		}
		res.header.Del("X-Request-ID")
		bodies = append(bodies, string(res.body)+headerLine(res.header))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ:\n%s\n%s", bodies[0], b)
		}
	}
}

func headerLine(h http.Header) string {
	var b strings.Builder
	for _, k := range []string{"Content-Type", "Content-Length", "Cache-Control", "Retry-After"} {
		b.WriteString(k + "=" + h.Get(k) + ";")
	}
	return b.String()
}

func TestForgotPasswordLimitsAnswerAlike(t *testing.T) {
	limits := auth.Limits{MailAddress: auth.Rule{Name: auth.RuleMailAddress, Limit: 1, Period: time.Hour}}
	f := newFixtureOn(t, wiringtest.Embedded, authtest.Options{Limits: limits})
	f.register(t, "ada@example.com")
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		if res := f.post(t, "/api/v1/auth/password/forgot", "", `{"email":"`+email+`"}`); res.status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", email, res.status, res.body)
		}
		res := f.post(t, "/api/v1/auth/password/forgot", "", `{"email":"`+email+`"}`)
		if res.status != http.StatusTooManyRequests || res.errorCode(t) != "too_many_attempts" || res.header.Get("Retry-After") == "" {
			t.Fatalf("%s past the limit: %d %v %s", email, res.status, res.header, res.body)
		}
	}
}

func TestEmailChangeOverHTTP(t *testing.T) {
	forEachWiring(t, func(t *testing.T, f *fixture) {
		a := f.register(t, "ada@example.com")
		f.register(t, "bob@example.com")
		f.run(t, []scenario{
			{name: "wrong password", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"email":"new@example.com","current_password":"wrong password!","name":"Ada"}`, wantStatus: 401, wantCode: "invalid_credentials"},
			{name: "no password", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"email":"new@example.com"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "taken", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"email":"bob@example.com","current_password":"` + pw + `"}`, wantStatus: 409, wantCode: "email_taken"},
			{name: "malformed", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"email":"bob","current_password":"` + pw + `"}`, wantStatus: 400, wantCode: "invalid_request"},
			{name: "a refused change changed no name", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 200, wantIn: []string{`"name":""`}},
			{name: "the same address", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"email":"ADA@example.com"}`, wantStatus: 200},
			{name: "mailed", method: patch, path: "/api/v1/users/me", token: a.access, body: `{"email":"new@example.com","current_password":"` + pw + `","name":"Ada"}`, wantStatus: 202, wantIn: []string{`"email":"ada@example.com"`, `"name":"Ada"`}},
		})
		token := f.mailedToken(t, auth.MailEmailChangeVerify, "new@example.com")
		f.run(t, []scenario{
			{name: "verify the new address", method: post, path: "/api/v1/auth/email/verify", body: `{"token":"` + token + `"}`, wantStatus: 204},
			{name: "moved", method: get, path: "/api/v1/users/me", token: a.access, wantStatus: 200, wantIn: []string{`"email":"new@example.com"`, `"email_verified":true`}},
		})
	})
}
