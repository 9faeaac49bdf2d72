package config

import (
	"github.com/talentforge/authd/internal/auth"
)

// Limits turns the AUTH_RATE_* settings into the service's rules. Tests
// that run the service as production does take their limits from here, so
// the two can't drift.
func (c *Config) Limits() auth.Limits {
	rule := func(name string, r Rate) auth.Rule {
		return auth.Rule{Name: name, Limit: r.Limit, Period: r.Period}
	}
	l := auth.Limits{
		LoginAccount:       rule(auth.RuleLoginAccount, c.LoginAccountRate),
		LoginAccountGlobal: rule(auth.RuleLoginAccountGlobal, c.LoginGlobalRate),
		LoginIP:            rule(auth.RuleLoginIP, c.LoginIPRate),
		RegisterIP:         rule(auth.RuleRegisterIP, c.RegisterIPRate),
		RefreshIP:          rule(auth.RuleRefreshIP, c.RefreshIPRate),
		ClientIP:           rule(auth.RuleClientIP, c.ClientIPRate),
		MailIP:             rule(auth.RuleMailIP, c.MailIPRate),
		MailAddress:        rule(auth.RuleMailAddress, c.MailAddressRate),
		IPv4Prefix:         c.IPv4Prefix,
		IPv6Prefix:         c.IPv6Prefix,
	}
	l.LoginAccount.MaxLockout = c.LoginMaxLockout
	return l
}
