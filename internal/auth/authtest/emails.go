package authtest

import (
	"context"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/password"
)

// EmailMigrationRow is a user TestEmailMigration stores before the email
// migration, with what the migration must make of it.
type EmailMigrationRow struct {
	Name   string // the user's display name, to tell rows apart in failures
	Stored string // the email as written before the migration
	Want   string // the email after it
	Flag   string // "" or the reason it is flagged (auth.EmailFlag*)
	Holder string // for a collision, the Name of the row that keeps the address
}

// EmailMigrationRows returns the rows of TestEmailMigration, oldest first;
// the backends' own tests check their flag columns against them.
func EmailMigrationRows() []EmailMigrationRow {
	return []EmailMigrationRow{
		// The canonical holder is older than its look-alike.
		{Name: "admin", Stored: "admin@example.com", Want: "admin@example.com"},
		{Name: "fullwidth admin", Stored: "ａｄｍｉｎ@example.com", Want: "ａｄｍｉｎ@example.com", Flag: auth.EmailFlagCollision, Holder: "admin"},
		// Neither holds the normal form: the older gets it.
		{Name: "ada", Stored: "ada@bücher.de", Want: "ada@xn--bcher-kva.de"},
		{Name: "fullwidth ada", Stored: "ａda@bücher.de", Want: "ａda@bücher.de", Flag: auth.EmailFlagCollision, Holder: "ada"},
		// The canonical holder is younger: it keeps the address it has.
		{Name: "ligature finance", Stored: "ﬁnance@example.com", Want: "ﬁnance@example.com", Flag: auth.EmailFlagCollision, Holder: "finance"},
		{Name: "finance", Stored: "finance@example.com", Want: "finance@example.com"},
		// Alone, rewritten.
		{Name: "kelvin", Stored: "\u212Aate@example.com", Want: "kate@example.com"},
		{Name: "upper-case unicode", Stored: "ÄDA@EXAMPLE.COM", Want: "äda@example.com"},
		{Name: "fullwidth bob", Stored: "ｂｏｂ@ｅｘａｍｐｌｅ.com", Want: "bob@example.com"},
		{Name: "upper-case ASCII", Stored: "O'Brien+x@Example.COM", Want: "o'brien+x@example.com"},
		// Alone, already normal: untouched.
		{Name: "carol", Stored: "carol@example.com", Want: "carol@example.com"},
		{Name: "specials", Stored: "a{b}|c~d@ex-ample.co.uk", Want: "a{b}|c~d@ex-ample.co.uk"},
		{Name: "punycode", Stored: "x@xn--bcher-kva.de", Want: "x@xn--bcher-kva.de"},
		// Refused by the rule: left and flagged.
		{Name: "mixed scripts", Stored: "p\u0430ypal@example.com", Want: "p\u0430ypal@example.com", Flag: auth.EmailFlagInvalid},
		{Name: "underscore domain", Stored: "x@exa_mple.com", Want: "x@exa_mple.com", Flag: auth.EmailFlagInvalid},
		{Name: "double hyphen label", Stored: "x@ab--cd.com", Want: "x@ab--cd.com", Flag: auth.EmailFlagInvalid},
	}
}

