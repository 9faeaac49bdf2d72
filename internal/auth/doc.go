// Package auth is the domain of authd: users, sessions, refresh tokens and the
// rules that govern them (sign-up, login, refresh rotation with reuse
// detection, revocation).
//
// It imports nothing of ours but the rule types of ratelimit. Storage
// backends (sqlite, postgres), the token signer (token), the password hasher
// (password), the cache (cache) and the limiter (ratelimit) implement the
// small interfaces declared in store.go; the HTTP layer (httpapi) calls Service and
// maps the Error codes declared in error.go to status codes in one place.
package auth
