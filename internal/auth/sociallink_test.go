package auth_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// startLink begins a link of p's account at provider and returns the state
// the provider got and the browser cookie.
func (e *socialEnv) startLink(t *testing.T, p *auth.Principal, provider *authtest.Provider) (state, browser string) {
	t.Helper()
	loc, browser, err := e.svc.StartLink(t.Context(), p, auth.SocialStartInput{Provider: provider.Name(), RedirectTo: appURL})
	if err != nil {
		t.Fatalf("start link: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil || browser == "" || !strings.HasPrefix(loc, "https://"+provider.Name()+".test/authorize?") {
		t.Fatalf("start link sent the browser to %q (cookie %q)", loc, browser)
	}
	return u.Query().Get("state"), browser
}

// link runs a whole link of p's account at provider as profile and returns
// where the callback sent the browser back.
func (e *socialEnv) link(t *testing.T, p *auth.Principal, provider *authtest.Provider, profile auth.SocialProfile) string {
	t.Helper()
	state, browser := e.startLink(t, p, provider)
	return e.completeLink(t, provider, state, browser, provider.Approve(t, state, profile))
}

func (e *socialEnv) completeLink(t *testing.T, provider *authtest.Provider, state, browser, code string) string {
	t.Helper()
	loc, err := e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{
		Provider: provider.Name(), State: state, Code: code, Browser: browser, Origin: origin,
	})
	if err != nil {
		t.Fatalf("link callback: %v", err)
	}
	return loc
}

// linkedAt parses where a link sent the browser back to and returns the
// provider it says is linked, or the error. A link never hands out a code.
func linkedAt(t *testing.T, loc string) (linked, errCode string) {
	t.Helper()
	if !strings.HasPrefix(loc, appURL+"?") {
		t.Fatalf("sent back to %q, want %s?…", loc, appURL)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(loc, appURL+"?"))
	if q.Has("code") || len(q) != 1 {
		t.Fatalf("a link sent back %q, want only linked= or error=", loc)
	}
	return q.Get("linked"), q.Get("error")
}

// wantLinked fails unless the link ended with linked=provider.
func wantLinked(t *testing.T, loc, provider string) {
	t.Helper()
	if linked, failure := linkedAt(t, loc); linked != provider || failure != "" {
		t.Fatalf("link: linked=%q error=%q, want linked=%s", linked, failure, provider)
	}
}

// wantLinkFailure fails unless the link ended with error=want.
func wantLinkFailure(t *testing.T, loc, want string) {
	t.Helper()
	if linked, failure := linkedAt(t, loc); failure != want || linked != "" {
		t.Fatalf("link: linked=%q error=%q, want error=%s", linked, failure, want)
	}
}

// subjects returns the user's identities as provider:subject, by provider.
func (e *socialEnv) subjects(t *testing.T, userID string) string {
	t.Helper()
	ids, err := e.store.Identities(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.Provider+":"+id.Subject)
	}
	return strings.Join(out, " ")
}

