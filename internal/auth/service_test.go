package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

type env struct {
	svc   *auth.Service
	store authtest.Backend
	clock *authtest.Clock
}

// newEnv runs a service wired as the default deployment (SQLite, the cache
// and the limits in process); the service and the store share one clock
// (opts.Clock, or a new one).
func newEnv(t *testing.T, opts authtest.Options) *env {
	t.Helper()
	return newEnvAt(t, wiringtest.Embedded, opts)
}

// newEnvAt runs a service wired as w on a fresh store of w's, sharing its
// clock.
func newEnvAt(t testing.TB, w wiringtest.Wiring, opts authtest.Options) *env {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = authtest.NewClock()
	}
	return newEnvOn(t, w, w.Open(t, opts.Clock), opts)
}

// newEnvOn runs a service wired as w over store (which may wrap w's store).
func newEnvOn(t testing.TB, w wiringtest.Wiring, store authtest.Backend, opts authtest.Options) *env {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = authtest.NewClock()
	}
	svc, _ := authtest.NewService(t, store, w.Options(t, opts))
	return &env{svc: svc, store: store, clock: opts.Clock}
}

// forEachWiring runs f as a parallel subtest on every production wiring,
// each with its own service and store.
func forEachWiring(t *testing.T, opts authtest.Options, f func(t *testing.T, e *env)) {
	t.Helper()
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		o := opts
		if o.Clock != nil {
			// Each wiring advances its own copy.
			o.Clock = authtest.ClockAt(o.Clock.Now())
		}
		f(t, newEnvAt(t, w, o))
	})
}

const pw = "correct horse battery staple"

func (e *env) register(t *testing.T, email string) (*auth.User, *auth.TokenPair) {
	t.Helper()
	u, pair, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: email, Password: pw, Origin: auth.Origin{IP: "192.0.2.1", UserAgent: "test"}})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return u, pair
}

func (e *env) principal(t *testing.T, pair *auth.TokenPair) *auth.Principal {
	t.Helper()
	p, err := e.svc.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

func wantCode(t *testing.T, err error, want auth.Code) {
	t.Helper()
	if got := auth.ErrorCode(err); got != want {
		t.Fatalf("error code %q (%v), want %q", got, err, want)
	}
}

func TestRegister(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, pair := e.register(t, "  Ada@Example.COM ")
		if u.Email != "ada@example.com" || u.Status != auth.StatusActive || u.EmailVerified {
			t.Errorf("user %+v", u)
		}
		if strings.Join(u.Roles, ",") != auth.RoleUser {
			t.Errorf("roles %v, want [user]", u.Roles)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("password stored as %q", u.PasswordHash)
		}
		if pair.TokenType != "Bearer" || pair.AccessToken == "" || pair.RefreshToken == "" || pair.ExpiresIn != 15*time.Minute {
			t.Errorf("pair %+v", pair)
		}
		p := e.principal(t, pair)
		if p.UserID != u.ID || p.SessionID != pair.SessionID {
			t.Errorf("principal %+v", p)
		}

		for _, tc := range []struct {
			name, email, password string
			want                  auth.Code
		}{
			{"same email other case", "ADA@example.com", pw, auth.EEmailTaken},
			{"weak password", "bob@example.com", "password1", auth.EWeakPassword},
			{"short password", "bob@example.com", "short", auth.EWeakPassword},
			{"overlong password", "bob@example.com", strings.Repeat("x", 1025), auth.EInvalid},
			{"bad email", "not-an-email", pw, auth.EInvalid},
			{"empty email", "", pw, auth.EInvalid},
			{"email with CRLF", "bob@example.com\r\nBcc: x@y.z", pw, auth.EInvalid},
			{"email with NUL", "bob\x00@example.com", pw, auth.EInvalid},
			{"email with zero-width space", "bo\u200bb@example.com", pw, auth.EInvalid},
			{"email with display name", "Bob <bob@example.com>", pw, auth.EInvalid},
			{"overlong email", strings.Repeat("a", 250) + "@example.com", pw, auth.EInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: tc.email, Password: tc.password})
				wantCode(t, err, tc.want)
			})
		}
	})
}

func TestRegisterNormalisesUnicodeEmail(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		e.register(t, "jose\u0301@example.com") // e + combining acute
		_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "jos\u00e9@example.com", Password: pw})
		wantCode(t, err, auth.EEmailTaken)
	})
}

