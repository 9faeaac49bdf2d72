package auth

import "errors"

// Observer is told how the operations operators watch turned out, so that
// they can be counted (cmd/authd counts them in Prometheus). Every value it
// is given comes from one of the fixed lists below, never from a request, so
// each can label a metric without growing its label set.
type Observer interface {
	SignUp(outcome string)
	Login(outcome string)
	Refresh(outcome string)
	TokenIssued(kind string)
}

// The outcomes and kinds an Observer is given.
var (
	SignUpOutcomes  = []string{"success", "invalid", "conflict", "rate_limited", "unavailable", "error"}
	LoginOutcomes   = []string{"success", "bad_credentials", "locked", "rate_limited", "disabled", "unverified", "invalid", "unavailable", "error"}
	RefreshOutcomes = []string{"success", "invalid", "reuse_detected", "rate_limited", "error"}
	TokenKinds      = []string{"access", "refresh", "client"}
)

type nopObserver struct{}

func (nopObserver) SignUp(string)      {}
func (nopObserver) Login(string)       {}
func (nopObserver) Refresh(string)     {}
func (nopObserver) TokenIssued(string) {}

// signUpOutcome sorts Register's result into SignUpOutcomes.
func signUpOutcome(err error) string {
	switch ErrorCode(err) {
	case "":
		return "success"
	case EInvalid, EWeakPassword:
		return "invalid"
	case EEmailTaken:
		return "conflict"
	case ETooManyAttempts:
		return "rate_limited"
	case EUnavailable:
		return "unavailable"
	}
	return "error"
}

// loginOutcome sorts Login's result into LoginOutcomes. A refusal by one of
// the account's lockout rules is "locked"; by the per-IP rule, "rate_limited".
func (s *core) loginOutcome(err error) string {
	switch ErrorCode(err) {
	case "":
		return "success"
	case EInvalidCredentials:
		return "bad_credentials"
	case ETooManyAttempts:
		var e *Error
		if errors.As(err, &e) && e.rule != "" && (e.rule == s.limits.LoginAccount.Name || e.rule == s.limits.LoginAccountGlobal.Name) {
			return "locked"
		}
		return "rate_limited"
	case EAccountDisabled:
		return "disabled"
	case EEmailNotVerified:
		return "unverified"
	case EInvalid:
		return "invalid"
	case EUnavailable:
		return "unavailable"
	}
	return "error"
}

// refreshOutcome sorts Refresh's result into RefreshOutcomes.
func refreshOutcome(err error) string {
	switch {
	case err == nil:
		return "success"
	case err == errRefreshReused:
		return "reuse_detected"
	}
	switch ErrorCode(err) {
	case EInvalidRefreshToken, EInvalid:
		return "invalid"
	case ETooManyAttempts:
		return "rate_limited"
	}
	return "error"
}
