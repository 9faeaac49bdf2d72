package auth

import (
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address SMTP can carry (RFC 5321 path limit).
// It bounds the normalised form, the one stored and sent.
const MaxEmailLength = 254

// NormalizeEmail returns the canonical form of an email address, the one
// rule applied wherever an address is compared or stored (sign-up, login,
// lookups, limiter keys, the admin search through NormalizeEmailPrefix, and
// the migration that re-normalised older rows):
//
//  1. trim surrounding white space and apply NFKC to the whole address, so
//     that fullwidth letters, the Kelvin sign, ligatures and mathematical
//     letters become the letters they look like (a fullwidth ＠ becomes @);
//  2. lower-case the local part, then apply NFKC again (lower-casing can
//     leave a string that NFKC would compose, and the rule must be a fixed
//     point: NormalizeEmail of its own result returns it unchanged);
//  3. convert the domain with IDNA (UTS #46, non-transitional, with the
//     STD3, hyphen, joiner, bidi and DNS-length checks) to its ASCII form,
//     A-labels included. ASCII is what DNS resolves and what any SMTP server
//     accepts, and the A-label is a byte string with one spelling, so
//     bücher.de and xn--bcher-kva.de are one account.
//
// Returns EInvalid, with a message saying why, for an address that is not a
// single plain addr-spec (no display name, no quoted local part, no domain
// literal); that contains control, space, format or other invisible
// characters (zero-width joiners, bidi overrides, variation selectors,
// fillers), or private-use or unassigned code points; whose local part or any
// one domain label mixes scripts beyond what UTS #39 calls highly restrictive
// (see checkScripts); whose domain IDNA refuses; or whose normalised form is
// longer than MaxEmailLength bytes.
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "email is not valid UTF-8")
	}
	e := norm.NFKC.String(strings.TrimSpace(s))
	if e == "" {
		return "", Errorf(EInvalid, "email is required")
	}
	// NFKC deletes nothing and maps no forbidden character to an allowed
	// one, so checking its output judges the input, and also catches the
	// spaces it makes of compatibility characters.
	if err := checkEmailRunes(e, "email"); err != nil {
		return "", err
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || strings.Count(e, "@") != 1 {
		return "", Errorf(EInvalid, "email is not a valid address")
	}
	local := normalizeLocal(e[:at])
	if err := checkScripts(local, "email"); err != nil {
		return "", err
	}
	domain, err := emailDomain.ToASCII(e[at+1:])
	if err != nil {
		return "", Errorf(EInvalid, "email domain is not a valid domain name")
	}
	// IDNA validates each label on its own; a label that mixes Latin and
	// Cyrillic is as deceptive in a domain as in a local part, and checking
	// the decoded labels catches it however it was typed, punycode included.
	udomain, err := emailDomain.ToUnicode(domain)
	if err != nil {
		return "", Errorf(EInvalid, "email domain is not a valid domain name")
	}
	for label := range strings.SplitSeq(udomain, ".") {
		if err := checkScripts(label, "email domain"); err != nil {
			return "", err
		}
	}
	e = local + "@" + domain
	if len(e) > MaxEmailLength {
		return "", Errorf(EInvalid, "email is longer than %d bytes", MaxEmailLength)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", Errorf(EInvalid, "email is not a valid address")
	}
	return e, nil
}

// emailDomain is the IDNA profile of NormalizeEmail. A Profile is immutable
// and safe for concurrent use. Non-transitional processing keeps ß and ς as
// themselves (as browsers and registries do now) instead of mapping them to
// ss and σ.
var emailDomain = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
)

// normalizeLocal lower-cases an NFKC local part (step 2 of NormalizeEmail).
func normalizeLocal(s string) string {
	return norm.NFKC.String(strings.ToLower(s))
}

// checkEmailRunes returns EInvalid if s holds a character no address should:
// control and space characters (CR/LF would smuggle mail headers, U+FFFD is
// what a JSON decoder leaves of invalid UTF-8), and characters that render
// as nothing or as anything, which let two different strings look like one
// address: format characters (zero-width joiners, bidi overrides), variation
// selectors, the other default-ignorable code points (fillers, the combining
// grapheme joiner), private-use and unassigned code points. Zero-width
// joiners are refused in domains too, although a few scripts' IDNs use them:
// invisible characters are the core of the look-alike attack.
func checkEmailRunes(s, what string) error {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == utf8.RuneError ||
			unicode.In(r, unicode.Cf, unicode.Co, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) ||
			script(r) == "" {
			return Errorf(EInvalid, "%s contains a forbidden character (%U)", what, r)
		}
	}
	return nil
}

