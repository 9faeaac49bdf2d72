package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
)

// TestListEventsOfUser checks the two-sided query behind EventFilter.UserID:
// an event the user caused about themselves is listed once, and pages
// continue where the previous one stopped.
func TestListEventsOfUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustOpen(t)
	user, other := newID(t), newID(t)

	var want []string // newest first
	for i := range 7 {
		ev := event(t, auth.EventUserUpdated, "")
		switch i % 3 {
		case 0: // the user about themselves
			ev.ActorType, ev.ActorID, ev.UserID = auth.ActorUser, user, user
		case 1: // the user about another
			ev.ActorType, ev.ActorID, ev.UserID = auth.ActorUser, user, other
		case 2: // another about the user
			ev.ActorType, ev.ActorID, ev.UserID = auth.ActorUser, other, user
		}
		if err := db.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		want = append([]string{ev.ID}, want...)
		// Noise the filter must skip.
		noise := event(t, auth.EventUserUpdated, other)
		noise.ActorType, noise.ActorID = auth.ActorUser, other
		if err := db.AppendEvent(ctx, noise); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	f := auth.EventFilter{UserID: user, Limit: 3}
	for page := 0; ; page++ {
		events, err := db.ListEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			break
		}
		if len(events) > f.Limit || page > 3 {
			t.Fatalf("page %d has %d events, limit %d", page, len(events), f.Limit)
		}
		for _, ev := range events {
			got = append(got, ev.ID)
		}
		f.Before = events[len(events)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events of the user:\n got %v\nwant %v", got, want)
	}
}

// TestRevokeTokenForgetsExpired checks that revocations purge the records of
// tokens that expired more than an hour ago, and keep the others.
func TestRevokeTokenForgetsExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustOpen(t)
	n := time.Now()
	for jti, exp := range map[string]time.Time{"old": n.Add(-2 * time.Hour), "recent": n.Add(-time.Minute), "live": n.Add(time.Hour)} {
		if err := db.RevokeToken(ctx, jti, exp, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RevokeToken(ctx, "new", n.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	for jti, want := range map[string]bool{"old": false, "recent": true, "live": true, "new": true, "unknown": false} {
		if got, err := db.TokenRevoked(ctx, jti); err != nil || got != want {
			t.Errorf("TokenRevoked(%q) = %v, %v; want %v", jti, got, err, want)
		}
	}
}

// event returns a system event of type typ concerning userID.
func event(t *testing.T, typ auth.EventType, userID string) *auth.Event {
	t.Helper()
	return &auth.Event{ID: newID(t), At: now(), Type: typ, ActorType: auth.ActorSystem,
		UserID: userID, Outcome: auth.OutcomeSuccess}
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
