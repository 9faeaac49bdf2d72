// Package auth is the domain of authd: users, sessions, refresh tokens and the
// rules that govern them (sign-up, login, refresh rotation with reuse
// detection, revocation).
//
// It imports no infrastructure (TestNoInfrastructureImports keeps it so).
// Storage backends (sqlite, postgres), the token signer (token), the password
// hasher (password), the cache (cache) and the limiter (ratelimit) implement
// the small interfaces declared in store.go, and cmd/authd passes each one
// in; the HTTP layer (httpapi) calls Service and
// maps the Error codes declared in error.go to status codes in one place.
package auth
