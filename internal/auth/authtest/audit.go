package authtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// The audit log: an event appended in a unit of work commits with the
// unit's changes, or not at all. The tests below write each change with its
// event as the domain does (tx.go's helpers: the change, then its event, in
// one unit of work) and check that the log holds exactly the events of the
// changes that happened: a tx method appends no event of its own, and one
// that fails (its unit of work then fails) leaves none behind.

// auditActor is the id of the user the events of these tests name as actor.
const auditActor = "01890a5d-ac96-7f4b-8cce-b302099a8057"

// newEvent returns an event of type typ concerning userID and resource with
// every other field set as well (a fresh UUIDv7 id, a time with a microsecond
// part, non-ASCII text), so that a backend that drops or alters a field fails
// the round trip. Call it in the order the events are appended: ids increase.
func newEvent(t *testing.T, typ auth.EventType, userID, resource string) *auth.Event {
	t.Helper()
	return &auth.Event{
		ID:        newID(t),
		At:        at(now(), 0),
		Type:      typ,
		ActorType: auth.ActorUser,
		ActorID:   auditActor,
		UserID:    userID,
		Resource:  resource,
		IP:        "2001:db8::7",
		UserAgent: "authtest/1.0 (événement)",
		Outcome:   auth.OutcomeSuccess,
		Reason:    "authtest",
	}
}

// listEvents returns what ListEvents returns for f; a zero f.Limit asks for
// every event.
func listEvents(t *testing.T, s Backend, f auth.EventFilter) []*auth.Event {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 10_000
	}
	evs, err := s.ListEvents(context.Background(), f)
	mustOK(t, err)
	for _, ev := range evs {
		wantUTC(t, ev.At)
	}
	return evs
}

// newestFirst returns evs, given in the order they were appended, in the
// order ListEvents returns them.
func newestFirst(evs []*auth.Event) []*auth.Event {
	r := slices.Clone(evs)
	slices.Reverse(r)
	return r
}

// wantEvents fails unless the audit log holds exactly want, given oldest
// first (in the order the events were appended).
func wantEvents(t *testing.T, s Backend, want ...*auth.Event) {
	t.Helper()
	if d := diff(newestFirst(want), listEvents(t, s, auth.EventFilter{})); d != "" {
		t.Fatalf("audit log, newest first (-want +got):\n%s", d)
	}
}

// auditLog is what a test expects the audit log to hold.
type auditLog struct {
	t    *testing.T
	s    Backend
	want []*auth.Event // oldest first
}

// recorded fails unless the call that returned err succeeded and appended ev
// and nothing else.
func (l *auditLog) recorded(ev *auth.Event, err error) {
	l.t.Helper()
	mustOK(l.t, err)
	l.want = append(l.want, ev)
	wantEvents(l.t, l.s, l.want...)
}

// unchanged fails unless the call that returned err returned code ("" for
// success) and appended nothing.
func (l *auditLog) unchanged(err error, code auth.Code) {
	l.t.Helper()
	wantCode(l.t, err, code)
	wantEvents(l.t, l.s, l.want...)
}

// noChange fails unless the call that returned err succeeded, its tx method
// reported no change (errNoChange), and nothing was appended.
func (l *auditLog) noChange(err error) {
	l.t.Helper()
	wantNoChange(l.t, err)
	wantEvents(l.t, l.s, l.want...)
}

func testAppendEvent(t *testing.T, s Backend) {
	ctx := context.Background()
	wantEvents(t, s) // a fresh store's log is empty

	byUser := newEvent(t, auth.EventUserUpdated, newID(t), "")
	failedLogin := &auth.Event{
		ID: newID(t), At: at(now(), time.Second), Type: auth.EventLoginFailed,
		ActorType: auth.ActorAnonymous, UserID: newID(t), IP: "203.0.113.9",
		UserAgent: "curl/8.9", Outcome: auth.OutcomeFailure, Reason: string(auth.EInvalidCredentials),
	}
	bySystem := &auth.Event{ // every optional field empty
		ID: newID(t), At: at(now(), 2*time.Second), Type: auth.EventKeyRotated,
		ActorType: auth.ActorSystem, Resource: "kid-1", Outcome: auth.OutcomeSuccess,
	}
	byClient := newEvent(t, auth.EventTokenRevoked, "", "jti-dGVzdA")
	byClient.ActorType, byClient.ActorID = auth.ActorClient, newID(t)
	log := []*auth.Event{byUser, failedLogin, bySystem, byClient}
	for _, ev := range log {
		mustOK(t, s.AppendEvent(ctx, ev))
	}
	wantEvents(t, s, log...)
}

