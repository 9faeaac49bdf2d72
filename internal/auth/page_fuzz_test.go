package auth

import (
	"testing"

	"github.com/google/uuid"
)

var cursorKinds = []string{cursorUsers, cursorAudit, cursorSessions}

// FuzzCursor: a cursor comes back from the client as it pleases, so
// decodeCursor must never panic and must refuse with EInvalid whatever is
// not a cursor of the listing. What it accepts has exactly one spelling
// (encodeCursor gives the input back), so a cursor changed in transit is
// either refused or names another id, never the same one in disguise; and
// every id round-trips through encodeCursor for its own listing only.
func FuzzCursor(f *testing.F) {
	id := "0190c0de-0000-7000-8000-000000000000"
	u := encodeCursor(cursorUsers, id)
	for _, seed := range []string{
		"", u, encodeCursor(cursorAudit, id), encodeCursor(cursorSessions, id),
		// Regressions: other spellings of u that the decoder used to
		// accept, a newline (which base64 skips) and non-zero unused bits.
		u[:10] + "\n" + u[10:], u[:len(u)-1] + "B",
		u[:len(u)-1], u + "A", u + "=",
		encodeCursor(cursorUsers, "not-a-uuid"), encodeCursor("x", id),
		encodeCursor(cursorUsers, "{"+id+"}"), encodeCursor(cursorUsers, "urn:uuid:"+id),
		encodeCursor(cursorUsers, id+"\x00"), "dTo", "!!!!",
	} {
		f.Add(seed, []byte(id[:16]))
	}
	f.Fuzz(func(t *testing.T, cursor string, idBytes []byte) {
		for _, kind := range cursorKinds {
			got, err := decodeCursor(cursor, kind)
			if err != nil {
				if ErrorCode(err) != EInvalid || got != "" {
					t.Fatalf("decodeCursor(%q, %q) = %q, %v; want \"\", EInvalid", cursor, kind, got, err)
				}
				continue
			}
			if cursor == "" {
				if got != "" {
					t.Fatalf("empty cursor decoded to %q", got)
				}
				continue
			}
			if !ValidID(got) {
				t.Fatalf("decodeCursor(%q, %q) = %q, not a canonical id", cursor, kind, got)
			}
			if again := encodeCursor(kind, got); again != cursor {
				t.Fatalf("decodeCursor accepted %q for %q, whose one spelling is %q", cursor, got, again)
			}
		}

		// The other direction: any id, for each listing.
		if len(idBytes) < 16 {
			return
		}
		want := uuid.UUID(idBytes[:16]).String()
		for _, kind := range cursorKinds {
			c := encodeCursor(kind, want)
			for _, other := range cursorKinds {
				got, err := decodeCursor(c, other)
				switch {
				case other == kind && (err != nil || got != want):
					t.Fatalf("decodeCursor(encodeCursor(%q, %q)) = %q, %v", kind, want, got, err)
				case other != kind && err == nil:
					t.Fatalf("a %q cursor was accepted by the %q listing", kind, other)
				}
			}
		}
	})
}
