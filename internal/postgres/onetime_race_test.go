package postgres_test

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
)

// TestConcurrentOneTimeTokensSupersede: of two creations of a token for one
// user and purpose whose transactions overlap, only the later one's token
// is left. The first is held open after its insert; the second runs until
// it either finishes (no serialisation: under READ COMMITTED its DELETE
// can't see the first's uncommitted token, so both would stay) or is seen
// waiting in pg_locks; only then is the first released.
func TestConcurrentOneTimeTokensSupersede(t *testing.T) {
	db, url := mustOpen(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &auth.User{ID: uuid.Must(uuid.NewV7()).String(), Email: "race@example.com", Status: auth.StatusActive,
		Roles: []string{auth.RoleUser}, CreatedAt: now, UpdatedAt: now}
	if err := createUser(ctx, db, u); err != nil {
		t.Fatal(err)
	}
	token := func() *auth.OneTimeToken {
		h := make([]byte, 32)
		rand.Read(h)
		return &auth.OneTimeToken{Hash: h, UserID: u.ID, Purpose: auth.PurposeResetPassword,
			Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	create := func(hold <-chan struct{}, inserted chan<- struct{}) error {
		return db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
			if err := tx.CreateOneTimeToken(ctx, token()); err != nil {
				return err
			}
			if inserted != nil {
				close(inserted)
				<-hold
			}
			return nil
		})
	}

	release, inserted := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() { first <- create(release, inserted) }()
	<-inserted
	second := make(chan error, 1)
	go func() { second <- create(nil, nil) }()

	waiting := func() bool {
		var n int
		query(t, url, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`, &n)
		return n > 0
	}
	secondDone := false
	for !secondDone && !waiting() {
		select {
		case err := <-second:
			if err != nil {
				t.Fatal(err)
			}
			secondDone = true
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(10 * time.Millisecond): // look at pg_locks again; no outcome depends on it
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if !secondDone {
		if err := <-second; err != nil {
			t.Fatal(err)
		}
	}
	var n int
	query(t, url, `SELECT count(*) FROM one_time_tokens WHERE user_id = $1 AND purpose = 'reset_password'`, &n, u.ID)
	if n != 1 {
		t.Fatalf("%d live reset tokens after two overlapping creations, want 1", n)
	}
}