func testEventsUsers(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}

	u := newUser(t)
	ev := newEvent(t, auth.EventUserCreated, u.ID, "")
	log.recorded(ev, txCreateUser(ctx, s, u, ev))
	taken := newUser(t)
	taken.Email = u.Email
	log.unchanged(txCreateUser(ctx, s, taken, newEvent(t, auth.EventUserCreated, taken.ID, "")), auth.EEmailTaken)
	dupID := newUser(t)
	dupID.ID = u.ID
	log.unchanged(txCreateUser(ctx, s, dupID, newEvent(t, auth.EventUserCreated, u.ID, "")), auth.EConflict)
	badRole := newUser(t)
	badRole.Roles = []string{"no-such-role"}
	log.unchanged(txCreateUser(ctx, s, badRole, newEvent(t, auth.EventUserCreated, badRole.ID, "")), auth.EInvalid)
	log.unchanged(txCreateUser(ctx, s, newUser(t), nil), "")

	upd := *u
	upd.Name, upd.UpdatedAt = "Renamed", at(u.UpdatedAt, time.Minute)
	ev = newEvent(t, auth.EventUserUpdated, u.ID, "")
	log.recorded(ev, txUpdateUser(ctx, s, upd.ID, fullUpdate(s, &upd, false), ev))
	missing := newUser(t)
	log.unchanged(txUpdateUser(ctx, s, missing.ID, fullUpdate(s, missing, false), newEvent(t, auth.EventUserUpdated, missing.ID, "")), auth.ENotFound)
	upd.Name = "Renamed again"
	log.unchanged(txUpdateUser(ctx, s, upd.ID, fullUpdate(s, &upd, false), nil), "")

	when := at(now(), time.Minute)
	ev = newEvent(t, auth.EventPasswordChanged, u.ID, "")
	log.recorded(ev, txChangePassword(ctx, s, u.ID, "new-hash", "", 1, when, ev))
	log.unchanged(txChangePassword(ctx, s, missing.ID, "h", "", 1, when, newEvent(t, auth.EventPasswordChanged, missing.ID, "")), auth.ENotFound)
	log.unchanged(txChangePassword(ctx, s, u.ID, "newer-hash", "", 1, when, newEvent(t, auth.EventPasswordChanged, u.ID, "")), auth.EConflict)
	log.unchanged(txChangePassword(ctx, s, u.ID, "newer-hash", "", 2, at(when, time.Second), nil), "")

	// The event outlives the user it concerns.
	ev = newEvent(t, auth.EventUserDeleted, u.ID, "")
	log.recorded(ev, txDeleteUser(ctx, s, u.ID, 0, ev))
	log.unchanged(txDeleteUser(ctx, s, u.ID, 0, newEvent(t, auth.EventUserDeleted, u.ID, "")), auth.ENotFound)
	log.unchanged(txDeleteUser(ctx, s, createUser(t, s).ID, 0, nil), "")
}