func TestLogin(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, _ := e.register(t, "ada@example.com")

		got, pair, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ADA@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.LastLoginAt.IsZero() {
			t.Errorf("login user %+v", got)
		}
		e.principal(t, pair)

		_, _, wrong := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: "wrong password!"})
		_, _, unknown := e.svc.Login(t.Context(), auth.LoginInput{Email: "nobody@example.com", Password: "wrong password!"})
		wantCode(t, wrong, auth.EInvalidCredentials)
		if wrong.Error() != unknown.Error() {
			t.Errorf("unknown email distinguishable from wrong password: %q vs %q", wrong, unknown)
		}
		// No account has a malformed address: saying so reveals nothing.
		_, _, malformed := e.svc.Login(t.Context(), auth.LoginInput{Email: "not an email", Password: "wrong password!"})
		wantCode(t, malformed, auth.EInvalid)

		_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com"})
		wantCode(t, err, auth.EInvalid)
	})
}

func TestLoginDisabledAccount(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, _ := e.register(t, "ada@example.com")
		off := auth.StatusDisabled
		err := e.store.InUserTx(t.Context(), u.ID, func(tx auth.UserTx) error {
			return tx.UpdateUser(t.Context(), &auth.UserUpdate{Status: &off, Version: u.Version, At: e.clock.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		wantCode(t, err, auth.EAccountDisabled)
		// The disabled state is revealed only to someone who knows the password.
		_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: "wrong password!"})
		wantCode(t, err, auth.EInvalidCredentials)
	})
}

func TestLoginWithoutPasswordHash(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, _ := e.register(t, "ada@example.com")
		if err := e.store.UpgradePasswordHash(t.Context(), u.ID, u.PasswordHash, ""); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		wantCode(t, err, auth.EInvalidCredentials)
	})
}

func TestLoginUpgradesImportedBcryptHash(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, _ := e.register(t, "ada@example.com")
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpgradePasswordHash(t.Context(), u.ID, u.PasswordHash, string(h)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
			t.Fatalf("login with bcrypt hash: %v", err)
		}
		after, err := e.store.User(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(after.PasswordHash, "$argon2id$") {
			t.Errorf("hash not upgraded: %q", after.PasswordHash)
		}
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
			t.Fatalf("login after upgrade: %v", err)
		}
	})
}

func TestRefreshRotates(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, p1 := e.register(t, "ada@example.com")
		p2, err := e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		if p2.RefreshToken == p1.RefreshToken || p2.SessionID != p1.SessionID {
			t.Fatalf("refresh did not rotate: %+v", p2)
		}
		e.principal(t, p2)
		e.clock.Advance(time.Minute)
		p3, err := e.svc.Refresh(t.Context(), p2.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := e.store.Session(t.Context(), e.principal(t, p3).UserID, p3.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		if sess.RefreshGeneration != 3 || !sess.LastSeenAt.Equal(e.clock.Now().Truncate(time.Microsecond)) {
			t.Errorf("session after two refreshes: generation %d last seen %v", sess.RefreshGeneration, sess.LastSeenAt)
		}
	})
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, p1 := e.register(t, "ada@example.com")
		p2, err := e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(11 * time.Second) // past the 10s grace
		_, err = e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)

		// The whole family is gone: the current refresh token and the access
		// tokens of the session.
		_, err = e.svc.Refresh(t.Context(), p2.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		_, err = e.svc.Authenticate(t.Context(), p2.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
	})
}

// TestExpiredRetiredTokenIsJustInvalid: a retired refresh token past its
// own expiry is refused like an unknown one (the retention job deletes it
// anyway); it is not "reuse", so an old, long-dead token can't end the
// session that lives on through its successors.
func TestExpiredRetiredTokenIsJustInvalid(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, p1 := e.register(t, "ada@example.com") // refresh TTL 720h
		e.clock.Advance(700 * time.Hour)
		p2, err := e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Hour) // p1 expired; p2 has 690h left
		_, err = e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		if _, err := e.svc.Refresh(t.Context(), p2.RefreshToken, auth.Origin{}); err != nil {
			t.Errorf("the live successor after an expired token was presented: %v", err)
		}
	})
}

