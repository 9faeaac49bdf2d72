package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/postgres"
)

// TestLastAdminConcurrently races two transactions that each take admin from
// one of the last two active admins, in every pairing of the three ways to
// do it (disable, delete, revoke admin): exactly one may win, whatever the
// interleaving, and one active admin must remain.
func TestLastAdminConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := mustOpen(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })

	ways := []struct {
		name string
		fn   func(id string) error
	}{
		{"disable", func(id string) error {
			u, err := db.User(ctx, id)
			if err != nil {
				return err
			}
			u.Status, u.UpdatedAt = auth.StatusDisabled, now()
			return db.UpdateUser(ctx, u, true, event(t, auth.EventUserDisabled, id))
		}},
		{"delete", func(id string) error {
			return db.DeleteUser(ctx, id, event(t, auth.EventUserDeleted, id))
		}},
		{"revoke", func(id string) error {
			return db.RevokeRole(ctx, id, auth.RoleAdmin, now(), event(t, auth.EventRoleRevoked, id))
		}},
	}
	const rounds = 10
	for _, a := range ways {
		for _, b := range ways {
			for range rounds {
				if _, err := conn.Exec(ctx, `DELETE FROM users; DELETE FROM audit_events`); err != nil {
					t.Fatal(err)
				}
				x, y := createAdmin(t, db), createAdmin(t, db)

				var (
					start      = make(chan struct{})
					wg         sync.WaitGroup
					errX, errY error
				)
				wg.Go(func() { <-start; errX = a.fn(x) })
				wg.Go(func() { <-start; errY = b.fn(y) })
				close(start)
				wg.Wait()

				name := fmt.Sprintf("%s %s / %s %s", a.name, x, b.name, y)
				codes := [2]auth.Code{auth.ErrorCode(errX), auth.ErrorCode(errY)}
				if codes != [2]auth.Code{"", auth.ELastAdmin} && codes != [2]auth.Code{auth.ELastAdmin, ""} {
					t.Fatalf("%s: errors %v, %v; want one nil and one %s", name, errX, errY, auth.ELastAdmin)
				}
				var admins, events int
				err := conn.QueryRow(ctx, `
					SELECT (SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id
					        WHERE r.role = 'admin' AND u.status = 'active'),
					       (SELECT count(*) FROM audit_events)`).Scan(&admins, &events)
				if err != nil {
					t.Fatal(err)
				}
				if admins != 1 || events != 1 {
					t.Fatalf("%s: %d active admins and %d events after the race, want 1 and 1", name, admins, events)
				}
			}
		}
	}
}

// TestLastAdminGuard checks which changes the guard lets through when one
// active admin is left.
func TestLastAdminGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustOpen(t)

	admin := createAdmin(t, db)
	disabled := createAdmin(t, db)
	u, err := db.User(ctx, disabled)
	if err != nil {
		t.Fatal(err)
	}
	u.Status, u.UpdatedAt = auth.StatusDisabled, now()
	if err := db.UpdateUser(ctx, u, false, nil); err != nil {
		t.Fatalf("disable one of two admins: %v", err)
	}

	last := func(what string, err error) {
		t.Helper()
		if auth.ErrorCode(err) != auth.ELastAdmin {
			t.Errorf("%s the last active admin: error %v, want %s", what, err, auth.ELastAdmin)
		}
	}
	a, err := db.User(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	a.Status, a.UpdatedAt = auth.StatusDisabled, now()
	last("disable", db.UpdateUser(ctx, a, true, nil))
	last("delete", db.DeleteUser(ctx, admin, nil))
	last("revoke admin from", db.RevokeRole(ctx, admin, auth.RoleAdmin, now(), nil))

	// The last active admin may still be edited without being disabled,
	// and lose other roles.
	a.Status, a.Name = auth.StatusActive, "Still admin"
	if err := db.UpdateUser(ctx, a, false, nil); err != nil {
		t.Errorf("update the last active admin: %v", err)
	}
	if err := db.RevokeRole(ctx, admin, auth.RoleUser, now(), nil); err != nil {
		t.Errorf("revoke user from the last active admin: %v", err)
	}
	// A disabled admin is no active admin: disabling it again, taking admin
	// from it or deleting it never trips the guard.
	if err := db.UpdateUser(ctx, u, false, nil); err != nil {
		t.Errorf("disable a disabled admin again: %v", err)
	}
	if err := db.RevokeRole(ctx, disabled, auth.RoleAdmin, now(), nil); err != nil {
		t.Errorf("revoke admin from a disabled admin: %v", err)
	}
	if err := db.DeleteUser(ctx, disabled, nil); err != nil {
		t.Errorf("delete a disabled admin: %v", err)
	}
	if got, err := db.User(ctx, admin); err != nil || got.Status != auth.StatusActive || got.Name != "Still admin" {
		t.Errorf("the last active admin is now %+v (err %v)", got, err)
	}
}

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

// createAdmin stores a new active user holding the admin and user roles.
func createAdmin(t *testing.T, db *postgres.DB) string {
	t.Helper()
	return createUser(t, db, auth.RoleAdmin)
}

// createUser stores a new active user holding the user role and roles.
func createUser(t *testing.T, db *postgres.DB, roles ...string) string {
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

// TestGrantAdminWhileDeleting races granting admin to a user with deleting
// that user, which takes the last-admin guard's lock: the grant must never
// deadlock with the deletion, only find the user gone or come first.
func TestGrantAdminWhileDeleting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustOpen(t)
	createAdmin(t, db) // so that the deletions pass the guard
	for range 50 {
		u := createUser(t, db)
		var (
			start               = make(chan struct{})
			wg                  sync.WaitGroup
			errGrant, errDelete error
		)
		wg.Go(func() { <-start; errGrant = db.GrantRole(ctx, u, auth.RoleAdmin, now(), nil) })
		wg.Go(func() { <-start; errDelete = db.DeleteUser(ctx, u, nil) })
		close(start)
		wg.Wait()
		if c := auth.ErrorCode(errGrant); c != "" && c != auth.ENotFound {
			t.Fatalf("grant: %v", errGrant)
		}
		if errDelete != nil {
			t.Fatalf("delete: %v", errDelete)
		}
	}
}

// TestGrantRoleWhileDeletingIt races granting a role with deleting it: the
// grant either comes first, and its user is among the holders DeleteRole
// returns, or finds the role gone; the role never survives with a holder.
func TestGrantRoleWhileDeletingIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := mustOpen(t)
	u := createUser(t, db)
	for i := range 50 {
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
