package auth

import (
	"context"
	"strings"
	"time"

	"github.com/talentforge/authd/internal/ratelimit"
)

// Limits are the abuse-protection rules (SPEC §9). A rule with Limit 0 is off.
type Limits struct {
	// LoginAccount counts failed logins per normalised email, whether or not
	// an account has it (so lockouts reveal nothing), and locks the email
	// out with a lockout that doubles with each repeated refusal. A
	// successful login resets it.
	LoginAccount ratelimit.Rule
	// LoginIP counts failed logins per client IP: attempts are taken before
	// the password is checked, so concurrent guesses can't overshoot, and a
	// successful login gives its attempt back.
	LoginIP ratelimit.Rule
	// RegisterIP and RefreshIP count every request per client IP.
	RegisterIP ratelimit.Rule
	RefreshIP  ratelimit.Rule
}

// The names of the rules of Limits, which key their counters (in Redis, and
// in authd_rate_limited_total). The numbers come from configuration.
const (
	RuleLoginAccount = "login-account"
	RuleLoginIP      = "login-ip"
	RuleRegisterIP   = "register-ip"
	RuleRefreshIP    = "refresh-ip"
)

// Validate reports a rule that can't be enforced.
func (l Limits) Validate() error {
	for _, r := range []ratelimit.Rule{l.LoginAccount, l.LoginIP, l.RegisterIP, l.RefreshIP} {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func errTooMany(retryAfter time.Duration) *Error {
	return &Error{Code: ETooManyAttempts, Message: "Too many attempts. Try again later.", RetryAfter: retryAfter}
}

// take records one attempt under rule and returns ETooManyAttempts when it
// is refused. An empty key (no client IP known) is not limited.
func (s *Service) take(ctx context.Context, rule ratelimit.Rule, key string) error {
	if !rule.Enabled() || key == "" {
		return nil
	}
	d, err := s.limiter.Allow(ctx, rule, key, 1)
	if err != nil {
		return err
	}
	if !d.Allowed {
		s.log.InfoContext(ctx, "rate limited", "rule", rule.Name, "retry_after_s", d.RetryAfter.Seconds())
		return errTooMany(d.RetryAfter)
	}
	return nil
}

// giveBack returns one attempt taken under rule. Failing to is logged, not
// returned: it only makes the limit slightly stricter for a while.
func (s *Service) giveBack(ctx context.Context, rule ratelimit.Rule, key string) {
	if !rule.Enabled() || key == "" {
		return
	}
	if _, err := s.limiter.Allow(ctx, rule, key, -1); err != nil {
		s.log.WarnContext(ctx, "rate limit: give back failed", "rule", rule.Name, "err", err)
	}
}

// loginAttempt takes one attempt from the client IP's and the account's
// allowance before the password is checked; done reports the outcome:
// success resets the account and gives the IP its attempt back, and an
// attempt that was never judged (hashing overloaded) is given back to both.
func (s *Service) loginAttempt(ctx context.Context, email, ip string) (done func(outcome loginOutcome), err error) {
	acct := accountKey(email)
	if err := s.take(ctx, s.limits.LoginIP, ip); err != nil {
		return nil, err
	}
	if err := s.take(ctx, s.limits.LoginAccount, acct); err != nil {
		s.giveBack(ctx, s.limits.LoginIP, ip)
		return nil, err
	}
	return func(outcome loginOutcome) {
		switch outcome {
		case loginSucceeded:
			s.giveBack(ctx, s.limits.LoginIP, ip)
			if s.limits.LoginAccount.Enabled() {
				if err := s.limiter.Reset(ctx, s.limits.LoginAccount, acct); err != nil {
					s.log.WarnContext(ctx, "rate limit: reset failed", "rule", s.limits.LoginAccount.Name, "err", err)
				}
			}
		case loginNotJudged:
			s.giveBack(ctx, s.limits.LoginIP, ip)
			s.giveBack(ctx, s.limits.LoginAccount, acct)
		}
	}, nil
}

type loginOutcome int

const (
	loginFailed loginOutcome = iota
	loginSucceeded
	loginNotJudged
)

// accountKey is the key failed logins are counted under: the normalised
// email, or for input that is not an email at all, its trimmed lower-case
// form (such an account can't exist, but it must be answered the same way).
func accountKey(email string) string {
	if n, err := NormalizeEmail(email); err == nil {
		return n
	}
	return strings.ToLower(strings.TrimSpace(email))
}
