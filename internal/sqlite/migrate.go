package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"text/tabwriter"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// provider returns a goose provider over the embedded migrations. It is built
// per call because it is cheap and holds no state worth keeping; it must not be
// closed, since closing it would close db.db.
func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db.db, fsys,
		// Go migrations registered globally by some other package must never run
		// against this schema.
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(normalizeEmailsMigration()),
	)
}

// MigrateUp applies every pending migration, each in its own transaction. On
// error the migrations before the failing one stay applied.
func (db *DB) MigrateUp(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("sqlite: migrate up: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate up: %w", err)
	}
	return nil
}

// MigrateDown rolls back the most recently applied migration. It returns an
// error when no migration is applied.
func (db *DB) MigrateDown(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("sqlite: migrate down: %w", err)
	}
	if _, err := p.Down(ctx); err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return errors.New("sqlite: migrate down: no migration is applied")
		}
		return fmt.Errorf("sqlite: migrate down: %w", err)
	}
	return nil
}

// MigrationStatus writes one line per known migration to w: its version, file
// name, and when it was applied (UTC) or "pending".
func (db *DB) MigrationStatus(ctx context.Context, w io.Writer) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("sqlite: migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: migration status: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED AT")
	for _, s := range st {
		applied := "pending"
		if s.State == goose.StateApplied {
			applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Source.Version, path.Base(s.Source.Path), applied)
	}
	return tw.Flush()
}

// SchemaVersion returns the version of the newest applied migration (0
// when none is), for readiness reports.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return v, nil
}

// MigrationsPending reports whether some embedded migration is not applied.
func (db *DB) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := db.provider()
	if err != nil {
		return false, fmt.Errorf("sqlite: migration status: %w", err)
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlite: migration status: %w", err)
	}
	return pending, nil
}
