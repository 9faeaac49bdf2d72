package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/redisconn"
)

// pending holds the groups whose invalidation Redis did not take. Past its
// limit it stops remembering groups and marks everything invalid instead.
type pending struct {
	limit int

	mu     sync.Mutex
	groups map[string]struct{}
	all    bool // overflowed: every group must be treated as invalidated
	// dirty is set while groups or all are, so the hot path can check for
	// work without taking the lock.
	dirty atomic.Bool
}

func newPending(limit int) pending {
	return pending{limit: limit, groups: make(map[string]struct{})}
}

func (p *pending) add(group string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dirty.Store(true)
	if p.all {
		return
	}
	if _, ok := p.groups[group]; !ok && len(p.groups) >= p.limit {
		p.all = true
		clear(p.groups)
		return
	}
	p.groups[group] = struct{}{}
}

// take empties the set, returning its groups, or all if it overflowed.
func (p *pending) take() (groups []string, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	groups, all = make([]string, 0, len(p.groups)), p.all
	for g := range p.groups {
		groups = append(groups, g)
	}
	clear(p.groups)
	p.all = false
	p.dirty.Store(false)
	return groups, all
}

// putBack returns what take handed out and could not be delivered.
func (p *pending) putBack(groups []string, all bool) {
	if all {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.all = true
		clear(p.groups)
		p.dirty.Store(true)
		return
	}
	for _, g := range groups {
		p.add(g)
	}
}

// replay delivers the queued invalidations through rdb, until none is left.
// It is the client's recovery hook: while it fails, the client stays
// degraded and the cache is bypassed. Delivering one twice is harmless.
func (r *Redis) replay(ctx context.Context, rdb redis.UniversalClient) error {
	for {
		groups, all := r.pending.take()
		switch {
		case all:
			if err := r.purge(ctx, rdb); err != nil {
				r.pending.putBack(nil, true)
				return err
			}
		case len(groups) == 0:
			return nil
		default:
			if err := r.bump(ctx, rdb, groups); err != nil {
				r.pending.putBack(groups, false)
				return err
			}
		}
	}
}

// deliver replays the queue on the request path once the client is up. The
// recovery hook normally empties it first, but a group queued just after
// the hook's last look would otherwise wait for the next outage.
func (r *Redis) deliver(ctx context.Context) {
	if !r.pending.dirty.Load() || !r.client.Up() {
		return
	}
	ctx = context.WithoutCancel(ctx)
	err := r.client.Do(ctx, func(rdb redis.UniversalClient) error { return r.replay(ctx, rdb) })
	if err != nil && !errors.Is(err, redisconn.ErrDegraded) {
		// Degraded mode runs the hook until the queue is delivered.
		r.client.MarkDown(err)
	}
}

// bump increments the versions of groups, pipelined in batches.
func (r *Redis) bump(ctx context.Context, rdb redis.UniversalClient, groups []string) error {
	for batch := range slices.Chunk(groups, 1000) {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, g := range batch {
				invalidateScript.Eval(ctx, p, []string{r.groupKey(g) + ":v"})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cache: replay invalidations: %w", err)
		}
	}
	return nil
}

// purge deletes every key of the cache, on every master of a Cluster: what
// the queue forgot after overflowing could otherwise bring back, say, a
// revoked session.
func (r *Redis) purge(ctx context.Context, rdb redis.UniversalClient) error {
	match := globEscaper.Replace(r.prefix) + "c:*"
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return purgeNode(ctx, node, match)
		})
	case *redis.Client:
		err = purgeNode(ctx, c, match)
	default:
		err = fmt.Errorf("unsupported client %T", rdb)
	}
	if err != nil {
		return fmt.Errorf("cache: drop every entry after lost invalidations: %w", err)
	}
	return nil
}

// purgeNode deletes the keys of one server matching match. Keys are deleted
// one per command: on a Cluster node they may belong to different slots.
func purgeNode(ctx context.Context, c *redis.Client, match string) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.Unlink(ctx, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// globEscaper quotes the characters SCAN's MATCH pattern treats specially.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
