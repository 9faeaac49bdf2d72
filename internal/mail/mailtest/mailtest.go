// Package mailtest runs a real SMTP server (go-smtp) on 127.0.0.1 for
// tests: package mail's SMTP sender and outbox, and the end-to-end tests of
// other packages, send to it over a socket and read back what arrived,
// taken apart as a mail client would. The server can be stopped and
// restarted on the same port (an SMTP outage), can require STARTTLS,
// implicit TLS or credentials, and can refuse a sender, a recipient or a
// message with any reply.
//
// It is a regular (non-test) package so that the tests of any package can
// import it.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/talentforge/authd/internal/testport"
)

// Options configure a Server.
type Options struct {
	// StartTLS offers STARTTLS with a self-signed certificate for
	// 127.0.0.1 and localhost (TLSConfig trusts it).
	StartTLS bool
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS bool
	// User and Password, when set, make the server offer AUTH PLAIN (over
	// TLS only, unless InsecureAuth) and refuse MAIL from a connection that
	// has not authenticated with them (502 5.7.0).
	User, Password string
	// InsecureAuth offers AUTH on a connection without TLS too.
	InsecureAuth bool
}

// Server is an SMTP server on 127.0.0.1 that records what it accepts. It is
// safe for concurrent use.
type Server struct {
	opts Options
	addr string // 127.0.0.1:port, kept across Stop and Restart
	tls  *tls.Config
	pool *x509.CertPool

	mu       sync.Mutex
	srv      *smtp.Server // nil while stopped
	listener net.Listener // srv's
	messages []*Message
	changed  chan struct{} // closed and replaced whenever messages grows
	auths    int
	user     string
	password string
	onMail   func(from string) error
	onRcpt   func(to string) error
	onData   func(m *Message) error
}

// Start starts a plain server (no TLS, no authentication) and stops it when
// tb ends.
func Start(tb testing.TB) *Server { return StartWith(tb, Options{}) }

// StartWith starts a server configured by opts and stops it when tb ends.
func StartWith(tb testing.TB, opts Options) *Server {
	tb.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		tb.Fatalf("mailtest: certificate: %v", err)
	}
	s := &Server{
		opts:     opts,
		tls:      &tls.Config{Certificates: []tls.Certificate{cert}},
		pool:     pool,
		changed:  make(chan struct{}),
		user:     opts.User,
		password: opts.Password,
	}
	// Restart needs this port back after Stop.
	l, err := testport.Listen()
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	tb.Cleanup(s.Stop)
	return s
}

// serve starts a go-smtp server on l.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = s.opts.InsecureAuth
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.opts.StartTLS {
		srv.TLSConfig = s.tls
	}
	if s.opts.ImplicitTLS {
		l = tls.NewListener(l, s.tls)
	}
	s.mu.Lock()
	s.srv, s.listener = srv, l
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Addr returns the server's address, 127.0.0.1:port.
func (s *Server) Addr() string { return s.addr }

// URL returns the server's AUTH_SMTP_URL: smtp://127.0.0.1:port, smtps://
// with ImplicitTLS, with the configured credentials (percent-encoded) when
// there are some.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.User != "" {
		u.User = url.UserPassword(s.opts.User, s.opts.Password)
	}
	return u.String()
}

// TLSConfig returns a client configuration that trusts the server's
// certificate, as the system roots trust a real server's.
func (s *Server) TLSConfig() *tls.Config { return &tls.Config{RootCAs: s.pool} }

// Stop closes the listener and every connection at once, like a server
// that goes down: connecting fails with "connection refused" until Restart.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l := s.srv, s.listener
	s.srv, s.listener = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Closing the listener too covers a Serve that has not yet
		// registered it with srv.
		_ = l.Close()
		_ = srv.Close()
	}
}

