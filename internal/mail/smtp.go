package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
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
	tracer  trace.Tracer
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

// WithTracerProvider makes an smtp.send span per Send with tp, carrying the
// server's host and port, never an address or the message.
func WithTracerProvider(tp trace.TracerProvider) SMTPOption {
	return func(s *SMTP) { s.tracer = tp.Tracer("github.com/talentforge/authd/internal/mail") }
}

// NewSMTP returns a sender for rawURL, one of the forms doc.go lists. It
// checks everything it can without connecting, so that a bad AUTH_SMTP_URL
// stops authd at start-up; its errors never contain the password.
func NewSMTP(rawURL string, opts ...SMTPOption) (*SMTP, error) {
	u, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &SMTP{url: u, timeout: DefaultTimeout, tracer: noop.NewTracerProvider().Tracer("")}
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
	if _, err := s.client(s.timeout, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// String returns the server's URL with the password masked, for logs.
func (s *SMTP) String() string { return s.url.String() }

// Send delivers m as a multipart/alternative message (text, then HTML) with
// m's Message-ID and Date. It returns when ctx ends at the latest: the
// connection is closed then, whatever step the exchange is at, so that a
// caller holding a lease on the message (the outbox) knows the send is over
// before the lease is. Each reply is awaited for the timeout at most.
//
// An error after the server accepted the message's data (a failed QUIT, or
// ctx ending then) is not returned: the message is delivered, and a retry
// would only send it twice.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	ctx, span := s.tracer.Start(ctx, "smtp.send", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.ServerAddress(s.url.host), semconv.ServerPort(s.url.port)))
	defer span.End()
	err := s.send(ctx, m)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "send failed")
	}
	return err
}

func (s *SMTP) send(ctx context.Context, m *Message) error {
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
	// go-mail bounds each reply by the timeout but stops watching ctx once
	// connected: closing the connection when ctx ends is what makes ctx
	// bound the whole exchange.
	var cuts []func() bool
	defer func() {
		for _, stop := range cuts {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		cuts = append(cuts, context.AfterFunc(ctx, func() { _ = conn.Close() }))
		if s.url.mode != implicitTLS {
			return conn, nil
		}
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return tc, nil
	}
	c, err := s.client(timeout, dial)
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil && !msg.IsDelivered() {
		if cerr := ctx.Err(); cerr != nil {
			// The connection was cut: ctx's error is the cause.
			return fmt.Errorf("mail: send %s via %s: %w (%v)", m.MessageID, s, cerr, err)
		}
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

// client returns a go-mail client for one Send, dialling with dial (nil:
// go-mail's own dialer, for NewSMTP's check). A fresh one each time keeps
// concurrent Sends from sharing go-mail's per-client state.
//
// Authentication picks the strongest mechanism the server offers
// (authMechanism), and on a connection without TLS only challenge-response
// ones (SCRAM, CRAM-MD5): PLAIN and LOGIN, which send the password as it
// is, are used over TLS only, loopback included, so credentials given with
// a server that offers neither TLS nor a challenge-response mechanism make
// every Send fail.
func (s *SMTP) client(timeout time.Duration, dial gomail.DialContextFunc) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.url.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(s.tls),
	}
	if dial != nil {
		opts = append(opts, gomail.WithDialContextFunc(dial))
	}
	switch s.url.mode {
	case startTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case startTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case implicitTLS:
		// The dialler speaks TLS itself; this keeps go-mail from trying
		// STARTTLS on top.
		opts = append(opts, gomail.WithSSL())
	}
	if s.url.user != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&authMechanism{user: s.url.user, password: s.url.password, host: s.url.host}))
	}
	c, err := gomail.NewClient(s.url.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client for %s: %w", s, err)
	}
	return c, nil
}

// errNoAuthMechanism: the server offers no mechanism authd may use on the
// connection.
var errNoAuthMechanism = errors.New("mail: the SMTP server offers no authentication mechanism authd may use on this connection " +
	"(PLAIN and LOGIN only over TLS; SCRAM-SHA-256, SCRAM-SHA-1 or CRAM-MD5 otherwise)")

// authMechanism chooses the mechanism when the server lists its own. It
// decides on whether the connection is encrypted from the connection itself
// (go-mail's auto-discovery does not know about a TLS connection made by
// the dialler, as smtps:// is here).
type authMechanism struct {
	user, password, host string
	chosen               gosmtp.Auth
}

func (a *authMechanism) Start(server *gosmtp.ServerInfo) (string, []byte, error) {
	offered := func(mech string) bool {
		return slices.ContainsFunc(server.Auth, func(m string) bool { return strings.EqualFold(m, mech) })
	}
	switch {
	case offered("SCRAM-SHA-256"):
		a.chosen = gosmtp.ScramSHA256Auth(a.user, a.password)
	case offered("SCRAM-SHA-1"):
		a.chosen = gosmtp.ScramSHA1Auth(a.user, a.password)
	case offered("CRAM-MD5"):
		a.chosen = gosmtp.CRAMMD5Auth(a.user, a.password)
	case server.TLS && offered("PLAIN"):
		a.chosen = gosmtp.PlainAuth("", a.user, a.password, a.host, false)
	case server.TLS && offered("LOGIN"):
		a.chosen = gosmtp.LoginAuth(a.user, a.password, a.host, false)
	default:
		return "", nil, errNoAuthMechanism
	}
	return a.chosen.Start(server)
}

func (a *authMechanism) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
