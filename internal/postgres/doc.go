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
// A method that takes an *auth.Event appends it to the audit log in the
// transaction of its change, last, once the change is known to have happened;
// a malformed event (an id or user id that is not a UUID) is EInvalid and
// undoes the change with it. Disabling or deleting a user and revoking admin
// first lock the admin role's row, so that these changes run one at a time and
// two of them can't each remove one of the last two active admins.
package postgres
