package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

const appURL = "https://app.example.com/auth/done"

type socialEnv struct {
	*env
	google, github *authtest.Provider
}

func newSocialEnv(t *testing.T, opts authtest.Options) *socialEnv {
	t.Helper()
	return newSocialEnvAt(t, wiringtest.Embedded, opts)
}

// newSocialEnvAt is newSocialEnv on wiring w, with Google and GitHub
// enabled and appURL allowed.
func newSocialEnvAt(t *testing.T, w wiringtest.Wiring, opts authtest.Options) *socialEnv {
	t.Helper()
	se := &socialEnv{google: authtest.NewProvider("google"), github: authtest.NewProvider("github")}
	redirects, err := auth.NewRedirects([]string{appURL, "https://app.example.com/other?keep=1"})
	if err != nil {
		t.Fatal(err)
	}
	opts.Social.Providers = []auth.SocialProvider{se.google, se.github}
	opts.Social.Redirects = redirects
	se.env = newEnvAt(t, w, opts)
	return se
}

// start begins a sign-in at p and returns the state the provider got and
// the browser cookie.
func (e *socialEnv) start(t *testing.T, p *authtest.Provider, challenge string) (state, browser string) {
	t.Helper()
	in := auth.SocialStartInput{Provider: p.Name(), RedirectTo: appURL}
	if challenge != "" {
		in.CodeChallenge, in.CodeChallengeMethod = challenge, "S256"
	}
	loc, browser, err := e.svc.StartSocial(t.Context(), in)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, "https://"+p.Name()+".test/authorize?") {
		t.Fatalf("start sent the browser to %q", loc)
	}
	return u.Query().Get("state"), browser
}

// signIn runs a whole sign-in at p as profile and returns where the
// callback sent the browser back.
func (e *socialEnv) signIn(t *testing.T, p *authtest.Provider, profile auth.SocialProfile, challenge string) string {
	t.Helper()
	state, browser := e.start(t, p, challenge)
	code := p.Approve(t, state, profile)
	loc, err := e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{Provider: p.Name(), State: state, Code: code, Browser: browser})
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	return loc
}

// backAt parses where the browser was sent back to and returns the code or
// the error it carries.
func backAt(t *testing.T, loc string) (code, errCode string) {
	t.Helper()
	if !strings.HasPrefix(loc, appURL+"?") {
		t.Fatalf("sent back to %q, want %s?…", loc, appURL)
	}
	u, _ := url.Parse(loc)
	return u.Query().Get("code"), u.Query().Get("error")
}

// tokensFor signs in at p as profile and trades the code.
func (e *socialEnv) tokensFor(t *testing.T, p *authtest.Provider, profile auth.SocialProfile) (*auth.User, *auth.TokenPair) {
	t.Helper()
	code, failure := backAt(t, e.signIn(t, p, profile, ""))
	if failure != "" {
		t.Fatalf("sign-in failed with %s", failure)
	}
	u, pair, err := e.svc.ExchangeSocialCode(t.Context(), code, "", origin)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return u, pair
}

func TestSocialSignInCreatesThenFindsTheAccount(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	ada := auth.SocialProfile{Subject: "g-1", Email: "Ada@Example.com", EmailVerified: true, Name: "Ada"}
	u, pair := e.tokensFor(t, e.google, ada)
	if u.Email != "ada@example.com" || !u.EmailVerified || u.HasPassword || u.Name != "Ada" {
		t.Fatalf("new account %+v", u)
	}
	if p := e.principal(t, pair); p.UserID != u.ID {
		t.Fatal("the tokens are not the new account's")
	}
	e.wantEvent(t, u.ID, auth.EventUserRegistered)
	again, _ := e.tokensFor(t, e.google, ada)
	if again.ID != u.ID {
		t.Fatalf("a returning identity made account %s, want %s", again.ID, u.ID)
	}
	ids, err := e.svc.Identities(t.Context(), e.principal(t, pair))
	if err != nil || len(ids) != 1 || ids[0].Provider != "google" || ids[0].Subject != "g-1" {
		t.Fatalf("identities %+v, %v", ids, err)
	}
	// A password-less account has no password to sign in with.
	_, _, err = e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw})
	wantCode(t, err, auth.EInvalidCredentials)
}

