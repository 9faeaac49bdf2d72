package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/sqlite"
)

// batchRecorder passes imports on to a real store and records their sizes.
type batchRecorder struct {
	Importer
	sizes []int
}

func (b *batchRecorder) ImportUsers(ctx context.Context, users []*auth.User) (int, error) {
	b.sizes = append(b.sizes, len(users))
	return b.Importer.ImportUsers(ctx, users)
}

func TestSeed(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	const hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	rec := &batchRecorder{Importer: db}
	// Batches of 4 stand for batches of seedBatch, which would make the
	// test slow.
	const n = 2*4 + 3
	res, err := seedBatches(ctx, rec, n, hash, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != n || res.Inserted != n || res.Elapsed <= 0 || res.Rate() <= 0 {
		t.Errorf("first seed: %+v, rate %v", res, res.Rate())
	}
	if diff := cmp.Diff([]int{4, 4, 3}, rec.sizes); diff != "" {
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
