package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/talentforge/authd/internal/mail"
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

// parsedMail is a received message taken apart as a mail client would.
type parsedMail struct {
	header  netmail.Header
	subject string
	text    string
	html    string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p := parsedMail{header: msg.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %s, want multipart/alternative", mediaType)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		partType, partParams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if cs := strings.ToLower(partParams["charset"]); cs != "utf-8" {
			t.Errorf("%s part in charset %q, want utf-8", partType, cs)
		}
		switch partType {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		default:
			t.Errorf("unexpected part %s", partType)
		}
	}
	return p
}

// onlyMessage returns the one message srv received.
func onlyMessage(t *testing.T, srv *testServer) received {
	t.Helper()
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	return got[0]
}

func TestSMTPDeliversTextAndHTMLWithHeaders(t *testing.T) {
	srv := startServer(t, serverOptions{startTLS: true})
	m, link := verifyMail(t)
	if err := newSMTP(t, srv.url("smtp", "", ""), mail.WithTLSConfig(srv.tlsConfig())).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}

	got := onlyMessage(t, srv)
	if got.From != "no-reply@talentforge.example" || len(got.To) != 1 || got.To[0] != recipient {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	p := parseMail(t, got.Data)
	if id := p.header.Get("Message-Id"); id != m.MessageID {
		t.Errorf("Message-ID %q, want %q", id, m.MessageID)
	}
	if !strings.Contains(p.subject, product) {
		t.Errorf("subject %q does not name %s", p.subject, product)
	}
	if from, err := p.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@talentforge.example" || from[0].Name != product {
		t.Errorf("From %v (%v)", from, err)
	}
	if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != recipient {
		t.Errorf("To %v (%v)", to, err)
	}
	if date, err := p.header.Date(); err != nil || !date.Equal(m.Date.Truncate(time.Second)) {
		t.Errorf("Date %v (%v), want the message's %v", date, err, m.Date)
	}
	if p.text == "" || p.html == "" {
		t.Fatalf("text part %d bytes, HTML part %d bytes; want both", len(p.text), len(p.html))
	}
	if !strings.Contains(p.html, `href="`+link+`"`) {
		t.Errorf("HTML part has no href to %s:\n%s", link, p.html)
	}

	// The link as the recipient sees it in the text part: exactly what
	// Link built, with the token in the fragment and no query.
	var found string
	for _, w := range strings.Fields(p.text) {
		if strings.HasPrefix(w, "https://") {
			found = w
		}
	}
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
	srv := startServer(t, serverOptions{})
	m, _ := verifyMail(t)
	s := newSMTP(t, srv.url("smtp", "", ""))
	for range 2 {
		if err := s.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.received()
	if len(got) != 2 {
		t.Fatalf("received %d messages, want 2", len(got))
	}
	for _, r := range got {
		if id := parseMail(t, r.Data).header.Get("Message-Id"); id != m.MessageID {
			t.Errorf("Message-ID %q, want %q on every attempt", id, m.MessageID)
		}
	}
}

