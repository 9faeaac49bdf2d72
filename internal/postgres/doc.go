// Package postgres is the production storage backend of authd: it implements
// auth.Store and token.KeyStore on PostgreSQL through a pgx connection pool,
// and ImportUsers for seeding and bulk imports.
//
// The schema lives in migrations/*.sql, embedded in the binary and applied with
// goose (each migration in its own transaction, serialised across processes by
// an advisory lock); migrate_emails.go holds the one migration written in Go,
// which re-normalises stored emails. It is created in the connection's current schema (the
// first entry of search_path), so that tests can give each test its own schema;
// see package pgtest. Every query on rows a user owns filters on that user's
// id, ready for sharding by user. The package passes the storage contract suite
// in package authtest, like every other backend.
//
// Every audited write runs in a unit of work: InUserTx and InGlobalTx run
// the caller's function in one READ COMMITTED transaction, and the writes
// are methods of the transaction they are given (userTx, globalTx), so that
// a change and the audit event the caller appends after it commit together
// or not at all. InUserTx checks its user's id once, so that the writes on
// that user's rows need not. The writes no event goes with stay outside:
// RotateRefreshToken and UpgradePasswordHash, which run on refreshes and
// logins, are single statements, to which a BEGIN and COMMIT would add only
// round trips; the retention jobs delete in bounded statements; ImportUsers
// is a transaction of its own.
//
// The mail flows keep two more tables of a user's rows, each dropped with
// the user: one_time_tokens (the SHA-256 of each mailed token, consumed by
// one DELETE … RETURNING, so that of concurrent uses exactly one wins) and
// outbox, the mail a unit of work queues with the change it tells of. The
// outbox's senders, one per replica, share it outside units of work:
// ClaimMail leases the earliest due mails in one statement whose SELECT …
// FOR UPDATE SKIP LOCKED lets concurrent claims take different mails
// without waiting on each other, and RetryMail and OutboxStats are single
// statements. ClaimMail and OutboxStats, like the retention jobs, sweep
// every user's rows: sharded by user, each shard would have its own.
//
// Disabling or deleting a user and revoking admin first lock the admin
// role's row in their unit of work, so that these changes run one at a time
// and two of them can't each remove one of the last two active admins.
package postgres
