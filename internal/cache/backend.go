package cache

import (
	"context"
	"time"
)

// Backend stores versioned entries for Cache. Memory and Redis implement it;
// the contract suite in this package's tests pins the behaviour they share.
type Backend interface {
	// Get returns the entry stored under key in group if it was filled under
	// the group's current version, and that version in any case (creating
	// it when the group has none), for a Fill after a miss.
	Get(ctx context.Context, group, key string) (Lookup, error)
	// Fill stores value under key in group for ttl, but only if the group's
	// version still equals version, and makes the version outlive the entry.
	// It reports whether the value was stored.
	Fill(ctx context.Context, group, key string, version uint64, value []byte, ttl time.Duration) (bool, error)
	// Invalidate changes the group's version, so that none of its entries,
	// and no value loaded under the old version, is served again.
	Invalidate(ctx context.Context, group string) error
}

// Lookup is the result of Backend.Get.
type Lookup struct {
	// Hit is true when Value is a current entry.
	Hit   bool
	Value []byte
	// Version is the group's version when the entry was read.
	Version uint64
}

// versionTTL is the lifetime of a version created by Get. Fill extends it to
// twice the entry's TTL, so a version always outlives its entries; a version
// that expires anyway (no fill came) costs nothing: its group has no entry.
const versionTTL = 10 * time.Minute
