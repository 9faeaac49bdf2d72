package bench

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
)

// SizeTables are the tables whose size a run reports: the users and their
// roles, which seeding fills, and the tables the scenarios write (sign-up
// and login open a session with a refresh token and write audit events,
// refresh rotates the token).
var SizeTables = []string{"users", "user_roles", "sessions", "refresh_tokens", "audit_events"}

// TableSize is the size on disk of one table, in bytes.
type TableSize struct {
	Table string
	Rows  int64
	// Heap is the table's main data (PostgreSQL's pg_relation_size), Indexes
	// all its indexes (pg_indexes_size), and Total everything including
	// TOAST and the free-space and visibility maps (pg_total_relation_size).
	Heap, Indexes, Total int64
}

// SizeFunc returns the sizes of tables, in their order.
type SizeFunc func(ctx context.Context, tables []string) ([]TableSize, error)

// Sizes are the database's table sizes after a run, with the number of
// users they are divided by.
type Sizes struct {
	Users  int64 // rows of the users table
	Tables []TableSize
}

// measureSizes reads the sizes of SizeTables; the users table must be among
// them, since every figure is divided by its rows.
func measureSizes(ctx context.Context, sizes SizeFunc) (*Sizes, error) {
	ts, err := sizes(ctx, SizeTables)
	if err != nil {
		return nil, fmt.Errorf("database sizes: %w", err)
	}
	s := &Sizes{Tables: ts}
	for _, t := range ts {
		if t.Table == "users" {
			s.Users = t.Rows
		}
	}
	return s, nil
}

// perUser returns bytes ÷ users, 0 without users.
func (s *Sizes) perUser(bytes int64) float64 {
	if s.Users == 0 {
		return 0
	}
	return float64(bytes) / float64(s.Users)
}

func (s *Sizes) writeText(b *strings.Builder) {
	fmt.Fprintf(b, "database sizes after the run, per user (%d users):\n", s.Users)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-14s\trows\ttable\tindexes\ttotal\ttable/user\tindexes/user\ttotal/user\t\n", "table")
	for _, t := range s.Tables {
		fmt.Fprintf(tw, "%-14s\t%d\t%s\t%s\t%s\t%.0f B\t%.0f B\t%.0f B\t\n", t.Table, t.Rows,
			size(t.Heap), size(t.Indexes), size(t.Total), s.perUser(t.Heap), s.perUser(t.Indexes), s.perUser(t.Total))
	}
	tw.Flush()
}

// size formats bytes in the largest binary unit that keeps a whole number.
func size(bytes int64) string {
	switch {
	case bytes >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(bytes)/(1<<30))
	case bytes >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20))
	case bytes >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(bytes)/(1<<10))
	}
	return fmt.Sprintf("%d B", bytes)
}

type jsonSizes struct {
	Users  int64           `json:"users"`
	Tables []jsonTableSize `json:"tables"`
}

type jsonTableSize struct {
	Table               string  `json:"table"`
	Rows                int64   `json:"rows"`
	TableBytes          int64   `json:"table_bytes"`
	IndexesBytes        int64   `json:"indexes_bytes"`
	TotalBytes          int64   `json:"total_bytes"`
	TableBytesPerUser   float64 `json:"table_bytes_per_user"`
	IndexesBytesPerUser float64 `json:"indexes_bytes_per_user"`
	TotalBytesPerUser   float64 `json:"total_bytes_per_user"`
}

func (s *Sizes) toJSON() *jsonSizes {
	if s == nil {
		return nil
	}
	j := &jsonSizes{Users: s.Users, Tables: []jsonTableSize{}}
	for _, t := range s.Tables {
		j.Tables = append(j.Tables, jsonTableSize{
			Table: t.Table, Rows: t.Rows, TableBytes: t.Heap, IndexesBytes: t.Indexes, TotalBytes: t.Total,
			TableBytesPerUser: s.perUser(t.Heap), IndexesBytesPerUser: s.perUser(t.Indexes), TotalBytesPerUser: s.perUser(t.Total),
		})
	}
	return j
}
