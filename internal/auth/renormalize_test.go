package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/talentforge/authd/internal/auth"
)

// TestEmailRenormalizationPlan pins who keeps a normal form: the account
// that already holds it, else the oldest; the others and the invalid emails
// are flagged, never merged.
func TestEmailRenormalizationPlan(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []auth.StoredEmail{
		// A canonical holder, older than its look-alike.
		{UserID: "01", Email: "admin@example.com", CreatedAt: t0},
		{UserID: "02", Email: "ａｄｍｉｎ@example.com", CreatedAt: t0.Add(time.Hour)},
		// A canonical holder younger than its look-alike: it keeps the address.
		{UserID: "03", Email: "ﬁnance@example.com", CreatedAt: t0},
		{UserID: "04", Email: "finance@example.com", CreatedAt: t0.Add(time.Hour)},
		// No holder: the oldest gets the normal form, then the smaller id.
		{UserID: "07", Email: "ａda@bücher.de", CreatedAt: t0.Add(time.Minute)},
		{UserID: "06", Email: "ada@bücher.de", CreatedAt: t0.Add(time.Minute)},
		{UserID: "05", Email: "ａda@BÜCHER.de", CreatedAt: t0.Add(2 * time.Minute)},
		// Alone.
		{UserID: "08", Email: "\u212Aate@example.com", CreatedAt: t0},
		{UserID: "09", Email: "p\u0430ypal@example.com", CreatedAt: t0},
		{UserID: "10", Email: "carol@example.com", CreatedAt: t0},
	}
	stored := map[string]string{}
	for _, r := range rows {
		stored[r.Email] = r.UserID
	}
	var r auth.EmailRenormalization
	for _, row := range rows {
		r.Add(row)
	}
	rewrites, flags, err := r.Plan(context.Background(), func(_ context.Context, email string) (string, error) {
		return stored[email], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRewrites := []auth.EmailRewrite{
		{UserID: "06", From: "ada@bücher.de", To: "ada@xn--bcher-kva.de"},
		{UserID: "08", From: "\u212Aate@example.com", To: "kate@example.com"},
	}
	if d := cmp.Diff(wantRewrites, rewrites); d != "" {
		t.Errorf("rewrites (-want +got):\n%s", d)
	}
	wantFlags := []auth.EmailFlag{
		{UserID: "02", Email: "ａｄｍｉｎ@example.com", Reason: auth.EmailFlagCollision, HolderID: "01"},
		{UserID: "03", Email: "ﬁnance@example.com", Reason: auth.EmailFlagCollision, HolderID: "04"},
		{UserID: "05", Email: "ａda@BÜCHER.de", Reason: auth.EmailFlagCollision, HolderID: "06"},
		{UserID: "07", Email: "ａda@bücher.de", Reason: auth.EmailFlagCollision, HolderID: "06"},
		{UserID: "09", Email: "p\u0430ypal@example.com", Reason: auth.EmailFlagInvalid},
	}
	if d := cmp.Diff(wantFlags, flags, cmpopts.IgnoreFields(auth.EmailFlag{}, "Detail")); d != "" {
		t.Errorf("flags (-want +got):\n%s", d)
	}
	for _, f := range flags {
		if f.Detail == "" {
			t.Errorf("flag of %s has no detail for operators", f.UserID)
		}
	}

	ev := flags[0].Event(t0)
	if ev.Type != auth.EventUserEmailFlagged || ev.UserID != "02" || ev.Resource != "01" ||
		ev.Reason != auth.EmailFlagCollision || ev.Outcome != auth.OutcomeFailure || ev.ActorType != auth.ActorSystem {
		t.Errorf("flag event %+v", ev)
	}
	if ev := rewrites[0].Event(t0); ev.Type != auth.EventUserUpdated || ev.UserID != "06" || ev.Reason != "email" {
		t.Errorf("rewrite event %+v", ev)
	}

	boom := errors.New("boom")
	_, _, err = r.Plan(context.Background(), func(context.Context, string) (string, error) { return "", boom })
	if !errors.Is(err, boom) {
		t.Errorf("Plan with a failing holder lookup: %v", err)
	}
}
