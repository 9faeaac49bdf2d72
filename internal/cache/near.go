package cache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// NearOptions configure a Near backend.
type NearOptions struct {
	// MaxBytes bounds the memory the kept entries take (keys and values,
	// default 32 MiB). Past it, arbitrary entries of the fullest shard make
	// room: dropping one only costs a round trip to the shared backend.
	MaxBytes int
	// MaxAge bounds how long an entry is served from memory without a look
	// at the shared backend (default 1 minute). It is a backstop for a feed
	// that dies without a sign: the health check normally notices first.
	MaxAge time.Duration
	// Now is the clock MaxAge is measured with (default time.Now).
	Now func() time.Time
}

// Near keeps the current entries of a shared Backend in process memory, so
// that a warm Get makes no network round trip. It serves from memory only
// while its invalidation feed is live (see Feed): every change of a group's
// version on the shared backend, made by any replica, reaches the feed,
// which drops the group here. While the feed is down every call goes to the
// shared backend, as it would without Near.
//
// A group's entries are dropped here the moment the feed reports its
// version changed, and a value read from the shared backend is kept only if
// no such report for its group (and no loss of the feed) came while it was
// being read. A report can arrive after the read it contradicts (the feed
// and the read use different connections), so another replica's write is
// seen here within the feed's delivery delay; this replica's own
// Invalidate drops the group before it returns.
type Near struct {
	inner  Backend
	maxAge time.Duration
	now    func() time.Time
	seed   maphash.Seed
	budget int // bytes per shard

	live atomic.Bool
	// epoch changes whenever the feed starts or stops: a read begun under
	// another epoch may have missed a report, so its value is not kept.
	epoch  atomic.Uint64
	shards [nearShards]nearShard

	stats nearStats
}

const nearShards = 64

type nearShard struct {
	mu sync.Mutex
	// gen counts the reports for the shard's groups: a read that saw
	// another gen when it began may have missed one.
	gen    uint64
	groups map[string]*nearGroup // by hash tag, as in the Redis keys
	bytes  int
}

type nearGroup struct {
	version uint64
	entries map[string]nearEntry
}

type nearEntry struct {
	value []byte
	born  time.Time
}

// nearStats are what Stats reports.
type nearStats struct {
	hits, misses, reports, flushes atomic.Int64
}

// NearStats are counters of a Near backend since it was made.
type NearStats struct {
	Hits, Misses int64 // Gets answered from memory, and the others
	Reports      int64 // groups the feed reported changed
	Flushes      int64 // times everything was dropped (feed lost or started, server flush)
	Live         bool  // whether memory is being served now
}

var _ Backend = (*Near)(nil)

// NewNear returns a Near in front of inner. It serves nothing from memory
// until a feed calls Start.
func NewNear(inner Backend, opts NearOptions) *Near {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 32 << 20
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	n := &Near{inner: inner, maxAge: opts.MaxAge, now: opts.Now, seed: maphash.MakeSeed(),
		budget: max(opts.MaxBytes/nearShards, 1)}
	for i := range n.shards {
		n.shards[i].groups = map[string]*nearGroup{}
	}
	return n
}

// Get implements Backend: from memory when it holds a current entry, else
// from the shared backend, keeping a hit for the next call.
func (n *Near) Get(ctx context.Context, group, key string) (Lookup, error) {
	tag := hashTag(group)
	sh := n.shard(tag)
	if n.live.Load() {
		if l, ok := n.lookup(sh, tag, key); ok {
			n.stats.hits.Add(1)
			return l, nil
		}
	}
	n.stats.misses.Add(1)
	epoch, gen := n.begin(sh)
	l, err := n.inner.Get(ctx, group, key)
	if err == nil && l.Hit {
		n.keep(sh, tag, key, l, epoch, gen)
	}
	return l, err
}

// begin notes what keep checks: the epoch and the shard's reports so far.
func (n *Near) begin(sh *nearShard) (epoch, gen uint64) {
	epoch = n.epoch.Load()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return epoch, sh.gen
}

func (n *Near) lookup(sh *nearShard, tag, key string) (Lookup, bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	g := sh.groups[tag]
	if g == nil {
		return Lookup{}, false
	}
	e, ok := g.entries[key]
	if !ok || n.now().Sub(e.born) >= n.maxAge {
		return Lookup{}, false
	}
	// The caller owns what Get returns.
	return Lookup{Hit: true, Value: append([]byte(nil), e.value...), Version: g.version}, true
}

