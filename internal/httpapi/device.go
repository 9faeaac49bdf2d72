package httpapi

import (
	"net/http"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// The remembered-device cookie carries the device token of a sign-in (see
// auth.TokenPair.DeviceToken) for browsers; API clients get the same value
// as device_token in the body and send it back in the login request.
const (
	deviceCookie       = "authd_device"
	deviceCookieSecure = "__Host-" + deviceCookie
)

// deviceCookieDoc documents the Set-Cookie header of a sign-in.
const deviceCookieDoc = "The remembered-device cookie (" + deviceCookie + ", or " + deviceCookieSecure +
	" when the issuer is https): HttpOnly, SameSite=Strict, valid 90 days; it carries device_token."

// deviceCookieName is the cookie's name. Over https it has the __Host-
// prefix: browsers then keep it only if it is Secure, host-only and
// Path=/, so neither a sibling domain nor a plain-http page can plant one.
func (s *server) deviceCookieName() string {
	if s.hsts {
		return deviceCookieSecure
	}
	return deviceCookie
}

// deviceToken is the remembered-device token a login request presents: the
// one in its body, else the cookie's.
func (s *server) deviceToken(r *http.Request, inBody string) string {
	if inBody != "" {
		return inBody
	}
	if c, err := r.Cookie(s.deviceCookieName()); err == nil {
		return c.Value
	}
	return ""
}

// setDeviceCookie hands a sign-in's device token to a browser. Path=/api
// keeps it off every other page; a __Host- cookie must have Path=/.
func (s *server) setDeviceCookie(w http.ResponseWriter, p *auth.TokenPair) {
	if p.DeviceToken == "" {
		return
	}
	c := &http.Cookie{
		Name:     s.deviceCookieName(),
		Value:    p.DeviceToken,
		Path:     "/api",
		MaxAge:   int(auth.DeviceTokenTTL / time.Second),
		HttpOnly: true,
		Secure:   s.hsts,
		SameSite: http.SameSiteStrictMode,
	}
	if c.Secure {
		c.Path = "/"
	}
	http.SetCookie(w, c)
}
