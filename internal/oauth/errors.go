package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// Classification reads error types and the token endpoint's error code
// (RFC 6749 section 5.2, a protocol field), never an error's text, so that
// nothing a provider writes in a description can change the class.

// tokenError classifies an error of oauth2.Config.Exchange for the
// provider named name.
func tokenError(ctx context.Context, name string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("oauth: %s: token request: %w", name, ctxErr)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "invalid_grant", "access_denied",
			// GitHub's answer to an unknown, expired or used code.
			"bad_verification_code":
			return fmt.Errorf("%w: %s: %w", ErrDenied, name, err)
		case "unverified_user_email":
			// GitHub refuses to issue a token to a user whose primary
			// email is not verified (GitHub Apps that ask for it).
			return fmt.Errorf("%w: %s: %w", ErrNoEmail, name, err)
		case "temporarily_unavailable":
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, name, err)
		}
		if re.Response != nil && unavailableStatus(re.Response.StatusCode) {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, name, err)
		}
		return fmt.Errorf("oauth: %s: token request: %w", name, err)
	}
	if transportError(err) {
		return fmt.Errorf("%w: %s: token request: %w", ErrUnavailable, name, err)
	}
	return fmt.Errorf("oauth: %s: token request: %w", name, err)
}

// requestError classifies the error of an HTTP request to a provider other
// than the token request (an API or UserInfo call).
func requestError(ctx context.Context, name, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("oauth: %s: %s: %w", name, what, ctxErr)
	}
	if transportError(err) {
		return fmt.Errorf("%w: %s: %s: %w", ErrUnavailable, name, what, err)
	}
	return fmt.Errorf("oauth: %s: %s: %w", name, what, err)
}

// transportError tells whether err is a failure to get an answer at all:
// no connection, a timeout, a TLS failure, or a server error that
// serverErrorTransport turned into an error.
func transportError(err error) bool {
	var ue *url.Error
	var se *serverError
	return errors.As(err, &ue) || errors.As(err, &se) ||
		errors.Is(err, context.DeadlineExceeded)
}

// unavailableStatus tells whether an HTTP status says the provider cannot
// answer now rather than that it refuses the request: a server error (5xx)
// or 429 Too Many Requests.
func unavailableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// serverError is an HTTP answer with an unavailableStatus, as an error.
type serverError struct {
	method, url, status string
}

func (e *serverError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.method, e.url, e.status)
}

// serverErrorTransport turns answers with an unavailableStatus (with
// strict, any status but 200) into errors. go-oidc reports the failures of
// its requests (discovery, keys, UserInfo) as text only; with this
// transport under its client, an unreachable or failing provider shows as
// an error type: a key set that cannot be fetched is told apart from a
// token no key verifies.
type serverErrorTransport struct {
	base   http.RoundTripper
	strict bool
}

func (t serverErrorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if unavailableStatus(resp.StatusCode) || (t.strict && resp.StatusCode != http.StatusOK) {
		resp.Body.Close()
		return nil, &serverError{method: req.Method, url: req.URL.Redacted(), status: resp.Status}
	}
	return resp, nil
}

// withServerErrors returns a copy of c whose transport is wrapped by
// serverErrorTransport.
func withServerErrors(c *http.Client, strict bool) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc := *c
	cc.Transport = serverErrorTransport{base: base, strict: strict}
	return &cc
}