func TestSocialUnverifiedAddressMakesAnUnverifiedAccount(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	u, _ := e.tokensFor(t, e.github, auth.SocialProfile{Subject: "42", Email: "bob@example.com", EmailVerified: false})
	if u.EmailVerified {
		t.Fatal("the provider did not verify the address, but the account says verified")
	}
}

func TestSocialLinksOnlyVerifiedToVerified(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	// Ada signed up with a password and verified her address.
	ada, _ := e.register(t, "ada@example.com")
	if err := e.svc.VerifyEmail(t.Context(), e.onlyMail(t, auth.MailVerifyEmail, "ada@example.com").Token, origin); err != nil {
		t.Fatal(err)
	}
	// Bob signed up but never verified.
	e.register(t, "bob@example.com")

	// A provider that did not verify Ada's address gets nothing of hers.
	_, failure := backAt(t, e.signIn(t, e.github, auth.SocialProfile{Subject: "7", Email: "ada@example.com"}, ""))
	if failure != auth.SocialEmailNotVerified {
		t.Fatalf("unverified provider address: %q, want email_not_verified", failure)
	}
	// Nor does a verified one get Bob's account, whose own address is unproved.
	_, failure = backAt(t, e.signIn(t, e.google, auth.SocialProfile{Subject: "g-bob", Email: "bob@example.com", EmailVerified: true}, ""))
	if failure != auth.SocialEmailNotVerified {
		t.Fatalf("unverified account: %q, want email_not_verified", failure)
	}
	if ids, _ := e.store.Identities(t.Context(), ada.ID); len(ids) != 0 {
		t.Fatalf("identities linked by refused sign-ins: %+v", ids)
	}

	// Verified on both sides: linked, and either way signs Ada in.
	linked, _ := e.tokensFor(t, e.google, auth.SocialProfile{Subject: "g-ada", Email: "ADA@example.com", EmailVerified: true})
	if linked.ID != ada.ID {
		t.Fatalf("linked to %s, want Ada's account %s", linked.ID, ada.ID)
	}
	e.wantEvent(t, ada.ID, auth.EventIdentityLinked)
	again, _ := e.tokensFor(t, e.google, auth.SocialProfile{Subject: "g-ada", Email: "other@example.com", EmailVerified: true})
	if again.ID != ada.ID {
		t.Fatal("the identity, once linked, does not sign Ada in")
	}
	if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
		t.Fatalf("Ada's password stopped working: %v", err)
	}
}

func TestSocialStateAttacks(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	profile := auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true}
	complete := func(in auth.SocialCallbackInput) (string, error) {
		return e.svc.CompleteSocial(t.Context(), in)
	}

	// No state, or one authd never issued: nowhere safe to go.
	for _, state := range []string{"", "forged", strings.Repeat("A", 43)} {
		_, err := complete(auth.SocialCallbackInput{Provider: "google", State: state, Code: "x", Browser: "y"})
		wantCode(t, err, auth.EInvalid)
	}

	state, browser := e.start(t, e.google, "")
	code := e.google.Approve(t, state, profile)
	// Another browser (no cookie, or another one's) is turned away, and the
	// state is spent: the rightful browser must start again.
	for _, other := range []string{"", "another browser's cookie"} {
		state, browser := e.start(t, e.google, "")
		code := e.google.Approve(t, state, profile)
		loc, err := complete(auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: other})
		if err != nil {
			t.Fatal(err)
		}
		if _, failure := backAt(t, loc); failure != auth.SocialInvalidState {
			t.Fatalf("callback from another browser: %q", failure)
		}
		_, err = complete(auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: browser})
		wantCode(t, err, auth.EInvalid)
	}
	// A state started at Google presented at GitHub's callback.
	gh, ghBrowser := e.start(t, e.google, "")
	loc, err := complete(auth.SocialCallbackInput{Provider: "github", State: gh, Code: "x", Browser: ghBrowser})
	if err != nil {
		t.Fatal(err)
	}
	if _, failure := backAt(t, loc); failure != auth.SocialInvalidState {
		t.Fatalf("state of another provider: %q", failure)
	}

	// The rightful callback works once; a replay finds no state.
	loc, err = complete(auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: browser})
	if err != nil {
		t.Fatal(err)
	}
	if c, failure := backAt(t, loc); c == "" || failure != "" {
		t.Fatalf("rightful callback: code %q, error %q", c, failure)
	}
	_, err = complete(auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: browser})
	wantCode(t, err, auth.EInvalid)

	// An expired state.
	state, browser = e.start(t, e.google, "")
	code = e.google.Approve(t, state, profile)
	e.clock.Advance(10 * time.Minute)
	loc, err = complete(auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: browser})
	if err != nil {
		t.Fatal(err)
	}
	if _, failure := backAt(t, loc); failure != auth.SocialInvalidState {
		t.Fatalf("expired state: %q", failure)
	}
}

