package auth

import (
	"fmt"
	"time"
)

// Rule limits the attempts made under one key.
type Rule struct {
	// Name namespaces the keys of the rule: "login-account", "register-ip", ….
	Name string
	// Limit attempts are allowed per Period, all of them at once if need be
	// (the burst equals Limit). A Limit of 0 disables the rule.
	Limit  int
	Period time.Duration
	// MaxLockout > 0 turns on escalation: each refusal that is not already
	// inside a lockout locks the key for the GCRA wait × 2^(strikes-1), at
	// most MaxLockout, during which every attempt is refused. Strikes are
	// forgotten after a day without a refusal, or by Reset.
	MaxLockout time.Duration
}

// Enabled reports whether the rule limits anything.
func (r Rule) Enabled() bool { return r.Limit > 0 && r.Period > 0 }

// Validate reports a rule that can't be enforced.
func (r Rule) Validate() error {
	switch {
	case r.Limit < 0:
		return fmt.Errorf("rate limit %s: negative limit %d", r.Name, r.Limit)
	case r.Limit > 0 && r.Period <= 0:
		return fmt.Errorf("rate limit %s: period must be positive", r.Name)
	case r.Limit > 0 && r.Period/time.Duration(r.Limit) < time.Millisecond:
		return fmt.Errorf("rate limit %s: %d per %s is finer than 1ms per attempt", r.Name, r.Limit, r.Period)
	case r.MaxLockout < 0:
		return fmt.Errorf("rate limit %s: negative max lockout", r.Name)
	}
	return nil
}

// String is "5/15m0s" (or "off").
func (r Rule) String() string {
	if !r.Enabled() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Limit, r.Period)
}

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed bool
	// Remaining is how many more attempts would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next attempt can succeed
	// (zero when Allowed).
	RetryAfter time.Duration
}
