package token

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/talentforge/authd/internal/auth"
)

// FuzzVerify feeds Verify arbitrary strings: it must never panic, must reject
// with EUnauthorized, and whatever it accepts must carry a subject and a
// session.
func FuzzVerify(f *testing.F) {
	clk := newClock()
	m := newTestManager(f, newMemKeyStore(), testConfig(clk, ES256))
	valid := issue(f, m)
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
		valid[:len(valid)-1], valid + "A",
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
		if c.UserID == "" || c.SessionID == "" || c.ID == "" || c.Roles == nil {
			t.Fatalf("Verify(%q) accepted incomplete claims %+v", s, c)
		}
	})
}
