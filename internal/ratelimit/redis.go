package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/redisconn"
)

// RedisOptions configure a Redis limiter.
type RedisOptions struct {
	// Prefix starts every key name (default "authd:").
	Prefix string
	// Now is the clock (default time.Now). It is read here rather than in
	// Redis so that tests can drive a fake one against a real server.
	Now func() time.Time
	// KeySecret, when set, keys the hash of each caller's key (HMAC-SHA256),
	// so that the key names in Redis can't be matched against a list of
	// candidate emails or IPs by someone who can read Redis but not the
	// secret.
	KeySecret []byte
}

// maxPending bounds the resets remembered during an outage; past it further
// ones are forgotten, leaving those keys' pre-outage counts in Redis.
const maxPending = 100_000

// Redis keeps the counters in Redis, shared by every replica. Each Allow is
// one script on one key, so it is atomic and runs on Redis Cluster.
//
// While the client is degraded, Allow and Reset answer from the fallback,
// whose counts are per replica and start from zero: an outage loosens the
// limits rather than failing logins. Resets made meanwhile are replayed on
// Redis before the client leaves degraded mode. Other Redis errors are
// returned, wrapped; so is redisconn.ErrDegraded when there is no fallback.
type Redis struct {
	client   *redisconn.Client
	fallback auth.Limiter
	prefix   string
	now      func() time.Time
	script   *redis.Script
	secret   []byte

	mu      sync.Mutex
	pending map[string]struct{} // keys reset while Redis was unreachable
}

//go:embed allow.lua
var allowLua string

// NewRedis returns a limiter on client that falls back to fallback (nil: no
// fallback) while client is degraded. It registers a recovery hook on client.
func NewRedis(client *redisconn.Client, fallback auth.Limiter, opts RedisOptions) *Redis {
	r := &Redis{
		client:   client,
		fallback: fallback,
		prefix:   opts.Prefix,
		now:      opts.Now,
		script:   redis.NewScript(allowLua),
		secret:   opts.KeySecret,
		pending:  make(map[string]struct{}),
	}
	if r.prefix == "" {
		r.prefix = "authd:"
	}
	if r.now == nil {
		r.now = time.Now
	}
	client.OnRecover(r.replayResets)
	return r
}

// Allow records cost attempts against key under rule (0 only asks, a
// negative cost gives attempts back) and reports whether they are allowed.
func (r *Redis) Allow(ctx context.Context, rule auth.Rule, key string, cost int) (auth.Decision, error) {
	p, enabled, err := prepare(rule)
	if err != nil || !enabled {
		return auth.Decision{Allowed: err == nil}, err
	}
	var res []int64
	err = r.client.Do(ctx, func(c redis.UniversalClient) error {
		var err error
		res, err = r.script.Run(ctx, c, []string{r.key(rule, key)}, r.now().UnixMilli(),
			p.interval, p.tau, p.maxLock, p.memory, clampCost(cost, rule.Limit)).Int64Slice()
		return err
	})
	if err == nil && len(res) == 3 {
		return auth.Decision{Allowed: res[0] == 1, Remaining: int(res[1]), RetryAfter: time.Duration(res[2]) * time.Millisecond}, nil
	}
	if err == nil {
		err = fmt.Errorf("unexpected script reply %v", res)
	}
	if r.fallback == nil || ctx.Err() != nil {
		return auth.Decision{}, fmt.Errorf("rate limit %s: %w", rule.Name, err)
	}
	if !errors.Is(err, redisconn.ErrDegraded) {
		// Redis answers but refuses the script (out of memory, a read-only
		// replica after a failover, …): limits must not turn into errors
		// on every login, so count in process until Redis recovers.
		r.client.MarkDown(fmt.Errorf("rate limit %s: %w", rule.Name, err))
	}
	return r.fallback.Allow(ctx, rule, key, cost)
}

// Reset forgets key's attempts and lockouts under rule, in Redis and in the
// fallback (which may hold counts from an outage). While Redis is
// unreachable the reset is remembered and replayed when it comes back.
func (r *Redis) Reset(ctx context.Context, rule auth.Rule, key string) error {
	if r.fallback != nil {
		if err := r.fallback.Reset(ctx, rule, key); err != nil {
			return err
		}
	}
	// Resets still pending here were made while the client was recovering,
	// after the replay: they go along with this one.
	keys := append(r.takePending(), r.key(rule, key))
	err := r.client.Do(ctx, func(c redis.UniversalClient) error { return del(ctx, c, keys) })
	if err == nil {
		return nil
	}
	r.addPending(keys)
	if errors.Is(err, redisconn.ErrDegraded) && r.fallback != nil {
		return nil
	}
	return fmt.Errorf("rate limit %s: reset: %w", rule.Name, err)
}

// key names the hash of (rule, key). The caller's key (an email, an IP) is
// hashed so that nothing personal is stored in the clear; the braces make a
// Cluster hash tag, so that any further key of the same (rule, key) would
// share its slot.
func (r *Redis) key(rule auth.Rule, key string) string {
	var sum []byte
	if len(r.secret) > 0 {
		m := hmac.New(sha256.New, r.secret)
		m.Write([]byte(key))
		sum = m.Sum(nil)
	} else {
		s := sha256.Sum256([]byte(key))
		sum = s[:]
	}
	return r.prefix + "rl:{" + rule.Name + ":" + hex.EncodeToString(sum[:16]) + "}"
}

// replayResets deletes the keys reset during an outage. The client runs it
// before leaving degraded mode, and again at the next probe if it fails.
func (r *Redis) replayResets(ctx context.Context, c redis.UniversalClient) error {
	keys := r.takePending()
	if len(keys) == 0 {
		return nil
	}
	if err := del(ctx, c, keys); err != nil {
		r.addPending(keys)
		return fmt.Errorf("rate limit: replay %d resets: %w", len(keys), err)
	}
	return nil
}

func (r *Redis) takePending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) == 0 {
		return nil
	}
	keys := make([]string, 0, len(r.pending))
	for k := range r.pending {
		keys = append(keys, k)
	}
	clear(r.pending)
	return keys
}

func (r *Redis) addPending(keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if len(r.pending) >= maxPending {
			return
		}
		r.pending[k] = struct{}{}
	}
}

// del deletes keys one DEL each, so that on Cluster every one goes to its
// own slot's node.
func del(ctx context.Context, c redis.UniversalClient, keys []string) error {
	if len(keys) == 1 {
		return c.Del(ctx, keys[0]).Err()
	}
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	return err
}
