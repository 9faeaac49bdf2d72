package mail_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/talentforge/authd/internal/mail"
)

func TestNewMessageID(t *testing.T) {
	form := regexp.MustCompile(`^<[0-9a-f]{32}@talentforge\.example>$`)
	seen := make(map[string]bool)
	for _, from := range []string{"no-reply@talentforge.example", "TalentForge <no-reply@talentforge.example>"} {
		for range 100 {
			id, err := mail.NewMessageID(from)
			if err != nil {
				t.Fatal(err)
			}
			if !form.MatchString(id) {
				t.Fatalf("NewMessageID(%q) = %q, want <32 hex digits@talentforge.example>", from, id)
			}
			if seen[id] {
				t.Fatalf("NewMessageID repeated %s", id)
			}
			seen[id] = true
		}
	}
	for _, from := range []string{"", "no-reply", "no-reply@[192.0.2.1]"} {
		if id, err := mail.NewMessageID(from); err == nil {
			t.Errorf("NewMessageID(%q) = %q, want an error", from, id)
		}
	}
}

func TestMessageSurvivesJSON(t *testing.T) {
	m, _ := verifyMail(t)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back mail.Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, &back); diff != "" {
		t.Errorf("round trip through JSON changed the message (-before +after):\n%s", diff)
	}
}

func TestNewMessageRefuses(t *testing.T) {
	const from, to = "no-reply@talentforge.example", "ada@example.com"
	for _, tc := range []struct{ name, from, to, subject, text, html string }{
		{"bad sender", "no-reply", to, "s", "t", "h"},
		{"bad recipient", from, "ada", "s", "t", "h"},
		{"two recipients", from, "ada@example.com, bob@example.com", "s", "t", "h"},
		{"empty subject", from, to, " ", "t", "h"},
		{"subject spanning lines", from, to, "s\nBcc: x@example.com", "t", "h"},
		{"no text", from, to, "s", "", "h"},
		{"no HTML", from, to, "s", "t", ""},
	} {
		if m, err := mail.NewMessage(tc.from, tc.to, tc.subject, tc.text, tc.html); err == nil {
			t.Errorf("%s: NewMessage = %+v, want an error", tc.name, m)
		}
	}
}

func TestDefaultFrom(t *testing.T) {
	for issuer, want := range map[string]string{
		"http://localhost:8080":            "no-reply@localhost",
		"https://auth.talentforge.example": "no-reply@auth.talentforge.example",
	} {
		if got, err := mail.DefaultFrom(issuer); err != nil || got != want {
			t.Errorf("DefaultFrom(%q) = %q, %v; want %q", issuer, got, err, want)
		}
	}
	for _, issuer := range []string{"not a url", "http://[::1]:8080"} {
		if got, err := mail.DefaultFrom(issuer); err == nil {
			t.Errorf("DefaultFrom(%q) = %q, want an error", issuer, got)
		}
	}
}
