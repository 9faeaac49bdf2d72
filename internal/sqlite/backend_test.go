package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/sqlite"
)

// TestRevokeTokenForgetsExpired checks that revocations purge the records of
// tokens that expired more than an hour ago, and keep the others.
func TestRevokeTokenForgetsExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
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

// TestGrantRoleWhileDeletingIt races granting a role with deleting it: the
// grant either comes first, and its user is among the holders DeleteRole
// returns, or finds the role gone; the role never survives with a holder.
func TestGrantRoleWhileDeletingIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := mustOpen(t)
	u := createUser(t, db)
	for i := range 20 {
		name := fmt.Sprintf("role%d", i)
		ts := now()
		if err := db.CreateRole(ctx, &auth.Role{Name: name, CreatedAt: ts, UpdatedAt: ts}, nil); err != nil {
			t.Fatal(err)
		}
		var (
			start     = make(chan struct{})
			wg        sync.WaitGroup
			errGrant  error
			errDelete error
			holders   []string
		)
		wg.Go(func() { <-start; errGrant = db.GrantRole(ctx, u, name, now(), nil) })
		wg.Go(func() { <-start; holders, errDelete = db.DeleteRole(ctx, name, nil) })
		close(start)
		wg.Wait()
		if errDelete != nil {
			t.Fatalf("delete: %v", errDelete)
		}
		switch auth.ErrorCode(errGrant) {
		case "":
			if fmt.Sprint(holders) != fmt.Sprint([]string{u}) {
				t.Fatalf("the grant succeeded but DeleteRole returned holders %v", holders)
			}
		case auth.EInvalid:
			if len(holders) != 0 {
				t.Fatalf("the grant found no role but DeleteRole returned holders %v", holders)
			}
		default:
			t.Fatalf("grant: %v", errGrant)
		}
		got, err := db.User(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.Roles) != fmt.Sprint([]string{auth.RoleUser}) {
			t.Fatalf("roles after the race: %v", got.Roles)
		}
	}
}

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
		u := &auth.User{ID: id, Email: id + "@example.com", Status: auth.StatusActive, CreatedAt: ts, UpdatedAt: ts}
		if err := db.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
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
	u := &auth.User{ID: id, Email: id + "@example.com", Status: auth.StatusActive,
		Roles: append(roles, auth.RoleUser), CreatedAt: ts, UpdatedAt: ts}
	if err := db.CreateUser(context.Background(), u, nil); err != nil {
		t.Fatal(err)
	}
	return id
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
