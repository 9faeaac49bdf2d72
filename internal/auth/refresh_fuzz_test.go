package auth

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/google/uuid"
)

// FuzzParseRefreshToken: whatever a client sends, parsing never panics, and
// what it accepts has exactly one spelling (re-encoding gives the input
// back), names a user by a canonical UUID, and hashes to the stored form.
func FuzzParseRefreshToken(f *testing.F) {
	raw, _, err := newRefreshToken(uuid.Must(uuid.NewV7()).String())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		raw, "", "x", raw[:len(raw)-1], raw + "A", raw[:10] + "\n" + raw[11:],
		raw[:63] + "=", string(bytes.Repeat([]byte{0xff}, 64)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		userID, hash, err := parseRefreshToken(s)
		if err != nil {
			if ErrorCode(err) != EInvalidRefreshToken {
				t.Fatalf("error code %q, want %q", ErrorCode(err), EInvalidRefreshToken)
			}
			return
		}
		b, derr := userTokenEncoding.DecodeString(s)
		if derr != nil || userTokenEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted %q, which is not the one spelling of its bytes", s)
		}
		if id, err := uuid.Parse(userID); err != nil || id.String() != userID || !bytes.Equal(id[:], b[:16]) {
			t.Fatalf("user id %q from %q", userID, s)
		}
		if sum := sha256.Sum256(b); !bytes.Equal(hash, sum[:]) {
			t.Fatalf("hash of %q is not SHA-256 of its bytes", s)
		}
	})
}
