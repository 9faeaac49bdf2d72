package authtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
)

// BenchmarkImportUsers imports 100,000 new users per iteration into db in
// batches of 10,000, as a seeding tool does, and reports users/s. Each
// backend's tests call it from a Benchmark function of their own.
func BenchmarkImportUsers(b *testing.B, db Backend) {
	im, ok := db.(importer)
	if !ok {
		b.Fatalf("%T has no ImportUsers method", db)
	}
	const total, batch = 100_000, 10_000
	users := make([]*auth.User, batch)
	n := 0
	for b.Loop() {
		for range total / batch {
			now := time.Now().UTC().Truncate(time.Microsecond)
			for i := range users {
				n++
				users[i] = &auth.User{
					ID:            uuid.Must(uuid.NewV7()).String(),
					Email:         fmt.Sprintf("bench-%d@example.com", n),
					EmailVerified: true,
					PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
					HasPassword:   true,
					Status:        auth.StatusActive,
					Roles:         []string{auth.RoleUser},
					CreatedAt:     now,
					UpdatedAt:     now,
				}
			}
			k, err := im.ImportUsers(b.Context(), users)
			if err != nil {
				b.Fatal(err)
			}
			if k != batch {
				b.Fatalf("ImportUsers inserted %d users, want %d", k, batch)
			}
		}
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "users/s")
}
