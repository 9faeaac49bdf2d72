package auth_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/talentforge/authd/internal/auth"
)

// normalizeCases are inputs of NormalizeEmail with the stored form they must
// get, or "" when they must be refused with EInvalid (and wantErr, a part of
// the message that says why).
var normalizeCases = []struct {
	name, in, want, wantErr string
}{
	{"plain", "ada@example.com", "ada@example.com", ""},
	{"trimmed and lower-cased", "  Ada@Example.COM\t", "ada@example.com", ""},
	{"fullwidth local part", "ａｄｍｉｎ@example.com", "admin@example.com", ""},
	{"fullwidth everything", "ＡＤＭＩＮ＠ｅｘａｍｐｌｅ．ｃｏｍ", "admin@example.com", ""},
	{"Kelvin sign", "\u212Aate@example.com", "kate@example.com", ""},
	{"mathematical bold letters", "\U0001D41A\U0001D41D\U0001D41A@example.com", "ada@example.com", ""},
	{"upper-case non-ASCII", "ÄDA@EXAMPLE.COM", "äda@example.com", ""},
	{"combining accent composed", "jose\u0301@example.com", "jos\u00e9@example.com", ""},
	{"ligature fi", "\uFB01nance@example.com", "finance@example.com", ""},
	{"ligature in the domain", "ada@\uFB01nance.example", "ada@finance.example", ""},
	{"IDN domain in Unicode", "ada@bücher.de", "ada@xn--bcher-kva.de", ""},
	{"IDN domain upper-case", "ada@BÜCHER.DE", "ada@xn--bcher-kva.de", ""},
	{"IDN domain in punycode", "ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de", ""},
	{"IDN domain in upper-case punycode", "ada@XN--BCHER-KVA.DE", "ada@xn--bcher-kva.de", ""},
	{"ideographic full stop in the domain", "ada@bücher\u3002de", "ada@xn--bcher-kva.de", ""},
	{"sharp s kept (non-transitional IDNA)", "ada@straße.de", "ada@xn--strae-oqa.de", ""},
	{"all Cyrillic", "иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai", ""},
	{"all Greek", "ΑΛΦΑ@example.com", "αλφα@example.com", ""},
	{"all Han", "山田@example.jp", "山田@example.jp", ""},
	{"Japanese scripts together", "やまだタロウ太郎@example.jp", "やまだタロウ太郎@example.jp", ""},
	{"Latin with Han", "yamada太郎@example.jp", "yamada太郎@example.jp", ""},
	{"Korean with Han", "김金@example.kr", "김金@example.kr", ""},
	{"digits and punctuation are neutral", "иван_2024.01+тест@example.com", "иван_2024.01+тест@example.com", ""},
	{"fullwidth length counts after normalisation", strings.Repeat("ａ", 100) + "@example.com", strings.Repeat("a", 100) + "@example.com", ""},

	{"Cyrillic a in Latin", "p\u0430ypal@example.com", "", "mixes scripts"},
	{"Greek omicron in Latin", "g\u03BFogle@example.com", "", "mixes scripts"},
	{"Latin o in Cyrillic", "ив\u006Fн@example.com", "", "mixes scripts"},
	{"Arabic-Indic digit in Latin", "ada\u0661@example.com", "", "mixes scripts"},
	{"Cyrillic with Han", "иван山@example.com", "", "mixes scripts"},
	{"mixed-script domain label", "ada@p\u0430ypal.com", "", "mixes scripts"},
	{"mixed-script domain label in punycode", "ada@xn--pypal-4ve.com", "", "mixes scripts"},
	{"zero-width joiner", "ad\u200Da@example.com", "", "forbidden character"},
	{"zero-width space", "ad\u200Ba@example.com", "", "forbidden character"},
	{"soft hyphen", "ad\u00ADa@example.com", "", "forbidden character"},
	{"bidi override", "ada\u202E@example.com", "", "forbidden character"},
	{"byte order mark", "\uFEFFada@example.com", "", "forbidden character"},
	{"variation selector", "ad\uFE0Fa@example.com", "", "forbidden character"},
	{"combining grapheme joiner", "ad\u034Fa@example.com", "", "forbidden character"},
	{"Hangul filler", "ada\u3164@example.com", "", "forbidden character"},
	{"zero-width joiner in the domain", "ada@exa\u200Dmple.com", "", "forbidden character"},
	{"private-use character", "ada\uE000@example.com", "", "forbidden character"},
	{"unassigned code point", "ada\u0378@example.com", "", "forbidden character"},
	{"ideographic space", "ada\u3000x@example.com", "", "forbidden character"},
	{"fullwidth at sign twice", "ada＠b@example.com", "", "not a valid address"},
	{"underscore in the domain", "ada@exa_mple.com", "", "domain"},
	{"hyphen starting a label", "ada@-example.com", "", "domain"},
	{"invalid punycode", "ada@xn--ab-.com", "", "domain"},
	{"empty label", "ada@example..com", "", "domain"},
	{"no domain", "ada@", "", "not a valid address"},
	{"no local part", "@example.com", "", "not a valid address"},
	{"display name", "Ada <ada@example.com>", "", "forbidden character"},
	{"parenthesised digit becomes a comment", "ada\u2474@example.com", "", "not a valid address"},
	{"overlong", strings.Repeat("a", 243) + "@example.com", "", "longer than 254"},
	// 187 bytes as typed; the A-labels of the domain make it 277.
	{"overlong once the domain is in punycode", strings.Repeat("a", 64) + "@" + strings.Repeat("bücher.", 15) + "de", "", "longer than 254"},
	{"empty", "   ", "", "required"},
	{"invalid UTF-8", "ada\xff@example.com", "", "UTF-8"},
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range normalizeCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tc.in)
			if tc.want == "" {
				if auth.ErrorCode(err) != auth.EInvalid || !strings.Contains(auth.ErrorMessage(err), tc.wantErr) {
					t.Fatalf("NormalizeEmail(%q) = %q, %v; want EInvalid saying %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			// Stored emails are normalised again by the migration and by
			// every lookup: the rule must be a fixed point.
			if again, err := auth.NormalizeEmail(got); err != nil || again != got {
				t.Errorf("NormalizeEmail(%q) = %q, %v; not idempotent", got, again, err)
			}
			// An admin who types a whole address into the search box finds it.
			if p, err := auth.NormalizeEmailPrefix(tc.in); err != nil || p != tc.want {
				t.Errorf("NormalizeEmailPrefix(%q) = %q, %v; want %q", tc.in, p, err, tc.want)
			}
		})
	}
}

