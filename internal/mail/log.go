package mail

import (
	"context"
	"log/slog"
	"strings"
)

// Log is the sender of embedded mode, where no SMTP server is configured:
// it writes each message to the log instead of sending it, with its links,
// so that a developer running authd locally can open them.
//
// It is for development only: the links carry verification and
// password-reset tokens, and anyone who reads the log can use them.
type Log struct {
	log *slog.Logger
}

// NewLog returns a sender writing to l, which must not be nil: a nil logger
// would lose every link without a trace.
func NewLog(l *slog.Logger) *Log {
	if l == nil {
		panic("mail: NewLog with a nil logger")
	}
	return &Log{log: l}
}

// Send writes one info line with the recipient, the subject, the Message-ID
// and the links of the text part. It always succeeds.
func (l *Log) Send(ctx context.Context, m *Message) error {
	links := []string{} // an empty list, not null, in JSON logs
	// Every template writes its link as a word of its own.
	for _, w := range strings.Fields(m.Text) {
		if strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://") {
			links = append(links, w)
		}
	}
	l.log.InfoContext(ctx, "mail not sent, written to the log (no SMTP server configured)",
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("message_id", m.MessageID),
		slog.Any("links", links))
	return nil
}
