// Package auth is the domain of authd: users, sessions, refresh tokens, roles,
// service clients and the rules that govern them (sign-up, login, refresh
// rotation with reuse detection, revocation, RBAC, the audit log), and the
// mailed links of email verification, password reset and email change
// (reset.go, verify.go: single-use tokens stored hashed, queued with their
// mail in one unit of work; package mail renders and delivers the mail),
// and social sign-in (socialflow.go: state bound to the browser, linking
// by the rules of the provider's verified address, one-time codes traded
// with the app's PKCE verifier; package oauth is the providers' side).
//
// The service has three parts, by who calls them: Accounts (people, for
// themselves), Admin (administrators) and ServiceClients (machines, and
// their registration). They share one core; Service bundles them.
//
// It imports no infrastructure (TestNoInfrastructureImports keeps it so).
// Storage backends (sqlite, postgres) implement the small stores of store.go,
// one per aggregate, read through directly. Every write runs in a unit of
// work (Transactor): one transaction scoped to one user (InUserTx, so that
// a user's rows can live on one shard) or to the rows no user owns
// (InGlobalTx), in which the domain writes the change and its audit event
// together (write.go). The token signer (token), the password hasher
// (password), the cache (cache) and the limiter (ratelimit) implement the
// other interfaces there, and cmd/authd passes each one in. Stores refuse
// with the error values of error.go; the HTTP layer (httpapi) maps their
// codes to status codes in one place.
package auth