func TestRefreshGrace(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, p1 := e.register(t, "ada@example.com")
		p2, err := e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Second) // exactly at the end of the grace interval
		again, err := e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatalf("retry within grace: %v", err)
		}
		if again.RefreshToken != p2.RefreshToken {
			t.Error("retry within grace must get the same successor, not a second live token")
		}
		// The successor is still the live token.
		p3, err := e.svc.Refresh(t.Context(), p2.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatalf("successor after grace retry: %v", err)
		}
		// p1 is now two rotations old: not the most recently retired, so reuse,
		// even inside the grace interval.
		_, err = e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		_, err = e.svc.Refresh(t.Context(), p3.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
	})
}

func TestRefreshGraceDisabled(t *testing.T) {
	forEachWiring(t, authtest.Options{RefreshReuseGrace: -1}, func(t *testing.T, e *env) {
		_, p1 := e.register(t, "ada@example.com")
		p2, err := e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		_, err = e.svc.Refresh(t.Context(), p2.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
	})
}

func TestRefreshRejects(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, pair := e.register(t, "ada@example.com")
		_, other := e.register(t, "bob@example.com")

		// Another user's id spliced onto this token's secret must not resolve.
		spliced := other.RefreshToken[:21] + pair.RefreshToken[21:]
		for name, tok := range map[string]string{
			"garbage":   "not-a-token",
			"empty":     "",
			"truncated": pair.RefreshToken[:len(pair.RefreshToken)-1],
			"spliced":   spliced,
			"bad chars": strings.Repeat("*", len(pair.RefreshToken)),
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.Refresh(t.Context(), tok, auth.Origin{})
				wantCode(t, err, auth.EInvalidRefreshToken)
			})
		}

		t.Run("expired", func(t *testing.T) {
			e.clock.Advance(721 * time.Hour)
			_, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
			wantCode(t, err, auth.EInvalidRefreshToken)
		})
	})
}

func TestRefreshAfterLogout(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, pair := e.register(t, "ada@example.com")
		if err := e.svc.Logout(t.Context(), e.principal(t, pair), ""); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
	})
}

func TestRevocationTakesEffectAtOnce(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, a := e.register(t, "ada@example.com")
		_, b, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		_, c, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		pa := e.principal(t, a)

		list, _, err := e.svc.Sessions(t.Context(), pa, auth.SessionQuery{})
		if err != nil || len(list) != 3 {
			t.Fatalf("sessions %d, %v", len(list), err)
		}

		// Revoking one session ends exactly that one.
		if err := e.svc.RevokeSession(t.Context(), pa, b.SessionID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(t.Context(), b.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		e.principal(t, c)

		// Logout-all ends the rest, the caller's included.
		if err := e.svc.LogoutAll(t.Context(), pa); err != nil {
			t.Fatal(err)
		}
		for _, p := range []*auth.TokenPair{a, c} {
			_, err = e.svc.Authenticate(t.Context(), p.AccessToken)
			wantCode(t, err, auth.EUnauthorized)
		}
	})
}

func TestLogoutWithRefreshTokenOfAnotherSession(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, a := e.register(t, "ada@example.com")
		b := e.loginPair(t, "ada@example.com")
		_, bob := e.register(t, "bob@example.com")

		// Another user's refresh token is ignored, never revoked by this caller.
		if err := e.svc.Logout(t.Context(), e.principal(t, a), bob.RefreshToken); err != nil {
			t.Fatal(err)
		}
		e.principal(t, bob)

		a2 := e.loginPair(t, "ada@example.com")
		if err := e.svc.Logout(t.Context(), e.principal(t, a2), b.RefreshToken); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(t.Context(), b.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
	})
}

func TestRevokeSessionOfAnotherUserIsNotFound(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, a := e.register(t, "ada@example.com")
		_, b := e.register(t, "bob@example.com")
		err := e.svc.RevokeSession(t.Context(), e.principal(t, a), b.SessionID)
		wantCode(t, err, auth.ENotFound)
		e.principal(t, b) // untouched
		for _, id := range []string{"", "not-a-uuid", "00000000-0000-0000-0000-000000000000"} {
			wantCode(t, e.svc.RevokeSession(t.Context(), e.principal(t, a), id), auth.ENotFound)
		}
	})
}

