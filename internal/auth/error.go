package auth

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. The HTTP layer maps each code
// to a status once; clients branch on the code, never on the message.
type Code string

// Error codes. The string values are part of the public API (v1 error body).
const (
	EInvalid             Code = "invalid_request"       // malformed or out-of-range input
	EWeakPassword        Code = "weak_password"         // password fails the policy
	EInvalidCredentials  Code = "invalid_credentials"   // wrong email or password
	EAccountDisabled     Code = "account_disabled"      // user exists but is disabled
	ETooManyAttempts     Code = "too_many_attempts"     // rate limited; see Error.RetryAfter
	EEmailTaken          Code = "email_taken"           // another user owns the email
	EInvalidRefreshToken Code = "invalid_refresh_token" // unknown, expired, revoked or reused
	EInvalidToken        Code = "invalid_token"         // a mailed link's token: unknown, used, superseded or expired
	EEmailNotVerified    Code = "email_not_verified"    // sign-in needs a verified address (AUTH_REQUIRE_VERIFIED_EMAIL)
	ELastSignIn          Code = "last_sign_in_method"   // the change would leave the account no way to sign in
	EUnauthorized        Code = "unauthorized"          // missing or invalid access token
	EForbidden           Code = "forbidden"             // authenticated but not allowed
	ENotFound            Code = "not_found"             // no such resource (or not yours)
	EConflict            Code = "conflict"              // concurrent modification lost the race
	ELastAdmin           Code = "last_admin"            // the change would leave no active admin
	EInvalidClient       Code = "invalid_client"        // unknown service client or wrong secret
	EInvalidScope        Code = "invalid_scope"         // a scope the client may not request
	EUnavailable         Code = "unavailable"           // overloaded; retry after Error.RetryAfter
	EInternal            Code = "internal"              // a bug or an unreachable dependency
)

// Error is the domain error. Message is safe to show to clients; Err, when set,
// is the internal cause and is only logged.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // set with ETooManyAttempts and EUnavailable
	Err        error

	rule string // the name of the Limits rule that refused, with ETooManyAttempts
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// The storage vocabulary: what a Store returns when a call can't be done, as
// the same values from every backend, so that the domain tests them with
// errors.Is (or by Code) and no backend words a message of its own. The
// domain rewords them where its caller needs more (which role, which
// resource).
var (
	ErrUserNotFound         = &Error{Code: ENotFound, Message: "User not found."}
	ErrSessionNotFound      = &Error{Code: ENotFound, Message: "Session not found."}
	ErrRefreshTokenNotFound = &Error{Code: ENotFound, Message: "Refresh token not found."}
	ErrRoleNotFound         = &Error{Code: ENotFound, Message: "Role not found."}
	ErrClientNotFound       = &Error{Code: ENotFound, Message: "Client not found."}
	ErrOneTimeTokenNotFound = &Error{Code: ENotFound, Message: "Token not found."}
	ErrMailNotFound         = &Error{Code: ENotFound, Message: "Mail not found."}
	ErrSigningKeyNotFound   = &Error{Code: ENotFound, Message: "Signing key not found."}
	ErrUnknownRole          = &Error{Code: EInvalid, Message: "Unknown role."}
	ErrUnknownStatus        = &Error{Code: EInvalid, Message: "Unknown user status."}
	ErrInvalidID            = &Error{Code: EInvalid, Message: "The id must be a UUID."}
	ErrInvalidUser          = &Error{Code: EInvalid, Message: "Invalid user."}
	ErrOtherUser            = &Error{Code: EInvalid, Message: "It belongs to another user than the transaction's."}
	ErrEmailTaken           = &Error{Code: EEmailTaken, Message: "The email address is already registered."}
	ErrExists               = &Error{Code: EConflict, Message: "It already exists."}
	ErrStale                = &Error{Code: EConflict, Message: "It was changed by another request."}
	ErrLastAdmin            = &Error{Code: ELastAdmin, Message: "This would leave no active administrator."}
	ErrLastSignIn           = &Error{Code: ELastSignIn, Message: "This is the account's last way to sign in: set a password or link another provider first."}
	ErrIdentityTaken        = &Error{Code: EConflict, Message: "That account at the provider is linked already."}
	ErrIdentityNotFound     = &Error{Code: ENotFound, Message: "Identity not found."}
	ErrOAuthStateNotFound   = &Error{Code: ENotFound, Message: "Sign-in state not found."}
	ErrOAuthCodeNotFound    = &Error{Code: ENotFound, Message: "Code not found."}
)

// Unavailable is the error of a dependency (the database) that can't be
// reached for now: the client is told to retry after retryAfter, and cause
// is only logged.
func Unavailable(retryAfter time.Duration, cause error) *Error {
	return &Error{Code: EUnavailable, Message: "The service is temporarily unavailable.", RetryAfter: retryAfter, Err: cause}
}

// Errorf returns an *Error with the given code and a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic message so that no detail of a failure leaks to clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "An internal error occurred."
}

// ErrorRetryAfter returns the retry hint carried by err, or 0.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
