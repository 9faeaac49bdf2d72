package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/sqlite"
)

// TestListUsersKeysetOrder pages through users whose ids differ in every
// hex position (digits and letters alike), checking that "id > After" on the
// stored text follows the order of the UUIDs.
func TestListUsersKeysetOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	var want []string
	for range 30 {
		want = append(want, createUser(t, db))
	}
	// Version 4 ids, unlike v7 ones, are not created in order.
	for range 30 {
		id := uuid.New().String()
		ts := now()
		storeUser(t, db, &auth.User{ID: id, Email: id + "@example.com", Status: auth.StatusActive, CreatedAt: ts, UpdatedAt: ts})
		want = append(want, id)
	}
	sortUUIDs(t, want)

	var got []string
	f := auth.UserFilter{Limit: 7}
	for {
		users, err := db.ListUsers(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) == 0 {
			break
		}
		for _, u := range users {
			got = append(got, u.ID)
		}
		f.After = users[len(users)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("user ids:\n got %v\nwant %v", got, want)
	}
}

// sortUUIDs sorts canonical UUID strings by the bytes of the UUIDs.
func sortUUIDs(t *testing.T, ids []string) {
	t.Helper()
	parsed := make([]uuid.UUID, len(ids))
	for i, id := range ids {
		parsed[i] = uuid.MustParse(id)
	}
	slices.SortFunc(parsed, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	for i, u := range parsed {
		ids[i] = u.String()
	}
}

// createUser stores a new active user holding the user role and roles.
func createUser(t *testing.T, db *sqlite.DB, roles ...string) string {
	t.Helper()
	ts := now()
	id := newID(t)
	storeUser(t, db, &auth.User{ID: id, Email: id + "@example.com", Status: auth.StatusActive,
		Roles: append(roles, auth.RoleUser), CreatedAt: ts, UpdatedAt: ts})
	return id
}

// storeUser creates u in a unit of work of its own.
func storeUser(t *testing.T, db *sqlite.DB, u *auth.User) {
	t.Helper()
	ctx := context.Background()
	if err := db.InUserTx(ctx, u.ID, func(tx auth.UserTx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatal(err)
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
