package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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

// seedWorkers is how many batches are imported at once. One import at a
// time leaves the database idle while the next batch is built and sent, and
// uses one backend, so one core, for the inserts; with a few in flight every
// core works on them (200,000 users on two busy cores: 1.3-1.7× the rate of
// one at a time). More would only queue for the same cores.
const seedWorkers = 4

// seed makes sure users bench-0 … bench-(n-1) exist, active with verified
// emails and the role user, all with the password hash hash. Sharing one
// hash is what makes a million users possible: computing a million argon2id
// hashes would take hours. Users that exist already are left as they are.
func seed(ctx context.Context, store Importer, n int, hash string) (SeedResult, error) {
	return seedBatches(ctx, store, n, hash, seedBatch, seedWorkers)
}

// seedBatches is seed with batches of size users, workers of them at once.
func seedBatches(ctx context.Context, store Importer, n int, hash string, size, workers int) (SeedResult, error) {
	start := time.Now()
	inserted, err := importAll(ctx, store, n, hash, size, workers)
	return SeedResult{Users: n, Inserted: inserted, Elapsed: time.Since(start)}, err
}

// importAll imports the seeded users in batches of size, workers batches at
// once, and returns how many it inserted. The first failure stops the
// batches not yet started; it is the one returned.
func importAll(ctx context.Context, store Importer, n int, hash string, size, workers int) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	starts := make(chan int)
	var (
		wg       sync.WaitGroup
		inserted atomic.Int64
	)
	for range min(workers, (n+size-1)/size) {
		wg.Go(func() {
			batch := make([]*auth.User, 0, min(n, size))
			for lo := range starts {
				k, err := importBatch(ctx, store, batch[:0], lo, min(lo+size, n), hash)
				inserted.Add(int64(k))
				if err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for lo := 0; lo < n; lo += size {
		select {
		case starts <- lo:
		case <-ctx.Done():
			break feed
		}
	}
	close(starts)
	wg.Wait()
	return int(inserted.Load()), context.Cause(ctx)
}

// importBatch imports users lo … hi-1, building them in batch.
func importBatch(ctx context.Context, store Importer, batch []*auth.User, lo, hi int, hash string) (int, error) {
	// Timestamps in the precision both backends store, so that a seeded user
	// reads back exactly as written.
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := lo; i < hi; i++ {
		id, err := uuid.NewV7()
		if err != nil {
			return 0, fmt.Errorf("seed: new user id: %w", err)
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
	if err != nil {
		return k, fmt.Errorf("seed users %d..%d: %w", lo, hi-1, err)
	}
	return k, nil
}
