package postgres_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/postgres"
)

// TestMigrateNormalizeEmails stores emails in the forms earlier versions
// wrote (fullwidth, Kelvin sign, upper case, Unicode domains, colliding
// look-alikes, ASCII the plain-email filter must not let through) under
// 00004 and applies 00005: the contract suite checks the emails, events and
// logins; this checks the flag column, and that the filter that keeps plain
// rows in the server lets through every row the rule changes or refuses
// (and ASCII punycode, which IDNA must see) and keeps back the rest.
func TestMigrateNormalizeEmails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, url := mustOpen(t)
	ids := authtest.TestEmailMigration(t, func(t *testing.T) (authtest.Backend, func(context.Context) error) {
		if err := db.MigrateDownTo(ctx, 4); err != nil {
			t.Fatal(err)
		}
		return db, db.MigrateUp
	})
	for _, r := range authtest.EmailMigrationRows() {
		var plain bool
		query(t, url, `SELECT `+postgres.PlainEmail+` FROM (SELECT $1::text AS email) AS stored`, &plain, r.Stored)
		if want := r.Stored == r.Want && r.Flag == "" && !strings.Contains(r.Stored, "xn--"); plain != want {
			t.Errorf("%s: %q plain = %v, want %v", r.Name, r.Stored, plain, want)
		}
		var flag sql.NullString
		query(t, url, `SELECT email_flag FROM users WHERE id = $1`, &flag, ids[r.Name])
		if flag.Valid != (r.Flag != "") || r.Holder != "" && !strings.Contains(flag.String, ids[r.Holder]) {
			t.Errorf("%s: email_flag %+v, want flagged %q (holder %s)", r.Name, flag, r.Flag, ids[r.Holder])
		}
	}
}

// TestPlainEmailIsNormal: every address the filter of 00005 keeps in the
// server is one auth.NormalizeEmail returns unchanged, so skipping it loses
// nothing. The addresses are random, from an alphabet that hits the edges
// of the filter (dots, hyphens, upper case, "--", underscores).
func TestPlainEmailIsNormal(t *testing.T) {
	t.Parallel()
	_, url := mustOpen(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	pick := func(alphabet string, n int) string {
		b := make([]byte, 1+rnd.IntN(n))
		for i := range b {
			b[i] = alphabet[rnd.IntN(len(alphabet))]
		}
		return string(b)
	}
	// Mostly well-formed pieces, with a rare character that breaks them.
	const atext, ldh, breakers = "abcxyz019!#$%&'*+/=?^_`{|}~-", "abcxyz019---", "A._-"
	join := func(alphabet string, parts, n int) string {
		ps := make([]string, 1+rnd.IntN(parts))
		for i := range ps {
			ps[i] = pick(alphabet, n)
			if rnd.IntN(8) == 0 {
				ps[i] += pick(breakers, 1)
			}
		}
		return strings.Join(ps, ".")
	}
	var emails []string
	for range 20000 {
		emails = append(emails, join(atext, 3, 6)+"@"+join(ldh, 3, 6))
	}
	emails = append(emails, strings.Repeat("a", 64)+"@"+strings.Repeat("b", 63)+".com", strings.Repeat("a", 200)+"@"+strings.Repeat("b", 60)+".com")
	var plain []string
	query(t, url, `SELECT coalesce(array_agg(email), '{}') FROM unnest($1::text[]) AS stored(email) WHERE `+postgres.PlainEmail, &plain, emails)
	if len(plain) < 500 {
		t.Fatalf("only %d of %d random addresses are plain: the test does not reach the filter", len(plain), len(emails))
	}
	for _, e := range plain {
		if n, err := auth.NormalizeEmail(e); err != nil || n != e {
			t.Errorf("%q passes the filter, but NormalizeEmail gives %q, %v", e, n, err)
		}
	}
}