func testEventsSessions(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u := createUser(t, s)

	sess, rt := newSession(t, u.ID, now())
	ev := newEvent(t, auth.EventLoginSucceeded, u.ID, sess.ID)
	log.recorded(ev, txCreateSession(ctx, s, sess, rt, 1, ev))
	orphan, ort := newSession(t, newID(t), now())
	log.unchanged(txCreateSession(ctx, s, orphan, ort, 1, newEvent(t, auth.EventLoginSucceeded, orphan.UserID, orphan.ID)), auth.ENotFound)
	dup, drt := newSession(t, u.ID, now())
	dup.ID, drt.SessionID = sess.ID, sess.ID
	log.unchanged(txCreateSession(ctx, s, dup, drt, 1, newEvent(t, auth.EventLoginSucceeded, u.ID, sess.ID)), auth.EConflict)
	quiet, qrt := newSession(t, u.ID, now())
	log.unchanged(txCreateSession(ctx, s, quiet, qrt, 1, nil), "")

	ev = newEvent(t, auth.EventSessionRevoked, u.ID, sess.ID)
	log.recorded(ev, txRevokeSession(ctx, s, u.ID, sess.ID, now(), ev))
	log.unchanged(txRevokeSession(ctx, s, u.ID, sess.ID, now(), newEvent(t, auth.EventSessionRevoked, u.ID, sess.ID)), auth.ENotFound)
	other := createUser(t, s)
	log.unchanged(txRevokeSession(ctx, s, other.ID, quiet.ID, now(), newEvent(t, auth.EventSessionRevoked, other.ID, quiet.ID)), auth.ENotFound)
	log.unchanged(txRevokeSession(ctx, s, u.ID, quiet.ID, now(), nil), "")

	createSession(t, s, u.ID, now())
	ev = newEvent(t, auth.EventLogout, u.ID, "")
	log.recorded(ev, txRevokeSessions(ctx, s, u.ID, "", now(), ev))
	createSession(t, s, u.ID, now())
	log.unchanged(txRevokeSessions(ctx, s, u.ID, "", now(), nil), "")
}

func testEventsRoles(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}

	r := newRole("support", auth.PermUsersRead)
	ev := newEvent(t, auth.EventRoleCreated, "", r.Name)
	log.recorded(ev, txCreateRole(ctx, s, r, ev))
	log.unchanged(txCreateRole(ctx, s, newRole("support"), newEvent(t, auth.EventRoleCreated, "", "support")), auth.EConflict)
	log.unchanged(txCreateRole(ctx, s, newRole("auditor", auth.PermAuditRead), nil), "")

	upd := *r
	upd.Description, upd.UpdatedAt = "Changed.", at(r.UpdatedAt, time.Minute)
	ev = newEvent(t, auth.EventRoleUpdated, "", r.Name)
	log.recorded(ev, txUpdateRole(ctx, s, fullRoleUpdate(s, &upd), ev))
	log.unchanged(txUpdateRole(ctx, s, fullRoleUpdate(s, newRole("no-such-role")), newEvent(t, auth.EventRoleUpdated, "", "no-such-role")), auth.ENotFound)
	log.unchanged(txUpdateRole(ctx, s, fullRoleUpdate(s, &upd), nil), "")

	u := createUser(t, s)
	ev = newEvent(t, auth.EventRoleGranted, u.ID, r.Name)
	log.recorded(ev, txGrantRole(ctx, s, u.ID, r.Name, now(), ev))
	// Granting a held role changes nothing: GrantRole says so and writes
	// nothing (that there is then no event is the domain's doing).
	held := getUser(t, s, u.ID)
	log.noChange(txGrantRole(ctx, s, u.ID, r.Name, now(), nil))
	if d := diff(held, getUser(t, s, u.ID)); d != "" {
		t.Errorf("granting a held role changed the user (-want +got):\n%s", d)
	}
	missing := newID(t)
	log.unchanged(txGrantRole(ctx, s, missing, r.Name, now(), newEvent(t, auth.EventRoleGranted, missing, r.Name)), auth.ENotFound)
	log.unchanged(txGrantRole(ctx, s, u.ID, "no-such-role", now(), newEvent(t, auth.EventRoleGranted, u.ID, "no-such-role")), auth.EInvalid)
	log.unchanged(txGrantRole(ctx, s, u.ID, "auditor", now(), nil), "")

	ev = newEvent(t, auth.EventRoleRevoked, u.ID, r.Name)
	log.recorded(ev, txRevokeRole(ctx, s, u.ID, r.Name, now(), ev))
	// Revoking a role the user does not hold changes nothing, likewise.
	held = getUser(t, s, u.ID)
	log.noChange(txRevokeRole(ctx, s, u.ID, r.Name, now(), nil))
	if d := diff(held, getUser(t, s, u.ID)); d != "" {
		t.Errorf("revoking a role not held changed the user (-want +got):\n%s", d)
	}
	log.unchanged(txRevokeRole(ctx, s, missing, r.Name, now(), newEvent(t, auth.EventRoleRevoked, missing, r.Name)), auth.ENotFound)
	log.unchanged(txRevokeRole(ctx, s, u.ID, "auditor", now(), nil), "")

	mustOK(t, txGrantRole(ctx, s, u.ID, r.Name, now(), nil))
	ev = newEvent(t, auth.EventRoleDeleted, "", r.Name)
	_, err := txDeleteRole(ctx, s, r.Name, ev)
	log.recorded(ev, err)
	_, err = txDeleteRole(ctx, s, r.Name, newEvent(t, auth.EventRoleDeleted, "", r.Name))
	log.unchanged(err, auth.ENotFound)
	_, err = txDeleteRole(ctx, s, "auditor", nil)
	log.unchanged(err, "")
}

