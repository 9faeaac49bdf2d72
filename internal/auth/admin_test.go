package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/wiringtest"
)

// TestListUsersWalkWhileInserting walks every page while users sign up
// between pages: each user that existed at the start is seen exactly once.
func TestListUsersWalkWhileInserting(t *testing.T) {
	for _, w := range wiringtest.All() {
		t.Run(w.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnvAt(t, w, authtest.Options{})
			ctx := t.Context()
			_, adm := e.admin(t, "root@example.com")
			want := map[string]bool{adm.UserID: true}
			for i := range 12 {
				u, _ := e.register(t, fmt.Sprintf("u%02d@example.com", i))
				want[u.ID] = true
			}
			seen := map[string]int{}
			cursor, pages := "", 0
			for {
				users, next, err := e.svc.ListUsers(ctx, adm, auth.UserQuery{Limit: 5, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, u := range users {
					seen[u.ID]++
					if u.PasswordHash != "" {
						t.Fatal("a listing exposed a password hash")
					}
				}
				e.register(t, fmt.Sprintf("late%02d@example.com", pages))
				if next == "" {
					break
				}
				if pages > 20 {
					t.Fatal("the walk does not end")
				}
				cursor = next
			}
			for id := range want {
				if seen[id] != 1 {
					t.Errorf("user %s seen %d times", id, seen[id])
				}
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("user %s seen %d times", id, n)
				}
			}
		})
	}
}

func TestListingInputErrors(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		for _, q := range []auth.UserQuery{
			{Limit: 101}, {Limit: -1}, {Cursor: "nonsense"}, {Status: "sleeping"}, {Role: "Not A Role"},
			{EmailPrefix: "a\x00b"},
		} {
			_, _, err := e.svc.ListUsers(ctx, adm, q)
			if auth.ErrorCode(err) != auth.EInvalid {
				t.Errorf("ListUsers(%+v) = %v, want invalid_request", q, err)
			}
		}
		// A cursor of one listing is refused by another.
		e.register(t, "a@example.com")
		_, next, err := e.svc.ListUsers(ctx, adm, auth.UserQuery{Limit: 1})
		if err != nil || next == "" {
			t.Fatalf("first page: %q %v", next, err)
		}
		_, _, err = e.svc.Audit(ctx, adm, auth.AuditQuery{Cursor: next})
		wantCode(t, err, auth.EInvalid)
		_, _, err = e.svc.Audit(ctx, adm, auth.AuditQuery{Type: "no.such"})
		wantCode(t, err, auth.EInvalid)
		// Times RFC 3339 can write that are past year 9999 in UTC (SQLite's
		// text comparison took them for earlier than today).
		late := time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("-23:59", -(23*3600+59*60)))
		for _, q := range []auth.AuditQuery{{Since: late}, {Until: late}} {
			_, _, err = e.svc.Audit(ctx, adm, q)
			wantCode(t, err, auth.EInvalid)
		}
	})
}

// TestAuditRecordsTheFlows checks that the user-facing flows leave the
// events SPEC §4 lists, with actor and outcome.
func TestAuditRecordsTheFlows(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		u, pair := e.register(t, "ada@example.com")
		_, _, err := e.svc.Login(ctx, auth.LoginInput{Email: "ada@example.com", Password: "wrong password!", Origin: auth.Origin{IP: "203.0.113.9"}})
		wantCode(t, err, auth.EInvalidCredentials)
		_, _, err = e.svc.Login(ctx, auth.LoginInput{Email: "nobody@example.com", Password: "wrong password!"})
		wantCode(t, err, auth.EInvalidCredentials)
		p := e.principal(t, pair)
		if err := e.svc.ChangePassword(ctx, p, pw, pw+"!"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Logout(ctx, p, ""); err != nil {
			t.Fatal(err)
		}

		events, _, err := e.svc.Audit(ctx, adm, auth.AuditQuery{UserID: u.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(events) - 1; i >= 0; i-- { // oldest first
			ev := events[i]
			got = append(got, fmt.Sprintf("%s %s %s %s", ev.Type, ev.ActorType, ev.Outcome, ev.Reason))
		}
		want := []string{
			"user.registered user success ",
			"login.succeeded user success ",
			"login.failed anonymous failure invalid_credentials",
			"password.changed user success ",
			"logout user success ",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events of the user:\n got %q\nwant %q", got, want)
		}
		if events[2].IP != "203.0.113.9" {
			t.Errorf("failed login recorded IP %q", events[2].IP)
		}
		// The failure for an unknown email is recorded without any email.
		failed, _, err := e.svc.Audit(ctx, adm, auth.AuditQuery{Type: auth.EventLoginFailed})
		if err != nil || len(failed) != 2 || failed[0].UserID != "" {
			t.Fatalf("failed logins: %+v %v", failed, err)
		}
	})
}

func TestPurgeAudit(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		e.register(t, "old@example.com")
		e.clock.Advance(91 * 24 * time.Hour)
		e.register(t, "new@example.com")

		if n, err := e.svc.PurgeAudit(ctx, 0); n != 0 || err != nil {
			t.Fatalf("retention 0 deleted %d (%v); it keeps everything", n, err)
		}
		n, err := e.svc.PurgeAudit(ctx, 90*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// The first signing key's key.rotated, root's creation and login, old's
		// sign-up and login.
		if n != 5 {
			t.Errorf("purged %d events, want 5", n)
		}
		events, _, err := e.svc.Audit(ctx, adm, auth.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if ev.At.Before(e.clock.Now().Add(-90 * 24 * time.Hour)) {
				t.Errorf("an event older than the retention survived: %+v", ev)
			}
		}
		if len(events) != 2 {
			t.Errorf("%d events left, want new's sign-up and login", len(events))
		}
	})
}

// TestAdminEditsAreAudited: an administrator's edit names the fields it
// changed; disabling is its own event type.
func TestAdminEditsAreAudited(t *testing.T) {
	forEachWiring(t, authtest.Options{}, func(t *testing.T, e *env) {
		ctx := t.Context()
		_, adm := e.admin(t, "root@example.com")
		u, _ := e.register(t, "ada@example.com")
		name, yes, off := "Ada", true, auth.StatusDisabled
		if _, err := e.svc.UpdateUser(ctx, adm, u.ID, auth.UserPatch{Name: &name, EmailVerified: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateUser(ctx, adm, u.ID, auth.UserPatch{Status: &off, Name: &name}); err != nil {
			t.Fatal(err)
		}
		events, _, err := e.svc.Audit(ctx, adm, auth.AuditQuery{UserID: u.ID, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%s/%s %s/%s", events[1].Type, events[1].Reason, events[0].Type, events[0].Reason)
		if want := "user.updated/name,email_verified user.disabled/status"; got != want || events[0].ActorID != adm.UserID {
			t.Errorf("events %q by %s, want %q by the admin", got, events[0].ActorID, want)
		}
	})
}