// keep stores a hit read from the shared backend, unless the feed reported
// its group, stopped or restarted since the read began.
func (n *Near) keep(sh *nearShard, tag, key string, l Lookup, epoch, gen uint64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !n.live.Load() || n.epoch.Load() != epoch || sh.gen != gen {
		return
	}
	g := sh.groups[tag]
	switch {
	case g == nil:
		g = &nearGroup{version: l.Version, entries: map[string]nearEntry{}}
		sh.groups[tag] = g
		sh.bytes += len(tag)
	case g.version != l.Version:
		// The version changed and its report is still on its way (it
		// drops the group when it lands); meanwhile entries of two
		// versions must not mix, so the group starts again from this read.
		sh.dropGroup(tag)
		g = &nearGroup{version: l.Version, entries: map[string]nearEntry{}}
		sh.groups[tag] = g
		sh.bytes += len(tag)
	}
	if old, ok := g.entries[key]; ok {
		sh.bytes -= len(key) + len(old.value)
	}
	g.entries[key] = nearEntry{value: append([]byte(nil), l.Value...), born: n.now()}
	sh.bytes += len(key) + len(l.Value)
	for sh.bytes > n.budget && len(sh.groups) > 0 {
		for t := range sh.groups { // an arbitrary group
			sh.dropGroup(t)
			break
		}
	}
}

// Fill implements Backend: the value is kept here too once the shared
// backend took it, which it does only under the group's current version.
func (n *Near) Fill(ctx context.Context, group, key string, version uint64, value []byte, ttl time.Duration) (bool, error) {
	tag := hashTag(group)
	sh := n.shard(tag)
	epoch, gen := n.begin(sh)
	ok, err := n.inner.Fill(ctx, group, key, version, value, ttl)
	if ok && err == nil {
		n.keep(sh, tag, key, Lookup{Hit: true, Value: value, Version: version}, epoch, gen)
	}
	return ok, err
}

// Invalidate implements Backend. The group is dropped here both before and
// after the shared backend's version changes, so that no read of this
// replica, begun before Invalidate returns, keeps the old entries: a
// revocation is refused at once by the replica that performed it.
func (n *Near) Invalidate(ctx context.Context, group string) error {
	n.report(hashTag(group))
	err := n.inner.Invalidate(ctx, group)
	n.report(hashTag(group))
	return err
}

// Stats returns the counters since NewNear.
func (n *Near) Stats() NearStats {
	return NearStats{Hits: n.stats.hits.Load(), Misses: n.stats.misses.Load(),
		Reports: n.stats.reports.Load(), Flushes: n.stats.flushes.Load(), Live: n.live.Load()}
}

// The feed's side. A feed calls Start once it receives every report, Report
// for each group whose version changed, and Stop (or Start again) when it
// may have missed one.

// Start drops everything (reports may have been missed before the feed
// was live) and begins serving from memory.
func (n *Near) Start() {
	n.flush()
	n.live.Store(true)
}

// Stop stops serving from memory and drops everything.
func (n *Near) Stop() {
	n.live.Store(false)
	n.flush()
}

// Report drops the group whose hash tag is tag (as written in the Redis
// keys: see hashTag).
func (n *Near) Report(tag string) {
	n.stats.reports.Add(1)
	n.report(tag)
}

// Flush drops everything but keeps serving from memory: for a report of a
// server-wide flush, which names no key.
func (n *Near) Flush() { n.flush() }

func (n *Near) report(tag string) {
	sh := n.shard(tag)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	sh.dropGroup(tag)
}

func (n *Near) flush() {
	n.stats.flushes.Add(1)
	// The epoch changes first: a read that keeps its value after a shard
	// was cleared below sees the new epoch and drops it.
	n.epoch.Add(1)
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		sh.gen++
		clear(sh.groups)
		sh.bytes = 0
		sh.mu.Unlock()
	}
}

func (sh *nearShard) dropGroup(tag string) {
	g := sh.groups[tag]
	if g == nil {
		return
	}
	sh.bytes -= len(tag)
	for k, e := range g.entries {
		sh.bytes -= len(k) + len(e.value)
	}
	delete(sh.groups, tag)
}

func (n *Near) shard(tag string) *nearShard {
	return &n.shards[maphash.String(n.seed, tag)%nearShards]
}
