package httpapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Cookie mode, for the hosted pages (and any browser app on authd's
// origin): a request that signs in or refreshes with the header
// "X-Authd-Refresh: cookie" gets its refresh token in an HttpOnly cookie
// instead of the JSON body, so no script ever reads it; the access token
// stays in the page's memory. The refresh endpoint then takes the token
// from the cookie.
//
// CSRF: a cookie is sent by the browser whoever made the page, so every
// request in cookie mode must come from authd's own origin: the stdlib's
// cross-origin protection (Sec-Fetch-Site, else Origin against Host) plus
// the issuer as a trusted origin. The header itself is the second
// defence: a form can't set it, and a cross-origin fetch that does needs a
// CORS preflight authd never grants. A refresh that presents the cookie
// without the header is refused outright.
const (
	refreshModeHeader = "X-Authd-Refresh"
	refreshModeCookie = "cookie"

	refreshCookie       = "authd_refresh"
	refreshCookieSecure = "__Host-" + refreshCookie
	refreshCookiePath   = "/api/v1/auth/"
)

// codeCSRF refuses a cookie-mode request from another origin.
const codeCSRF auth.Code = "csrf_failed"

// refreshCookieDoc documents the Set-Cookie header of a cookie-mode answer.
const refreshCookieDoc = "Cookie mode only (request header X-Authd-Refresh: cookie): the refresh token, in " +
	refreshCookie + " (Path=" + refreshCookiePath + ") or, when the issuer is https, " + refreshCookieSecure +
	" (Secure, Path=/): HttpOnly, SameSite=Strict. The body's refresh_token is then empty."

var errCrossOrigin = auth.Errorf(codeCSRF, "Cookie mode is only for pages on authd's own origin.")

// newCrossOrigin returns the CSRF check of cookie-mode requests. The
// issuer's origin is trusted even when a proxy rewrote Host.
func newCrossOrigin(issuer string) *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	if u, err := url.Parse(issuer); err == nil && u.Scheme != "" && u.Host != "" {
		// The issuer is validated at start-up; an error here leaves only
		// the Host comparison, which is stricter.
		_ = c.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	return c
}

// cookieMode reports whether r asks for cookie mode. Such a request from
// another origin is refused with codeCSRF.
func (s *server) cookieMode(r *http.Request) (bool, error) {
	switch r.Header.Get(refreshModeHeader) {
	case "":
		return false, nil
	case refreshModeCookie:
	default:
		return false, auth.Errorf(auth.EInvalid, "%s must be %q.", refreshModeHeader, refreshModeCookie)
	}
	if err := s.crossOrigin.Check(r); err != nil {
		return false, errCrossOrigin
	}
	// Check lets a request through that has neither Sec-Fetch-Site nor
	// Origin (a non-browser client). A browser sends one of them on every
	// POST, so a cookie-mode request without either is not from a page.
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		return false, auth.Errorf(codeCSRF, "Cookie mode needs the browser's Origin header.")
	}
	return true, nil
}

func (s *server) refreshCookieName() string {
	if s.hsts {
		return refreshCookieSecure
	}
	return refreshCookie
}

// setRefreshCookie hands the browser its refresh token; "" clears it.
func (s *server) setRefreshCookie(w http.ResponseWriter, token string) {
	c := &http.Cookie{
		Name:     s.refreshCookieName(),
		Value:    token,
		Path:     refreshCookiePath,
		MaxAge:   int(s.refreshTTL / time.Second),
		HttpOnly: true,
		Secure:   s.hsts,
		SameSite: http.SameSiteStrictMode,
	}
	if token == "" {
		c.MaxAge = -1
	}
	if c.Secure {
		c.Path = "/" // required by the __Host- prefix
	}
	http.SetCookie(w, c)
	// A response that sets the token must never be stored by a cache.
	w.Header().Set("Cache-Control", "no-store")
}

// writeTokens answers a sign-in or refresh: in cookie mode the refresh
// token goes to the cookie and out of the body.
func (s *server) writeTokens(w http.ResponseWriter, status int, cookie bool, u *auth.User, pair *auth.TokenPair) {
	body := toTokensJSON(u, pair)
	if cookie {
		s.setRefreshCookie(w, pair.RefreshToken)
		body.RefreshToken = ""
	}
	writeJSON(w, status, body)
}

// refreshFromCookie is the refresh token of a cookie-mode refresh. A
// refresh that carries the cookie without asking for cookie mode is a
// cross-site form or a confused client, and is refused.
func (s *server) refreshFromCookie(r *http.Request, cookie bool) (string, error) {
	c, err := r.Cookie(s.refreshCookieName()) // the only error is http.ErrNoCookie
	if err != nil || c.Value == "" {
		if cookie {
			return "", auth.Errorf(auth.EInvalidRefreshToken, "No session in this browser: sign in.")
		}
		return "", nil
	}
	if !cookie {
		return "", auth.Errorf(codeCSRF, "The refresh cookie is accepted only with %s: %s.", refreshModeHeader, refreshModeCookie)
	}
	return c.Value, nil
}