func TestSocialProviderFailuresAreFixedCodes(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	profile := auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true}
	for _, tc := range []struct {
		name    string
		prepare func(in *auth.SocialCallbackInput)
		want    string
	}{
		{"the person said no", func(in *auth.SocialCallbackInput) { in.Code, in.Error = "", "access_denied" }, auth.SocialAccessDenied},
		{"another provider error", func(in *auth.SocialCallbackInput) { in.Code, in.Error = "", "server_error<script>" }, auth.SocialProviderError},
		{"no code", func(in *auth.SocialCallbackInput) { in.Code = "" }, auth.SocialProviderError},
		{"a code the provider refuses", func(in *auth.SocialCallbackInput) { in.Code = "stolen" }, auth.SocialAccessDenied},
		{"provider unreachable", func(*auth.SocialCallbackInput) { e.google.SetDown(true) }, auth.SocialProviderUnavailable},
		{"provider says something odd", func(*auth.SocialCallbackInput) { e.google.SetRefusal(errors.New("HTTP 500: <html>")) }, auth.SocialProviderError},
		{"no usable address", func(*auth.SocialCallbackInput) { e.google.SetRefusal(auth.ErrProviderNoEmail) }, auth.SocialEmailNotVerified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.google.SetDown(false)
			e.google.SetRefusal(nil)
			state, browser := e.start(t, e.google, "")
			in := auth.SocialCallbackInput{Provider: "google", State: state, Code: e.google.Approve(t, state, profile), Browser: browser}
			tc.prepare(&in)
			loc, err := e.svc.CompleteSocial(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if _, failure := backAt(t, loc); failure != tc.want {
				t.Fatalf("error=%q, want %q (%s)", failure, tc.want, loc)
			}
			if strings.Contains(loc, "script") || strings.Contains(loc, "html") {
				t.Fatalf("provider text reflected: %s", loc)
			}
		})
	}
	e.google.SetDown(true)
	e.google.SetRefusal(nil)
	loc, _, err := e.svc.StartSocial(t.Context(), auth.SocialStartInput{Provider: "google", RedirectTo: appURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, failure := backAt(t, loc); failure != auth.SocialProviderUnavailable {
		t.Fatalf("start while the provider is down: %s", loc)
	}
}

func TestSocialStartRefusesWhatItCantSendBack(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	for _, tc := range []struct {
		in   auth.SocialStartInput
		want auth.Code
	}{
		{auth.SocialStartInput{Provider: "myspace", RedirectTo: appURL}, auth.ENotFound},
		{auth.SocialStartInput{Provider: "google", RedirectTo: "https://evil.example.com/auth/done"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google", RedirectTo: "//evil.com"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google", RedirectTo: appURL, CodeChallenge: strings.Repeat("a", 43), CodeChallengeMethod: "plain"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google", RedirectTo: appURL, CodeChallenge: "short", CodeChallengeMethod: "S256"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google", RedirectTo: appURL, CodeChallengeMethod: "S256"}, auth.EInvalid},
	} {
		_, _, err := e.svc.StartSocial(t.Context(), tc.in)
		wantCode(t, err, tc.want)
	}
	// An allowlisted URL with a query of its own keeps it.
	loc, browser, err := e.svc.StartSocial(t.Context(), auth.SocialStartInput{Provider: "google", RedirectTo: "https://app.example.com/other?keep=1"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	state := u.Query().Get("state")
	code := e.google.Approve(t, state, auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true})
	back, err := e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: browser})
	if err != nil || !strings.HasPrefix(back, "https://app.example.com/other?keep=1&code=") {
		t.Fatalf("sent back to %q (%v)", back, err)
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestSocialCodeIsSpentOnceAndAnswersTheAppsChallenge(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		testSocialCode(t, newSocialEnvAt(t, w, authtest.Options{}))
	})
}

func testSocialCode(t *testing.T, e *socialEnv) {
	profile := auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true}
	verifier := strings.Repeat("v", 43) + "-verifier"
	challenge := s256(verifier)

	signIn := func() string {
		code, failure := backAt(t, e.signIn(t, e.google, profile, challenge))
		if failure != "" {
			t.Fatal(failure)
		}
		return code
	}
	// A missing or wrong verifier fails, and spends the code.
	for _, wrong := range []string{"", strings.Repeat("w", 43), challenge} {
		code := signIn()
		_, _, err := e.svc.ExchangeSocialCode(t.Context(), code, wrong, origin)
		wantCode(t, err, auth.EInvalidToken)
		_, _, err = e.svc.ExchangeSocialCode(t.Context(), code, verifier, origin)
		wantCode(t, err, auth.EInvalidToken)
	}
	// Without a challenge at start, no verifier may be sent.
	code, _ := backAt(t, e.signIn(t, e.google, profile, ""))
	_, _, err := e.svc.ExchangeSocialCode(t.Context(), code, verifier, origin)
	wantCode(t, err, auth.EInvalidToken)
	// Expired.
	code = signIn()
	e.clock.Advance(time.Minute)
	_, _, err = e.svc.ExchangeSocialCode(t.Context(), code, verifier, origin)
	wantCode(t, err, auth.EInvalidToken)
	// Malformed.
	for _, bad := range []string{"", "x", code + "A"} {
		_, _, err = e.svc.ExchangeSocialCode(t.Context(), bad, verifier, origin)
		wantCode(t, err, auth.EInvalidToken)
	}

	// Two parallel exchanges of one code: exactly one gets tokens.
	code = signIn()
	const n = 8
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, _, errs[i] = e.svc.ExchangeSocialCode(t.Context(), code, verifier, origin)
		})
	}
	close(start)
	wg.Wait()
	wantOneWinner(t, "exchanges of one code", errs, auth.EInvalidToken)
}

