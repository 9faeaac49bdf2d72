package config

import (
	"net/url"
	"regexp"
	"strings"
)

// UI configures the hosted pages (AUTH_UI_*); their product name is
// AUTH_PRODUCT_NAME, the one mail uses.
type UI struct {
	Enabled      bool
	LogoURL      string // "" or an https URL or an absolute path
	PrimaryColor string // #rrggbb, lower case
}

var (
	hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	// logoHost is a DNS name or IPv4 address with an optional port: the
	// host goes into the pages' CSP as a source, where URL syntax's other
	// host characters (; , ' *) would change the policy.
	logoHost = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
)

func (c *Config) loadUI(p *parser) {
	switch c.raw["AUTH_UI_ENABLED"] {
	case "true":
		c.UI.Enabled = true
	case "false":
	default:
		p.fail("AUTH_UI_ENABLED", "must be true or false")
	}
	c.UI.PrimaryColor = strings.ToLower(c.raw["AUTH_UI_PRIMARY_COLOR"])
	if !hexColor.MatchString(c.UI.PrimaryColor) {
		p.fail("AUTH_UI_PRIMARY_COLOR", "must be a colour as #rrggbb, e.g. #4f46e5")
	}
	c.UI.LogoURL = c.raw["AUTH_UI_LOGO_URL"]
	if c.UI.LogoURL != "" && !logoURL(c.UI.LogoURL) {
		p.fail("AUTH_UI_LOGO_URL", "must be an https URL without user information, or a path on authd's origin starting with /")
	}
}

// logoURL accepts what the pages' CSP lets an <img> load: an https URL
// (its origin is added to img-src) or a path on authd itself. Plain http
// would be mixed content on an https page and is refused.
func logoURL(raw string) bool {
	if len(raw) > 2048 || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' || r == '"' }) {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Fragment != "" {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//")
	}
	return u.Scheme == "https" && logoHost.MatchString(u.Host)
}
