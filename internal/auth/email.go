package auth

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address SMTP can carry (RFC 5321 path limit).
const MaxEmailLength = 254

// NormalizeEmail returns the canonical form of an email address: NFC, trimmed
// and lower-cased, so that visually identical addresses collide on the unique
// index. Returns EInvalid if s is not a single plain address (no display name,
// no control or whitespace characters, at most MaxEmailLength bytes).
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "email is not valid UTF-8")
	}
	e := strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	if e == "" {
		return "", Errorf(EInvalid, "email is required")
	}
	if len(e) > MaxEmailLength {
		return "", Errorf(EInvalid, "email is longer than %d bytes", MaxEmailLength)
	}
	for _, r := range e {
		// Control and format characters (CR/LF, NUL, zero-width joiners, bidi
		// overrides) would let two different strings look like one address or
		// smuggle headers into mail; U+FFFD is what a JSON decoder leaves of
		// invalid UTF-8.
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", Errorf(EInvalid, "email contains a forbidden character")
		}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", Errorf(EInvalid, "email is not a valid address")
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.Count(e, "@") != 1 {
		return "", Errorf(EInvalid, "email is not a valid address")
	}
	return e, nil
}

// MaxNameLength bounds a display name, in code points.
const MaxNameLength = 200

// NormalizeName trims and NFC-normalises a display name. Returns EInvalid for
// invalid UTF-8, control or format characters, or more than MaxNameLength
// code points. An empty name is allowed.
func NormalizeName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "name is not valid UTF-8")
	}
	n := norm.NFC.String(strings.TrimSpace(s))
	if utf8.RuneCountInString(n) > MaxNameLength {
		return "", Errorf(EInvalid, "name is longer than %d characters", MaxNameLength)
	}
	for _, r := range n {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", Errorf(EInvalid, "name contains a forbidden character")
		}
	}
	return n, nil
}

// NormalizeEmailPrefix normalises the start of an email address the way
// NormalizeEmail normalises a whole one, for prefix searches. Returns
// EInvalid for invalid UTF-8, control, space or format characters, or more
// than MaxEmailLength bytes.
func NormalizeEmailPrefix(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "email prefix is not valid UTF-8")
	}
	e := strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	if len(e) > MaxEmailLength {
		return "", Errorf(EInvalid, "email prefix is longer than %d bytes", MaxEmailLength)
	}
	for _, r := range e {
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", Errorf(EInvalid, "email prefix contains a forbidden character")
		}
	}
	return e, nil
}
