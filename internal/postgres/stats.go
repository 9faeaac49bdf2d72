package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/metrics"
)

// PoolStats reports the connection pool's state, for metrics.
func (db *DB) PoolStats() metrics.DBStats {
	s := db.pool.Stat()
	return metrics.DBStats{
		InUse:    int(s.AcquiredConns()),
		Idle:     int(s.IdleConns()),
		Max:      int(s.MaxConns()),
		Waits:    s.EmptyAcquireCount(),
		WaitTime: s.EmptyAcquireWaitTime(),
	}
}

// TableSize is the size on disk of one table, in bytes, and its rows.
type TableSize struct {
	Table string
	Rows  int64
	// Heap is pg_relation_size (the main data), Indexes pg_indexes_size,
	// Total pg_total_relation_size (with TOAST, free-space and visibility
	// maps, and the indexes).
	Heap, Indexes, Total int64
}

// TableSizes returns the sizes of tables, in their order, with exact row
// counts. It is for benchmarks: counting the rows reads each table whole.
// Returns an error naming the table if one does not exist.
func (db *DB) TableSizes(ctx context.Context, tables []string) ([]TableSize, error) {
	out := make([]TableSize, 0, len(tables))
	for _, name := range tables {
		t := TableSize{Table: name}
		// to_regclass resolves the name through the search path, as the
		// queries of the store do, and is NULL for a table that is not there.
		err := db.pool.QueryRow(ctx, `
			SELECT pg_relation_size(c), pg_indexes_size(c), pg_total_relation_size(c)
			FROM to_regclass($1) AS c WHERE c IS NOT NULL`, name).Scan(&t.Heap, &t.Indexes, &t.Total)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("size of table %s: no such table", name)
		}
		if err != nil {
			return nil, dbError("size of table "+name, err)
		}
		// The name is one of the caller's tables, checked above to exist;
		// quoting it keeps it one identifier.
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{name}.Sanitize()).Scan(&t.Rows); err != nil {
			return nil, dbError("count rows of "+name, err)
		}
		out = append(out, t)
	}
	return out, nil
}
