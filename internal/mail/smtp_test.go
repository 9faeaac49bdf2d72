package mail_test

import (
	"context"
	"errors"
	"mime"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/mail/mailtest"
)

const (
	product   = "TalentForge"
	uiURL     = "https://app.example.com/"
	sender    = "TalentForge <no-reply@talentforge.example>"
	recipient = "ada@example.com"
	testToken = "tok_Zm9vYmFy-bA+z/="
)

// verifyMail renders a verify_email message with a link made by Link, and
// returns both.
func verifyMail(t *testing.T) (*mail.Message, string) {
	t.Helper()
	link, err := mail.Link(uiURL, mail.VerifyEmailPath, testToken)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := mail.Load("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tmpl.Render(mail.VerifyEmail, mail.Data{
		Product: product, From: sender, To: recipient, Link: link, LinkTTL: 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, link
}

func newSMTP(t *testing.T, rawURL string, opts ...mail.SMTPOption) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(rawURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// onlyMessage returns the one message srv received, checking that it is
// text and HTML in UTF-8 and took no parsing error.
func onlyMessage(t *testing.T, srv *mailtest.Server) *mailtest.Message {
	t.Helper()
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	m := got[0]
	if m.ParseErr != nil {
		t.Fatalf("received message does not parse: %v", m.ParseErr)
	}
	if ct, _, _ := mime.ParseMediaType(m.Header.Get("Content-Type")); ct != "multipart/alternative" {
		t.Errorf("Content-Type %s, want multipart/alternative", ct)
	}
	for _, p := range m.Parts {
		if p.Charset != "utf-8" {
			t.Errorf("%s part in charset %q, want utf-8", p.ContentType, p.Charset)
		}
	}
	return m
}

func TestSMTPDeliversTextAndHTMLWithHeaders(t *testing.T) {
	srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true})
	m, link := verifyMail(t)
	if err := newSMTP(t, srv.URL(), mail.WithTLSConfig(srv.TLSConfig())).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}

	got := onlyMessage(t, srv)
	if got.From != "no-reply@talentforge.example" || len(got.To) != 1 || got.To[0] != recipient {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	if got.MessageID != m.MessageID {
		t.Errorf("Message-ID %q, want %q", got.MessageID, m.MessageID)
	}
	if !strings.Contains(got.Subject, product) {
		t.Errorf("subject %q does not name %s", got.Subject, product)
	}
	if from, err := got.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@talentforge.example" || from[0].Name != product {
		t.Errorf("From %v (%v)", from, err)
	}
	if to, err := got.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != recipient {
		t.Errorf("To %v (%v)", to, err)
	}
	if date, err := got.Header.Date(); err != nil || !date.Equal(m.Date.Truncate(time.Second)) {
		t.Errorf("Date %v (%v), want the message's %v", date, err, m.Date)
	}
	if got.Text == "" || got.HTML == "" {
		t.Fatalf("text part %d bytes, HTML part %d bytes; want both", len(got.Text), len(got.HTML))
	}
	if !strings.Contains(got.HTML, `href="`+link+`"`) {
		t.Errorf("HTML part has no href to %s:\n%s", link, got.HTML)
	}

	// The link as the recipient sees it in the text part: exactly what
	// Link built, with the token in the fragment and no query.
	found := got.Link()
	if found != link {
		t.Fatalf("text part link %q, want %q", found, link)
	}
	u, err := url.Parse(found)
	if err != nil {
		t.Fatal(err)
	}
	if u.RawQuery != "" || strings.Contains(u.Path, testToken) {
		t.Errorf("token outside the fragment: %s", found)
	}
	// As the page reads it: new URLSearchParams(location.hash.slice(1)).
	frag, err := url.ParseQuery(u.EscapedFragment())
	if err != nil || frag.Get("token") != testToken {
		t.Errorf("fragment %q carries token %q (%v), want %q", u.EscapedFragment(), frag.Get("token"), err, testToken)
	}
}

