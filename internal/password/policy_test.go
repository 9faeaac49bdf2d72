package password

import (
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

func TestCheck(t *testing.T) {
	h := New(Config{Params: cheap}) // length 8..1024
	tests := []struct {
		name     string
		password string
		code     auth.Code // "" for accepted
		message  string    // a substring of the message, when code is set
	}{
		{"empty", "", auth.EWeakPassword, "at least 8"},
		{"7 characters", "xq7lp2v", auth.EWeakPassword, "at least 8"},
		{"exactly min", "xq7lp2vz", "", ""},
		{"exactly max", strings.Repeat("ab", 512), "", ""},
		{"max+1", strings.Repeat("ab", 512) + "c", auth.EInvalid, "at most 1024"},
		{"passphrase with spaces", "correct horse battery staple", "", ""},
		{"no composition rules", "abcdefghij", "", ""},
		{"common", "password", auth.EWeakPassword, "too common"},
		{"common upper case", "PASSWORD", auth.EWeakPassword, "too common"},
		{"common mixed case", "BaseBall", auth.EWeakPassword, "too common"},
		{"common with digits", "Password123", auth.EWeakPassword, "too common"},
		{"common fullwidth", "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", auth.EWeakPassword, "too common"}, // "Ｐａｓｓｗｏｒｄ"
		{"invalid UTF-8", "abcdefgh\xff", auth.EInvalid, "UTF-8"},
		// 8 code points in 14 bytes: counted as 8 characters, not 14.
		{"Cyrillic, exactly min", "пароль12", "", ""},
		// 7 code points in 21 bytes: too short although longer than 8 bytes.
		{"CJK, 7 code points", "日本語のパスワ", auth.EWeakPassword, "at least 8"},
		{"2-byte code points, exactly max", strings.Repeat("é", 1024), "", ""},
		{"2-byte code points, max+1", strings.Repeat("é", 1025), auth.EInvalid, "at most 1024"},
		{"emoji", "🔑🔑🔑🔑🔑🔑🔑🔑", "", ""},
		// Length is counted after NFKC: four "ﬁ" ligatures are eight letters,
		// and four e + combining acute compose to four characters.
		{"ligatures expand", "\ufb01\ufb01\ufb01\ufb01", "", ""},
		{"combining marks compose", "e\u0301e\u0301e\u0301e\u0301", auth.EWeakPassword, "at least 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Check(tt.password)
			if got := auth.ErrorCode(err); got != tt.code {
				t.Fatalf("Check = %v; want code %q", err, tt.code)
			}
			if tt.code != "" && !strings.Contains(auth.ErrorMessage(err), tt.message) {
				t.Errorf("message %q does not say %q", auth.ErrorMessage(err), tt.message)
			}
		})
	}

	t.Run("configured minimum", func(t *testing.T) {
		h := New(Config{Params: cheap, MinLength: 12})
		if err := h.Check("xq7lp2vzk3w"); auth.ErrorCode(err) != auth.EWeakPassword ||
			!strings.Contains(auth.ErrorMessage(err), "at least 12") {
			t.Errorf("Check(11 characters) = %v; want %s naming 12", err, auth.EWeakPassword)
		}
		if err := h.Check("xq7lp2vzk3wr"); err != nil {
			t.Errorf("Check(12 characters) = %v; want nil", err)
		}
	})
}

func TestCommonPasswords(t *testing.T) {
	set := commonPasswords()
	if len(set) < 10000 {
		t.Errorf("common password list has %d entries; want at least 10,000", len(set))
	}
	for pw := range set {
		if pw == "" || pw != strings.ToLower(pw) || strings.ContainsAny(pw, "\r\n") {
			t.Errorf("bad entry %q", pw)
		}
	}
	for _, pw := range []string{"password", "12345678", "iloveyou", "trustno1"} {
		if _, ok := set[pw]; !ok {
			t.Errorf("%q missing from the list", pw)
		}
	}
}