func (e *socialEnv) setStatus(t *testing.T, userID string, status auth.UserStatus) {
	t.Helper()
	cur := e.user(t, userID)
	err := e.store.InUserTx(t.Context(), userID, func(tx auth.UserTx) error {
		return tx.UpdateUser(t.Context(), &auth.UserUpdate{Status: &status, Version: cur.Version, At: e.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLinkJoinsTheSignedInUsersAccount: a signed-in user links an account
// at a provider whose address is neither theirs nor verified; the link is
// by subject, audited as the user's own act, hands out no code, leaves the
// account's address alone, and from then on signing in there is signing
// in to this account.
func TestLinkJoinsTheSignedInUsersAccount(t *testing.T) {
	wiringtest.Run(t, func(t *testing.T, w wiringtest.Wiring) {
		e := newSocialEnvAt(t, w, authtest.Options{})
		ada, pair := e.register(t, "ada@example.com") // unverified
		p := e.principal(t, pair)
		profile := auth.SocialProfile{Subject: "g-ada", Email: "ada.lovelace@gmail.example", EmailVerified: false, Name: "Someone Else"}

		wantLinked(t, e.link(t, p, e.google, profile), "google")
		if got := e.subjects(t, ada.ID); got != "google:g-ada" {
			t.Fatalf("identities after the link: %q", got)
		}
		after := e.user(t, ada.ID)
		if after.Email != "ada@example.com" || after.EmailVerified || after.Name != ada.Name {
			t.Fatalf("the link changed the account: %+v", after)
		}
		evs, err := e.store.ListEvents(t.Context(), auth.EventFilter{UserID: ada.ID, Type: auth.EventIdentityLinked, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].ActorType != auth.ActorUser || evs[0].ActorID != ada.ID ||
			evs[0].UserID != ada.ID || evs[0].Resource != "google" || evs[0].IP != origin.IP {
			t.Fatalf("identity.linked events %+v", evs)
		}

		// Signing in at Google is now signing in to Ada's account, whatever
		// address the provider gives.
		u, _ := e.tokensFor(t, e.google, profile)
		if u.ID != ada.ID {
			t.Fatalf("signing in with the linked identity reached %s, want Ada's %s", u.ID, ada.ID)
		}
		// Her password still works.
		if _, _, err := e.svc.Login(t.Context(), auth.LoginInput{Email: "ada@example.com", Password: pw}); err != nil {
			t.Fatalf("password login after the link: %v", err)
		}
	})
}

func TestLinkIsIdempotentAndOnePerProvider(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	ada, pair := e.register(t, "ada@example.com")
	p := e.principal(t, pair)
	profile := auth.SocialProfile{Subject: "g-ada", Email: "ada@example.com", EmailVerified: true}
	wantLinked(t, e.link(t, p, e.google, profile), "google")

	// The same account again: done already, nothing new.
	wantLinked(t, e.link(t, p, e.google, profile), "google")
	evs, err := e.store.ListEvents(t.Context(), auth.EventFilter{UserID: ada.ID, Type: auth.EventIdentityLinked, Limit: 10})
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d identity.linked events after linking the same account twice (%v), want 1", len(evs), err)
	}

	// Another Google account: the first must be unlinked first.
	wantLinkFailure(t, e.link(t, p, e.google, auth.SocialProfile{Subject: "g-other", Email: "x@example.com", EmailVerified: true}), auth.SocialAlreadyLinked)
	if got := e.subjects(t, ada.ID); got != "google:g-ada" {
		t.Fatalf("identities after a refused second link: %q", got)
	}
	// Another provider is another slot.
	wantLinked(t, e.link(t, p, e.github, auth.SocialProfile{Subject: "42", Email: "ada@github.example"}), "github")
	if got := e.subjects(t, ada.ID); got != "github:42 google:g-ada" {
		t.Fatalf("identities after linking GitHub: %q", got)
	}

	// Once unlinked, another Google account may take the slot.
	if err := e.svc.UnlinkIdentity(t.Context(), p, "google"); err != nil {
		t.Fatal(err)
	}
	wantLinked(t, e.link(t, p, e.google, auth.SocialProfile{Subject: "g-other", Email: "x@example.com"}), "google")
	if got := e.subjects(t, ada.ID); got != "github:42 google:g-other" {
		t.Fatalf("identities after relinking: %q", got)
	}
}

// TestLinkRefusesAnotherUsersIdentity: an account at the provider that
// signs another user in stays theirs.
func TestLinkRefusesAnotherUsersIdentity(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	bobProfile := auth.SocialProfile{Subject: "g-bob", Email: "bob@example.com", EmailVerified: true}
	bob, _ := e.tokensFor(t, e.google, bobProfile)
	ada, pair := e.register(t, "ada@example.com")

	wantLinkFailure(t, e.link(t, e.principal(t, pair), e.google, bobProfile), auth.SocialIdentityInUse)
	if got := e.subjects(t, ada.ID); got != "" {
		t.Fatalf("Ada's identities after the refusal: %q", got)
	}
	if got := e.subjects(t, bob.ID); got != "google:g-bob" {
		t.Fatalf("Bob's identities after the refusal: %q", got)
	}
	if u, _ := e.tokensFor(t, e.google, bobProfile); u.ID != bob.ID {
		t.Fatal("Bob's identity no longer signs Bob in")
	}
}

// TestLinkEndsWithTheAccountItStartedFor: the account is judged again at
// the callback: disabled or deleted meanwhile, nothing is linked.
func TestLinkEndsWithTheAccountItStartedFor(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	profile := auth.SocialProfile{Subject: "g-ada", Email: "someone@gmail.example", EmailVerified: true}

	ada, pair := e.register(t, "ada@example.com")
	state, browser := e.startLink(t, e.principal(t, pair), e.google)
	code := e.google.Approve(t, state, profile)
	e.setStatus(t, ada.ID, auth.StatusDisabled)
	wantLinkFailure(t, e.completeLink(t, e.google, state, browser, code), auth.SocialAccountDisabled)
	if got := e.subjects(t, ada.ID); got != "" {
		t.Fatalf("a disabled account got identities: %q", got)
	}

	bob, pair := e.register(t, "bob@example.com")
	p := e.principal(t, pair)
	state, browser = e.startLink(t, p, e.google)
	code = e.google.Approve(t, state, profile)
	if err := e.svc.DeleteMe(t.Context(), p, pw); err != nil {
		t.Fatal(err)
	}
	wantLinkFailure(t, e.completeLink(t, e.google, state, browser, code), auth.SocialInvalidState)
	if _, err := e.store.IdentityBySubject(t.Context(), "google", "g-ada"); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("the identity was linked for a deleted account (%s): %v", bob.ID, err)
	}
	// Nor did the refused links fall back to a sign-in making an account.
	if _, err := e.store.UserByEmail(t.Context(), "someone@gmail.example"); auth.ErrorCode(err) != auth.ENotFound {
		t.Fatalf("an account of the provider's address after the refused links: %v", err)
	}
}

// TestLinkIsBoundToTheSignedInBrowser: only a signed-in user starts a
// link, only the browser that started it ends it, before it expires, and
// a link starts at an enabled provider towards an allowed URL only.
func TestLinkIsBoundToTheSignedInBrowser(t *testing.T) {
	e := newSocialEnv(t, authtest.Options{})
	ada, pair := e.register(t, "ada@example.com")
	p := e.principal(t, pair)
	profile := auth.SocialProfile{Subject: "g-ada", Email: "ada@example.com", EmailVerified: true}

	_, _, err := e.svc.StartLink(t.Context(), nil, auth.SocialStartInput{Provider: "google", RedirectTo: appURL})
	wantCode(t, err, auth.EUnauthorized)
	for _, tc := range []struct {
		in   auth.SocialStartInput
		want auth.Code
	}{
		{auth.SocialStartInput{Provider: "myspace", RedirectTo: appURL}, auth.ENotFound},
		{auth.SocialStartInput{Provider: "google", RedirectTo: "https://evil.example.com/auth/done"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google"}, auth.EInvalid},
		{auth.SocialStartInput{Provider: "google", RedirectTo: appURL, CodeChallenge: s256(strings.Repeat("v", 43)), CodeChallengeMethod: "S256"}, auth.EInvalid},
	} {
		_, _, err := e.svc.StartLink(t.Context(), p, tc.in)
		wantCode(t, err, tc.want)
	}

	// Another browser (none, or another one's cookie) is turned away.
	for _, other := range []string{"", "another browser's cookie"} {
		state, _ := e.startLink(t, p, e.google)
		code := e.google.Approve(t, state, profile)
		wantLinkFailure(t, e.completeLink(t, e.google, state, other, code), auth.SocialInvalidState)
	}
	// An expired link.
	state, browser := e.startLink(t, p, e.google)
	code := e.google.Approve(t, state, profile)
	e.clock.Advance(10 * time.Minute)
	wantLinkFailure(t, e.completeLink(t, e.google, state, browser, code), auth.SocialInvalidState)
	// The person said no at the provider.
	state, browser = e.startLink(t, p, e.google)
	loc, err := e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{Provider: "google", State: state, Error: "access_denied", Browser: browser})
	if err != nil {
		t.Fatal(err)
	}
	wantLinkFailure(t, loc, auth.SocialAccessDenied)
	// The provider is down.
	state, browser = e.startLink(t, p, e.google)
	code = e.google.Approve(t, state, profile)
	e.google.SetDown(true)
	wantLinkFailure(t, e.completeLink(t, e.google, state, browser, code), auth.SocialProviderUnavailable)
	e.google.SetDown(false)
	if got := e.subjects(t, ada.ID); got != "" {
		t.Fatalf("identities after the refused links: %q", got)
	}

	// The rightful browser, in time, links; a replay finds no state.
	state, browser = e.startLink(t, p, e.google)
	code = e.google.Approve(t, state, profile)
	wantLinked(t, e.completeLink(t, e.google, state, browser, code), "google")
	_, err = e.svc.CompleteSocial(t.Context(), auth.SocialCallbackInput{Provider: "google", State: state, Code: code, Browser: browser})
	wantCode(t, err, auth.EInvalid)
}

// TestLinkOutcomesAreObserved: a link is counted apart from a sign-in.
func TestLinkOutcomesAreObserved(t *testing.T) {
	var seen []string
	observe := func(provider, outcome string) { seen = append(seen, provider+":"+outcome) }
	e := newSocialEnvAt(t, wiringtest.Embedded, authtest.Options{Social: auth.SocialConfig{Observe: observe}})
	bob := auth.SocialProfile{Subject: "g-bob", Email: "bob@example.com", EmailVerified: true}
	e.tokensFor(t, e.google, bob)
	_, pair := e.register(t, "ada@example.com")
	p := e.principal(t, pair)
	wantLinkFailure(t, e.link(t, p, e.google, bob), auth.SocialIdentityInUse)
	wantLinked(t, e.link(t, p, e.github, auth.SocialProfile{Subject: "42", Email: "ada@example.com"}), "github")
	want := []string{"google:success", "google:identity_in_use", "github:linked"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("observed %v, want %v", seen, want)
	}
}