func testEventsClients(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}

	c := newClient(t)
	ev := newEvent(t, auth.EventClientCreated, "", c.ID)
	log.recorded(ev, txCreateClient(ctx, s, c, ev))
	dup := newClient(t)
	dup.ID = c.ID
	log.unchanged(txCreateClient(ctx, s, dup, newEvent(t, auth.EventClientCreated, "", c.ID)), auth.EConflict)
	quiet := newClient(t)
	log.unchanged(txCreateClient(ctx, s, quiet, nil), "")

	ev = newEvent(t, auth.EventClientDeleted, "", c.ID)
	log.recorded(ev, txDeleteClient(ctx, s, c.ID, ev))
	log.unchanged(txDeleteClient(ctx, s, c.ID, newEvent(t, auth.EventClientDeleted, "", c.ID)), auth.ENotFound)
	log.unchanged(txDeleteClient(ctx, s, quiet.ID, nil), "")

	jti, expires := newJTI(t), at(now(), time.Hour)
	ev = newEvent(t, auth.EventTokenRevoked, "", jti)
	ev.ActorType, ev.ActorID = auth.ActorClient, quiet.ID
	log.recorded(ev, txRevokeToken(ctx, s, jti, expires, ev))
	// Revoking it again changes nothing: RevokeToken says so and writes
	// nothing.
	log.noChange(txRevokeToken(ctx, s, jti, expires, nil))
	log.unchanged(txRevokeToken(ctx, s, newJTI(t), expires, nil), "")
}

func testEventsSigningKey(t *testing.T, s Backend) {
	ctx := context.Background()
	k := &auth.SigningKey{
		ID:          "kid-" + newID(t),
		Algorithm:   "ES256",
		PublicKey:   randomBytes(t, 91),
		PrivateKey:  randomBytes(t, 150),
		CreatedAt:   at(now(), 0),
		ActivatesAt: at(now(), time.Hour),
	}
	ev := &auth.Event{
		ID:        newID(t),
		At:        k.CreatedAt,
		Type:      auth.EventKeyRotated,
		ActorType: auth.ActorSystem,
		Resource:  k.ID,
		Outcome:   auth.OutcomeSuccess,
	}
	mustOK(t, txCreateSigningKey(ctx, s, k, ev))
	got := listEvents(t, s, auth.EventFilter{})
	if len(got) != 1 {
		t.Fatalf("audit log after CreateSigningKey: %d events, want 1", len(got))
	}
	if d := diff(ev, got[0]); d != "" {
		t.Errorf("key.rotated event (-want +got):\n%s", d)
	}

	dup := *k
	dup.CreatedAt = at(now(), time.Minute)
	again := *ev
	again.ID = newID(t)
	wantCode(t, txCreateSigningKey(ctx, s, &dup, &again), auth.EConflict)
	wantEvents(t, s, got[0])
}

