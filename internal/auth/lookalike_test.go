package auth_test

import (
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
)

// TestLookAlikeEmailsAreOneAccount: every spelling that normalises to an
// address reaches the one account that holds it, at sign-up, login and in
// the admin search.
func TestLookAlikeEmailsAreOneAccount(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		admin, adm := e.admin(t, "admin@example.com")

		for _, spelling := range []string{"ａｄｍｉｎ@example.com", "ＡＤＭＩＮ＠ｅｘａｍｐｌｅ．ｃｏｍ", "\U0001D41Admin@example.com"} {
			_, _, err := e.svc.Register(ctx, auth.RegisterInput{Email: spelling, Password: pw})
			wantCode(t, err, auth.EEmailTaken)

			u, _, err := e.svc.Login(ctx, auth.LoginInput{Email: spelling, Password: pw})
			if err != nil || u.ID != admin.ID {
				t.Errorf("login as %q: user %+v, %v; want %s", spelling, u, err, admin.ID)
			}
		}

		ada, _ := e.register(t, "ada@bücher.de")
		if ada.Email != "ada@xn--bcher-kva.de" {
			t.Errorf("stored email %q, want the domain's A-label form", ada.Email)
		}
		_, _, err := e.svc.Register(ctx, auth.RegisterInput{Email: "ADA@xn--bcher-kva.de", Password: pw})
		wantCode(t, err, auth.EEmailTaken)
		if u, _, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@BÜCHER.de", Password: pw}); err != nil || u.ID != ada.ID {
			t.Errorf("login with the Unicode domain: user %+v, %v; want %s", u, err, ada.ID)
		}

		users, _, err := e.svc.ListUsers(ctx, adm, auth.UserQuery{EmailPrefix: "ＡＤＭ"})
		if err != nil || len(users) != 1 || users[0].ID != admin.ID {
			t.Errorf("admin search for a fullwidth prefix: %v, %v; want the admin", users, err)
		}
		users, _, err = e.svc.ListUsers(ctx, adm, auth.UserQuery{EmailPrefix: "ada@bücher"})
		if err != nil || len(users) != 1 || users[0].ID != ada.ID {
			t.Errorf("admin search for a Unicode domain: %v, %v; want ada", users, err)
		}

		_, _, err = e.svc.Register(ctx, auth.RegisterInput{Email: "p\u0430ypal@example.com", Password: pw})
		wantCode(t, err, auth.EInvalid)
	})
}

// TestLookAlikeEmailsShareLockout: failed logins under look-alike spellings
// count against one account, so alternating spellings can't multiply the
// guesses allowed.
func TestLookAlikeEmailsShareLockout(t *testing.T) {
	e := newEnv(t, authtest.Options{Limits: auth.Limits{
		LoginAccount: auth.Rule{Name: auth.RuleLoginAccount, Limit: 2, Period: 15 * time.Minute, MaxLockout: time.Hour},
	}})
	e.register(t, "admin@example.com")
	for _, spelling := range []string{"admin@example.com", "ａｄｍｉｎ@example.com"} {
		_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: spelling, Password: "wrong password!"})
		wantCode(t, err, auth.EInvalidCredentials)
	}
	_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ＡＤＭＩＮ@example.com", Password: "wrong password!"})
	wantCode(t, err, auth.ETooManyAttempts)
}
