// Package authtest is the storage contract suite: TestStore runs the same
// tests against any backend that implements auth.Store and token.KeyStore, so
// that SQLite, PostgreSQL and any future backend provably behave alike. A
// backend is done when it passes the suite.
//
// Every write goes through a unit of work (auth.Transactor). The tests
// write as the domain does, each change and its audit event in one unit of
// work (the helpers of tx.go); the Transactions group pins the unit of work
// itself: all or nothing, one user's rows only, and a store still usable
// after a fn that failed or panicked.
//
// The races a backend must settle are raced for real, from many goroutines
// released together: sign-ups with one email, rotations of one refresh
// token, the last admins' demotions, consumptions of one one-time token,
// and outbox claims (no mail to two senders, every mail to one of them).
//
// It is imported only by tests; it depends on the testing package.
package authtest
