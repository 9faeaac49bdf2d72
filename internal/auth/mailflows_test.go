package auth_test

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
)

// sentMail is a mail the service queued, as its recipient would read it.
type sentMail = authtest.SentMail

// outbox claims every mail queued so far (that no earlier call returned).
func (e *env) outbox(t *testing.T) []sentMail {
	t.Helper()
	return authtest.ClaimMail(t, e.store)
}

// onlyMail returns the single mail queued since the last look, of kind, to
// address.
func (e *env) onlyMail(t *testing.T, kind auth.MailKind, to string) sentMail {
	t.Helper()
	got := e.outbox(t)
	if len(got) != 1 || got[0].Kind != kind || got[0].Msg.To != to {
		t.Fatalf("queued %s, want one %s mail to %s", describe(got), kind, to)
	}
	return got[0]
}

func describe(ms []sentMail) string {
	var b strings.Builder
	b.WriteString("[")
	for _, m := range ms {
		b.WriteString(" " + string(m.Kind) + "→" + m.Msg.To)
	}
	return b.String() + " ]"
}

func (e *env) user(t *testing.T, id string) *auth.User {
	t.Helper()
	u, err := e.store.User(t.Context(), id)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	return u
}

func (e *env) wantEvent(t *testing.T, userID string, typ auth.EventType) {
	t.Helper()
	evs, err := e.store.ListEvents(t.Context(), auth.EventFilter{UserID: userID, Type: typ, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Errorf("no %s event for %s", typ, userID)
	}
}

var origin = auth.Origin{IP: "192.0.2.7", UserAgent: "test"}

func TestSignUpMailsAVerificationLinkThatWorksOnce(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, pair := e.register(t, "ada@example.com")
		m := e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com")
		if m.Token == "" {
			t.Fatalf("verification mail without a token link:\n%s", m.Msg.Text)
		}
		if !strings.Contains(m.Msg.Text, authtest.UIURL+"/verify-email#token=") {
			t.Errorf("link not under AUTH_UI_URL/verify-email:\n%s", m.Msg.Text)
		}
		if err := e.svc.VerifyEmail(t.Context(), m.Token, origin); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if !e.user(t, u.ID).EmailVerified {
			t.Error("address not verified")
		}
		e.wantEvent(t, u.ID, auth.EventEmailVerified)
		// The session sees it at once (the cache was dropped).
		if p := e.principal(t, pair); !p.EmailVerified {
			t.Error("principal still unverified")
		}
		wantCode(t, e.svc.VerifyEmail(t.Context(), m.Token, origin), auth.EInvalidToken)
		// A verified address asks for no more mail.
		if err := e.svc.ResendVerification(t.Context(), e.principal(t, pair)); err != nil {
			t.Fatal(err)
		}
		if got := e.outbox(t); len(got) != 0 {
			t.Errorf("resend for a verified address queued %s", describe(got))
		}
	})
}

func TestOperatorCreatedUsersGetNoMail(t *testing.T) {
	e := newEnv(t, authtest.Options{})
	if _, err := e.svc.CreateUser(t.Context(), "root@example.com", pw, []string{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if got := e.outbox(t); len(got) != 0 {
		t.Errorf("queued %s for a verified operator-made account", describe(got))
	}
}

func TestFailedSignUpQueuesNothing(t *testing.T) {
	e := newEnv(t, authtest.Options{})
	e.register(t, "ada@example.com")
	e.outbox(t)
	_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "ada@example.com", Password: pw})
	wantCode(t, err, auth.EEmailTaken)
	if got := e.outbox(t); len(got) != 0 {
		t.Errorf("a refused sign-up queued %s", describe(got))
	}
}

func TestResendSupersedesTheEarlierLink(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, pair := e.register(t, "ada@example.com")
		first := e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com")
		if err := e.svc.ResendVerification(t.Context(), e.principal(t, pair)); err != nil {
			t.Fatal(err)
		}
		second := e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com")
		if first.Msg.MessageID == second.Msg.MessageID || first.Token == second.Token {
			t.Fatal("resend repeated the first mail")
		}
		wantCode(t, e.svc.VerifyEmail(t.Context(), first.Token, origin), auth.EInvalidToken)
		if err := e.svc.VerifyEmail(t.Context(), second.Token, origin); err != nil {
			t.Fatal(err)
		}
		if !e.user(t, u.ID).EmailVerified {
			t.Error("not verified")
		}
	})
}

func TestVerificationLinkExpires(t *testing.T) {
	e := newEnv(t, authtest.Options{VerifyTokenTTL: time.Hour})
	u, _ := e.register(t, "ada@example.com")
	m := e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com")
	if !strings.Contains(m.Msg.Text, "1 hour") {
		t.Errorf("the mail does not say how long the link works:\n%s", m.Msg.Text)
	}
	e.clock.Advance(time.Hour)
	wantCode(t, e.svc.VerifyEmail(t.Context(), m.Token, origin), auth.EInvalidToken)
	if e.user(t, u.ID).EmailVerified {
		t.Error("an expired link verified the address")
	}
}

