package auth

import (
	"encoding/base64"
	"strings"
)

// Page sizes of every listing.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageSize, nil
	case n < 0 || n > MaxPageSize:
		return 0, Errorf(EInvalid, "limit must be between 1 and %d", MaxPageSize)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of a kind and the last id of the
// previous page. The kind keeps a cursor of one listing from being passed to
// another.
const (
	cursorUsers    = "u"
	cursorAudit    = "a"
	cursorSessions = "s"
)

func encodeCursor(kind, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + id))
}

// decodeCursor returns the id in cursor, "" for an empty cursor, and EInvalid
// for anything that is not a cursor of kind. The decoder skips '\r' and '\n'
// and ignores the unused low bits of the last character, so only the one
// spelling encodeCursor writes is accepted: a cursor altered in transit names
// another id or none, never the same one in disguise.
func decodeCursor(cursor, kind string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	k, id, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || k != kind || !ValidID(id) || encodeCursor(k, id) != cursor {
		return "", Errorf(EInvalid, "cursor is not valid for this listing")
	}
	return id, nil
}
