// Package authtest is the storage contract suite: TestStore runs the same
// tests against any backend that implements auth.Store and token.KeyStore, so
// that SQLite, PostgreSQL and any future backend provably behave alike. A
// backend is done when it passes the suite.
//
// It is imported only by tests; it depends on the testing package.
package authtest
