package sqlite_test

import (
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// TestPoolStats: a connection held by a transaction shows as in use, and
// is back once it ends.
func TestPoolStats(t *testing.T) {
	db := mustOpen(t)
	if s := db.PoolStats(); s.Max < 0 || s.InUse != 0 {
		t.Fatalf("idle pool: %+v", s)
	}
	err := db.InGlobalTx(t.Context(), func(auth.GlobalTx) error {
		if s := db.PoolStats(); s.InUse < 1 {
			t.Errorf("inside a transaction: %+v, want a connection in use", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := db.PoolStats(); s.InUse != 0 || s.Idle < 1 {
		t.Errorf("after the transaction: %+v, want its connection idle", s)
	}
}