func TestChangePassword(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, a := e.register(t, "ada@example.com")
		b := e.loginPair(t, "ada@example.com")
		pa := e.principal(t, a)

		wantCode(t, e.svc.ChangePassword(t.Context(), pa, "wrong current pw", "another good passphrase"), auth.EInvalidCredentials)
		wantCode(t, e.svc.ChangePassword(t.Context(), pa, pw, "password"), auth.EWeakPassword)

		if err := e.svc.ChangePassword(t.Context(), pa, pw, "another good passphrase"); err != nil {
			t.Fatal(err)
		}
		e.principal(t, a) // the session that changed it lives on
		_, err := e.svc.Authenticate(t.Context(), b.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		_, err = e.svc.Refresh(t.Context(), b.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)

		_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		wantCode(t, err, auth.EInvalidCredentials)
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: "another good passphrase"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProfile(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, a := e.register(t, "ada@example.com")
		p := e.principal(t, a)
		name := "  Ada Lovelace "
		u, err := e.svc.UpdateMe(t.Context(), p, auth.ProfilePatch{Name: &name})
		if err != nil || u.Name != "Ada Lovelace" {
			t.Fatalf("update name: %v, %+v", err, u)
		}
		for _, bad := range []string{strings.Repeat("n", 201), "a\x00b", "a\u202eb", "\xff"} {
			_, err := e.svc.UpdateMe(t.Context(), p, auth.ProfilePatch{Name: &bad})
			wantCode(t, err, auth.EInvalid)
		}
		// The next request authenticates again and sees the new name.
		me, err := e.svc.Me(t.Context(), e.principal(t, a))
		if err != nil || me.Name != "Ada Lovelace" {
			t.Fatalf("me: %v %+v", err, me)
		}
	})
}

func TestDeleteMe(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		_, a := e.register(t, "ada@example.com")
		p := e.principal(t, a)
		wantCode(t, e.svc.DeleteMe(t.Context(), p, ""), auth.EInvalid)
		wantCode(t, e.svc.DeleteMe(t.Context(), p, "wrong password!"), auth.EInvalidCredentials)
		if err := e.svc.DeleteMe(t.Context(), p, pw); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(t.Context(), a.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		_, err = e.svc.Refresh(t.Context(), a.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		e.register(t, "ada@example.com") // the email is free again
	})
}

// TestCreateUserWithRoles: the operator path grants the roles asked for, and
// the default role every account holds.
func TestCreateUserWithRoles(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, err := e.svc.CreateUser(t.Context(), "Root@Example.com", pw, []string{"admin", "admin"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(u.Roles, ",") != "admin,user" || !u.EmailVerified || u.Email != "root@example.com" {
			t.Errorf("created %+v", u)
		}
		_, err = e.svc.CreateUser(t.Context(), "x@example.com", pw, []string{"no-such-role"})
		wantCode(t, err, auth.EInvalid)
		if msg := auth.ErrorMessage(err); !strings.Contains(msg, `"no-such-role"`) {
			t.Errorf("message %q doesn't name the unknown role", msg)
		}
	})
}

// TestConcurrentRefresh: many refreshes of one token at once never yield two
// live successors. With the grace interval every caller gets the same one;
// without it exactly one wins and the reuse by the rest ends the session.
func TestConcurrentRefresh(t *testing.T) {
	for _, w := range wiringtest.All() {
		t.Run(w.Name, func(t *testing.T) {
			t.Run("grace", func(t *testing.T) {
				e := newEnvAt(t, w, authtest.Options{})
				_, pair := e.register(t, "ada@example.com")
				results := refreshConcurrently(t, e, pair.RefreshToken, 20)
				successors := map[string]bool{}
				for _, r := range results {
					if r.err != nil {
						t.Fatalf("refresh within grace failed: %v", r.err)
					}
					successors[r.pair.RefreshToken] = true
				}
				if len(successors) != 1 {
					t.Fatalf("%d distinct successors, want 1", len(successors))
				}
				for s := range successors {
					if _, err := e.svc.Refresh(t.Context(), s, auth.Origin{}); err != nil {
						t.Fatalf("the successor must be live: %v", err)
					}
				}
			})
			t.Run("no grace", func(t *testing.T) {
				e := newEnvAt(t, w, authtest.Options{RefreshReuseGrace: -1})
				_, pair := e.register(t, "ada@example.com")
				results := refreshConcurrently(t, e, pair.RefreshToken, 20)
				var wins []*auth.TokenPair
				for _, r := range results {
					if r.err == nil {
						wins = append(wins, r.pair)
					} else if auth.ErrorCode(r.err) != auth.EInvalidRefreshToken {
						t.Fatalf("unexpected error: %v", r.err)
					}
				}
				if len(wins) != 1 {
					t.Fatalf("%d refreshes succeeded, want exactly 1", len(wins))
				}
				// Every loser presented a retired token: reuse, so the family is
				// revoked and even the winner's successor is dead.
				_, err := e.svc.Refresh(t.Context(), wins[0].RefreshToken, auth.Origin{})
				wantCode(t, err, auth.EInvalidRefreshToken)
			})
		})
	}
}

