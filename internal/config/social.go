package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/talentforge/authd/internal/auth"
)

// SocialConfig is social login as configured: the redirect_to allowlist
// and the providers turned on (nil or empty: off).
type SocialConfig struct {
	// RedirectURLs is AUTH_REDIRECT_URLS, each entry as given; every one is
	// accepted by auth.NewRedirects.
	RedirectURLs []string
	// Google is on when AUTH_GOOGLE_CLIENT_ID and _SECRET are set.
	Google *ProviderConfig
	// GitHub is on when AUTH_GITHUB_CLIENT_ID and _SECRET are set; WebURL
	// and APIURL are AUTH_GITHUB_URL and AUTH_GITHUB_API_URL.
	GitHub *ProviderConfig
	// OIDC are the generic providers of AUTH_OIDC_PROVIDERS, in its order.
	OIDC []ProviderConfig
}

// ProviderConfig is one social provider's settings.
type ProviderConfig struct {
	Name         string // "google", "github", or a generic provider's name, lower case
	DisplayName  string // AUTH_OIDC_<NAME>_DISPLAY_NAME; "": the provider's default
	ClientID     string
	ClientSecret string   // "" only for a generic provider that is a public client (PKCE alone)
	Issuer       string   // generic providers: AUTH_OIDC_<NAME>_ISSUER
	Scopes       []string // generic providers: AUTH_OIDC_<NAME>_SCOPES
	WebURL       string   // GitHub: AUTH_GITHUB_URL
	APIURL       string   // GitHub: AUTH_GITHUB_API_URL
}

// Enabled reports whether any social provider is on.
func (s *SocialConfig) Enabled() bool {
	return s.Google != nil || s.GitHub != nil || len(s.OIDC) > 0
}

// defaultOIDCScopes is AUTH_OIDC_<NAME>_SCOPES when unset.
const defaultOIDCScopes = "openid email profile"

// providerNameRE is what a generic provider's name may be, once lower-cased:
// it appears in URL paths (/api/v1/oauth/{name}/…) and, upper-cased, in
// variable names.
var providerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// oidcVar returns the name of the variable of generic provider name:
// AUTH_OIDC_<NAME>_<suffix>.
func oidcVar(name, suffix string) string {
	return "AUTH_OIDC_" + strings.ToUpper(name) + "_" + suffix
}

// loadSocial reads and checks the social login settings: the static
// variables from c.raw, the AUTH_OIDC_<NAME>_* ones through lookup (the
// environment, then the .env file, then def).
func (c *Config) loadSocial(p *parser, lookup func(name, def string) string) {
	s := &c.Social
	for _, u := range strings.Split(c.raw["AUTH_REDIRECT_URLS"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			s.RedirectURLs = append(s.RedirectURLs, u)
		}
	}
	if _, err := auth.NewRedirects(s.RedirectURLs); err != nil {
		p.fail("AUTH_REDIRECT_URLS", "is invalid: "+err.Error())
	}

	s.Google = c.credentials(p, "AUTH_GOOGLE", "google")
	s.GitHub = c.credentials(p, "AUTH_GITHUB", "github")
	webURL, apiURL := c.raw["AUTH_GITHUB_URL"], c.raw["AUTH_GITHUB_API_URL"]
	if !baseURL(webURL) {
		p.fail("AUTH_GITHUB_URL", "must be an absolute http(s) URL without query or fragment, e.g. https://github.example.com")
	}
	if !baseURL(apiURL) {
		p.fail("AUTH_GITHUB_API_URL", "must be an absolute http(s) URL without query or fragment, e.g. https://github.example.com/api/v3")
	}
	if s.GitHub != nil {
		s.GitHub.WebURL = strings.TrimRight(webURL, "/")
		s.GitHub.APIURL = strings.TrimRight(apiURL, "/")
	}

	seen := map[string]bool{}
	for _, name := range strings.Split(c.raw["AUTH_OIDC_PROVIDERS"], ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
			continue
		case !providerNameRE.MatchString(name):
			p.fail("AUTH_OIDC_PROVIDERS", fmt.Sprintf("lists %q: a provider name must be lower-case letters, digits, - and _, starting with a letter or digit", name))
			continue
		case name == "google" || name == "github":
			p.fail("AUTH_OIDC_PROVIDERS", fmt.Sprintf("lists %q, which is the built-in provider: configure it with AUTH_%s_CLIENT_ID and _SECRET", name, strings.ToUpper(name)))
			continue
		case seen[name]:
			p.fail("AUTH_OIDC_PROVIDERS", fmt.Sprintf("lists %q twice", name))
			continue
		}
		seen[name] = true
		s.OIDC = append(s.OIDC, c.oidcProvider(p, lookup, name))
	}

	// With the hosted pages on, social sign-in can always come back to them.
	if s.Enabled() && len(s.RedirectURLs) == 0 && !c.UI.Enabled {
		p.fail("AUTH_REDIRECT_URLS", "must list the URLs social login may send the browser back to: a social provider is on, and nothing could be redirected to")
	}
}

