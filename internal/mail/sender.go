package mail

import (
	"context"
	"errors"
	"net/textproto"

	gomail "github.com/wneessen/go-mail"
)

// Sender delivers one message. SMTP sends it; Log writes it to the log.
type Sender interface {
	// Send delivers m, or returns an error that Permanent classifies. A
	// nil error means the server took responsibility for the message.
	Send(ctx context.Context, m *Message) error
}

var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Log)(nil)
)

// Permanent reports whether err, returned by a Sender, means the message
// will never be delivered however often it is retried: a 5xx SMTP reply
// (a refused recipient, sender or content, or refused credentials), or a
// message that is malformed. Everything else (no connection, a timeout, a
// TLS failure, a 4xx reply) is worth retrying later.
//
// A 5xx reply to AUTH (535) is permanent too, although it says nothing
// about the message: the server refuses authd's credentials, and retrying
// with the same credentials would not change its answer.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var invalid *invalidMessageError
	if errors.As(err, &invalid) {
		return true
	}
	// go-mail wraps each reply to MAIL, RCPT and DATA in a SendError that
	// does not unwrap to the reply, but carries its code.
	var send *gomail.SendError
	if errors.As(err, &send) {
		return isPermanentCode(send.ErrorCode())
	}
	// Replies during the greeting, EHLO, STARTTLS and AUTH arrive as the
	// textproto error itself.
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return isPermanentCode(reply.Code)
	}
	return false
}

func isPermanentCode(code int) bool { return code >= 500 && code <= 599 }

// invalidMessageError marks a message that fails validation, which no
// retry can fix.
type invalidMessageError struct{ err error }

func (e *invalidMessageError) Error() string { return e.err.Error() }
func (e *invalidMessageError) Unwrap() error { return e.err }
