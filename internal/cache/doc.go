// Package cache is the read-through cache of small per-user entries behind
// auth.Cache, with an in-process backend (Memory, embedded mode) and a shared
// one (Redis: standalone, Sentinel or Cluster).
//
// Entries are grouped by user, and a group is invalidated as a whole. Deleting
// the entries after a write is not enough: a reader that loaded the old row
// before the write committed could store it after the delete, and the stale
// entry would then be served until it expires. So every group has a version,
// and every entry records the version it was loaded under:
//
//   - Get reads the version and the entry together; the entry is a hit only
//     if both versions match.
//   - After a miss, the loaded value is stored only if the group's version is
//     still the one read before loading (atomically: a Lua script in Redis, a
//     mutex in memory).
//   - Invalidate increments the version, so every entry of the group stops
//     matching, and so does every load that was in flight.
//
// A version that disappears (expiry, eviction, FLUSHALL) is recreated from a
// fresh random (Redis) or never-used (Memory) value, never from a small
// counter, so an old entry can't match a recreated version by accident.
//
// In front of Redis, Near keeps each replica's warm entries in its own
// memory, and a Feed (Redis's CLIENT TRACKING in broadcasting mode, on a
// connection of its own) reports every version that changes, so a warm Get
// makes no round trip and another replica's Invalidate reaches it within
// the message's delivery time. Near serves memory only while its feed is
// live, and drops everything whenever the feed is lost or restarts.
//
// Losing the cache costs database reads, never correctness: Get falls back to
// the loader whenever the backend fails, and the Redis backend queues the
// invalidations it could not deliver and replays them before the Redis client
// leaves degraded mode.
package cache