func TestSocialRefusesDisabledAccounts(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	profile := auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true}
	u, _ := e.tokensFor(t, e.google, profile)
	off := auth.StatusDisabled
	cur := e.user(t, u.ID)
	err := e.store.InUserTx(t.Context(), u.ID, func(tx auth.UserTx) error {
		return tx.UpdateUser(t.Context(), &auth.UserUpdate{Status: &off, Version: cur.Version, At: e.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, failure := backAt(t, e.signIn(t, e.google, profile, "")); failure != auth.SocialAccountDisabled {
		t.Fatalf("disabled account: %q", failure)
	}
}

func TestUnlinkNeverRemovesTheLastWayIn(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	u, pair := e.tokensFor(t, e.google, auth.SocialProfile{Subject: "g-1", Email: "ada@example.com", EmailVerified: true})
	linked, _ := e.tokensFor(t, e.github, auth.SocialProfile{Subject: "42", Email: "ada@example.com", EmailVerified: true})
	if linked.ID != u.ID {
		t.Fatal("GitHub did not link to the account Google made")
	}
	p := e.principal(t, pair)
	wantCode(t, e.svc.UnlinkIdentity(t.Context(), p, "myspace"), auth.ENotFound)
	if err := e.svc.UnlinkIdentity(t.Context(), p, "github"); err != nil {
		t.Fatal(err)
	}
	e.wantEvent(t, u.ID, auth.EventIdentityUnlinked)
	wantCode(t, e.svc.UnlinkIdentity(t.Context(), p, "google"), auth.ELastSignIn)

	// A password, set through the reset flow, is another way in.
	if err := e.svc.ForgotPassword(t.Context(), "ada@example.com", origin); err != nil {
		t.Fatal(err)
	}
	var token string
	for _, m := range e.outbox(t) {
		if m.Kind == auth.MailResetPassword {
			token = m.Token
		}
	}
	if err := e.svc.ResetPassword(t.Context(), token, "a password at last", origin); err != nil {
		t.Fatal(err)
	}
	_, pair2, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: "a password at last"})
	if err != nil {
		t.Fatalf("login with the password set by reset: %v", err)
	}
	if err := e.svc.UnlinkIdentity(t.Context(), e.principal(t, pair2), "google"); err != nil {
		t.Fatalf("unlink with a password set: %v", err)
	}
}

func TestSocialOutcomesAreObserved(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	observe := func(provider, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, provider+":"+outcome)
	}
	e := newSocialEnvAt(t, wiringtest.Embedded, authtest.Options{Social: auth.SocialConfig{Observe: observe}})
	e.tokensFor(t, e.github, auth.SocialProfile{Subject: "42", Email: "ada@example.com", EmailVerified: true})
	state, _ := e.start(t, e.google, "")
	if _, err := e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{Provider: "google", State: state, Browser: "stranger"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{Provider: "<script>", State: "forged"})
	wantCode(t, err, auth.EInvalid)
	want := []string{"github:success", "google:invalid_state", ":invalid_state"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("observed %v, want %v", seen, want)
	}
}

