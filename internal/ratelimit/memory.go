package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// MemoryOptions configure a Memory.
type MemoryOptions struct {
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
	// MaxKeys bounds the keys kept (default 100_000). Past it Memory forgets
	// expired keys first, then arbitrary ones: a flood of new keys can make
	// it forget a counter early, the price of bounded memory.
	MaxKeys int
}

// Memory keeps the counters in process: one replica's view, lost on
// restart. It is safe for concurrent use and each call is atomic per key.
// Allow and Reset return an error only for a rule that fails Validate.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu   sync.Mutex
	keys map[memoryKey]state
}

// memoryKey is a struct rather than a joined string so that a lookup
// allocates nothing.
type memoryKey struct{ rule, key string }

// NewMemory returns an empty Memory.
func NewMemory(opts MemoryOptions) *Memory {
	m := &Memory{now: opts.Now, maxKeys: opts.MaxKeys, keys: make(map[memoryKey]state)}
	if m.now == nil {
		m.now = time.Now
	}
	if m.maxKeys <= 0 {
		m.maxKeys = 100_000
	}
	return m
}

// Allow records cost attempts against key under rule (0 only asks, a
// negative cost gives attempts back) and reports whether they are allowed.
func (m *Memory) Allow(_ context.Context, rule auth.Rule, key string, cost int) (auth.Decision, error) {
	p, enabled, err := prepare(rule)
	if err != nil || !enabled {
		return auth.Decision{Allowed: err == nil}, err
	}
	now := m.now().UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.allow(memoryKey{rule.Name, key}, p, now, clampCost(cost, rule.Limit)), nil
}

// allow is Allow for an enabled rule and a clamped cost, with m.mu held.
func (m *Memory) allow(k memoryKey, p params, now, cost int64) auth.Decision {
	s, d, changed := step(m.keys[k], now, p, cost)
	if changed {
		m.store(k, s, now)
	}
	return d
}

// Reset forgets key's attempts and lockouts under rule.
func (m *Memory) Reset(_ context.Context, rule auth.Rule, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, memoryKey{rule.Name, key})
	return nil
}

// Batch applies ops in order as Allow and Reset would. Every rule is
// checked first, so an invalid one fails the batch before any op applies.
func (m *Memory) Batch(_ context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ps, err := prepareOps(ops, true)
	if err != nil {
		return nil, err
	}
	now := m.now().UnixMilli()
	ds := make([]auth.Decision, len(ops))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, op := range ops {
		switch {
		case op.Reset:
			delete(m.keys, memoryKey{op.Rule.Name, op.Key})
			ds[i] = auth.Decision{Allowed: true}
		case ps[i] == nil:
			ds[i] = auth.Decision{Allowed: true}
		default:
			ds[i] = m.allow(memoryKey{op.Rule.Name, op.Key}, *ps[i], now, clampCost(op.Cost, op.Rule.Limit))
		}
	}
	return ds, nil
}

// AllowAll makes the attempts of ops in order, all or nothing, in one
// atomic step.
func (m *Memory) AllowAll(_ context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ps, err := prepareOps(ops, false)
	if err != nil {
		return nil, err
	}
	now := m.now().UnixMilli()
	ds := make([]auth.Decision, 0, len(ops))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, op := range ops {
		if ps[i] == nil {
			ds = append(ds, auth.Decision{Allowed: true})
			continue
		}
		d := m.allow(memoryKey{op.Rule.Name, op.Key}, *ps[i], now, clampCost(op.Cost, op.Rule.Limit))
		ds = append(ds, d)
		if !d.Allowed {
			for j, made := range ops[:i] {
				if ps[j] != nil && made.Cost > 0 {
					m.allow(memoryKey{made.Rule.Name, made.Key}, *ps[j], now, clampCost(-made.Cost, made.Rule.Limit))
				}
			}
			break
		}
	}
	return ds, nil
}

// Len reports how many keys Memory holds, expired ones included until they
// are swept: for metrics and tests.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

func (m *Memory) store(k memoryKey, s state, now int64) {
	if s.ttl(now, StrikeMemory.Milliseconds()) <= 0 {
		delete(m.keys, k)
		return
	}
	if _, ok := m.keys[k]; !ok && len(m.keys) >= m.maxKeys {
		m.evict(now)
	}
	m.keys[k] = s
}

// evict frees a tenth of MaxKeys, so that its cost (a walk over every key)
// is paid once per MaxKeys/10 new keys rather than on each of them.
func (m *Memory) evict(now int64) {
	for k, s := range m.keys {
		if s.ttl(now, StrikeMemory.Milliseconds()) <= 0 {
			delete(m.keys, k)
		}
	}
	// Map order is random: a flood evicts keys at random, never ones an
	// attacker could pick.
	for k := range m.keys {
		if len(m.keys) < m.maxKeys-m.maxKeys/10 {
			break
		}
		delete(m.keys, k)
	}
}