func testListEvents(t *testing.T, s Backend) {
	ctx := context.Background()
	alice, bob, carol := newID(t), newID(t), newID(t)
	base := at(now(), -time.Hour)
	ev := func(typ auth.EventType, actor, user string, d time.Duration) *auth.Event {
		e := newEvent(t, typ, user, "")
		e.At = base.Add(d)
		e.ActorID = actor
		if actor == "" {
			e.ActorType = auth.ActorAnonymous
		}
		return e
	}
	e1 := ev(auth.EventLoginSucceeded, alice, alice, 0)             // alice on herself
	e2 := ev(auth.EventUserDisabled, bob, alice, time.Second)       // bob on alice
	e3 := ev(auth.EventRoleGranted, alice, bob, 2*time.Second)      // alice on bob
	e4 := ev(auth.EventKeyRotated, "", "", 3*time.Second)           // nobody's
	e5 := ev(auth.EventLoginFailed, "", bob, 4*time.Second)         // concerns bob
	e6 := ev(auth.EventLoginSucceeded, bob, bob, 5*time.Second)     // bob on himself
	e7 := ev(auth.EventSessionRevoked, carol, carol, 6*time.Second) // carol's
	for _, e := range []*auth.Event{e1, e2, e3, e4, e5, e6, e7} {
		mustOK(t, s.AppendEvent(ctx, e))
	}

	for _, c := range []struct {
		name string
		f    auth.EventFilter
		want []*auth.Event // newest first
	}{
		{"all", auth.EventFilter{}, []*auth.Event{e7, e6, e5, e4, e3, e2, e1}},
		{"limit", auth.EventFilter{Limit: 2}, []*auth.Event{e7, e6}},
		{"user as actor or concerned", auth.EventFilter{UserID: alice}, []*auth.Event{e3, e2, e1}},
		{"user bob", auth.EventFilter{UserID: bob}, []*auth.Event{e6, e5, e3, e2}},
		{"unknown user", auth.EventFilter{UserID: newID(t)}, nil},
		{"type", auth.EventFilter{Type: auth.EventLoginSucceeded}, []*auth.Event{e6, e1}},
		{"since is inclusive", auth.EventFilter{Since: e5.At}, []*auth.Event{e7, e6, e5}},
		{"since a microsecond later", auth.EventFilter{Since: e5.At.Add(time.Microsecond)}, []*auth.Event{e7, e6}},
		{"until is exclusive", auth.EventFilter{Until: e3.At}, []*auth.Event{e2, e1}},
		{"until a microsecond later", auth.EventFilter{Until: e3.At.Add(time.Microsecond)}, []*auth.Event{e3, e2, e1}},
		{"since and until", auth.EventFilter{Since: e2.At, Until: e6.At}, []*auth.Event{e5, e4, e3, e2}},
		{"before", auth.EventFilter{Before: e4.ID}, []*auth.Event{e3, e2, e1}},
		{"before and limit", auth.EventFilter{Before: e6.ID, Limit: 2}, []*auth.Event{e5, e4}},
		{"user and type", auth.EventFilter{UserID: bob, Type: auth.EventLoginSucceeded}, []*auth.Event{e6}},
		{"user and since", auth.EventFilter{UserID: alice, Since: e2.At}, []*auth.Event{e3, e2}},
		{"user and until", auth.EventFilter{UserID: bob, Until: e5.At}, []*auth.Event{e3, e2}},
		{"user, before and limit", auth.EventFilter{UserID: bob, Before: e6.ID, Limit: 2}, []*auth.Event{e5, e3}},
		{"type and time", auth.EventFilter{Type: auth.EventLoginSucceeded, Since: e1.At.Add(time.Microsecond)}, []*auth.Event{e6}},
		{"no match", auth.EventFilter{Type: auth.EventClientCreated}, nil},
	} {
		if d := diff(c.want, listEvents(t, s, c.f)); d != "" {
			t.Errorf("%s: ListEvents(%+v) (-want +got):\n%s", c.name, c.f, d)
		}
	}
}

