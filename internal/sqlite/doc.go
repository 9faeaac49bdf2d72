// Package sqlite is the embedded storage backend of authd: it implements
// auth.Store and token.KeyStore (and ImportUsers, for seeding and bulk
// imports) on a single SQLite file through the pure-Go driver
// modernc.org/sqlite, so `go run ./cmd/authd` needs neither cgo nor a
// database server.
//
// The schema lives in migrations/*.sql, embedded in the binary and applied with
// goose (each migration in its own transaction); migrate_emails.go holds the
// one migration written in Go, which re-normalises stored emails. Times are stored as fixed-width
// UTC text with microsecond precision, so they sort and compare as strings and
// round-trip exactly what the domain writes; ids are canonical UUID text,
// which sorts like the UUIDs.
//
// Every write transaction begins IMMEDIATE, taking the database's single
// write lock first: writers run one at a time, which is what makes a check
// and the change it guards (the last-admin rule, a refresh-token rotation)
// atomic. The audited writes are the methods of the units of work that
// InUserTx and InGlobalTx hand out: each unit is one such transaction, so a
// change and the audit event the domain appends with it commit together or
// not at all. The one-time tokens of the mail flows and the outbox of the
// mail itself are a user's rows too, dropped with the user; a token is
// consumed by one DELETE … RETURNING, and ClaimMail leases the earliest
// due mails in one write transaction, so that under the single write lock
// no token is used twice and no mail is claimed twice. The package passes
// the storage contract suite in package authtest, like every other
// backend.
package sqlite