// script returns the name of r's Unicode script (a key of unicode.Scripts,
// "Common" and "Inherited" included), or "" for a code point no script
// claims: unassigned or private use.
func script(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return "Common"
	}
	// The usual scripts first: a lookup in every table is the slow path.
	for _, sc := range [...]struct {
		name  string
		table *unicode.RangeTable
	}{
		{"Latin", unicode.Latin}, {"Common", unicode.Common}, {"Inherited", unicode.Inherited},
		{"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek}, {"Han", unicode.Han},
		{"Hiragana", unicode.Hiragana}, {"Katakana", unicode.Katakana}, {"Hangul", unicode.Hangul},
	} {
		if unicode.Is(sc.table, r) {
			return sc.name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// checkScripts returns EInvalid if the letters of s (a local part or one
// domain label) come from more than one script, except for the mixes UTS #39
// §5.2 accepts as "highly restrictive": Japanese, Chinese with Bopomofo, and
// Korean writing, each with Latin. Any other mix, Latin with Cyrillic or
// Greek above all, is how look-alikes of Latin addresses are made.
// Characters of the Common and Inherited scripts (digits, punctuation,
// combining marks) belong to no script here. A single script other than
// Latin, all Cyrillic or all Han, is allowed: it can't pass for a Latin
// address letter by letter.
func checkScripts(s, what string) error {
	var scripts []string
	for _, r := range s {
		if sc := script(r); sc != "Common" && sc != "Inherited" && !slices.Contains(scripts, sc) {
			scripts = append(scripts, sc)
		}
	}
	if len(scripts) <= 1 {
		return nil
	}
	slices.Sort(scripts)
	for _, mix := range [...][]string{
		{"Han", "Hiragana", "Katakana", "Latin"},
		{"Bopomofo", "Han", "Latin"},
		{"Han", "Hangul", "Latin"},
	} {
		if !slices.ContainsFunc(scripts, func(sc string) bool { return !slices.Contains(mix, sc) }) {
			return nil
		}
	}
	return Errorf(EInvalid, "%s mixes scripts (%s): letters that look alike across scripts could imitate another address; use one script",
		what, strings.Join(scripts, ", "))
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
// NormalizeEmail normalises a whole one, for prefix searches: the prefix of
// an address normalises to a prefix of the address's normal form. A domain
// label with non-ASCII letters is converted to its A-label as a whole
// (punycode moves the non-ASCII letters to the end, so a partly typed
// "büc" has no A-label that is a prefix of bücher's); ASCII labels, which
// may be partial, are only lower-cased. Mixed scripts are not refused: such
// a prefix finds nothing. Returns EInvalid for invalid UTF-8, a character
// NormalizeEmail refuses, a non-ASCII label IDNA refuses, or more than
// MaxEmailLength bytes.
func NormalizeEmailPrefix(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EInvalid, "email prefix is not valid UTF-8")
	}
	e := norm.NFKC.String(strings.TrimSpace(s))
	if err := checkEmailRunes(e, "email prefix"); err != nil {
		return "", err
	}
	local, domain, hasDomain := e, "", false
	if at := strings.LastIndexByte(e, '@'); at >= 0 {
		local, domain, hasDomain = e[:at], e[at+1:], true
	}
	e = normalizeLocal(local)
	if hasDomain {
		labels := strings.Split(domain, ".")
		for i, label := range labels {
			if isASCII(label) {
				labels[i] = strings.ToLower(label)
				continue
			}
			a, err := emailDomain.ToASCII(label)
			if err != nil {
				return "", Errorf(EInvalid, "email prefix has an invalid domain name")
			}
			labels[i] = a
		}
		e += "@" + strings.Join(labels, ".")
	}
	if len(e) > MaxEmailLength {
		return "", Errorf(EInvalid, "email prefix is longer than %d bytes", MaxEmailLength)
	}
	return e, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