// credentials returns the provider of prefix_CLIENT_ID and prefix_CLIENT_SECRET,
// nil when both are empty; one without the other is an error.
func (c *Config) credentials(p *parser, prefix, name string) *ProviderConfig {
	id, secret := c.raw[prefix+"_CLIENT_ID"], c.raw[prefix+"_CLIENT_SECRET"]
	switch {
	case id == "" && secret == "":
		return nil
	case secret == "":
		p.fail(prefix+"_CLIENT_SECRET", "must be set when "+prefix+"_CLIENT_ID is (both, or neither to turn "+name+" off)")
		return nil
	case id == "":
		p.fail(prefix+"_CLIENT_ID", "must be set when "+prefix+"_CLIENT_SECRET is (both, or neither to turn "+name+" off)")
		return nil
	}
	return &ProviderConfig{Name: name, ClientID: id, ClientSecret: secret}
}

// oidcProvider reads and checks the AUTH_OIDC_<NAME>_* variables of the
// generic provider name, recording them for Print.
func (c *Config) oidcProvider(p *parser, lookup func(name, def string) string, name string) ProviderConfig {
	get := func(suffix, def string, secret bool) string {
		v := oidcVar(name, suffix)
		val := lookup(v, def)
		c.raw[v] = val
		c.dynamic = append(c.dynamic, Var{Name: v, Default: def, Secret: secret})
		return val
	}
	pc := ProviderConfig{
		Name:         name,
		Issuer:       strings.TrimRight(get("ISSUER", "", false), "/"),
		ClientID:     get("CLIENT_ID", "", false),
		ClientSecret: get("CLIENT_SECRET", "", true),
		Scopes:       strings.FieldsFunc(get("SCOPES", defaultOIDCScopes, false), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }),
		DisplayName:  get("DISPLAY_NAME", "", false),
	}
	switch {
	case pc.Issuer == "":
		p.fail(oidcVar(name, "ISSUER"), "is required: "+name+" is listed in AUTH_OIDC_PROVIDERS")
	case !baseURL(pc.Issuer):
		p.fail(oidcVar(name, "ISSUER"), "must be an absolute http(s) URL without query or fragment, e.g. https://login.example.com")
	}
	if pc.ClientID == "" {
		// Without a secret the provider is a public client (PKCE alone);
		// without an ID it cannot be a client at all.
		p.fail(oidcVar(name, "CLIENT_ID"), "is required: "+name+" is listed in AUTH_OIDC_PROVIDERS")
	}
	if len(pc.Scopes) == 0 {
		p.fail(oidcVar(name, "SCOPES"), "must list scopes, e.g. "+defaultOIDCScopes)
	}
	switch dn := pc.DisplayName; {
	case len(dn) > 100:
		p.fail(oidcVar(name, "DISPLAY_NAME"), "must be at most 100 bytes")
	case strings.ContainsFunc(dn, unicode.IsControl):
		p.fail(oidcVar(name, "DISPLAY_NAME"), "must be one line of printable text")
	}
	return pc
}

// baseURL reports whether s is an absolute http(s) URL with a host and no
// user information, query or fragment: a base other URLs are built on.
func baseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && u.RawQuery == "" && u.Fragment == "" && !strings.ContainsAny(s, "?#")
}

// checkProduction returns the first social setting that is not https, in
// one line: the provider URLs carry codes and tokens, the redirect URLs
// codes that sign a user in.
func (s *SocialConfig) checkProduction() error {
	https := func(name, v string) error {
		if !strings.HasPrefix(strings.ToLower(v), "https://") {
			return fmt.Errorf("%s must be an https URL when AUTH_ENV=production (got %q)", name, v)
		}
		return nil
	}
	for _, u := range s.RedirectURLs {
		if err := https("AUTH_REDIRECT_URLS", u); err != nil {
			return err
		}
	}
	if s.GitHub != nil {
		if err := https("AUTH_GITHUB_URL", s.GitHub.WebURL); err != nil {
			return err
		}
		if err := https("AUTH_GITHUB_API_URL", s.GitHub.APIURL); err != nil {
			return err
		}
	}
	for _, o := range s.OIDC {
		if err := https(oidcVar(o.Name, "ISSUER"), o.Issuer); err != nil {
			return err
		}
	}
	return nil
}
