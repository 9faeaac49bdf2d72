package authtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// rotate retires tok in favour of a fresh successor, sealed as sealed, with
// the grace interval g, and returns the successor.
func rotate(t *testing.T, s Backend, tok *auth.RefreshToken, sealed string, g time.Duration) *auth.RefreshToken {
	t.Helper()
	next := nextToken(t, tok, at(now(), time.Second))
	mustOK(t, s.RotateRefreshToken(context.Background(), tok, []byte(sealed), g, next, next.CreatedAt))
	return next
}

// testGraceOnDatabaseClock: without a replaced clock, the grace deadline
// comes from the database's own clock. The test's clock and the database's
// are the same machine's (or a server's that agrees with it), so the deadline
// lies within a minute of the test's now plus the interval.
func testGraceOnDatabaseClock(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	_, old := createSession(t, s, u.ID, now())
	before := time.Now()
	rotate(t, s, old, "sealed", grace)
	after := time.Now()

	got := getToken(t, s, u.ID, old.Hash)
	if got.GraceUntil.Before(before.Add(grace-time.Minute)) || got.GraceUntil.After(after.Add(grace+time.Minute)) {
		t.Errorf("GraceUntil = %v, want about %v", got.GraceUntil, before.Add(grace))
	}
	rt, _, _, err := s.RefreshState(ctx, u.ID, old.Hash)
	mustOK(t, err)
	if string(rt.Successor) != "sealed" {
		t.Errorf("RefreshState within the grace interval: Successor = %q, want sealed", rt.Successor)
	}
	n, err := s.ClearStaleSuccessors(ctx, 100)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("ClearStaleSuccessors cleared %d successors within their grace interval, want 0", n)
	}
}

// testRefreshStateGrace: RefreshState hands out a retired token's successor
// until the database's clock passes the deadline set at rotation, and not
// after, whatever the time the caller passed as the rotation's at.
func testRefreshStateGrace(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	_, old := createSession(t, s, u.ID, now())
	// A rotation time an hour off the database's clock, as a skewed replica
	// would write it, changes nothing.
	next := nextToken(t, old, at(clock.Now(), time.Hour))
	mustOK(t, s.RotateRefreshToken(ctx, old, []byte("sealed"), 10*time.Second, next, next.CreatedAt))

	successor := func() []byte {
		t.Helper()
		rt, _, _, err := s.RefreshState(ctx, u.ID, old.Hash)
		mustOK(t, err)
		if rt.RotatedAt.IsZero() {
			t.Error("RefreshState shows the retired token unrotated")
		}
		return rt.Successor
	}
	if got := successor(); string(got) != "sealed" {
		t.Errorf("at rotation: Successor = %q, want sealed", got)
	}
	clock.Advance(10 * time.Second) // the last instant of the interval
	if got := successor(); string(got) != "sealed" {
		t.Errorf("at the end of the interval: Successor = %q, want sealed", got)
	}
	clock.Advance(time.Microsecond)
	if got := successor(); got != nil {
		t.Errorf("past the interval: Successor = %q, want nil", got)
	}
}

// testClearStaleSuccessors: after rotations 1→2→3 only token 2 holds a
// successor; once the database's clock passes its grace deadline the
// retention job's ClearStaleSuccessors removes it, and nothing younger.
func testClearStaleSuccessors(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	_, t1 := createSession(t, s, u.ID, now())
	t2 := rotate(t, s, t1, "sealed-2", 10*time.Second)
	clock.Advance(5 * time.Second)
	t3 := rotate(t, s, t2, "sealed-3", 10*time.Second)
	_, o1 := createSession(t, s, u.ID, now())
	rotate(t, s, o1, "other", time.Hour)

	if got := getToken(t, s, u.ID, t1.Hash).Successor; got != nil {
		t.Errorf("token 1 Successor = %q after rotations 1→2→3, want nil", got)
	}
	clear := func(want int64) {
		t.Helper()
		n, err := s.ClearStaleSuccessors(ctx, 100)
		mustOK(t, err)
		if n != want {
			t.Errorf("ClearStaleSuccessors cleared %d, want %d", n, want)
		}
	}
	clear(0)
	clock.Advance(10 * time.Second) // token 2's deadline, not past it
	clear(0)
	if got := getToken(t, s, u.ID, t2.Hash).Successor; string(got) != "sealed-3" {
		t.Errorf("token 2 Successor = %q within its interval, want sealed-3", got)
	}
	clock.Advance(time.Microsecond)
	clear(1)
	got := getToken(t, s, u.ID, t2.Hash)
	if got.Successor != nil || !got.GraceUntil.IsZero() || got.RotatedAt.IsZero() {
		t.Errorf("token 2 after the job: Successor = %q, GraceUntil = %v, RotatedAt = %v; want none, zero, still retired",
			got.Successor, got.GraceUntil, got.RotatedAt)
	}
	if got := getToken(t, s, u.ID, o1.Hash).Successor; string(got) != "other" {
		t.Errorf("another session's successor within its interval: %q, want other", got)
	}
	if got := getToken(t, s, u.ID, t3.Hash); !got.RotatedAt.IsZero() {
		t.Error("the current token was touched")
	}
	clear(0)
}

// testClearStaleSuccessorsInBatches: one call clears at most limit
// successors, so the job never holds many row locks at once.
func testClearStaleSuccessorsInBatches(t *testing.T, s Backend, clock *Clock) {
	ctx := context.Background()
	u := createUser(t, s)
	for i := range 25 {
		_, tok := createSession(t, s, u.ID, now())
		rotate(t, s, tok, fmt.Sprint("sealed-", i), 10*time.Second)
	}
	clock.Advance(11 * time.Second)
	for _, want := range []int64{10, 10, 5, 0} {
		n, err := s.ClearStaleSuccessors(ctx, 10)
		mustOK(t, err)
		if n != want {
			t.Errorf("ClearStaleSuccessors(limit 10) cleared %d, want %d", n, want)
		}
	}
}
