package mailtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/mail/mailtest"
)

func message(t *testing.T, to, link string) *mail.Message {
	t.Helper()
	m, err := mail.NewMessage("Test <no-reply@authd.test>", to, "Hello", "Open "+link+" now.\n", "<p>Hello</p>")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func send(t *testing.T, srv *mailtest.Server, m *mail.Message) error {
	t.Helper()
	s, err := mail.NewSMTP(srv.URL(), mail.WithTLSConfig(srv.TLSConfig()), mail.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return s.Send(t.Context(), m)
}

func TestServerRecordsAndParses(t *testing.T) {
	srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true})
	m := message(t, "ada@example.com", "https://app.example.com/verify-email#token=abc")
	if err := send(t, srv, m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	r := got[0]
	if r.ParseErr != nil || r.From != "no-reply@authd.test" || len(r.To) != 1 || r.To[0] != "ada@example.com" || !r.TLS {
		t.Errorf("envelope %q → %q, TLS %v, parse error %v", r.From, r.To, r.TLS, r.ParseErr)
	}
	if r.MessageID != m.MessageID || r.Subject != "Hello" || r.HTML != "<p>Hello</p>" || len(r.Parts) != 2 {
		t.Errorf("parsed: id %q subject %q html %q, %d parts", r.MessageID, r.Subject, r.HTML, len(r.Parts))
	}
	if link := r.Link(); link != "https://app.example.com/verify-email#token=abc" {
		t.Errorf("Link() = %q", link)
	}
}

func TestServerStopAndRestart(t *testing.T) {
	srv := mailtest.Start(t)
	addr := srv.Addr()
	srv.Stop()
	srv.Stop() // idempotent
	if err := send(t, srv, message(t, "ada@example.com", "https://x.example/a")); err == nil {
		t.Fatal("sent to a stopped server")
	}
	srv.Restart(t)
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, was %s", srv.Addr(), addr)
	}
	if err := send(t, srv, message(t, "ada@example.com", "https://x.example/a")); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	srv.WaitFor(t, 1, 5*time.Second)
}

func TestReply(t *testing.T) {
	var e *smtp.SMTPError
	if err := mailtest.Reply(550, "5.1.1 No such user"); !errors.As(err, &e) ||
		e.Code != 550 || e.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) || e.Message != "No such user" {
		t.Errorf("Reply with an enhanced code: %#v", err)
	}
	if err := mailtest.Reply(451, "try later"); !errors.As(err, &e) ||
		e.Code != 451 || e.EnhancedCode != smtp.EnhancedCodeNotSet || e.Message != "try later" {
		t.Errorf("Reply without an enhanced code: %#v", err)
	}
}
