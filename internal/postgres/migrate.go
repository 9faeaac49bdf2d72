package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// withProvider runs fn with a goose provider over the embedded migrations and
// a database/sql view of the pool, which goose needs.
func (db *DB) withProvider(ctx context.Context, fn func(p *goose.Provider) error) error {
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close() // leaves the pool open
	id, err := migrationLockID(ctx, sqlDB)
	if err != nil {
		return err
	}
	// Retrying every second for five minutes lets replicas that start together
	// wait for the one that migrates instead of failing.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker),
		// Go migrations registered globally by some other package must never run
		// against this schema.
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(normalizeEmailsMigration()),
	)
	if err != nil {
		return err
	}
	return fn(p)
}

// migrationLockID derives the advisory-lock key from the current schema, so
// that migrators of one schema exclude each other while those of different
// schemas (parallel tests, each in its own schema) don't wait on each other.
func migrationLockID(ctx context.Context, db *sql.DB) (int64, error) {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, err
	}
	if !schema.Valid {
		// Goose would create its table nowhere; say why instead.
		return 0, errors.New("no current schema: the search_path names no existing schema")
	}
	h := fnv.New64a()
	h.Write([]byte("authd migrations\x00" + schema.String))
	return int64(h.Sum64()), nil
}

// MigrateUp applies every pending migration, each in its own transaction. On
// error the migrations before the failing one stay applied. Concurrent callers
// on the same schema wait for each other (up to five minutes).
func (db *DB) MigrateUp(ctx context.Context) error {
	err := db.withProvider(ctx, func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate up: %w", err)
	}
	return nil
}

// MigrateDown rolls back the most recently applied migration. It returns an
// error when no migration is applied.
func (db *DB) MigrateDown(ctx context.Context) error {
	err := db.withProvider(ctx, func(p *goose.Provider) error {
		_, err := p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return errors.New("no migration is applied")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate down: %w", err)
	}
	return nil
}

// MigrationStatus writes one line per known migration to w: its version, file
// name, and when it was applied or "pending".
func (db *DB) MigrationStatus(ctx context.Context, w io.Writer) error {
	err := db.withProvider(ctx, func(p *goose.Provider) error {
		st, err := p.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED AT")
		for _, s := range st {
			applied := "pending"
			if s.State == goose.StateApplied {
				// goose records the server's local time without a zone.
				applied = s.AppliedAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Source.Version, path.Base(s.Source.Path), applied)
		}
		return tw.Flush()
	})
	if err != nil {
		return fmt.Errorf("postgres: migration status: %w", err)
	}
	return nil
}

// SchemaVersion returns the version of the newest applied migration (0
// when none is), for readiness reports.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.withProvider(ctx, func(p *goose.Provider) (err error) {
		v, err = p.GetDBVersion(ctx)
		return err
	})
	if err != nil {
		return 0, dbError("schema version", err)
	}
	return v, nil
}

// MigrationsPending reports whether some embedded migration is not applied.
func (db *DB) MigrationsPending(ctx context.Context) (bool, error) {
	var pending bool
	err := db.withProvider(ctx, func(p *goose.Provider) error {
		var err error
		pending, err = p.HasPending(ctx)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: migration status: %w", err)
	}
	return pending, nil
}
