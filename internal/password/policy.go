package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/talentforge/authd/internal/auth"
)

// Check reports whether password may be set as a new password, following
// NIST SP 800-63B: its length in Unicode code points after NFKC
// normalisation (the form Hash stores) is within the configured range, and it
// is not, ignoring case, one of the common and breached passwords in
// common-passwords.txt. There are deliberately no composition rules: they
// push users to predictable patterns without adding strength.
//
// Errors: auth.EWeakPassword when password is too short (the message names
// the minimum) or too common; auth.EInvalid when it is too long or not valid
// UTF-8. Check is cheap and takes no hashing slot.
func (h *Hasher) Check(password string) error {
	if !utf8.ValidString(password) {
		return auth.Errorf(auth.EInvalid, "Password must be valid UTF-8 text.")
	}
	pw := norm.NFKC.String(password)
	switch n := utf8.RuneCountInString(pw); {
	case n < h.minLength:
		return auth.Errorf(auth.EWeakPassword, "Password must be at least %d characters long.", h.minLength)
	case n > h.maxLength:
		return auth.Errorf(auth.EInvalid, "Password must be at most %d characters long.", h.maxLength)
	}
	if _, common := commonPasswords()[strings.ToLower(pw)]; common {
		return auth.Errorf(auth.EWeakPassword, "This password is too common; choose a different one.")
	}
	return nil
}

// commonPasswordsTxt is a generated asset; see README.md.
//
//go:embed common-passwords.txt
var commonPasswordsTxt string

// commonPasswords returns the set of common passwords, lower-cased. It is
// built on first use rather than at start-up, so that processes and tests
// that never call Check don't pay for it; afterwards it is only read.
var commonPasswords = sync.OnceValue(loadCommonPasswords)

func loadCommonPasswords() map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(commonPasswordsTxt, "\n"))
	for line := range strings.SplitSeq(commonPasswordsTxt, "\n") {
		if line != "" {
			// ToLower returns line itself when it is already lower case, as
			// every entry is today, so the keys share the embedded bytes.
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	return set
}

// Lengths returns the shortest and longest password Check accepts, for
// forms that guide a person while they type.
func (h *Hasher) Lengths() (minLength, maxLength int) { return h.minLength, h.maxLength }
