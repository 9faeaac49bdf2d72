package auth

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Redirects is the allowlist of the URLs social login may send a browser
// back to (AUTH_REDIRECT_URLS). A redirect_to is allowed only if its
// normalised form equals the normalised form of an entry: no prefix, no
// subdomain, no pattern, since every looser rule has let attackers bounce
// a code to a host of theirs somewhere.
type Redirects struct {
	allowed map[string]bool
}

// NewRedirects normalises urls into an allowlist. Each must be an absolute
// http or https URL without user information or fragment; the error names
// the first that is not.
func NewRedirects(urls []string) (*Redirects, error) {
	r := &Redirects{allowed: make(map[string]bool, len(urls))}
	for _, raw := range urls {
		n, err := normalizeRedirect(raw)
		if err != nil {
			return nil, fmt.Errorf("redirect URL %q: %w", raw, err)
		}
		r.allowed[n] = true
	}
	return r, nil
}

// Allow returns the normalised form of raw, the URL to redirect to, and
// whether it is on the list. A nil list allows nothing.
func (r *Redirects) Allow(raw string) (string, bool) {
	if r == nil {
		return "", false
	}
	n, err := normalizeRedirect(raw)
	if err != nil || !r.allowed[n] {
		return "", false
	}
	return n, true
}

// URLs returns the allowlist in its normalised form, sorted: what a page
// may compare new URL(x).href against before redirecting a browser.
func (r *Redirects) URLs() []string {
	if r == nil {
		return []string{}
	}
	return slices.Sorted(maps.Keys(r.allowed))
}

// normalizeRedirect returns the one spelling of an absolute http(s) URL
// that Allow compares: lower-case scheme and host (IDNA to ASCII), no
// default port, "/" for an empty path, the query as given. It refuses what
// browsers and URL parsers read differently: backslashes, white space and
// control characters, user information (https://app@evil), a missing host
// (//evil, /\evil), and fragments.
func normalizeRedirect(raw string) (string, error) {
	if raw == "" || len(raw) > 2048 || !utf8.ValidString(raw) {
		return "", errors.New("must be 1 to 2048 characters of UTF-8")
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return "", errors.New("must not contain white space, control characters or backslashes")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("is not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", errors.New("must be an absolute http or https URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return "", errors.New("must name a host")
	}
	if u.User != nil {
		return "", errors.New("must not carry user information")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", errors.New("must not have a fragment")
	}
	host, port := u.Hostname(), u.Port()
	if strings.Contains(host, ":") {
		// An IPv6 literal: net/url has unbracketed it.
		if net.ParseIP(host) == nil {
			return "", errors.New("has a malformed host")
		}
		host = "[" + strings.ToLower(host) + "]"
	} else if host, err = asciiHost(host); err != nil {
		return "", err
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	n := scheme + "://" + host + path
	if u.RawQuery != "" {
		n += "?" + u.RawQuery
	}
	return n, nil
}

// asciiHost returns the ASCII (IDNA) form of a host name, refusing one
// whose ASCII form would not read back as itself.
func asciiHost(host string) (string, error) {
	a, err := idna.Lookup.ToASCII(host)
	if err != nil || a == "" {
		return "", errors.New("has a malformed host")
	}
	if again, err := idna.Lookup.ToASCII(a); err != nil || again != a {
		return "", errors.New("has a malformed host")
	}
	return a, nil
}
