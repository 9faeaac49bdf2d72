package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Codes that only exist at the HTTP edge.
const (
	codeMethodNotAllowed     auth.Code = "method_not_allowed"
	codePayloadTooLarge      auth.Code = "payload_too_large"
	codeUnsupportedMediaType auth.Code = "unsupported_media_type"
	codeUnsupportedGrantType auth.Code = "unsupported_grant_type"
)

// statusByCode is the single place an error code becomes a status.
var statusByCode = map[auth.Code]int{
	auth.EInvalid:             http.StatusBadRequest,
	auth.EWeakPassword:        http.StatusBadRequest,
	auth.EInvalidCredentials:  http.StatusUnauthorized,
	auth.EAccountDisabled:     http.StatusForbidden,
	auth.ETooManyAttempts:     http.StatusTooManyRequests,
	auth.EEmailTaken:          http.StatusConflict,
	auth.EInvalidRefreshToken: http.StatusUnauthorized,
	auth.EInvalidToken:        http.StatusBadRequest,
	auth.EEmailNotVerified:    http.StatusForbidden,
	auth.EUnauthorized:        http.StatusUnauthorized,
	auth.EForbidden:           http.StatusForbidden,
	auth.ENotFound:            http.StatusNotFound,
	auth.EConflict:            http.StatusConflict,
	auth.ELastAdmin:           http.StatusConflict,
	auth.ELastSignIn:          http.StatusConflict,
	auth.EInvalidClient:       http.StatusUnauthorized,
	auth.EInvalidScope:        http.StatusBadRequest,
	auth.EUnavailable:         http.StatusServiceUnavailable,
	auth.EInternal:            http.StatusInternalServerError,
	codeMethodNotAllowed:      http.StatusMethodNotAllowed,
	codePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	codeUnsupportedGrantType:  http.StatusBadRequest,
	codeCSRF:                  http.StatusForbidden,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      auth.Code `json:"code"`
	Message   string    `json:"message"`
	RequestID string    `json:"request_id"`
	TraceID   string    `json:"trace_id,omitempty" doc:"The W3C trace id of the request, when it is traced or the caller sent a traceparent."`
}

// writeError writes the v1 error body for err. Internal errors are logged with
// the request id and shown to the client only as a generic message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.errorStatus(w, r, err)
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code:      code,
		Message:   auth.ErrorMessage(err),
		RequestID: requestID(r.Context()),
		TraceID:   traceID(r.Context()),
	}})
}

// errorStatus returns err's code and status, and does what every error
// style shares: logs internal errors (with the request id) and sets
// Retry-After and WWW-Authenticate.
func (s *server) errorStatus(w http.ResponseWriter, r *http.Request, err error) (auth.Code, int) {
	code := auth.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 && code != auth.EUnavailable {
		s.log.ErrorContext(r.Context(), "request failed", "err", err)
	}
	if ra := auth.ErrorRetryAfter(err); ra > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	}
	switch {
	case code == auth.EInvalidClient:
		// RFC 6749 §5.2: the Basic challenge is for clients that tried it.
		if r.Header.Get("Authorization") != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="authd"`)
		}
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="authd"`)
	}
	return code, status
}

// problemJSON is an RFC 9457 problem detail, with authd's stable code, the
// request id and the trace id as extension members.
type problemJSON struct {
	Type      string    `json:"type" doc:"urn:authd:error:<code>"`
	Title     string    `json:"title"`
	Status    int       `json:"status"`
	Detail    string    `json:"detail"`
	Instance  string    `json:"instance,omitempty"`
	Code      auth.Code `json:"code"`
	RequestID string    `json:"request_id"`
	TraceID   string    `json:"trace_id,omitempty" doc:"The W3C trace id of the request, when it is traced or the caller sent a traceparent."`
}

// writeProblem writes err as application/problem+json (API v2).
func (s *server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.errorStatus(w, r, err)
	writeJSONAs(w, status, "application/problem+json", problemJSON{
		Type:      "urn:authd:error:" + string(code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    auth.ErrorMessage(err),
		Instance:  r.URL.Path,
		Code:      code,
		RequestID: requestID(r.Context()),
		TraceID:   traceID(r.Context()),
	})
}

// oauthErrorJSON is an RFC 6749 §5.2 error response.
type oauthErrorJSON struct {
	Error            string `json:"error" doc:"invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope, too_many_attempts, temporarily_unavailable or server_error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// oauthErrors maps domain codes to RFC 6749 §5.2 error codes and statuses;
// any other code is invalid_request with its usual status.
var oauthErrors = map[auth.Code]struct {
	error  string
	status int
}{
	auth.EInvalidCredentials:  {"invalid_grant", http.StatusBadRequest},
	auth.EInvalidRefreshToken: {"invalid_grant", http.StatusBadRequest},
	auth.EAccountDisabled:     {"invalid_grant", http.StatusBadRequest},
	auth.EInvalidToken:        {"invalid_grant", http.StatusBadRequest}, // a used, expired or unmatched authorization code
	auth.EEmailNotVerified:    {"invalid_grant", http.StatusBadRequest}, // the account may not sign in until its address is verified
	auth.EInvalidClient:       {"invalid_client", http.StatusUnauthorized},
	auth.EInvalidScope:        {"invalid_scope", http.StatusBadRequest},
	auth.EForbidden:           {"unauthorized_client", http.StatusForbidden},
	codeUnsupportedGrantType:  {"unsupported_grant_type", http.StatusBadRequest},
	auth.ETooManyAttempts:     {"too_many_attempts", http.StatusTooManyRequests},
	auth.EUnavailable:         {"temporarily_unavailable", http.StatusServiceUnavailable},
	auth.EInternal:            {"server_error", http.StatusInternalServerError},
}

// writeOAuthError writes err as an RFC 6749 §5.2 error body.
func (s *server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	code, status := s.errorStatus(w, r, err)
	name := "invalid_request"
	if m, ok := oauthErrors[code]; ok {
		name, status = m.error, m.status
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, oauthErrorJSON{Error: name, ErrorDescription: auth.ErrorMessage(err)})
}
