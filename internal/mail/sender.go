package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/textproto"
	"regexp"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Sender delivers one message. SMTP sends it; Log writes it to the log.
type Sender interface {
	// Send delivers m, or returns an error that Classify sorts. A nil
	// error means the server took responsibility for the message.
	Send(ctx context.Context, m *Message) error
}

var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Log)(nil)
)

// Failure is what a Sender's error says about whom it concerns, which
// decides what the outbox does with the message.
type Failure int

const (
	// Transient failures are worth retrying as they are: no connection,
	// a timeout, a 4xx reply, the context ending. Nothing says the
	// message or the configuration is at fault.
	Transient Failure = iota
	// Misconfigured failures concern every message, not this one: the
	// server refuses authd itself (its credentials, its sender address,
	// its connection security) or cannot be trusted (a certificate that
	// does not verify). Giving up would drop every queued mail until an
	// operator fixes the configuration, so the outbox retries them like
	// transient failures, but logs them as errors.
	Misconfigured
	// Rejected failures concern this message alone and no retry can fix
	// them: a 5xx reply to RCPT TO (the recipient: "550 5.1.1 no such
	// user") or to the data (the content: "552 5.3.4 too big"), or a
	// message that is malformed. The outbox gives such a message up at
	// once.
	Rejected
)

func (f Failure) String() string {
	switch f {
	case Transient:
		return "transient"
	case Misconfigured:
		return "misconfigured"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Classify sorts an error returned by a Sender (nil is Transient, as is
// anything it does not recognise: when in doubt, a mail is retried until
// the outbox's give-up age rather than dropped).
//
// Replies are judged by the step of the exchange they answer and by their
// enhanced status code (RFC 3463):
//
//   - a 5xx reply to RCPT TO or to the data is Rejected, except with a
//     X.7.x code (security or policy: "554 5.7.1 relay access denied" is
//     what a server that wants authentication says to RCPT, and a content
//     policy refusing one templated mail refuses them all), which is
//     Misconfigured;
//   - a 5xx reply to the greeting, EHLO, STARTTLS, AUTH (535 bad
//     credentials) or MAIL FROM (the sender address) is Misconfigured;
//   - a TLS failure (an untrusted certificate, a server that does not offer
//     STARTTLS with starttls=required) or no authentication mechanism
//     authd may use is Misconfigured;
//   - a 4xx reply, whatever the step, is Transient.
func Classify(err error) Failure {
	if err == nil {
		return Transient
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	var invalid *invalidMessageError
	if errors.As(err, &invalid) {
		return Rejected
	}
	// go-mail wraps each reply to MAIL, RCPT and DATA in a SendError that
	// does not unwrap to the reply, but carries its code and the step.
	var send *gomail.SendError
	if errors.As(err, &send) {
		code := send.ErrorCode()
		if code < 500 || code > 599 {
			return Transient
		}
		switch send.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			if policyCode(send.EnhancedStatusCode(), send.Error()) {
				return Misconfigured
			}
			return Rejected
		}
		return Misconfigured
	}
	// Replies during the greeting, EHLO, STARTTLS and AUTH arrive as the
	// textproto error itself.
	var reply *textproto.Error
	if errors.As(err, &reply) {
		if reply.Code >= 500 && reply.Code <= 599 {
			return Misconfigured
		}
		return Transient
	}
	if errors.Is(err, errNoAuthMechanism) || tlsFailure(err) {
		return Misconfigured
	}
	return Transient
}

// Permanent reports whether err, returned by a Sender, means this message
// will never be delivered however often it is retried (Classify says
// Rejected). A server that refuses authd's credentials or its TLS is not
// permanent: it refuses every message, and the fix is the operator's.
func Permanent(err error) bool { return Classify(err) == Rejected }

// enhancedStatus finds an RFC 3463 code in a reply's text.
var enhancedStatus = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

// policyCode reports whether a reply carries a X.7.x (security or policy)
// enhanced status code: code is what go-mail found (only when the server
// announced ENHANCEDSTATUSCODES); otherwise the text is searched.
func policyCode(code, text string) bool {
	if code == "" {
		code = enhancedStatus.FindString(text)
	}
	_, rest, ok := strings.Cut(code, ".")
	return ok && strings.HasPrefix(rest, "7.")
}

// tlsFailure reports whether err is a failed TLS handshake or a refused
// STARTTLS policy.
func tlsFailure(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		alert     tls.AlertError
		record    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &alert), errors.As(err, &record):
		return true
	}
	// go-mail's refusal of a server without STARTTLS under TLSMandatory is
	// a plain error.
	return strings.Contains(err.Error(), "does not support STARTTLS")
}

// invalidMessageError marks a message that fails validation, which no
// retry can fix.
type invalidMessageError struct{ err error }

func (e *invalidMessageError) Error() string { return e.err.Error() }
func (e *invalidMessageError) Unwrap() error { return e.err }
