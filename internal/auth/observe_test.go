package auth_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
)

// recorder is an auth.Observer that counts what it is told, keyed
// "op/value", and fails the test on a value outside the published lists.
type recorder struct {
	t  *testing.T
	mu sync.Mutex
	n  map[string]int
}

func (r *recorder) add(op string, list []string, v string) {
	if !slices.Contains(list, v) {
		r.t.Errorf("%s outcome %q is not in its published list %v", op, v, list)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[op+"/"+v]++
}

func (r *recorder) SignUp(o string)      { r.add("signup", auth.SignUpOutcomes, o) }
func (r *recorder) Login(o string)       { r.add("login", auth.LoginOutcomes, o) }
func (r *recorder) Refresh(o string)     { r.add("refresh", auth.RefreshOutcomes, o) }
func (r *recorder) TokenIssued(k string) { r.add("token", auth.TokenKinds, k) }

func (r *recorder) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.n
	r.n = map[string]int{}
	return n
}

func (r *recorder) want(t *testing.T, step string, want map[string]int) {
	t.Helper()
	if diff := cmp.Diff(want, r.take()); diff != "" {
		t.Errorf("%s: observed (-want +got):\n%s", step, diff)
	}
}

// TestObserver walks every outcome an operator's dashboard shows and checks
// that each operation reports exactly one, and each token issued is counted
// once.
func TestObserver(t *testing.T) {
	rec := &recorder{t: t, n: map[string]int{}}
	limits := auth.Limits{
		LoginAccount: auth.Rule{Name: auth.RuleLoginAccount, Limit: 3, Period: 15 * time.Minute, MaxLockout: time.Hour},
		LoginIP:      auth.Rule{Name: auth.RuleLoginIP, Limit: 6, Period: 15 * time.Minute},
		RegisterIP:   auth.Rule{Name: auth.RuleRegisterIP, Limit: 2, Period: time.Hour}, // a malformed address is refused before it counts
		RefreshIP:    auth.Rule{Name: auth.RuleRefreshIP, Limit: 3, Period: time.Minute},
	}
	e := newEnv(t, authtest.Options{Observer: rec, Limits: limits})
	ctx := t.Context()
	register := func(email, password, ip string) error {
		_, _, err := e.svc.Register(ctx, auth.RegisterInput{Email: email, Password: password, Origin: auth.Origin{IP: ip}})
		return err
	}

	if err := register("ada@example.com", pw, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "sign-up", map[string]int{"signup/success": 1, "token/refresh": 1, "token/access": 1})
	wantCode(t, register("ada@example.com", pw, "192.0.2.1"), auth.EEmailTaken)
	wantCode(t, register("not an address", pw, "192.0.2.1"), auth.EInvalid)
	wantCode(t, register("bob@example.com", pw, "192.0.2.1"), auth.ETooManyAttempts)
	rec.want(t, "refused sign-ups", map[string]int{"signup/conflict": 1, "signup/invalid": 1, "signup/rate_limited": 1})
	if err := register("bob@example.com", pw, "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	rec.take()

	_, p, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: pw, Origin: auth.Origin{IP: "198.51.100.1"}})
	if err != nil {
		t.Fatal(err)
	}
	rec.want(t, "login", map[string]int{"login/success": 1, "token/refresh": 1, "token/access": 1})

	// Three wrong guesses lock the account for this IP; the per-IP rule
	// counts every attempt, so three more for another account exhaust it.
	for range 3 {
		wantCode(t, login(e, t, "ada@example.com", "wrong password", "198.51.100.7"), auth.EInvalidCredentials)
	}
	wantCode(t, login(e, t, "ada@example.com", pw, "198.51.100.7"), auth.ETooManyAttempts)
	for range 3 {
		wantCode(t, login(e, t, "bob@example.com", "wrong password", "198.51.100.7"), auth.EInvalidCredentials)
	}
	wantCode(t, login(e, t, "carol@example.com", pw, "198.51.100.7"), auth.ETooManyAttempts)
	wantCode(t, login(e, t, "", pw, "198.51.100.8"), auth.EInvalid)
	rec.want(t, "failed logins", map[string]int{"login/bad_credentials": 6, "login/locked": 1, "login/rate_limited": 1, "login/invalid": 1})

	// Refresh: a rotation, then the retired token again past the grace
	// interval is reuse, then the session's tokens are just invalid.
	p2, err := e.svc.Refresh(ctx, p.RefreshToken, auth.Origin{IP: "198.51.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	rec.want(t, "refresh", map[string]int{"refresh/success": 1, "token/refresh": 1, "token/access": 1})
	e.clock.Advance(11 * time.Second)
	_, err = e.svc.Refresh(ctx, p.RefreshToken, auth.Origin{IP: "198.51.100.1"})
	wantCode(t, err, auth.EInvalidRefreshToken)
	_, err = e.svc.Refresh(ctx, p2.RefreshToken, auth.Origin{IP: "198.51.100.1"})
	wantCode(t, err, auth.EInvalidRefreshToken)
	_, err = e.svc.Refresh(ctx, p2.RefreshToken, auth.Origin{IP: "198.51.100.1"})
	wantCode(t, err, auth.ETooManyAttempts)
	rec.want(t, "refused refreshes", map[string]int{"refresh/reuse_detected": 1, "refresh/invalid": 1, "refresh/rate_limited": 1})

	// A service client's token.
	_, adm := e.admin(t, "root@example.com")
	rec.take()
	c, _, err := e.svc.CreateClient(ctx, adm, auth.ClientInput{Name: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.ClientToken(ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "client token", map[string]int{"token/client": 1})
}

// TestObserverDisabledAndUnverified covers the outcomes that need an account
// in a particular state.
func TestObserverDisabledAndUnverified(t *testing.T) {
	rec := &recorder{t: t, n: map[string]int{}}
	e := newEnv(t, authtest.Options{Observer: rec, RequireVerifiedEmail: true})
	ada, _ := e.register(t, "ada@example.com")
	e.register(t, "bob@example.com")
	rec.take()

	wantCode(t, login(e, t, "bob@example.com", pw, "192.0.2.1"), auth.EEmailNotVerified)
	off := auth.StatusDisabled
	err := e.store.InUserTx(t.Context(), ada.ID, func(tx auth.UserTx) error {
		return tx.UpdateUser(t.Context(), &auth.UserUpdate{Status: &off, Version: ada.Version, At: e.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, login(e, t, "ada@example.com", pw, "192.0.2.1"), auth.EAccountDisabled)
	rec.want(t, "logins", map[string]int{"login/unverified": 1, "login/disabled": 1})
}