// walkEvents lists the events f selects page by page (f.Limit per page),
// each page starting before the last event of the previous one, until a page
// comes back empty. between, if not nil, is called after each non-empty
// page. Only the last non-empty page may hold fewer than f.Limit events: the
// Service asks for one more than a page to learn whether there is a next.
func walkEvents(t *testing.T, s Backend, f auth.EventFilter, between func()) []*auth.Event {
	t.Helper()
	var all []*auth.Event
	short := -1 // the first page with fewer than f.Limit events
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("the walk over the audit log does not end")
		}
		got := listEvents(t, s, f)
		switch {
		case len(got) > f.Limit:
			t.Fatalf("page %d: %d events, want at most %d", page, len(got), f.Limit)
		case len(got) == 0:
			return all
		case short >= 0:
			t.Fatalf("page %d held fewer than %d events, yet page %d is not empty", short, f.Limit, page)
		case len(got) < f.Limit:
			short = page
		}
		all = append(all, got...)
		f.Before = got[len(got)-1].ID
		if between != nil {
			between()
		}
	}
}

func testListEventsPages(t *testing.T, s Backend) {
	ctx := context.Background()
	// One instant for all: the order must come from the ids.
	when := at(now(), 0)
	var log []*auth.Event
	for range 10 {
		ev := newEvent(t, auth.EventLoginSucceeded, newID(t), "")
		ev.At = when
		mustOK(t, s.AppendEvent(ctx, ev))
		log = append(log, ev)
	}

	// Events appended during the walk are newer than its first page: the
	// walk sees exactly the events there were when it started.
	got := walkEvents(t, s, auth.EventFilter{Limit: 3}, func() {
		for range 2 {
			mustOK(t, s.AppendEvent(ctx, newEvent(t, auth.EventLoginFailed, "", "")))
		}
	})
	if d := diff(newestFirst(log), got); d != "" {
		t.Errorf("walk in pages of 3 (-want +got):\n%s", d)
	}
}

func testListEventsPagesByUser(t *testing.T, s Backend) {
	ctx := context.Background()
	u, other := newID(t), newID(t)
	var mine []*auth.Event
	for i := range 12 {
		ev := newEvent(t, auth.EventUserUpdated, "", "")
		switch i % 4 {
		case 0: // u acts on another user
			ev.ActorID, ev.UserID = u, other
		case 1: // another user acts on u
			ev.ActorID, ev.UserID = other, u
		case 2: // u acts on themselves: listed once
			ev.ActorID, ev.UserID = u, u
		case 3: // none of u's business
			ev.ActorID, ev.UserID = other, other
		}
		mustOK(t, s.AppendEvent(ctx, ev))
		if i%4 != 3 {
			mine = append(mine, ev)
		}
	}
	for _, limit := range []int{1, 2, 4, 100} {
		got := walkEvents(t, s, auth.EventFilter{UserID: u, Limit: limit}, nil)
		if d := diff(newestFirst(mine), got); d != "" {
			t.Errorf("walk of the user's events in pages of %d (-want +got):\n%s", limit, d)
		}
	}
}

func testDeleteEventsBefore(t *testing.T, s Backend) {
	ctx := context.Background()
	base := at(now(), -time.Hour)
	// Appended out of time order: deletion goes by At, not by id.
	var log []*auth.Event
	for _, d := range []time.Duration{2, 0, 3, 1} {
		ev := newEvent(t, auth.EventLoginSucceeded, newID(t), "")
		ev.At = base.Add(d * time.Minute)
		mustOK(t, s.AppendEvent(ctx, ev))
		log = append(log, ev)
	}

	n, err := s.DeleteEventsBefore(ctx, base.Add(2*time.Minute))
	mustOK(t, err)
	if n != 2 {
		t.Errorf("DeleteEventsBefore removed %d events, want 2", n)
	}
	wantEvents(t, s, log[0], log[2]) // the one at exactly before is kept

	n, err = s.DeleteEventsBefore(ctx, base.Add(2*time.Minute))
	mustOK(t, err)
	if n != 0 {
		t.Errorf("second DeleteEventsBefore removed %d events, want 0", n)
	}
	n, err = s.DeleteEventsBefore(ctx, base.Add(3*time.Minute+time.Microsecond))
	mustOK(t, err)
	if n != 2 {
		t.Errorf("DeleteEventsBefore after the newest removed %d events, want 2", n)
	}
	wantEvents(t, s)
}
