package cache

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/redisconn"
)

// RedisOptions configure a Redis backend.
type RedisOptions struct {
	// Prefix starts every key (default "authd:"). It should hold no braces:
	// on a Cluster, a hash tag in it ("x{y}:") puts every key in one slot,
	// and an empty one ("{}") splits groups over slots, so that every Get
	// fails with CROSSSLOT and the cache is bypassed.
	Prefix string
	// MaxPending bounds the number of groups whose invalidation awaits
	// replay after an outage (default 100_000). Past it, recovery deletes
	// every entry under Prefix instead.
	MaxPending int
}

// Redis is the Backend shared by every replica. A group's keys are
//
//	<Prefix>c:{<group>}:v        its version, a decimal integer
//	<Prefix>c:{<group>}:e:<key>  an entry: 8-byte big-endian version, value
//
// The braces make the group the Cluster hash tag, so every key of a group is
// in one slot and one script can read or write them together.
//
// While the client is degraded, Get and Fill fail at once (Cache then loads
// without caching) and Invalidate queues the group; the queue is replayed
// before the client leaves degraded mode.
type Redis struct {
	client  *redisconn.Client
	reads   redis.Cmdable // the client's autopipeliner, see NewRedis
	prefix  string
	pending pending
}

var _ Backend = (*Redis)(nil)

// NewRedis returns a Redis backend on client and registers its replay of
// queued invalidations as a recovery hook of client.
func NewRedis(client *redisconn.Client, opts RedisOptions) *Redis {
	if opts.Prefix == "" {
		opts.Prefix = "authd:"
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100_000
	}
	r := &Redis{client: client, reads: batched(client.Universal()), prefix: opts.Prefix, pending: newPending(opts.MaxPending)}
	client.OnRecover(r.replay)
	return r
}

// Get implements Backend in one round trip. It returns an error wrapping
// redisconn.ErrDegraded while Redis is unreachable.
func (r *Redis) Get(ctx context.Context, group, key string) (Lookup, error) {
	r.deliver(ctx)
	g := r.groupKey(group)
	keys := []string{g + ":v", g + ":e:" + key}
	var res []any
	err := r.client.Do(ctx, func(rdb redis.UniversalClient) error {
		var err error
		// The hot path is a plain MGET, which costs Redis far less than a
		// script; only a group without a version (first use, expiry,
		// flush) needs the script that creates one.
		if res, err = r.reads.MGet(ctx, keys...).Result(); err != nil || res[0] != nil {
			return err
		}
		fresh := strconv.FormatUint(uint64(rand.Int64()), 10)
		res, err = getScript.Run(ctx, rdb, keys, fresh, versionTTL.Milliseconds()).Slice()
		return err
	})
	if err != nil {
		return Lookup{}, fmt.Errorf("cache: redis get: %w", err)
	}
	return parseLookup(res)
}

// batched returns go-redis's autopipeliner for rdb, once at start-up: concurrent requests'
// MGETs share one write and one read on a connection instead of a round trip
// each, which on a loaded replica cuts the syscalls and Redis's own work
// (verify throughput +25% on two cores). Without one, rdb itself.
func batched(rdb redis.UniversalClient) redis.Cmdable {
	if ap, err := rdb.AutoPipeline(); err == nil {
		return ap
	}
	return rdb
}

// parseLookup reads getScript's reply: the version and the entry, if any.
func parseLookup(res []any) (Lookup, error) {
	if len(res) != 2 {
		return Lookup{}, fmt.Errorf("cache: redis get: %d values in reply, want 2", len(res))
	}
	vs, _ := res[0].(string)
	n, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return Lookup{}, fmt.Errorf("cache: redis get: version: %w", err)
	}
	l := Lookup{Version: n}
	var want [8]byte
	binary.BigEndian.PutUint64(want[:], n)
	if e, ok := res[1].(string); ok && len(e) >= 8 && e[:8] == string(want[:]) {
		l.Hit, l.Value = true, []byte(e[8:])
	}
	return l, nil
}

// Fill implements Backend in one round trip (TTLs are rounded down to
// milliseconds, and to at least one).
func (r *Redis) Fill(ctx context.Context, group, key string, version uint64, value []byte, ttl time.Duration) (bool, error) {
	r.deliver(ctx)
	g := r.groupKey(group)
	keys := []string{g + ":v", g + ":e:" + key}
	entry := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), version)
	entry = append(entry, value...)
	ms := max(ttl.Milliseconds(), 1)
	var stored int64
	err := r.client.Do(ctx, func(rdb redis.UniversalClient) error {
		var err error
		stored, err = fillScript.Run(ctx, rdb, keys, strconv.FormatUint(version, 10), entry, ms, 2*ms).Int64()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("cache: redis fill: %w", err)
	}
	return stored == 1, nil
}

// Invalidate implements Backend. It runs even if ctx is cancelled, since the
// write it reflects has committed. It always returns nil: an invalidation
// Redis did not take is queued and replayed before the client leaves
// degraded mode. If Redis refused it while reachable (out of memory, say),
// the client is put into degraded mode, so that the cache is bypassed until
// the replay succeeds.
func (r *Redis) Invalidate(ctx context.Context, group string) error {
	ctx = context.WithoutCancel(ctx)
	r.deliver(ctx)
	err := r.client.Do(ctx, func(rdb redis.UniversalClient) error {
		return invalidateScript.Run(ctx, rdb, []string{r.groupKey(group) + ":v"}).Err()
	})
	if err == nil {
		return nil
	}
	r.pending.add(group)
	if !errors.Is(err, redisconn.ErrDegraded) {
		r.client.MarkDown(fmt.Errorf("cache: invalidate: %w", err))
	}
	// The client may have recovered since Do looked, after its hook ran.
	r.deliver(ctx)
	return nil
}

// groupKey is the part shared by the keys of group.
func (r *Redis) groupKey(group string) string {
	return r.prefix + "c:{" + hashTag(group) + "}"
}

// hashTag is group as written between the braces of its keys. A '}' in it
// would end the Cluster hash tag early and make keys ambiguous (group "a}:e:k"
// vs group "a"), and an empty tag would hash whole keys, scattering a group
// over slots. Such groups, and those with a '%' (so that no plain group reads
// like an escaped one), are written as '%' and hex instead.
func hashTag(group string) string {
	if group != "" && !strings.ContainsAny(group, "}%") {
		return group
	}
	return "%" + hex.EncodeToString([]byte(group))
}