// TestEmailMigration checks the migration that brings stored emails under
// auth.NormalizeEmail. open returns a backend migrated to the version just
// before that migration, and a function that applies the rest. It returns
// the ids of EmailMigrationRows by Name, for checks of backend-only state.
func TestEmailMigration(t *testing.T, open func(t *testing.T) (Backend, func(context.Context) error)) map[string]string {
	ctx := context.Background()
	s, migrateUp := open(t)
	const pw = "correct horse battery staple"
	hash, err := password.New(password.Config{Params: CheapParams}).Hash(ctx, pw)
	mustOK(t, err)

	rows := EmailMigrationRows()
	ids := map[string]string{}
	base := at(now(), -24*time.Hour)
	var users []*auth.User
	for i, r := range rows {
		u := newUser(t)
		u.Name, u.Email, u.PasswordHash = r.Name, r.Stored, hash
		u.CreatedAt = at(base, time.Duration(i)*time.Minute)
		u.UpdatedAt = u.CreatedAt
		ids[r.Name] = u.ID
		users = append(users, u)
	}
	n, err := mustImporter(t, s).ImportUsers(ctx, users)
	mustOK(t, err)
	if n != len(users) {
		t.Fatalf("imported %d of %d users", n, len(users))
	}

	before := now()
	mustOK(t, migrateUp(ctx))
	for _, r := range rows {
		u := getUser(t, s, ids[r.Name])
		if u.Email != r.Want {
			t.Errorf("%s: email %q after the migration, want %q", r.Name, u.Email, r.Want)
		}
		if changed := r.Want != r.Stored; changed != !u.UpdatedAt.Before(before) {
			t.Errorf("%s: updated at %v, migration at %v", r.Name, u.UpdatedAt, before)
		}
	}

	// Every rewrite and every flag is in the audit log.
	events := listEvents(t, s, auth.EventFilter{Limit: 100})
	byUser := map[string]*auth.Event{}
	for _, ev := range events {
		if ev.Type == auth.EventUserUpdated || ev.Type == auth.EventUserEmailFlagged {
			if byUser[ev.UserID] != nil {
				t.Errorf("two events about user %s", ev.UserID)
			}
			byUser[ev.UserID] = ev
		}
	}
	for _, r := range rows {
		ev := byUser[ids[r.Name]]
		switch {
		case r.Flag != "":
			if ev == nil || ev.Type != auth.EventUserEmailFlagged || ev.Reason != r.Flag ||
				ev.Resource != ids[r.Holder] || ev.ActorType != auth.ActorSystem || ev.Outcome != auth.OutcomeFailure {
				t.Errorf("%s: event %+v, want %s flagged %s (holder %q)", r.Name, ev, auth.EventUserEmailFlagged, r.Flag, ids[r.Holder])
			}
		case r.Want != r.Stored:
			if ev == nil || ev.Type != auth.EventUserUpdated || ev.Reason != "email" || ev.ActorType != auth.ActorSystem {
				t.Errorf("%s: event %+v, want %s of the email", r.Name, ev, auth.EventUserUpdated)
			}
		case ev != nil:
			t.Errorf("%s: unchanged, but event %+v", r.Name, ev)
		}
	}

	// Any spelling of an address logs in to the account that holds it.
	svc, _ := NewService(t, s, Options{})
	for spelling, name := range map[string]string{
		"ＡＤＭＩＮ@example.com":       "admin",
		"ａｄｍｉｎ@example.com":       "admin",
		"ada@XN--BCHER-KVA.de":    "ada",
		"ａda@bücher.de":           "ada",
		"ﬁnance@example.com":      "finance",
		"KATE@example.com":        "kelvin",
		"\u212Aate@example.com":   "kelvin",
		"äda@example.com":         "upper-case unicode",
		"bob@example.com":         "fullwidth bob",
		"o'brien+x@EXAMPLE.com":   "upper-case ASCII",
		"a{b}|c~d@EX-AMPLE.co.uk": "specials",
		"x@bücher.de":             "punycode",
	} {
		u, _, err := svc.Login(ctx, auth.LoginInput{Email: spelling, Password: pw})
		if err != nil || u.ID != ids[name] {
			t.Errorf("login as %q: user %v, %v; want %s", spelling, u, err, name)
		}
	}
	// A flagged address the rule refuses is refused at login like any
	// malformed one.
	_, _, err = svc.Login(ctx, auth.LoginInput{Email: "p\u0430ypal@example.com", Password: pw})
	wantCode(t, err, auth.EInvalid)

	// Up again changes nothing.
	mustOK(t, migrateUp(ctx))
	flagged := 0
	for _, r := range rows {
		if r.Flag != "" {
			flagged++
		}
	}
	if n := len(listEvents(t, s, auth.EventFilter{Type: auth.EventUserEmailFlagged, Limit: 100})); n != flagged {
		t.Errorf("%d flag events after migrating up twice, want %d", n, flagged)
	}
	return ids
}
