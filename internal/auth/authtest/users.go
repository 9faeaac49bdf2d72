package authtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// Listing users, and ending a user's sessions with an update.

// listUsers returns what ListUsers returns for f; a zero f.Limit asks for
// every user.
func listUsers(t *testing.T, s Backend, f auth.UserFilter) []*auth.User {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 10_000
	}
	users, err := s.ListUsers(context.Background(), f)
	mustOK(t, err)
	for _, u := range users {
		wantUTC(t, u.CreatedAt, u.UpdatedAt, u.LastLoginAt)
	}
	return users
}

// stored returns the users as User returns them, ordered by id: what
// ListUsers must return when it selects them.
func stored(t *testing.T, s Backend, users ...*auth.User) []*auth.User {
	t.Helper()
	var r []*auth.User
	for _, u := range users {
		r = append(r, getUser(t, s, u.ID))
	}
	slices.SortFunc(r, func(a, b *auth.User) int { return strings.Compare(a.ID, b.ID) })
	return r
}

func userIDs(users []*auth.User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

func testListUsers(t *testing.T, s Backend) {
	ctx := context.Background()
	user := func(email string, status auth.UserStatus, roles ...string) *auth.User {
		u := newUser(t)
		u.Email, u.Status, u.Roles = email, status, roles
		return u
	}
	alice := user("alice@example.com", auth.StatusActive, auth.RoleUser)
	alicia := user("alicia@example.com", auth.StatusActive, auth.RoleAdmin, auth.RoleUser)
	percent := user("al%ce@example.com", auth.StatusDisabled, auth.RoleUser)
	underscore := user("al_ce@example.com", auth.StatusActive)
	backslash := user(`al\ce@example.com`, auth.StatusDisabled, auth.RoleAdmin)
	bob := user("bob@example.com", auth.StatusActive, auth.RoleUser)
	bob.LastLoginAt = at(now(), 0)
	all := []*auth.User{alice, alicia, percent, underscore, backslash, bob}
	for _, u := range slices.Backward(all) { // in another order than the ids
		mustOK(t, txCreateUser(ctx, s, u, nil))
	}

	for _, c := range []struct {
		name string
		f    auth.UserFilter
		want []*auth.User
	}{
		{"all", auth.UserFilter{}, all},
		{"limit", auth.UserFilter{Limit: 2}, []*auth.User{alice, alicia}},
		{"after", auth.UserFilter{After: underscore.ID}, []*auth.User{backslash, bob}},
		{"after the last", auth.UserFilter{After: bob.ID}, nil},
		{"email prefix", auth.UserFilter{EmailPrefix: "ali"}, []*auth.User{alice, alicia}},
		{"whole email", auth.UserFilter{EmailPrefix: "alice@example.com"}, []*auth.User{alice}},
		{"% is literal", auth.UserFilter{EmailPrefix: "al%"}, []*auth.User{percent}},
		{"_ is literal", auth.UserFilter{EmailPrefix: "al_"}, []*auth.User{underscore}},
		{`\ is literal`, auth.UserFilter{EmailPrefix: `al\`}, []*auth.User{backslash}},
		{"only a prefix", auth.UserFilter{EmailPrefix: "example.com"}, nil},
		{"case matters", auth.UserFilter{EmailPrefix: "ALI"}, nil},
		{"role admin", auth.UserFilter{Role: auth.RoleAdmin}, []*auth.User{alicia, backslash}},
		{"role user", auth.UserFilter{Role: auth.RoleUser}, []*auth.User{alice, alicia, percent, bob}},
		{"unknown role", auth.UserFilter{Role: "no-such-role"}, nil},
		{"disabled", auth.UserFilter{Status: auth.StatusDisabled}, []*auth.User{percent, backslash}},
		{"active", auth.UserFilter{Status: auth.StatusActive}, []*auth.User{alice, alicia, underscore, bob}},
		{"prefix, role and status", auth.UserFilter{EmailPrefix: "al", Role: auth.RoleAdmin, Status: auth.StatusActive}, []*auth.User{alicia}},
		{"prefix and status", auth.UserFilter{EmailPrefix: "al", Status: auth.StatusDisabled}, []*auth.User{percent, backslash}},
		{"role, status, after and limit", auth.UserFilter{Role: auth.RoleUser, Status: auth.StatusActive, After: alice.ID, Limit: 1}, []*auth.User{alicia}},
		{"prefix and after", auth.UserFilter{EmailPrefix: "al", After: percent.ID}, []*auth.User{underscore, backslash}},
	} {
		// Every user with its roles, as User returns it.
		if d := diff(stored(t, s, c.want...), listUsers(t, s, c.f)); d != "" {
			t.Errorf("%s: ListUsers(%+v) (-want +got):\n%s", c.name, c.f, d)
		}
	}
}

// walkUsers lists the users f selects page by page (f.Limit per page), each
// page starting after the last user of the previous one, until a page comes
// back empty. between, if not nil, is called after each non-empty page. Only
// the last non-empty page may hold fewer than f.Limit users: the Service
// asks for one more than a page to learn whether there is a next.
func walkUsers(t *testing.T, s Backend, f auth.UserFilter, between func(page int)) []*auth.User {
	t.Helper()
	var all []*auth.User
	short := -1 // the first page with fewer than f.Limit users
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("the walk over the users does not end")
		}
		got := listUsers(t, s, f)
		switch {
		case len(got) > f.Limit:
			t.Fatalf("page %d: %d users, want at most %d", page, len(got), f.Limit)
		case len(got) == 0:
			return all
		case short >= 0:
			t.Fatalf("page %d held fewer than %d users, yet page %d is not empty", short, f.Limit, page)
		case len(got) < f.Limit:
			short = page
		}
		all = append(all, got...)
		f.After = got[len(got)-1].ID
		if between != nil {
			between(page)
		}
	}
}

func testListUsersPages(t *testing.T, s Backend) {
	ctx := context.Background()
	var all, admins []*auth.User
	for i := range 10 {
		u := newUser(t)
		if i%2 == 1 {
			u.Roles = append(u.Roles, auth.RoleAdmin)
			admins = append(admins, u)
		}
		all = append(all, u)
	}
	for _, u := range slices.Backward(all) {
		mustOK(t, txCreateUser(ctx, s, u, nil))
	}
	for _, limit := range []int{1, 3, 10, 11} {
		got := walkUsers(t, s, auth.UserFilter{Limit: limit}, nil)
		if d := diff(stored(t, s, all...), got); d != "" {
			t.Errorf("walk in pages of %d (-want +got):\n%s", limit, d)
		}
		got = walkUsers(t, s, auth.UserFilter{Role: auth.RoleAdmin, Limit: limit}, nil)
		if d := diff(stored(t, s, admins...), got); d != "" {
			t.Errorf("walk over admins in pages of %d (-want +got):\n%s", limit, d)
		}
	}
}

// testListUsersStableUnderInserts walks the users in pages while users are
// created between pages: a new user sorts after every existing one, so the
// walk sees every user once, the new ones at its end.
func testListUsersStableUnderInserts(t *testing.T, s Backend) {
	var initial, added []*auth.User
	for range 10 {
		initial = append(initial, createUser(t, s))
	}
	got := walkUsers(t, s, auth.UserFilter{Limit: 3}, func(page int) {
		if page < 4 {
			added = append(added, createUser(t, s), createUser(t, s))
		}
	})
	want := append(userIDs(initial), userIDs(added)...)
	if d := diff(want, userIDs(got)); d != "" {
		t.Errorf("ids of a walk with inserts between pages (-want +got):\n%s", d)
	}
}

func testUpdateUserEndSessions(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	base := now()
	s1, _ := createSession(t, s, u.ID, base)
	s2, _ := createSession(t, s, u.ID, at(base, time.Second))
	s3, _ := createSession(t, s, u.ID, at(base, 2*time.Second))
	earlier := at(base, 3*time.Second)
	mustOK(t, txRevokeSession(ctx, s, u.ID, s3.ID, earlier, nil))
	other := createUser(t, s)
	theirs, _ := createSession(t, s, other.ID, base)

	upd := disabled(u)
	mustOK(t, txUpdateUser(ctx, s, upd.ID, fullUpdate(s, upd, true), nil))
	for _, c := range []struct {
		user, id string
		revoked  time.Time
	}{
		{u.ID, s1.ID, upd.UpdatedAt},
		{u.ID, s2.ID, upd.UpdatedAt},
		{u.ID, s3.ID, earlier}, // already revoked: keeps its time
		{other.ID, theirs.ID, time.Time{}},
	} {
		if r := getSession(t, s, c.user, c.id).RevokedAt; !r.Equal(c.revoked) {
			t.Errorf("session %s: RevokedAt = %v, want %v", c.id, r, c.revoked)
		}
	}
	if got := getUser(t, s, u.ID); got.Status != auth.StatusDisabled || !got.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Errorf("Status, UpdatedAt = %q, %v; want %q, %v", got.Status, got.UpdatedAt, auth.StatusDisabled, upd.UpdatedAt)
	}

	// Without endSessions, the sessions stay.
	v := createUser(t, s)
	vs, _ := createSession(t, s, v.ID, base)
	mustOK(t, txUpdateUser(ctx, s, v.ID, fullUpdate(s, disabled(v), false), nil))
	if r := getSession(t, s, v.ID, vs.ID).RevokedAt; !r.IsZero() {
		t.Errorf("UpdateUser without endSessions revoked a session at %v", r)
	}
	if got := getUser(t, s, v.ID).Status; got != auth.StatusDisabled {
		t.Errorf("Status = %q, want %q", got, auth.StatusDisabled)
	}
}

// testVerifyEmail: VerifyEmail marks the address verified only while it is
// still the one the token was mailed to and not verified yet, and writes
// the user (Version, UpdatedAt) only when it does.
func testVerifyEmail(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u := createUser(t, s)
	before := getUser(t, s, u.ID)

	// Another address (the account moved since the mail was sent): no
	// change, nothing written, no event.
	log.noChange(txVerifyEmail(ctx, s, u.ID, "old-"+u.Email, at(now(), time.Minute),
		newEvent(t, auth.EventEmailVerified, u.ID, "")))
	if d := diff(before, getUser(t, s, u.ID)); d != "" {
		t.Errorf("VerifyEmail of another address changed the user (-want +got):\n%s", d)
	}

	when := at(now(), 2*time.Minute)
	ev := newEvent(t, auth.EventEmailVerified, u.ID, "")
	log.recorded(ev, txVerifyEmail(ctx, s, u.ID, u.Email, when, ev))
	want := *before
	want.EmailVerified, want.Version, want.UpdatedAt = true, before.Version+1, when
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after VerifyEmail (-want +got):\n%s", d)
	}

	// Verified already: no change.
	log.noChange(txVerifyEmail(ctx, s, u.ID, u.Email, at(now(), 3*time.Minute),
		newEvent(t, auth.EventEmailVerified, u.ID, "")))
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("VerifyEmail of a verified address changed the user (-want +got):\n%s", d)
	}

	// Another user is not touched; an unknown one is not found.
	other := createUser(t, s)
	if got := getUser(t, s, other.ID); got.EmailVerified {
		t.Error("VerifyEmail verified another user's address")
	}
	log.unchanged(txVerifyEmail(ctx, s, newID(t), u.Email, when, nil), auth.ENotFound)
}

// testChangeEmail: ChangeEmail moves the account to a new address,
// verified, freeing the old one; an address another account holds is
// EEmailTaken, and the unit of work that tried it keeps nothing.
func testChangeEmail(t *testing.T, s Backend) {
	ctx := context.Background()
	log := &auditLog{t: t, s: s}
	u, other := createUser(t, s), createUser(t, s)
	before := getUser(t, s, u.ID)

	newEmail := "moved-" + u.Email
	when := at(now(), time.Minute)
	ev := newEvent(t, auth.EventEmailChanged, u.ID, "")
	log.recorded(ev, txChangeEmail(ctx, s, u.ID, newEmail, when, ev))
	want := *before
	want.Email, want.EmailVerified, want.Version, want.UpdatedAt = newEmail, true, before.Version+1, when
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after ChangeEmail (-want +got):\n%s", d)
	}
	got, err := s.UserByEmail(ctx, newEmail)
	mustOK(t, err)
	if got.ID != u.ID {
		t.Errorf("UserByEmail(new address) = user %s, want %s", got.ID, u.ID)
	}
	_, err = s.UserByEmail(ctx, u.Email)
	wantCode(t, err, auth.ENotFound)

	// The old address is free again.
	again := newUser(t)
	again.Email = u.Email
	mustOK(t, txCreateUser(ctx, s, again, nil))

	// Another account's address: refused, and the unit of work that tried
	// (spending a token and queueing a mail first, as an email change
	// does) keeps nothing.
	tok := createOneTimeToken(t, s, u.ID, auth.PurposeChangeEmail)
	wantQueued(t, s, 0, time.Time{})
	taken := getUser(t, s, u.ID)
	var changeErr error
	err = s.InUserTx(ctx, u.ID, func(tx auth.UserTx) error {
		if _, err := tx.ConsumeOneTimeToken(ctx, tok.Hash, auth.PurposeChangeEmail); err != nil {
			t.Errorf("ConsumeOneTimeToken: %v", err)
		}
		if err := tx.EnqueueMail(ctx, newMail(t, u.ID, when)); err != nil {
			t.Errorf("EnqueueMail: %v", err)
		}
		changeErr = tx.ChangeEmail(ctx, other.Email, at(now(), 2*time.Minute))
		return changeErr
	})
	if !errors.Is(changeErr, auth.ErrEmailTaken) {
		t.Errorf("ChangeEmail to another account's address = %v, want %v", changeErr, auth.ErrEmailTaken)
	}
	if !errors.Is(err, auth.ErrEmailTaken) {
		t.Errorf("InUserTx = %v, want fn's error %v", err, auth.ErrEmailTaken)
	}
	if d := diff(taken, getUser(t, s, u.ID)); d != "" {
		t.Errorf("a refused ChangeEmail changed the user (-want +got):\n%s", d)
	}
	if got := getUser(t, s, other.ID); got.Email != other.Email {
		t.Errorf("the address's holder now has %q", got.Email)
	}
	wantOneTimeToken(t, s, tok, true, "the token spent in the refused unit of work")
	wantQueued(t, s, 0, time.Time{})
	log.unchanged(txChangeEmail(ctx, s, u.ID, other.Email, when, newEvent(t, auth.EventEmailChanged, u.ID, "")), auth.EEmailTaken)

	// Its own address: verified (it was already), written all the same.
	mustOK(t, txChangeEmail(ctx, s, u.ID, newEmail, at(now(), 3*time.Minute), nil))
	if got := getUser(t, s, u.ID); got.Email != newEmail || got.Version != taken.Version+1 {
		t.Errorf("ChangeEmail to the current address: %q at version %d, want %q at %d", got.Email, got.Version, newEmail, taken.Version+1)
	}

	log.unchanged(txChangeEmail(ctx, s, newID(t), "nobody-"+newID(t)+"@example.com", when, nil), auth.ENotFound)
}

// testChangePasswordReset: ChangePassword with passwordVersion 0 replaces
// the password whatever its version (a reset), and otherwise does all a
// change does: both versions move, sessions end but the one kept.
func testChangePasswordReset(t *testing.T, s Backend) {
	ctx := context.Background()
	u := createUser(t, s)
	mustOK(t, txChangePassword(ctx, s, u.ID, "first-change", "", 1, now(), nil))
	s1, _ := createSession(t, s, u.ID, now())
	s2, _ := createSession(t, s, u.ID, at(now(), time.Second))
	before := getUser(t, s, u.ID)
	if before.PasswordVersion != 2 {
		t.Fatalf("PasswordVersion after a change = %d, want 2", before.PasswordVersion)
	}

	when := at(now(), time.Minute)
	mustOK(t, txChangePassword(ctx, s, u.ID, "reset-hash", s2.ID, 0, when, nil))
	want := *before
	want.PasswordHash, want.UpdatedAt = "reset-hash", when
	want.Version, want.PasswordVersion = before.Version+1, before.PasswordVersion+1
	if d := diff(&want, getUser(t, s, u.ID)); d != "" {
		t.Errorf("after a reset (-want +got):\n%s", d)
	}
	if r := getSession(t, s, u.ID, s1.ID).RevokedAt; !r.Equal(when) {
		t.Errorf("session RevokedAt = %v, want %v", r, when)
	}
	if r := getSession(t, s, u.ID, s2.ID).RevokedAt; !r.IsZero() {
		t.Errorf("the kept session was revoked at %v", r)
	}

	// Again, with every session ending.
	mustOK(t, txChangePassword(ctx, s, u.ID, "second-reset", "", 0, at(when, time.Second), nil))
	if got := getUser(t, s, u.ID); got.PasswordHash != "second-reset" || got.PasswordVersion != want.PasswordVersion+1 {
		t.Errorf("after a second reset: hash %q, PasswordVersion %d", got.PasswordHash, got.PasswordVersion)
	}
	if r := getSession(t, s, u.ID, s2.ID).RevokedAt; r.IsZero() {
		t.Error("a reset that keeps no session left one unrevoked")
	}
	wantCode(t, txChangePassword(ctx, s, newID(t), "h", "", 0, when, nil), auth.ENotFound)
}