func TestNormalizeEmailMixedScriptMessage(t *testing.T) {
	_, err := auth.NormalizeEmail("p\u0430ypal@example.com")
	if msg := auth.ErrorMessage(err); !strings.Contains(msg, "Cyrillic") || !strings.Contains(msg, "Latin") {
		t.Errorf("message %q does not name the scripts mixed", msg)
	}
}

func TestNormalizeEmailPrefix(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"fullwidth", "ＡＤＭ", "adm"},
		{"Kelvin sign", "\u212Aa", "ka"},
		{"ligature", "\uFB01n", "fin"},
		{"mixed scripts are only not found", "p\u0430y", "p\u0430y"},
		{"ASCII partial label kept as typed", "ada@XN--BCH", "ada@xn--bch"},
		{"Unicode label converted whole", "ada@bücher", "ada@xn--bcher-kva"},
		{"Unicode label followed by a partial one", "ada@bücher.D", "ada@xn--bcher-kva.d"},
		{"empty domain", "ada@", "ada@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.NormalizeEmailPrefix(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("NormalizeEmailPrefix(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{"a\u200Db", "ada@bü_cher", "a\xff", strings.Repeat("ａ", 255)} {
		if got, err := auth.NormalizeEmailPrefix(in); auth.ErrorCode(err) != auth.EInvalid {
			t.Errorf("NormalizeEmailPrefix(%q) = %q, %v; want EInvalid", in, got, err)
		}
	}
}

// FuzzNormalizeEmail checks the properties every caller relies on: an
// accepted address normalises to itself again (the migration and every
// lookup re-apply the rule), fits MaxEmailLength, and is found by a prefix
// search for itself.
func FuzzNormalizeEmail(f *testing.F) {
	for _, tc := range normalizeCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := auth.NormalizeEmail(in)
		if err != nil {
			if auth.ErrorCode(err) != auth.EInvalid {
				t.Fatalf("NormalizeEmail(%q): %v, want EInvalid", in, err)
			}
			return
		}
		if len(got) > auth.MaxEmailLength {
			t.Errorf("NormalizeEmail(%q) = %q: %d bytes", in, got, len(got))
		}
		if again, err := auth.NormalizeEmail(got); err != nil || again != got {
			t.Errorf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q, %v", in, got, got, again, err)
		}
		if p, err := auth.NormalizeEmailPrefix(got); err != nil || p != got {
			t.Errorf("NormalizeEmailPrefix(%q) = %q, %v", got, p, err)
		}
	})
}

// FuzzNormalizeName: an accepted name is valid UTF-8, within the length
// limit, free of control and format characters, and already normal.
func FuzzNormalizeName(f *testing.F) {
	for _, seed := range []string{"Ada Lovelace", "", "  x  ", "a\u200bb", "e\u0301", "\x00", "ｆｕｌｌ", strings.Repeat("é", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := auth.NormalizeName(s)
		if err != nil {
			if auth.ErrorCode(err) != auth.EInvalid {
				t.Fatalf("error code %q", auth.ErrorCode(err))
			}
			return
		}
		if !utf8.ValidString(n) || utf8.RuneCountInString(n) > auth.MaxNameLength {
			t.Fatalf("accepted %q as %q", s, n)
		}
		for _, r := range n {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("accepted %q with %U", s, r)
			}
		}
		if again, err := auth.NormalizeName(n); err != nil || again != n {
			t.Fatalf("NormalizeName(%q) = %q, %v; not stable", n, again, err)
		}
	})
}
