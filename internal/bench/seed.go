package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
)

// Importer inserts users in bulk; authd's storage backends implement it.
type Importer interface {
	// ImportUsers inserts users, skipping those whose email is taken, and
	// returns how many it inserted.
	ImportUsers(ctx context.Context, users []*auth.User) (int, error)
}

// seedBatch is how many users one ImportUsers call inserts: large enough
// that per-call overhead vanishes, small enough that a batch's transaction
// holds no lock for long.
const seedBatch = 10_000

// SeedResult reports a seeding.
type SeedResult struct {
	Users    int // users that must exist
	Inserted int // users that did not exist yet
	Elapsed  time.Duration
}

// Rate returns inserted users per second.
func (r SeedResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Inserted) / r.Elapsed.Seconds()
}

// seed makes sure users bench-0 … bench-(n-1) exist, active with verified
// emails and the role user, all with the password hash hash. Sharing one
// hash is what makes a million users possible: computing a million argon2id
// hashes would take hours. Users that exist already are left as they are.
func seed(ctx context.Context, store Importer, n int, hash string) (SeedResult, error) {
	return seedBatches(ctx, store, n, hash, seedBatch)
}

// seedBatches is seed with batches of size users.
func seedBatches(ctx context.Context, store Importer, n int, hash string, size int) (SeedResult, error) {
	start := time.Now()
	inserted, err := importAll(ctx, store, n, hash, size)
	return SeedResult{Users: n, Inserted: inserted, Elapsed: time.Since(start)}, err
}

// importAll imports the seeded users in batches of size and returns how
// many it inserted.
func importAll(ctx context.Context, store Importer, n int, hash string, size int) (int, error) {
	inserted := 0
	batch := make([]*auth.User, 0, min(n, size))
	for lo := 0; lo < n; lo += size {
		batch = batch[:0]
		// Timestamps in the precision both backends store, so that a seeded
		// user reads back exactly as written.
		now := time.Now().UTC().Truncate(time.Microsecond)
		for i := lo; i < min(lo+size, n); i++ {
			id, err := uuid.NewV7()
			if err != nil {
				return inserted, fmt.Errorf("seed: new user id: %w", err)
			}
			batch = append(batch, &auth.User{
				ID:            id.String(),
				Email:         UserEmail(i),
				EmailVerified: true,
				PasswordHash:  hash,
				HasPassword:   true,
				Status:        auth.StatusActive,
				Roles:         []string{auth.RoleUser},
				CreatedAt:     now,
				UpdatedAt:     now,
			})
		}
		k, err := store.ImportUsers(ctx, batch)
		inserted += k
		if err != nil {
			return inserted, fmt.Errorf("seed users %d..%d: %w", lo, lo+len(batch)-1, err)
		}
	}
	return inserted, nil
}
