// Package httpapi is authd's HTTP edge: routes (routes.go), JSON decoding and
// encoding, the one table that maps auth error codes to status codes
// (errors.go), and the middleware every request passes through (request id,
// access log, panic recovery, security headers, client IP).
//
// Handlers have the signature func(w, r) error; they never choose a status
// for an error themselves.
package httpapi