func TestSMTPOpportunisticStartTLS(t *testing.T) {
	for _, offered := range []bool{true, false} {
		t.Run(map[bool]string{true: "offered", false: "not offered"}[offered], func(t *testing.T) {
			srv := startServer(t, serverOptions{startTLS: offered})
			m, _ := verifyMail(t)
			if err := newSMTP(t, srv.url("smtp", "", ""), mail.WithTLSConfig(srv.tlsConfig())).Send(t.Context(), m); err != nil {
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
		srv := startServer(t, serverOptions{})
		m, _ := verifyMail(t)
		err := newSMTP(t, srv.url("smtp", "", "?starttls=required")).Send(t.Context(), m)
		if err == nil {
			t.Fatal("sent in plain text despite starttls=required")
		}
		if mail.Permanent(err) {
			t.Errorf("Permanent(%v) = true; the server may gain STARTTLS", err)
		}
		if n := len(srv.received()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
	t.Run("uses it when offered", func(t *testing.T) {
		srv := startServer(t, serverOptions{startTLS: true})
		m, _ := verifyMail(t)
		if err := newSMTP(t, srv.url("smtp", "", "?starttls=required"), mail.WithTLSConfig(srv.tlsConfig())).Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		if !onlyMessage(t, srv).TLS {
			t.Error("message arrived in plain text")
		}
	})
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := startServer(t, serverOptions{implicitTLS: true, user: "mailer", pass: "s3cret"})
	m, _ := verifyMail(t)
	if err := newSMTP(t, srv.url("smtps", "mailer:s3cret@", ""), mail.WithTLSConfig(srv.tlsConfig())).Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	if !got.TLS || got.User != "mailer" {
		t.Errorf("TLS %v, user %q; want TLS and mailer", got.TLS, got.User)
	}
}

func TestSMTPChecksTheCertificate(t *testing.T) {
	// No WithTLSConfig: the system roots don't know the test certificate.
	srv := startServer(t, serverOptions{startTLS: true})
	m, _ := verifyMail(t)
	err := newSMTP(t, srv.url("smtp", "", "")).Send(t.Context(), m)
	if err == nil {
		t.Fatal("sent over TLS to an untrusted certificate")
	}
	if mail.Permanent(err) {
		t.Errorf("Permanent(%v) = true, want a retry", err)
	}
	if n := len(srv.received()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestSMTPAuth(t *testing.T) {
	const password = "correct-horse-battery"
	srv := startServer(t, serverOptions{startTLS: true, user: "mailer", pass: password})
	m, _ := verifyMail(t)

	t.Run("right credentials", func(t *testing.T) {
		if err := newSMTP(t, srv.url("smtp", "mailer:"+password+"@", ""), mail.WithTLSConfig(srv.tlsConfig())).Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		if got := onlyMessage(t, srv); got.User != "mailer" || !got.TLS {
			t.Errorf("user %q, TLS %v", got.User, got.TLS)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-password-1234"
		err := newSMTP(t, srv.url("smtp", "mailer:"+wrong+"@", ""), mail.WithTLSConfig(srv.tlsConfig())).Send(t.Context(), m)
		if err == nil {
			t.Fatal("sent with a wrong password")
		}
		if !mail.Permanent(err) {
			t.Errorf("Permanent(%v) = false, want true for 535", err)
		}
		if !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), wrong) {
			t.Errorf("error %q: want the 535 reply and no password", err)
		}
		if n := len(srv.received()); n != 1 {
			t.Errorf("server holds %d messages, want only the first subtest's", n)
		}
	})
}

func TestSMTPNeverSendsPlainAuthWithoutTLS(t *testing.T) {
	// The server offers AUTH PLAIN on a plain connection; go-mail must not
	// take it.
	srv := startServer(t, serverOptions{user: "mailer", pass: "s3cret", insecureAuth: true})
	m, _ := verifyMail(t)
	err := newSMTP(t, srv.url("smtp", "mailer:s3cret@", "")).Send(t.Context(), m)
	if err == nil {
		t.Fatal("authenticated with PLAIN over plain text")
	}
	if n := srv.authAttempts(); n != 0 {
		t.Errorf("server saw %d AUTH attempts, want none", n)
	}
	if n := len(srv.received()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestSMTPReplyClassification(t *testing.T) {
	reply := func(code int) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "test reply"}
	}
	for _, tc := range []struct {
		name      string
		opts      serverOptions
		permanent bool
	}{
		{"451 to RCPT", serverOptions{rcptErr: reply(451)}, false},
		{"452 to DATA", serverOptions{dataErr: reply(452)}, false},
		{"550 to RCPT", serverOptions{rcptErr: reply(550)}, true},
		{"554 to DATA", serverOptions{dataErr: reply(554)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			m, _ := verifyMail(t)
			err := newSMTP(t, srv.url("smtp", "", "")).Send(t.Context(), m)
			if err == nil {
				t.Fatal("no error")
			}
			if got := mail.Permanent(err); got != tc.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, tc.permanent)
			}
		})
	}
}

func TestSMTPConnectionRefused(t *testing.T) {
	m, _ := verifyMail(t)
	err := newSMTP(t, "smtp://"+closedPort(t)).Send(t.Context(), m)
	if err == nil {
		t.Fatal("no error with nothing listening")
	}
	if mail.Permanent(err) {
		t.Errorf("Permanent(%v) = true, want a retry", err)
	}
}

func TestSMTPTimeout(t *testing.T) {
	m, _ := verifyMail(t)
	err := newSMTP(t, "smtp://"+silentListener(t), mail.WithTimeout(100*time.Millisecond)).Send(t.Context(), m)
	if err == nil {
		t.Fatal("no error from a server that never answers")
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error %v, want a timeout", err)
	}
	if mail.Permanent(err) {
		t.Errorf("Permanent(%v) = true, want a retry", err)
	}
}

func TestSMTPContextEnded(t *testing.T) {
	m, _ := verifyMail(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newSMTP(t, "smtp://"+silentListener(t)).Send(ctx, m)
	if !errors.Is(err, context.Canceled) || mail.Permanent(err) {
		t.Errorf("Send with a canceled context: %v (permanent %v), want context.Canceled, retried", err, mail.Permanent(err))
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
			srv := startServer(t, serverOptions{})
			m := *good
			tc.spoil(&m)
			err := newSMTP(t, srv.url("smtp", "", "")).Send(t.Context(), &m)
			if err == nil || !mail.Permanent(err) {
				t.Errorf("Send: %v, want a permanent error", err)
			}
			if n := len(srv.received()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
		})
	}
}
