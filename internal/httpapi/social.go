package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Social sign-in (SPEC §6/§7): the browser goes start → provider →
// callback → the app's redirect_to?code=C, and the app trades C once at
// exchange (or the v2 token endpoint's authorization_code grant) for
// tokens. A signed-in user's link goes link → provider → callback →
// redirect_to?linked=<provider>, and issues nothing. No token ever travels in a URL authd makes: only the one-time
// code does. The domain (auth.StartSocial, auth.CompleteSocial,
// auth.ExchangeSocialCode) decides everything; this file moves values
// between it and HTTP.
//
// Not here yet: authd_social_logins_total{provider,outcome}; the HTTP
// layer has no metrics registry of its own to count into.

// The browser-binding cookie carries the value StartSocial returns from
// start to callback: the callback is accepted only from the browser that
// started the sign-in. Over https it has the __Host- prefix (Secure,
// host-only, Path=/, so neither a sibling domain nor a plain-http page can
// plant one); otherwise it is kept to the social sign-in's paths.
const (
	socialCookie       = "authd_oauth"
	socialCookieSecure = "__Host-" + socialCookie
	socialCookiePath   = "/api/v1/oauth/"
	// socialCookieTTL is the state's default lifetime (auth.SocialConfig
	// StateTTL): a cookie outliving its state would be of no use.
	socialCookieTTL = 10 * time.Minute
)

// socialCookieDoc documents start's Set-Cookie header.
const socialCookieDoc = "The social sign-in's browser-binding cookie (" + socialCookie + ", or " + socialCookieSecure +
	" with Secure and Path=/ when the issuer is https): HttpOnly, SameSite=Lax (it must come back on the provider's " +
	"top-level redirect to the callback), Path=" + socialCookiePath + ", valid 10 minutes. The callback clears it."

