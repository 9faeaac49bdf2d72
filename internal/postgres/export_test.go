package postgres

import (
	"context"

	"github.com/pressly/goose/v3"
)

// MigrateDownTo rolls back every migration newer than version, for tests
// that store data in an older schema.
func (db *DB) MigrateDownTo(ctx context.Context, version int64) error {
	return db.withProvider(ctx, func(p *goose.Provider) error {
		_, err := p.DownTo(ctx, version)
		return err
	})
}

// PlainEmail is the SQL condition of the rows migration 00005 leaves to the
// server.
const PlainEmail = plainEmail
