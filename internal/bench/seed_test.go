package bench

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/postgres"
	"github.com/talentforge/authd/internal/postgres/pgtest"
	"github.com/talentforge/authd/internal/sqlite"
)

// batchRecorder passes imports on to a real store and records their sizes.
type batchRecorder struct {
	Importer
	mu    sync.Mutex
	sizes []int
}

func (b *batchRecorder) ImportUsers(ctx context.Context, users []*auth.User) (int, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(users))
	b.mu.Unlock()
	return b.Importer.ImportUsers(ctx, users)
}

// seedStore is a store the bench seeds: either backend.
type seedStore interface {
	Importer
	UserByEmail(ctx context.Context, email string) (*auth.User, error)
}

// openSQLite returns a migrated SQLite store in a temporary directory.
func openSQLite(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openPostgres returns a migrated PostgreSQL store in a fresh schema of the
// test server.
func openPostgres(t *testing.T) *postgres.DB {
	t.Helper()
	url := pgtest.URL(t)
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSeed(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSeed(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { testSeed(t, openPostgres(t)) })
}

// testSeed seeds db in concurrent batches, and checks that every user is
// there once, as a real user of the role user would be.
func testSeed(t *testing.T, db seedStore) {
	ctx := t.Context()
	const hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	rec := &batchRecorder{Importer: db}
	// Batches of 4, 3 at once, stand for batches of seedBatch, which would
	// make the test slow.
	const n = 2*4 + 3
	res, err := seedBatches(ctx, rec, n, hash, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != n || res.Inserted != n || res.Elapsed <= 0 || res.Rate() <= 0 {
		t.Errorf("first seed: %+v, rate %v", res, res.Rate())
	}
	// Concurrent batches end in any order.
	slices.Sort(rec.sizes)
	if diff := cmp.Diff([]int{3, 4, 4}, rec.sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}

	for i := range n {
		u, err := db.UserByEmail(ctx, UserEmail(i))
		if err != nil {
			t.Fatalf("seeded user %d: %v", i, err)
		}
		id, err := uuid.Parse(u.ID)
		if err != nil || id.Version() != 7 {
			t.Errorf("user %d id %q: want a UUIDv7", i, u.ID)
		}
		if u.PasswordHash != hash || !u.HasPassword || !u.EmailVerified || u.Status != auth.StatusActive ||
			len(u.Roles) != 1 || u.Roles[0] != auth.RoleUser || u.CreatedAt.IsZero() || !u.CreatedAt.Equal(u.UpdatedAt) ||
			u.CreatedAt.Location() != time.UTC || u.CreatedAt.Nanosecond()%1000 != 0 {
			t.Errorf("user %d: %+v", i, u)
		}
	}

	// A second seed finds every user in place and inserts nothing; a larger
	// one inserts only the new users.
	if res, err := seed(ctx, db, n, hash); err != nil || res.Inserted != 0 {
		t.Errorf("re-seed: %+v, %v; want nothing inserted", res, err)
	}
	if res, err := seed(ctx, db, n+2, hash); err != nil || res.Inserted != 2 {
		t.Errorf("seed of 2 more: %+v, %v", res, err)
	}
}

// failingStore fails the import of the batch that starts with user fail,
// and records every batch it was given.
type failingStore struct {
	mu     sync.Mutex
	fail   string
	starts []string
}

var errImport = errors.New("import refused")

func (f *failingStore) ImportUsers(_ context.Context, users []*auth.User) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, users[0].Email)
	if users[0].Email == f.fail {
		return 0, errImport
	}
	return len(users), nil
}

// TestSeedStopsOnFailure: a batch that fails ends the seeding with its
// error, naming its users, and no batch starts after it. With one worker the
// order is fixed: batches 0 and 1, then the failing 2, then nothing.
func TestSeedStopsOnFailure(t *testing.T) {
	st := &failingStore{fail: UserEmail(4)}
	res, err := seedBatches(t.Context(), st, 10, "hash", 2, 1)
	if !errors.Is(err, errImport) || res.Inserted != 4 {
		t.Fatalf("got %+v, %v; want 4 inserted and the import error", res, err)
	}
	if want := "seed users 4..5"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	if diff := cmp.Diff([]string{UserEmail(0), UserEmail(2), UserEmail(4)}, st.starts); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

// TestSizes seeds PostgreSQL and reads the sizes a run reports: every table
// of SizeTables, the users counted exactly, and sizes that grow with them.
func TestSizes(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t)
	sizes := func(ctx context.Context, tables []string) ([]TableSize, error) {
		ts, err := db.TableSizes(ctx, tables)
		out := make([]TableSize, len(ts))
		for i, t := range ts {
			out[i] = TableSize{Table: t.Table, Rows: t.Rows, Heap: t.Heap, Indexes: t.Indexes, Total: t.Total}
		}
		return out, err
	}
	const n = 500
	if _, err := seed(ctx, db, n, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"); err != nil {
		t.Fatal(err)
	}
	s, err := measureSizes(ctx, sizes)
	if err != nil {
		t.Fatal(err)
	}
	if s.Users != n || len(s.Tables) != len(SizeTables) {
		t.Fatalf("sizes: %+v", s)
	}
	for i, ts := range s.Tables {
		if ts.Table != SizeTables[i] {
			t.Errorf("table %d is %s, want %s", i, ts.Table, SizeTables[i])
		}
		// Every table has at least its primary key, so its indexes take
		// space even when empty; the total includes them.
		if ts.Indexes <= 0 || ts.Total < ts.Heap+ts.Indexes {
			t.Errorf("%s: %+v", ts.Table, ts)
		}
	}
	users, roles := s.Tables[0], s.Tables[1]
	// A seeded user is a row of a hundred-odd bytes and a few index
	// entries: anything outside this range is a wrong division or unit.
	if users.Heap <= 0 || roles.Rows != n || s.perUser(users.Total) < 100 || s.perUser(users.Total) > 10_000 {
		t.Errorf("users %+v, user_roles %+v, %.0f B/user", users, roles, s.perUser(users.Total))
	}

	if _, err := db.TableSizes(ctx, []string{"users", "no_such_table"}); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("size of a missing table: %v", err)
	}

	rep := &Report{Options: Options{URLs: []string{"http://127.0.0.1:1"}}, Sizes: s}
	var text, js strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"database sizes after the run, per user (500 users)", "refresh_tokens", "total/user"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sizes struct {
			Users  int64 `json:"users"`
			Tables []struct {
				Table             string  `json:"table"`
				TotalBytes        int64   `json:"total_bytes"`
				TotalBytesPerUser float64 `json:"total_bytes_per_user"`
			} `json:"tables"`
		} `json:"database_sizes"`
	}
	if err := json.Unmarshal([]byte(js.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Sizes; got.Users != n || len(got.Tables) != len(SizeTables) ||
		got.Tables[0].TotalBytesPerUser != float64(got.Tables[0].TotalBytes)/n {
		t.Errorf("JSON sizes: %s", js.String())
	}
}