func TestForgotPasswordAndReset(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, pair := e.register(t, "ada@example.com")
		_, other := e.register(t, "bob@example.com")
		e.outbox(t)
		asked := e.clock.Now()
		if err := e.svc.ForgotPassword(t.Context(), " ADA@example.com ", origin); err != nil {
			t.Fatal(err)
		}
		m := e.onlyMail(t, auth.MailResetPassword, "ada@example.com")
		// Its link works the default 1h: the outbox drops it unsent after.
		if want := asked.Add(time.Hour); !m.ExpiresAt.Equal(want) {
			t.Errorf("the reset mail expires at %v, want %v (its token's expiry)", m.ExpiresAt, want)
		}
		if !strings.Contains(m.Msg.Text, authtest.UIURL+"/reset-password#token=") {
			t.Errorf("link not under AUTH_UI_URL/reset-password:\n%s", m.Msg.Text)
		}
		e.wantEvent(t, u.ID, auth.EventPasswordResetAsked)

		// A rejected password does not spend the token.
		wantCode(t, e.svc.ResetPassword(t.Context(), m.Token, "password1", origin), auth.EWeakPassword)
		const next = "a brand new passphrase"
		if err := e.svc.ResetPassword(t.Context(), m.Token, next, origin); err != nil {
			t.Fatalf("reset: %v", err)
		}
		e.wantEvent(t, u.ID, auth.EventPasswordReset)
		got := e.user(t, u.ID)
		if !got.EmailVerified {
			t.Error("the reset mail proved the address, but it is not verified")
		}
		if got.PasswordVersion != u.PasswordVersion+1 {
			t.Errorf("password version %d, want %d", got.PasswordVersion, u.PasswordVersion+1)
		}
		// Every session ended, the one that asked included.
		_, err := e.svc.Authenticate(t.Context(), pair.AccessToken)
		wantCode(t, err, auth.EUnauthorized)
		_, err = e.svc.Refresh(t.Context(), pair.RefreshToken, auth.Origin{})
		wantCode(t, err, auth.EInvalidRefreshToken)
		// Another account is untouched.
		e.principal(t, other)

		_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
		wantCode(t, err, auth.EInvalidCredentials)
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: next}); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		wantCode(t, e.svc.ResetPassword(t.Context(), m.Token, "yet another passphrase", origin), auth.EInvalidToken)
	})
}

