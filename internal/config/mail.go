package config

import (
	"strings"
	"unicode"

	"github.com/talentforge/authd/internal/mail"
)

// loadMail checks the mail settings and fills in the defaults that derive
// from other variables: the sender address from the issuer's host, the UI
// URL from the issuer. It runs after the issuer is checked.
func (c *Config) loadMail(p *parser) {
	if v := c.raw["AUTH_REQUIRE_VERIFIED_EMAIL"]; v != "true" && v != "false" {
		p.fail("AUTH_REQUIRE_VERIFIED_EMAIL", "must be true or false")
	}
	if c.SMTPURL != "" {
		if err := mail.CheckSMTPURL(c.SMTPURL); err != nil {
			// mail's errors never quote the URL, which holds the password.
			p.fail("AUTH_SMTP_URL", "is invalid: "+strings.TrimPrefix(err.Error(), "mail: "))
		}
	}
	if c.SMTPFrom == "" {
		from, err := mail.DefaultFrom(c.Issuer)
		if err != nil {
			p.fail("AUTH_SMTP_FROM", "must be set: the host of AUTH_ISSUER makes no sender address (no-reply@host)")
		}
		c.SMTPFrom = from
		c.raw["AUTH_SMTP_FROM"] = from // Print shows the effective value
	} else if _, err := mail.NewMessageID(c.SMTPFrom); err != nil {
		p.fail("AUTH_SMTP_FROM", "must be one address with a domain name, e.g. no-reply@example.com or Example <no-reply@example.com>: "+
			strings.TrimPrefix(err.Error(), "mail: "))
	}
	if c.UIURL == "" {
		c.UIURL = c.Issuer + "/ui"
	}
	c.UIURL = strings.TrimRight(c.UIURL, "/")
	c.raw["AUTH_UI_URL"] = c.UIURL
	if _, err := mail.Link(c.UIURL, mail.VerifyEmailPath, "x"); err != nil {
		p.fail("AUTH_UI_URL", "must be an absolute http(s) URL without user information, a query or a fragment, e.g. https://app.example.com/account")
	}
	switch name := c.ProductName; {
	case name == "":
		p.fail("AUTH_PRODUCT_NAME", "must not be empty")
	case len(name) > 100:
		p.fail("AUTH_PRODUCT_NAME", "must be at most 100 bytes")
	case strings.ContainsFunc(name, unicode.IsControl):
		p.fail("AUTH_PRODUCT_NAME", "must be one line of printable text")
	}
}
