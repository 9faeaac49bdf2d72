package mail

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Message is one rendered mail, ready to send. Its fields are plain and
// exported so the outbox can store it as JSON and send it later, as often as
// it takes: everything a retry needs, the Message-ID included, is in it.
type Message struct {
	From      string    `json:"from"`       // sender address (AUTH_SMTP_FROM)
	To        string    `json:"to"`         // one recipient address
	Subject   string    `json:"subject"`    // one line
	Text      string    `json:"text"`       // text/plain part
	HTML      string    `json:"html"`       // text/html part
	MessageID string    `json:"message_id"` // RFC 5322 msg-id, angle brackets included
	Date      time.Time `json:"date"`       // when the message was made, not when it was sent
}

// NewMessage returns a message from from to to with the given subject and
// parts, stamped with a new Message-ID and the current time. It is made once,
// when the mail is decided (enqueued), so that every attempt to send it
// carries the same Message-ID, letting receivers drop duplicates, and the
// same Date, the time the link in it was issued. It returns an error if an
// address does not parse, the subject spans lines or a part is empty:
// a message that could never be sent is refused before it is stored.
func NewMessage(from, to, subject, text, html string) (*Message, error) {
	id, err := NewMessageID(from)
	if err != nil {
		return nil, err
	}
	m := &Message{From: from, To: to, Subject: subject, Text: text, HTML: html, MessageID: id, Date: now()}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// now is the time a message is made, to the second as the Date header
// carries it, so a message read back from JSON is the one that was stored.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// NewMessageID returns a new RFC 5322 msg-id, "<random@domain>", whose
// domain is that of the address from: the id then names the sender's domain,
// as receivers expect, not the host authd happens to run on. The random part
// is 128 bits from crypto/rand, enough that no two messages ever share one.
func NewMessageID(from string) (string, error) {
	addr, err := parseAddress("from", from)
	if err != nil {
		return "", err
	}
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if !isDotAtom(domain) {
		// A domain literal ([192.0.2.1]) is a valid address but not a
		// dot-atom; no real sender uses one.
		return "", fmt.Errorf("mail: from address %q has no domain name for a Message-ID", from)
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">", nil
}

// DefaultFrom returns the sender address used when AUTH_SMTP_FROM is empty:
// "no-reply@" and the host of the issuer URL (its port dropped).
func DefaultFrom(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("mail: issuer %q has no host for a default sender address", issuer)
	}
	from := "no-reply@" + u.Hostname()
	if _, err := NewMessageID(from); err != nil {
		// An IPv6 literal host makes no address.
		return "", fmt.Errorf("mail: issuer %q has no domain name for a default sender address; set the sender address", issuer)
	}
	return from, nil
}

// validate refuses a message that no server could ever take, so the error
// can be classified as permanent rather than retried. A message read back
// from the outbox is checked again before each send.
func (m *Message) validate() error {
	if _, err := parseAddress("from", m.From); err != nil {
		return err
	}
	if _, err := parseAddress("to", m.To); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return errors.New("mail: empty subject")
	case strings.ContainsAny(m.Subject, "\r\n"):
		return errors.New("mail: subject spans more than one line")
	case m.Text == "":
		return errors.New("mail: empty text part")
	case m.HTML == "":
		return errors.New("mail: empty HTML part")
	case !validMessageID(m.MessageID):
		return fmt.Errorf("mail: Message-ID %q is not <local@domain>", m.MessageID)
	}
	return nil
}

// parseAddress returns the bare addr-spec of s, which must be exactly one
// address (a display name is allowed: "TalentForge <no-reply@example.com>").
func parseAddress(field, s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("mail: %s address %q: %w", field, s, err)
	}
	return a.Address, nil
}

// validMessageID accepts the form NewMessageID makes and other dot-atom ids
// ("<left@right>"), which is what go-mail writes verbatim into the header.
func validMessageID(id string) bool {
	inner, ok := strings.CutPrefix(id, "<")
	if !ok {
		return false
	}
	if inner, ok = strings.CutSuffix(inner, ">"); !ok {
		return false
	}
	left, right, ok := strings.Cut(inner, "@")
	return ok && isDotAtom(left) && isDotAtom(right)
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0:
		default:
			return false
		}
	}
	return true
}
