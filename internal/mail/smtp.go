package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultTimeout bounds connecting and then each reply awaited from the
// server: long enough for a slow provider, short enough that a dead one
// holds an outbox batch for seconds, not minutes.
const DefaultTimeout = 10 * time.Second

// SMTP sends messages through an SMTP server with go-mail, dialling once per
// Send (the outbox worker sends in batches; a pooled connection would save a
// handshake per message at the price of handling servers that drop idle
// connections). It is safe for concurrent use.
type SMTP struct {
	url     *smtpURL
	timeout time.Duration
	tls     *tls.Config
}

// SMTPOption changes a setting of NewSMTP.
type SMTPOption func(*SMTP)

// WithTimeout sets how long Send waits to connect and then for each reply
// (DefaultTimeout otherwise). It must be positive.
func WithTimeout(d time.Duration) SMTPOption {
	return func(s *SMTP) { s.timeout = d }
}

// WithTLSConfig sets the TLS configuration of STARTTLS and smtps:// (the
// system roots otherwise). Tests use it to trust a self-signed certificate.
// ServerName defaults to the URL's host and MinVersion to TLS 1.2.
func WithTLSConfig(c *tls.Config) SMTPOption {
	return func(s *SMTP) { s.tls = c }
}

// NewSMTP returns a sender for rawURL, one of the forms doc.go lists. It
// checks everything it can without connecting, so that a bad AUTH_SMTP_URL
// stops authd at start-up; its errors never contain the password.
func NewSMTP(rawURL string, opts ...SMTPOption) (*SMTP, error) {
	u, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &SMTP{url: u, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(s)
	}
	if s.timeout <= 0 {
		return nil, errors.New("mail: SMTP timeout must be positive")
	}
	if s.tls == nil {
		s.tls = &tls.Config{}
	} else {
		s.tls = s.tls.Clone() // the caller's config is not ours to fill in
	}
	if s.tls.ServerName == "" {
		s.tls.ServerName = u.host
	}
	if s.tls.MinVersion == 0 {
		s.tls.MinVersion = tls.VersionTLS12
	}
	if _, err := s.client(s.timeout); err != nil {
		return nil, err
	}
	return s, nil
}

// String returns the server's URL with the password masked, for logs.
func (s *SMTP) String() string { return s.url.String() }

// Send delivers m as a multipart/alternative message (text, then HTML) with
// m's Message-ID and Date. The context bounds the connection attempt, and
// its deadline, when sooner, shortens the timeout of each reply; go-mail
// does not abort an exchange already under way when the context ends.
//
// An error after the server accepted the message's data (a failed RSET or
// QUIT) is not returned: the message is delivered, and a retry would only
// send it twice.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	if err := m.validate(); err != nil {
		return &invalidMessageError{err}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	msg, err := s.build(m)
	if err != nil {
		return &invalidMessageError{err}
	}
	timeout := s.timeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
		if timeout <= 0 {
			return context.DeadlineExceeded
		}
	}
	c, err := s.client(timeout)
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil && !msg.IsDelivered() {
		return fmt.Errorf("mail: send %s via %s: %w", m.MessageID, s, err)
	}
	return nil
}

// build turns m into go-mail's message.
func (s *SMTP) build(m *Message) (*gomail.Msg, error) {
	// No User-Agent: it would only tell the world which library and
	// version authd uses.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, err
	}
	if err := msg.To(m.To); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"))
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// client returns a go-mail client for one Send. A fresh one each time keeps
// concurrent Sends from sharing go-mail's per-client state.
//
// Authentication is go-mail's auto-discovery, which picks the strongest
// mechanism the server offers and, on a connection without TLS, only
// challenge-response ones (SCRAM, CRAM-MD5): PLAIN and LOGIN, which send
// the password as it is, are used over TLS only, loopback included, so
// credentials given with a server that offers neither TLS nor a
// challenge-response mechanism make every Send fail.
func (s *SMTP) client(timeout time.Duration) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.url.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tls),
	}
	switch s.url.mode {
	case startTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case startTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case implicitTLS:
		opts = append(opts, gomail.WithSSL())
	}
	if s.url.user != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.url.user),
			gomail.WithPassword(s.url.password))
	}
	c, err := gomail.NewClient(s.url.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client for %s: %w", s, err)
	}
	return c, nil
}
