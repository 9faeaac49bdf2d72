package mail

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/talentforge/authd/internal/auth"
)

var _ auth.Mailer = (*Composer)(nil)

// Composer renders the domain's mail for the outbox and seals it: a queued
// message carries a link with a live token, so what sits in the database
// is encrypted (AES-256-GCM under a key derived from the service secret)
// and useless to whoever reads only the database. It implements
// auth.Mailer; Open is its inverse, for the outbox's senders.
type Composer struct {
	templates *Templates
	product   string
	from      string
	uiURL     string
	aead      cipher.AEAD
}

// ComposerConfig configures NewComposer.
type ComposerConfig struct {
	Product string // named in every subject
	From    string // sender address
	UIURL   string // base of the links (AUTH_UI_URL), never a request's Host
	Secret  []byte // the service secret; the sealing key is derived from it
}

// NewComposer returns a Composer rendering with t. It checks the
// configuration at once (an unusable UI URL or sender fails here, at
// start-up, not at the first sign-up).
func NewComposer(t *Templates, cfg ComposerConfig) (*Composer, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("mail: the secret must be at least 16 bytes")
	}
	if _, err := Link(cfg.UIURL, VerifyEmailPath, "x"); err != nil {
		return nil, err
	}
	if _, err := parseAddress("from", cfg.From); err != nil {
		return nil, err
	}
	if cfg.Product == "" {
		return nil, errors.New("mail: the product name is empty")
	}
	key, err := hkdf.Key(sha256.New, cfg.Secret, nil, "authd outbox v1", 32)
	if err != nil {
		return nil, fmt.Errorf("mail: derive the outbox key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return &Composer{templates: t, product: cfg.Product, from: cfg.From, uiURL: cfg.UIURL, aead: aead}, nil
}

// Compose renders m and returns the sealed message, ready to queue. Its
// Message-ID is fixed now, so that a retried send carries the same one.
func (c *Composer) Compose(m auth.Mail) ([]byte, error) {
	d := Data{Product: c.product, From: c.from, To: m.To, NewAddress: m.NewAddress, LinkTTL: m.TokenTTL}
	kind := Kind(m.Kind)
	if kind.hasLink() {
		path := VerifyEmailPath
		if kind == ResetPassword {
			path = ResetPasswordPath
		}
		link, err := Link(c.uiURL, path, m.Token)
		if err != nil {
			return nil, err
		}
		d.Link = link
	}
	msg, err := c.templates.Render(kind, d)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	nonce := make([]byte, c.aead.NonceSize())
	rand.Read(nonce) // never returns an error (crypto/rand, Go 1.24+)
	return c.aead.Seal(nonce, nonce, plain, []byte(sealContext)), nil
}

// sealContext binds sealed payloads to their use: a blob sealed under the
// same key for another purpose does not open as a mail.
const sealContext = "authd mail"

// Open returns the message Compose sealed into payload. It fails for a
// payload sealed under another secret or altered.
func (c *Composer) Open(payload []byte) (*Message, error) {
	n := c.aead.NonceSize()
	if len(payload) < n {
		return nil, errors.New("mail: sealed message too short")
	}
	plain, err := c.aead.Open(nil, payload[:n], payload[n:], []byte(sealContext))
	if err != nil {
		return nil, errors.New("mail: sealed message does not open (another secret, or altered)")
	}
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		return nil, fmt.Errorf("mail: sealed message: %w", err)
	}
	return &m, nil
}