type refreshResult struct {
	pair *auth.TokenPair
	err  error
}

func refreshConcurrently(t *testing.T, e *env, token string, n int) []refreshResult {
	t.Helper()
	results := make([]refreshResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			p, err := e.svc.Refresh(t.Context(), token, auth.Origin{})
			results[i] = refreshResult{p, err}
		})
	}
	close(start)
	wg.Wait()
	return results
}

func TestConcurrentRegistrationOfOneEmail(t *testing.T) {
	for _, w := range wiringtest.All() {
		t.Run(w.Name, func(t *testing.T) {
			e := newEnvAt(t, w, authtest.Options{})
			const n = 10
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, _, errs[i] = e.svc.Register(context.WithoutCancel(t.Context()), auth.RegisterInput{Email: "race@example.com", Password: pw})
				})
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case auth.ErrorCode(err) != auth.EEmailTaken:
					t.Errorf("loser got %v, want email_taken", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d registrations won, want exactly 1", won)
			}
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	internal := errors.New("connection refused to 10.0.0.3")
	if auth.ErrorCode(internal) != auth.EInternal || strings.Contains(auth.ErrorMessage(internal), "10.0.0.3") {
		t.Error("internal errors must map to EInternal and hide their detail")
	}
	wrapped := &auth.Error{Code: auth.EUnavailable, Message: "busy", RetryAfter: time.Second, Err: internal}
	if auth.ErrorCode(wrapped) != auth.EUnavailable || auth.ErrorRetryAfter(wrapped) != time.Second || !errors.Is(wrapped, internal) {
		t.Error("error helpers lost information")
	}
	if auth.ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
}

// TestRefreshGraceUsesOneClock: whether a retired token is still within its
// grace interval is decided on the database's clock, so replicas whose
// clocks are skewed an hour either way decide alike. Before, a replica
// behind the rotating one kept the grace open for the length of its skew
// (handing the successor to a replayed token) and one ahead of it revoked a
// client's session for a harmless concurrent refresh.
func TestRefreshGraceUsesOneClock(t *testing.T) {
	for _, w := range wiringtest.All() {
		t.Run(w.Name, func(t *testing.T) {
			dbClock := authtest.NewClock()
			store := w.Open(t, dbClock)
			replica := func(skew time.Duration) *env {
				return newEnvOn(t, w, store, authtest.Options{Clock: authtest.ClockAt(dbClock.Now().Add(skew))})
			}
			a, ahead, behind := replica(0), replica(time.Hour), replica(-time.Hour)

			_, p1 := a.register(t, "ada@example.com")
			p2, err := a.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
			if err != nil {
				t.Fatal(err)
			}
			// Within the interval on the database's clock, a replica an hour
			// ahead still grants the grace.
			dbClock.Advance(5 * time.Second)
			again, err := ahead.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
			if err != nil {
				t.Fatalf("retry within the grace interval on a replica an hour ahead: %v", err)
			}
			if again.RefreshToken != p2.RefreshToken {
				t.Error("retry within grace got another token than the successor")
			}

			// Past it, a replica an hour behind refuses the retired token as
			// reuse and ends the session.
			dbClock.Advance(6 * time.Second)
			_, err = behind.svc.Refresh(t.Context(), p1.RefreshToken, auth.Origin{})
			wantCode(t, err, auth.EInvalidRefreshToken)
			_, err = a.svc.Refresh(t.Context(), p2.RefreshToken, auth.Origin{})
			wantCode(t, err, auth.EInvalidRefreshToken)
		})
	}
}
