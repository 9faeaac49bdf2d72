package auth

import (
	"bytes"
	"sync"
)

// decoded remembers, per cache key, the bytes a cache entry last had and
// what they decoded to, so that a hit on unchanged bytes skips the JSON
// decode. A warm verify is served from the replica's memory (see
// internal/cache's Near), and its profile showed the decode as the largest
// cost left after the socket calls (12% of authd's CPU). It holds nothing
// the cache doesn't: a value is only ever returned for the very bytes it
// was decoded from, so it needs no invalidation of its own. Callers get a
// copy (clone), so none can change what the next one gets.
type decoded[T any] struct {
	clone func(T) T
	max   int

	mu sync.Mutex
	m  map[string]decodedEntry[T]
}

type decodedEntry[T any] struct {
	raw []byte
	v   T
}

func newDecoded[T any](max int, clone func(T) T) *decoded[T] {
	return &decoded[T]{clone: clone, max: max, m: make(map[string]decodedEntry[T])}
}

// get returns a copy of what raw, read under key, decoded to, if raw is
// what key held when it was last decoded.
func (d *decoded[T]) get(key string, raw []byte) (T, bool) {
	d.mu.Lock()
	e, ok := d.m[key]
	d.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		var zero T
		return zero, false
	}
	return d.clone(e.v), true
}

// put remembers that raw, read under key, decoded to v. raw must not change
// afterwards; v is copied.
func (d *decoded[T]) put(key string, raw []byte, v T) {
	v = d.clone(v)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[key]; !ok && len(d.m) >= d.max {
		for k := range d.m { // an arbitrary entry makes room
			delete(d.m, k)
			break
		}
	}
	d.m[key] = decodedEntry[T]{raw: raw, v: v}
}