func TestForgotPasswordSaysNothingAboutTheAccount(t *testing.T) {
	limits := auth.Limits{
		MailIP:      auth.Rule{Name: auth.RuleMailIP, Limit: 100, Period: time.Hour},
		MailAddress: auth.Rule{Name: auth.RuleMailAddress, Limit: 2, Period: time.Hour},
	}
	e := newEnv(t, authtest.Options{Limits: limits})
	u, _ := e.register(t, "ada@example.com")
	e.outbox(t)
	off := auth.StatusDisabled
	e.register(t, "off@example.com")
	e.outbox(t)
	disabled, _ := e.store.UserByEmail(t.Context(), "off@example.com")
	err := e.store.InUserTx(t.Context(), disabled.ID, func(tx auth.UserTx) error {
		return tx.UpdateUser(t.Context(), &auth.UserUpdate{Status: &off, Version: disabled.Version, At: e.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, addr := range []string{"ada@example.com", "nobody@example.com", "off@example.com"} {
		for i := range 2 {
			if err := e.svc.ForgotPassword(t.Context(), addr, origin); err != nil {
				t.Fatalf("%s, request %d: %v", addr, i+1, err)
			}
		}
		// The per-address limit answers alike for every address.
		wantCode(t, e.svc.ForgotPassword(t.Context(), addr, origin), auth.ETooManyAttempts)
	}
	got := e.outbox(t)
	if len(got) != 2 {
		t.Fatalf("queued %s, want the two reset mails of the active account", describe(got))
	}
	for _, m := range got {
		if m.Kind != auth.MailResetPassword || m.Msg.To != u.Email {
			t.Errorf("queued %s→%s", m.Kind, m.Msg.To)
		}
	}
	// The second request superseded the first.
	wantCode(t, e.svc.ResetPassword(t.Context(), got[0].Token, "a brand new passphrase", origin), auth.EInvalidToken)
	if err := e.svc.ResetPassword(t.Context(), got[1].Token, "a brand new passphrase", origin); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.ForgotPassword(t.Context(), "not an address", origin), auth.EInvalid)

	// The refused requests are audited by reason, without the address.
	evs, err := e.store.ListEvents(t.Context(), auth.EventFilter{Type: auth.EventPasswordResetAsked, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, ev := range evs {
		if ev.Outcome == auth.OutcomeFailure {
			reasons[ev.Reason+" "+ev.UserID]++
		}
		if strings.Contains(fmt.Sprintf("%+v", *ev), "nobody@") {
			t.Errorf("an audit event holds the unknown address: %+v", *ev)
		}
	}
	if want := map[string]int{"unknown_address ": 2, "account_disabled " + disabled.ID: 2}; !maps.Equal(reasons, want) {
		t.Errorf("refused resets audited as %v, want %v", reasons, want)
	}
}

func TestMailRequestsPerIPAreLimited(t *testing.T) {
	limits := auth.Limits{MailIP: auth.Rule{Name: auth.RuleMailIP, Limit: 2, Period: time.Hour}}
	e := newEnv(t, authtest.Options{Limits: limits})
	for _, addr := range []string{"a@example.com", "b@example.com"} {
		if err := e.svc.ForgotPassword(t.Context(), addr, origin); err != nil {
			t.Fatal(err)
		}
	}
	err := e.svc.ForgotPassword(t.Context(), "c@example.com", origin)
	wantCode(t, err, auth.ETooManyAttempts)
	if err.(*auth.Error).RetryAfter <= 0 {
		t.Error("no Retry-After")
	}
	// Another client is not held back.
	if err := e.svc.ForgotPassword(t.Context(), "c@example.com", auth.Origin{IP: "198.51.100.1"}); err != nil {
		t.Fatal(err)
	}
}

// TestOneTimeTokenAttacks presents tokens that must not work, each for its
// own reason.
func TestOneTimeTokenAttacks(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ada, adaPair := e.register(t, "ada@example.com")
		verifyAda := e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com").Token
		bob, _ := e.register(t, "bob@example.com")
		verifyBob := e.onlyMail(t, auth.MailVerifyEmail, "bob@example.com").Token
		if err := e.svc.ForgotPassword(t.Context(), "ada@example.com", origin); err != nil {
			t.Fatal(err)
		}
		resetAda := e.onlyMail(t, auth.MailResetPassword, "ada@example.com").Token

		flip := func(s string, i int) string {
			b := []byte(s)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}
		// Bob's user id with Ada's secret part: a token for Ada's rows
		// that is not Ada's, and not Bob's either.
		transplanted := verifyBob[:22] + verifyAda[22:]
		for _, tc := range []struct{ name, token string }{
			{"empty", ""},
			{"garbage", "not a token"},
			{"secret part altered", flip(verifyAda, len(verifyAda)-5)},
			{"user part altered", flip(verifyAda, 3)},
			{"another user's id", transplanted},
			{"a reset token", resetAda},
			{"too long", verifyAda + "A"},
			{"with a newline", verifyAda[:30] + "\n" + verifyAda[31:]},
		} {
			wantCode(t, e.svc.VerifyEmail(t.Context(), tc.token, origin), auth.EInvalidToken)
		}
		wantCode(t, e.svc.ResetPassword(t.Context(), verifyAda, "a brand new passphrase", origin), auth.EInvalidToken)
		for _, id := range []string{ada.ID, bob.ID} {
			if e.user(t, id).EmailVerified {
				t.Fatalf("user %s verified by a forged token", id)
			}
		}

		// A password change voids every link mailed before it.
		p := e.principal(t, adaPair)
		if err := e.svc.ChangePassword(t.Context(), p, pw, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.ResetPassword(t.Context(), resetAda, "yet another passphrase", origin), auth.EInvalidToken)
		wantCode(t, e.svc.VerifyEmail(t.Context(), verifyAda, origin), auth.EInvalidToken)
		// Bob's own link still works.
		if err := e.svc.VerifyEmail(t.Context(), verifyBob, origin); err != nil {
			t.Fatal(err)
		}
	})
}

func TestResetTokenUsedInParallelWorksOnce(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		e.register(t, "ada@example.com")
		e.outbox(t)
		if err := e.svc.ForgotPassword(t.Context(), "ada@example.com", origin); err != nil {
			t.Fatal(err)
		}
		token := e.onlyMail(t, auth.MailResetPassword, "ada@example.com").Token
		const n = 8
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = e.svc.ResetPassword(t.Context(), token, "a brand new passphrase", origin)
			})
		}
		close(start)
		wg.Wait()
		wantOneWinner(t, "resets with one token", errs, auth.EInvalidToken)
	})
}

// wantOneWinner checks the outcome of concurrent uses of one single-use
// token: exactly one nil error, and loser for every other.
func wantOneWinner(t *testing.T, what string, errs []error, loser auth.Code) {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch auth.ErrorCode(err) {
		case "":
			ok++
		case loser:
		default:
			t.Errorf("%s: unexpected error %v", what, err)
		}
	}
	if ok != 1 {
		t.Errorf("%s: %d succeeded, want exactly 1", what, ok)
	}
}