// TestResetTakesBackAnAccountSquattedThroughAnUnverifiedProvider: a
// stranger signs in at a provider that never verified the victim's address,
// which makes an unverified account on it, before the victim signs up. The
// victim, proving the mailbox through a reset, gets the account back: the
// stranger's identity is unlinked and their sessions end.
func TestResetTakesBackAnAccountSquattedThroughAnUnverifiedProvider(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	squatter, pair := e.tokensFor(t, e.github, auth.SocialProfile{Subject: "evil", Email: "victim@example.com", EmailVerified: false})
	_, _, err := e.svc.Register(t.Context(), auth.RegisterInput{Email: "victim@example.com", Password: pw})
	wantCode(t, err, auth.EEmailTaken)

	if err := e.svc.ForgotPassword(t.Context(), "victim@example.com", origin); err != nil {
		t.Fatal(err)
	}
	var token string
	for _, m := range e.outbox(t) {
		if m.Kind == auth.MailResetPassword {
			token = m.Token
		}
	}
	if err := e.svc.ResetPassword(t.Context(), token, "the victim's own passphrase", origin); err != nil {
		t.Fatal(err)
	}
	if ids, _ := e.store.Identities(t.Context(), squatter.ID); len(ids) != 0 {
		t.Fatalf("the squatter's identity survived the reset: %+v", ids)
	}
	_, err = e.svc.Authenticate(t.Context(), pair.AccessToken)
	wantCode(t, err, auth.EUnauthorized)
	// Signing in at the provider again makes no way back into this account.
	_, failure := backAt(t, e.signIn(t, e.github, auth.SocialProfile{Subject: "evil", Email: "victim@example.com", EmailVerified: false}, ""))
	if failure != auth.SocialEmailNotVerified {
		t.Fatalf("the squatter signing in again: %q, want email_not_verified", failure)
	}
}
