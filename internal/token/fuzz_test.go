package token

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// FuzzVerify feeds Verify arbitrary strings: it must never panic, must reject
// with EUnauthorized, and must accept nothing but the one token issued here,
// byte for byte, with its claims. Only the manager can sign, so anything
// else accepted is a forgery or another spelling of that token, and the
// verified-token cache, keyed by the token's bytes, relies on there being
// none.
func FuzzVerify(f *testing.F) {
	clk := newClock()
	m := newTestManager(f, newMemKeyStore(), testConfig(clk, ES256))
	valid := issue(f, m)
	want, err := m.Verify(f.Context(), valid)
	if err != nil {
		f.Fatal(err)
	}
	if want.UserID == "" || want.SessionID == "" || want.ID == "" || want.Roles == nil {
		f.Fatalf("issued incomplete claims %+v", want)
	}
	parts := strings.Split(valid, ".")
	now := clk.Now()
	stringExp := validClaims(now)
	stringExp["exp"] = strconv.FormatInt(stringExp["exp"].(int64), 10)
	for _, s := range []string{
		flipS(f, valid),
		signRaw(f, m, validClaims(now), map[string]any{"crit": []string{"exp"}}),
		signRaw(f, m, stringExp, nil),
		valid, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".",
		parts[0] + ".e30." + parts[2], "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6IngiLCJ0eXAiOiJhdCtqd3QifQ.e30.AAAA",
		valid[:len(valid)-1], valid + "A", otherSpelling(valid),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := m.Verify(context.Background(), s)
		if err != nil {
			if auth.ErrorCode(err) != auth.EUnauthorized || c != nil {
				t.Fatalf("Verify(%q) = %v, %v; want nil, EUnauthorized", s, c, err)
			}
			return
		}
		if s != valid {
			t.Fatalf("Verify accepted %q; the one token issued is %q", s, valid)
		}
		if !reflect.DeepEqual(c, want) {
			t.Fatalf("Verify(%q) = %+v, earlier %+v", s, c, want)
		}
	})
}

// otherSpelling returns tok with the unused low bits of its last character
// set: 64 signature bytes take 86 base64url characters, the last of which
// carries 2 bits, so a lenient decoder reads the same signature from it.
func otherSpelling(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i|0x0f])
}