func TestLoginNeedsAVerifiedAddressWhenRequired(t *testing.T) {
	e := newEnv(t, authtest.Options{RequireVerifiedEmail: true})
	e.register(t, "ada@example.com")
	token := e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com").Token
	_, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
	wantCode(t, err, auth.EEmailNotVerified)
	// Only the right password learns that the address is unverified.
	_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: "wrong password!"})
	wantCode(t, err, auth.EInvalidCredentials)
	if err := e.svc.VerifyEmail(t.Context(), token, origin); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
		t.Fatalf("login after verification: %v", err)
	}
}

func TestChangeEmail(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, pair := e.register(t, "ada@example.com")
		e.register(t, "bob@example.com")
		e.outbox(t)
		p := e.principal(t, pair)

		_, err := e.svc.ChangeEmail(t.Context(), p, "new@example.com", "wrong password!")
		wantCode(t, err, auth.EInvalidCredentials)
		_, err = e.svc.ChangeEmail(t.Context(), p, "BOB@example.com", pw)
		wantCode(t, err, auth.EEmailTaken)
		_, err = e.svc.ChangeEmail(t.Context(), p, "not an address", pw)
		wantCode(t, err, auth.EInvalid)
		if mailed, err := e.svc.ChangeEmail(t.Context(), p, " ADA@example.com", ""); err != nil || mailed {
			t.Fatalf("the current address: mailed %v, err %v; want nothing to do", mailed, err)
		}
		if got := e.outbox(t); len(got) != 0 {
			t.Fatalf("refused changes queued %s", describe(got))
		}

		asked := e.clock.Now()
		mailed, err := e.svc.ChangeEmail(t.Context(), p, "New@Example.com", pw)
		if err != nil || !mailed {
			t.Fatalf("change: mailed %v, err %v", mailed, err)
		}
		e.wantEvent(t, u.ID, auth.EventEmailChangeAsked)
		got := e.outbox(t)
		if len(got) != 2 {
			t.Fatalf("queued %s, want a link to the new address and a notice to the old", describe(got))
		}
		var link, notice sentMail
		for _, m := range got {
			switch m.Kind {
			case auth.MailEmailChangeVerify:
				link = m
			case auth.MailEmailChangeNotice:
				notice = m
			}
		}
		if link.Msg == nil || link.Msg.To != "new@example.com" || link.Token == "" {
			t.Fatalf("no link to the new address in %s", describe(got))
		}
		if notice.Msg == nil || notice.Msg.To != "ada@example.com" || notice.Token != "" ||
			!strings.Contains(notice.Msg.Text, "new@example.com") {
			t.Fatalf("the notice to the old address is wrong: %+v", notice.Msg)
		}
		if want := asked.Add(24 * time.Hour); !link.ExpiresAt.Equal(want) {
			t.Errorf("the link to the new address expires at %v, want %v (its token's expiry)", link.ExpiresAt, want)
		}
		if !notice.ExpiresAt.IsZero() {
			t.Errorf("the notice, which has no link, expires at %v; want never", notice.ExpiresAt)
		}
		// Nothing changes until the new address is proved.
		if got := e.user(t, u.ID); got.Email != "ada@example.com" || !strings.EqualFold(got.Email, u.Email) {
			t.Fatalf("email changed before verification: %s", got.Email)
		}
		if err := e.svc.VerifyEmail(t.Context(), link.Token, origin); err != nil {
			t.Fatalf("verify the new address: %v", err)
		}
		e.wantEvent(t, u.ID, auth.EventEmailChanged)
		got2 := e.user(t, u.ID)
		if got2.Email != "new@example.com" || !got2.EmailVerified {
			t.Fatalf("after verification: %s verified=%v", got2.Email, got2.EmailVerified)
		}
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "new@example.com", Password: pw}); err != nil {
			t.Fatalf("login with the new address: %v", err)
		}
		// The old address is free again.
		e.register(t, "ada@example.com")
	})
}

func TestEmailChangeToAnAddressTakenMeanwhile(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		u, pair := e.register(t, "ada@example.com")
		e.outbox(t)
		if _, err := e.svc.ChangeEmail(t.Context(), e.principal(t, pair), "new@example.com", pw); err != nil {
			t.Fatal(err)
		}
		var token string
		for _, m := range e.outbox(t) {
			if m.Kind == auth.MailEmailChangeVerify {
				token = m.Token
			}
		}
		e.register(t, "new@example.com")
		wantCode(t, e.svc.VerifyEmail(t.Context(), token, origin), auth.EEmailTaken)
		if got := e.user(t, u.ID); got.Email != "ada@example.com" {
			t.Errorf("email %s after a refused change", got.Email)
		}
	})
}
