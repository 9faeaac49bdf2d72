package sqlite

import (
	"context"
	"database/sql"
)

// MigrateDownTo rolls back every migration newer than version, for tests
// that store data in an older schema.
func (db *DB) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// SQL returns the underlying database, for tests that check columns the
// domain does not read.
func (db *DB) SQL() *sql.DB { return db.db }
