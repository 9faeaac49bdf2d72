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
	auth.EUnauthorized:        http.StatusUnauthorized,
	auth.EForbidden:           http.StatusForbidden,
	auth.ENotFound:            http.StatusNotFound,
	auth.EConflict:            http.StatusConflict,
	auth.EUnavailable:         http.StatusServiceUnavailable,
	auth.EInternal:            http.StatusInternalServerError,
	codeMethodNotAllowed:      http.StatusMethodNotAllowed,
	codePayloadTooLarge:       http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      auth.Code `json:"code"`
	Message   string    `json:"message"`
	RequestID string    `json:"request_id"`
}

// writeError writes the v1 error body for err. Internal errors are logged with
// the request id and shown to the client only as a generic message.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
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
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="authd"`)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code:      code,
		Message:   auth.ErrorMessage(err),
		RequestID: requestID(r.Context()),
	}})
}