// Restart listens again on the same address after Stop, keeping the
// messages received so far and the reply hooks.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		tb.Fatal("mailtest: Restart of a running server")
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		tb.Fatalf("mailtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// SetCredentials changes the user name and password AUTH accepts from now
// on (with Options.User set): a server whose password was changed, or
// fixed.
func (s *Server) SetCredentials(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// OnMail sets the reply to MAIL FROM: f's error (see Reply), or acceptance
// when f returns nil or is nil.
func (s *Server) OnMail(f func(from string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onMail = f
}

// OnRcpt sets the reply to RCPT TO, as OnMail.
func (s *Server) OnRcpt(f func(to string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRcpt = f
}

// OnData sets the reply at the end of DATA, as OnMail; f sees the message
// as it would be recorded. A message refused is not recorded.
func (s *Server) OnData(f func(m *Message) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onData = f
}

// enhancedCode is an RFC 3463 status code at the start of a reply's text.
var enhancedCode = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)`)

// Reply returns an SMTP reply for the hooks: code, and text, which may
// start with an enhanced status code ("5.1.1 No such user"); without one the
// server sends the generic X.0.0.
func Reply(code int, text string) error {
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
	if m := enhancedCode.FindStringSubmatch(text); m != nil {
		for i := range 3 {
			e.EnhancedCode[i], _ = strconv.Atoi(m[i+1])
		}
		e.Message = strings.TrimSpace(text[len(m[0]):])
	}
	return e
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.messages...)
}

// WaitFor waits until the server has accepted at least n messages and
// returns them all; it fails tb if that takes longer than timeout. It waits
// on the arrival of messages, not by polling.
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []*Message {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			msgs := append([]*Message(nil), s.messages...)
			s.mu.Unlock()
			return msgs
		}
		changed, got := s.changed, len(s.messages)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("mailtest: %d messages after %v, want %d", got, timeout, n)
			return nil
		}
	}
}

// AuthAttempts returns how many AUTH exchanges reached the credentials
// check.
func (s *Server) AuthAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func (s *Server) record(m *Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Message is one message the server accepted: its envelope, its raw data,
// and the data taken apart.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Raw  []byte   // the data, as received
	TLS  bool     // the connection was encrypted when the data arrived
	User string   // who authenticated, if anyone did

	Header    netmail.Header
	Subject   string // decoded
	MessageID string // the Message-Id header, angle brackets included
	Text      string // the text/plain part (the body of a single-part text message)
	HTML      string // the text/html part
	Parts     []Part // every leaf part, in order
	// ParseErr says why the data could not be taken apart (the fields
	// above are then partial).
	ParseErr error
}

// Part is one leaf MIME part, its transfer encoding undone.
type Part struct {
	ContentType string // media type, lower case
	Charset     string // lower case
	Body        string
}

// Link returns the first http or https link of the text part ("" if there
// is none). authd's templates write every link as a word of its own.
func (m *Message) Link() string {
	for _, w := range strings.Fields(m.Text) {
		if strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://") {
			return w
		}
	}
	return ""
}

// parse takes m.Raw apart into the other fields.
func (m *Message) parse() {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		m.ParseErr = err
		return
	}
	m.Header = msg.Header
	m.MessageID = msg.Header.Get("Message-Id")
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.ParseErr = fmt.Errorf("subject: %w", err)
		return
	}
	if err := m.parsePart(msg.Header, msg.Body); err != nil {
		m.ParseErr = err
	}
}

func (m *Message) parsePart(h map[string][]string, body io.Reader) error {
	ct := firstValue(h, "Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextPart() // undoes quoted-printable
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.parsePart(p.Header, p); err != nil {
				return err
			}
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	p := Part{ContentType: mediaType, Charset: strings.ToLower(params["charset"]), Body: string(b)}
	m.Parts = append(m.Parts, p)
	switch {
	case mediaType == "text/plain" && m.Text == "":
		m.Text = p.Body
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = p.Body
	}
	return nil
}

func firstValue(h map[string][]string, key string) string {
	for k, v := range h {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// session is one SMTP connection.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.srv.mu.Lock()
		s.srv.auths++
		ok := user == s.srv.user && pass == s.srv.password
		s.srv.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.srv.mu.Lock()
	hook := s.srv.onMail
	s.srv.mu.Unlock()
	if hook != nil {
		if err := hook(from); err != nil {
			return err
		}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	hook := s.srv.onRcpt
	s.srv.mu.Unlock()
	if hook != nil {
		if err := hook(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	m := &Message{From: s.from, To: append([]string(nil), s.to...), Raw: data, TLS: isTLS, User: s.user}
	m.parse()
	s.srv.mu.Lock()
	hook := s.srv.onData
	s.srv.mu.Unlock()
	if hook != nil {
		if err := hook(m); err != nil {
			return err
		}
	}
	s.srv.record(m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "authd mail test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// Silent returns the address of a listener that accepts connections and
// never says a word: a server that hangs after the TCP handshake. It is
// closed, with its connections, when tb ends.
func Silent(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// Closed returns an address on which nothing listens.
func Closed(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		tb.Fatalf("mailtest: %v", err)
	}
	return addr
}
