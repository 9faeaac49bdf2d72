package cache

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// MemoryOptions configure a Memory backend.
type MemoryOptions struct {
	// Now is the clock TTLs are measured with (default time.Now).
	Now func() time.Time
	// MaxEntries bounds the number of entries, and separately of group
	// versions (default 100_000).
	MaxEntries int
}

// Memory is the in-process Backend of embedded mode, where one process is
// the only replica. It is bounded: when full it drops expired entries first,
// then arbitrary ones. It never returns an error.
type Memory struct {
	now   func() time.Time
	limit int

	mu sync.Mutex
	// last is the last version handed out. Versions are never reused, so a
	// group version recreated after expiry or eviction can't match an
	// entry stored under an older one.
	last     uint64
	versions map[string]memVersion
	entries  map[memKey]memEntry
}

type memVersion struct {
	n       uint64
	expires time.Time
}

type memKey struct{ group, key string }

type memEntry struct {
	version uint64
	value   []byte
	expires time.Time
}

var _ Backend = (*Memory)(nil)

// NewMemory returns an empty Memory backend.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 100_000
	}
	return &Memory{
		now:      opts.Now,
		limit:    opts.MaxEntries,
		versions: make(map[string]memVersion),
		entries:  make(map[memKey]memEntry),
	}
}

// Get implements Backend. The value it returns is a copy.
func (m *Memory) Get(_ context.Context, group, key string) (Lookup, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.versions[group]
	if !ok || !now.Before(v.expires) {
		prune(m.versions, m.limit, func(v memVersion) bool { return !now.Before(v.expires) })
		m.last++
		v = memVersion{n: m.last, expires: now.Add(versionTTL)}
		m.versions[group] = v
		return Lookup{Version: v.n}, nil
	}
	e, ok := m.entries[memKey{group, key}]
	if !ok || e.version != v.n || !now.Before(e.expires) {
		return Lookup{Version: v.n}, nil
	}
	return Lookup{Hit: true, Value: bytes.Clone(e.value), Version: v.n}, nil
}

// Fill implements Backend. It stores a copy of value.
func (m *Memory) Fill(_ context.Context, group, key string, version uint64, value []byte, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.versions[group]
	if !ok || v.n != version || !now.Before(v.expires) {
		return false, nil
	}
	if keep := now.Add(2 * ttl); v.expires.Before(keep) {
		v.expires = keep
		m.versions[group] = v
	}
	k := memKey{group, key}
	if _, ok := m.entries[k]; !ok {
		prune(m.entries, m.limit, func(e memEntry) bool { return !now.Before(e.expires) })
	}
	m.entries[k] = memEntry{version: version, value: bytes.Clone(value), expires: now.Add(ttl)}
	return true, nil
}

// Invalidate implements Backend. A group without a version has no current
// entry, so it is left alone.
func (m *Memory) Invalidate(_ context.Context, group string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.versions[group]; ok {
		m.last++
		v.n = m.last
		m.versions[group] = v
	}
	return nil
}

// prune makes room for one more element in m, which may hold limit: it drops
// the expired elements, then arbitrary ones down to 7/8 of limit, so that a
// full map is not scanned again on every insert.
func prune[K comparable, V any](m map[K]V, limit int, expired func(V) bool) {
	if len(m) < limit {
		return
	}
	for k, v := range m {
		if expired(v) {
			delete(m, k)
		}
	}
	target := limit - limit/8 - 1
	for k := range m {
		if len(m) <= target {
			return
		}
		delete(m, k)
	}
}