func TestSMTPRetryCarriesTheSameMessageID(t *testing.T) {
	srv := mailtest.Start(t)
	m, _ := verifyMail(t)
	s := newSMTP(t, srv.URL())
	for range 2 {
		if err := s.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 2 {
		t.Fatalf("received %d messages, want 2", len(got))
	}
	for _, r := range got {
		if id := r.MessageID; id != m.MessageID {
			t.Errorf("Message-ID %q, want %q on every attempt", id, m.MessageID)
		}
	}
}

func TestSMTPOpportunisticStartTLS(t *testing.T) {
	for _, offered := range []bool{true, false} {
		t.Run(map[bool]string{true: "offered", false: "not offered"}[offered], func(t *testing.T) {
			srv := mailtest.StartWith(t, mailtest.Options{StartTLS: offered})
			m, _ := verifyMail(t)
			if err := newSMTP(t, srv.URL(), mail.WithTLSConfig(srv.TLSConfig())).Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			if got := onlyMessage(t, srv); got.TLS != offered {
				t.Errorf("connection encrypted: %v, want %v", got.TLS, offered)
			}
		})
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	t.Run("refuses a server without STARTTLS", func(t *testing.T) {
		srv := mailtest.Start(t)
		m, _ := verifyMail(t)
		err := newSMTP(t, srv.URL()+"?starttls=required").Send(t.Context(), m)
		if err == nil {
			t.Fatal("sent in plain text despite starttls=required")
		}
		if got := mail.Classify(err); got != mail.Misconfigured {
			t.Errorf("Classify(%v) = %v, want misconfigured: the server may gain STARTTLS", err, got)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
	t.Run("uses it when offered", func(t *testing.T) {
		srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true})
		m, _ := verifyMail(t)
		if err := newSMTP(t, srv.URL()+"?starttls=required", mail.WithTLSConfig(srv.TLSConfig())).Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		if !onlyMessage(t, srv).TLS {
			t.Error("message arrived in plain text")
		}
	})
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := mailtest.StartWith(t, mailtest.Options{ImplicitTLS: true, User: "mailer", Password: "s3cret"})
	m, _ := verifyMail(t)
	if !strings.HasPrefix(srv.URL(), "smtps://mailer:s3cret@") {
		t.Fatalf("URL %s", srv.URL())
	}
	if err := newSMTP(t, srv.URL(), mail.WithTLSConfig(srv.TLSConfig())).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	if !got.TLS || got.User != "mailer" {
		t.Errorf("TLS %v, user %q; want TLS and mailer", got.TLS, got.User)
	}
}

func TestSMTPChecksTheCertificate(t *testing.T) {
	// No WithTLSConfig: the system roots don't know the test certificate.
	for _, implicit := range []bool{false, true} {
		t.Run(map[bool]string{false: "STARTTLS", true: "smtps"}[implicit], func(t *testing.T) {
			srv := mailtest.StartWith(t, mailtest.Options{StartTLS: !implicit, ImplicitTLS: implicit})
			m, _ := verifyMail(t)
			err := newSMTP(t, srv.URL()).Send(t.Context(), m)
			if err == nil {
				t.Fatal("sent over TLS to an untrusted certificate")
			}
			if got := mail.Classify(err); got != mail.Misconfigured || mail.Permanent(err) {
				t.Errorf("Classify(%v) = %v (permanent %v), want misconfigured, retried", err, got, mail.Permanent(err))
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
		})
	}
}

func TestSMTPAuth(t *testing.T) {
	const password = "correct-horse-battery"
	srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true, User: "mailer", Password: password})
	m, _ := verifyMail(t)

	t.Run("right credentials", func(t *testing.T) {
		if err := newSMTP(t, srv.URL(), mail.WithTLSConfig(srv.TLSConfig())).Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		if got := onlyMessage(t, srv); got.User != "mailer" || !got.TLS {
			t.Errorf("user %q, TLS %v", got.User, got.TLS)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-password-1234"
		err := newSMTP(t, "smtp://mailer:"+wrong+"@"+srv.Addr(), mail.WithTLSConfig(srv.TLSConfig())).Send(t.Context(), m)
		if err == nil {
			t.Fatal("sent with a wrong password")
		}
		// 535 is about authd's configuration, not this message: giving up
		// would drop every queued mail.
		if got := mail.Classify(err); got != mail.Misconfigured || mail.Permanent(err) {
			t.Errorf("Classify(%v) = %v (permanent %v), want misconfigured, retried", err, got, mail.Permanent(err))
		}
		if !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), wrong) {
			t.Errorf("error %q: want the 535 reply and no password", err)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("server holds %d messages, want only the first subtest's", n)
		}
	})
}

func TestSMTPNeverSendsPlainAuthWithoutTLS(t *testing.T) {
	// The server offers AUTH PLAIN on a plain connection; go-mail must not
	// take it.
	srv := mailtest.StartWith(t, mailtest.Options{User: "mailer", Password: "s3cret", InsecureAuth: true})
	m, _ := verifyMail(t)
	err := newSMTP(t, srv.URL()).Send(t.Context(), m)
	if err == nil {
		t.Fatal("authenticated with PLAIN over plain text")
	}
	if got := mail.Classify(err); got != mail.Misconfigured {
		t.Errorf("Classify(%v) = %v, want misconfigured", err, got)
	}
	if n := srv.AuthAttempts(); n != 0 {
		t.Errorf("server saw %d AUTH attempts, want none", n)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestSMTPReplyClassification(t *testing.T) {
	refuse := func(code int, text string) func(string) error {
		return func(string) error { return mailtest.Reply(code, text) }
	}
	refuseData := func(code int, text string) func(*mailtest.Message) error {
		return func(*mailtest.Message) error { return mailtest.Reply(code, text) }
	}
	for _, tc := range []struct {
		name string
		mail func(string) error
		rcpt func(string) error
		data func(*mailtest.Message) error
		want mail.Failure
	}{
		{name: "451 to RCPT", rcpt: refuse(451, "4.3.0 try later"), want: mail.Transient},
		{name: "452 to DATA", data: refuseData(452, "4.3.1 out of storage"), want: mail.Transient},
		{name: "421 to MAIL", mail: refuse(421, "4.3.2 shutting down"), want: mail.Transient},
		{name: "550 to RCPT", rcpt: refuse(550, "no such user"), want: mail.Rejected},
		{name: "550 5.1.1 to RCPT", rcpt: refuse(550, "5.1.1 no such user"), want: mail.Rejected},
		{name: "554 to DATA", data: refuseData(554, "transaction failed"), want: mail.Rejected},
		{name: "552 5.3.4 to DATA", data: refuseData(552, "5.3.4 message too big"), want: mail.Rejected},
		// Policy: what a server says to an unauthenticated relay attempt,
		// or of content that every templated mail shares.
		{name: "554 5.7.1 to RCPT", rcpt: refuse(554, "5.7.1 relay access denied"), want: mail.Misconfigured},
		{name: "550 5.7.1 to DATA", data: refuseData(550, "5.7.1 rejected by policy"), want: mail.Misconfigured},
		// MAIL FROM is authd's own sender address.
		{name: "550 5.1.8 to MAIL", mail: refuse(550, "5.1.8 sender refused"), want: mail.Misconfigured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t)
			srv.OnMail(tc.mail)
			srv.OnRcpt(tc.rcpt)
			srv.OnData(tc.data)
			m, _ := verifyMail(t)
			err := newSMTP(t, srv.URL()).Send(t.Context(), m)
			if err == nil {
				t.Fatal("no error")
			}
			if got := mail.Classify(err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tc.want)
			}
			if got := mail.Permanent(err); got != (tc.want == mail.Rejected) {
				t.Errorf("Permanent(%v) = %v", err, got)
			}
		})
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	m, _ := verifyMail(t)
	err := newSMTP(t, "smtp://"+mailtest.Closed(t)).Send(t.Context(), m)
	if err == nil {
		t.Fatal("no error with nothing listening")
	}
	if got := mail.Classify(err); got != mail.Transient {
		t.Errorf("Classify(%v) = %v, want transient", err, got)
	}
}

func TestSMTPTimeout(t *testing.T) {
	m, _ := verifyMail(t)
	err := newSMTP(t, "smtp://"+mailtest.Silent(t), mail.WithTimeout(100*time.Millisecond)).Send(t.Context(), m)
	if err == nil {
		t.Fatal("no error from a server that never answers")
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v, want a timeout", err)
	}
	if got := mail.Classify(err); got != mail.Transient {
		t.Errorf("Classify(%v) = %v, want transient", err, got)
	}
}

func TestSMTPContextEnded(t *testing.T) {
	m, _ := verifyMail(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newSMTP(t, "smtp://"+mailtest.Silent(t)).Send(ctx, m)
	if !errors.Is(err, context.Canceled) || mail.Classify(err) != mail.Transient {
		t.Errorf("Send with a canceled context: %v (%v), want context.Canceled, transient", err, mail.Classify(err))
	}
}

// TestSMTPContextCutsTheExchange: a context that ends mid-exchange ends
// Send at once, though the server has not answered and the timeout is far
// off: the outbox relies on it to finish a send within its lease.
func TestSMTPContextCutsTheExchange(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run(map[bool]string{false: "smtp", true: "smtps"}[implicit], func(t *testing.T) {
			srv := mailtest.StartWith(t, mailtest.Options{ImplicitTLS: implicit})
			inData, release := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(release) })
			srv.OnData(func(*mailtest.Message) error {
				close(inData)
				<-release // answers only once the test is over
				return nil
			})
			m, _ := verifyMail(t)
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-inData
				cancel()
			}()
			err := newSMTP(t, srv.URL(), mail.WithTLSConfig(srv.TLSConfig()), mail.WithTimeout(time.Hour)).Send(ctx, m)
			if !errors.Is(err, context.Canceled) || mail.Classify(err) != mail.Transient {
				t.Errorf("Send cut mid-DATA: %v (%v), want context.Canceled, transient", err, mail.Classify(err))
			}
		})
	}
}

func TestSMTPRefusesMalformedMessages(t *testing.T) {
	good, _ := verifyMail(t)
	for _, tc := range []struct {
		name  string
		spoil func(m *mail.Message)
	}{
		{"recipient", func(m *mail.Message) { m.To = "not an address" }},
		{"sender", func(m *mail.Message) { m.From = "" }},
		{"message id", func(m *mail.Message) { m.MessageID = "" }},
		{"subject", func(m *mail.Message) { m.Subject = "two\r\nBcc: victim@example.com" }},
		{"text part", func(m *mail.Message) { m.Text = "" }},
		{"HTML part", func(m *mail.Message) { m.HTML = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t)
			m := *good
			tc.spoil(&m)
			err := newSMTP(t, srv.URL()).Send(t.Context(), &m)
			if err == nil || mail.Classify(err) != mail.Rejected {
				t.Errorf("Send: %v, want a rejected (permanent) error", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
		})
	}
}