// socialPageHTML is the whole answer of a callback whose state names no
// sign-in: the person is in a browser, with nowhere safe to be sent, so
// they get a fixed sentence. Nothing of the request is reflected.
const socialPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title></head>
<body><p>This sign-in link is invalid or has expired. Go back to the app and start again.</p></body></html>
`

func (s *server) socialCookieName() string {
	if s.hsts {
		return socialCookieSecure
	}
	return socialCookie
}

// setSocialCookie sets the browser-binding cookie; maxAge < 0 clears it.
func (s *server) setSocialCookie(w http.ResponseWriter, value string, maxAge int) {
	c := &http.Cookie{
		Name:     s.socialCookieName(),
		Value:    value,
		Path:     socialCookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.hsts,
		SameSite: http.SameSiteLaxMode,
	}
	if c.Secure {
		c.Path = "/" // required by the __Host- prefix
	}
	http.SetCookie(w, c)
}

// browserRedirect answers 302 to location. Neither the Referer of the next
// page nor a cache may keep the URL of a social sign-in step (it carries
// a state or a one-time code).
func browserRedirect(w http.ResponseWriter, location string) {
	h := w.Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Location", location)
	w.WriteHeader(http.StatusFound)
}

// socialQuery parses the query of a browser step. A parameter given twice
// is refused rather than guessed at.
func socialQuery(r *http.Request, names ...string) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, auth.Errorf(auth.EInvalid, "The query string is malformed.")
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		switch v := q[name]; len(v) {
		case 0:
		case 1:
			out[name] = v[0]
		default:
			return nil, auth.Errorf(auth.EInvalid, "parameter %q is given more than once", name)
		}
	}
	return out, nil
}

type socialStartQuery struct {
	RedirectTo          string `query:"redirect_to,required" doc:"Where the browser goes back to when the sign-in ends: one of the allowed redirect URLs (AUTH_REDIRECT_URLS)."`
	CodeChallenge       string `query:"code_challenge" doc:"The app's own PKCE S256 challenge (43 characters): the code the sign-in ends with is then traded only with its code_verifier."`
	CodeChallengeMethod string `query:"code_challenge_method" doc:"S256, with code_challenge."`
}

type socialLinkRequest struct {
	RedirectTo string `json:"redirect_to" jsonschema:"required" doc:"Where the browser goes back to when the link ends: one of the allowed redirect URLs (AUTH_REDIRECT_URLS)."`
}

type socialLinkJSON struct {
	Location string `json:"location" doc:"The provider's authorization page, for the browser to go to (location.assign); redirect_to?error=E when the link could not start."`
}

type socialCallbackQuery struct {
	State string `query:"state" doc:"The provider hands back the state it was started with."`
	Code  string `query:"code" doc:"The provider's authorization code."`
	Error string `query:"error" doc:"The provider's error (access_denied when the person said no)."`
}

type providerJSON struct {
	Name        string `json:"name" doc:"The name in /api/v1/oauth/{provider}/start."`
	DisplayName string `json:"display_name"`
}

type providersJSON struct {
	Providers []providerJSON `json:"providers" doc:"The enabled social sign-in providers, in configuration order."`
}

type socialExchangeRequest struct {
	Code         string `json:"code" jsonschema:"required" doc:"The one-time code the callback sent to redirect_to (?code=); good once, for about a minute."`
	CodeVerifier string `json:"code_verifier,omitempty" doc:"The PKCE verifier of the code_challenge given at start; must be absent when start had none."`
}

type identityJSON struct {
	Provider      string    `json:"provider"`
	Subject       string    `json:"subject" doc:"The provider's id of the account."`
	Email         string    `json:"email" doc:"The address the provider gave at the last sign-in there."`
	EmailVerified bool      `json:"email_verified" doc:"Whether the provider said the address is verified."`
	CreatedAt     time.Time `json:"created_at"`
	LastUsedAt    time.Time `json:"last_used_at"`
}

type identitiesJSON struct {
	Identities []identityJSON `json:"identities"`
}

func (s *server) socialProviders(w http.ResponseWriter, r *http.Request) error {
	list := s.accounts.SocialProviders()
	out := providersJSON{Providers: make([]providerJSON, 0, len(list))}
	for _, p := range list {
		out.Providers = append(out.Providers, providerJSON{Name: p.Name, DisplayName: p.DisplayName})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// refuseHead answers HEAD on a GET route with side effects: the mux serves
// HEAD with the GET handler, and a link checker or prefetcher must not start
// (a database row each) or end a sign-in.
func refuseHead(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodHead {
		return nil
	}
	w.Header().Set("Allow", http.MethodGet)
	return auth.Errorf(codeMethodNotAllowed, "method HEAD is not allowed here")
}

func (s *server) socialStart(w http.ResponseWriter, r *http.Request) error {
	if err := refuseHead(w, r); err != nil {
		return err
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	q, err := socialQuery(r, "redirect_to", "code_challenge", "code_challenge_method")
	if err != nil {
		return err
	}
	location, browser, err := s.accounts.StartSocial(r.Context(), auth.SocialStartInput{
		Provider:            r.PathValue("provider"),
		RedirectTo:          q["redirect_to"],
		CodeChallenge:       q["code_challenge"],
		CodeChallengeMethod: q["code_challenge_method"],
		Origin:              s.origin(r),
	})
	if err != nil {
		return err
	}
	// No browser value: the sign-in could not start, and location is
	// redirect_to?error=.
	if browser != "" {
		s.setSocialCookie(w, browser, int(socialCookieTTL/time.Second))
	}
	browserRedirect(w, location)
	return nil
}

// socialLink starts the caller's link of an account at the provider. The
// page calls it with fetch, same-origin, so the browser-binding cookie set
// here lands in the browser that then follows location to the provider and
// comes back to the callback.
func (s *server) socialLink(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	noStore(w)
	var in socialLinkRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	location, browser, err := s.accounts.StartLink(r.Context(), p, auth.SocialStartInput{
		Provider:   r.PathValue("provider"),
		RedirectTo: in.RedirectTo,
		Origin:     s.origin(r),
	})
	if err != nil {
		return err
	}
	// No browser value: the link could not start, and location is
	// redirect_to?error=.
	if browser != "" {
		s.setSocialCookie(w, browser, int(socialCookieTTL/time.Second))
	}
	writeJSON(w, http.StatusOK, socialLinkJSON{Location: location})
	return nil
}

func (s *server) socialCallback(w http.ResponseWriter, r *http.Request) error {
	if err := refuseHead(w, r); err != nil {
		return err
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	q, err := socialQuery(r, "state", "code", "error")
	if err != nil {
		// Nothing to find the sign-in by: as for an unknown state.
		return s.socialPage(w)
	}
	var browser string
	if c, err := r.Cookie(s.socialCookieName()); err == nil {
		browser = c.Value
	}
	location, err := s.accounts.CompleteSocial(r.Context(), auth.SocialCallbackInput{
		Provider: r.PathValue("provider"),
		State:    q["state"],
		Code:     q["code"],
		Error:    q["error"],
		Browser:  browser,
		Origin:   s.origin(r),
	})
	if auth.ErrorCode(err) == auth.EInvalid {
		return s.socialPage(w)
	}
	if err != nil {
		return err
	}
	// The state is spent, whatever the outcome: so is the cookie.
	s.setSocialCookie(w, "", -1)
	browserRedirect(w, location)
	return nil
}

// socialPage answers the fixed 400 page of a callback with nowhere safe to
// send the browser. The cookie stays: it may be of another sign-in this
// browser has in flight.
func (s *server) socialPage(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	w.Write([]byte(socialPageHTML))
	return nil
}

func (s *server) socialExchange(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	cookie, err := s.cookieMode(r)
	if err != nil {
		return err
	}
	var in socialExchangeRequest
	if err := decode(w, r, &in, false); err != nil {
		return err
	}
	if in.Code == "" {
		return auth.Errorf(auth.EInvalid, "code is required")
	}
	u, pair, err := s.accounts.ExchangeSocialCode(r.Context(), in.Code, in.CodeVerifier, s.origin(r))
	if err != nil {
		return err
	}
	setUserID(r.Context(), u.ID)
	s.writeTokens(w, http.StatusOK, cookie, u, pair)
	return nil
}

func (s *server) listIdentities(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	list, err := s.accounts.Identities(r.Context(), p)
	if err != nil {
		return err
	}
	out := identitiesJSON{Identities: make([]identityJSON, 0, len(list))}
	for _, id := range list {
		out.Identities = append(out.Identities, identityJSON{
			Provider: id.Provider, Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified,
			CreatedAt: id.CreatedAt.UTC(), LastUsedAt: id.LastUsedAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) unlinkIdentity(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.accounts.UnlinkIdentity(r.Context(), p, r.PathValue("provider")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
