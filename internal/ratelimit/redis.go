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
// one script on one key, so it is atomic and runs on Redis Cluster; Batch
// pipelines those, and AllowAll is one script over several keys except on
// Cluster (see AllowAll).
//
// While the client is degraded, Allow, AllowAll, Batch and Reset answer
// from the fallback, whose counts are per replica and start from zero: an
// outage loosens the limits rather than failing logins. Resets made meanwhile are replayed on
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

// AllowAll makes the attempts of ops in order, all or nothing. On one
// node (standalone, Sentinel) that is one script over all their keys: one
// round trip, atomic, a refusal included. On Cluster a login's keys are in
// different slots, which one script can't span, and a pipeline would judge
// every attempt at once: one refused by an earlier count would hold the
// later counts' allowance until given back, refusing others meanwhile. So
// there the attempts are made one round trip each, in order, as Allow, and
// given back together on a refusal. Outages are handled as in Allow.
func (r *Redis) AllowAll(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ps, err := prepareOps(ops, false)
	if err != nil {
		return nil, err
	}
	if r.client.Mode() == "cluster" {
		return r.allowEach(ctx, ops)
	}
	var keys []string
	var made []int // the indexes of the ops sent
	args := []any{r.now().UnixMilli()}
	for i, op := range ops {
		if p := ps[i]; p != nil {
			keys = append(keys, r.key(op.Rule, op.Key))
			args = append(args, p.interval, p.tau, p.maxLock, p.memory, clampCost(op.Cost, op.Rule.Limit))
			made = append(made, i)
		}
	}
	ds := make([]auth.Decision, len(ops))
	for i := range ds {
		ds[i] = auth.Decision{Allowed: true}
	}
	if len(keys) == 0 {
		return ds, nil
	}
	var res []int64
	err = r.client.Do(ctx, func(c redis.UniversalClient) error {
		var err error
		res, err = r.script.Run(ctx, c, keys, args...).Int64Slice()
		return err
	})
	if n := len(res) / 3; err == nil && len(res)%3 == 0 && n > 0 && n <= len(keys) {
		for j, i := range made[:n] {
			ds[i] = auth.Decision{Allowed: res[3*j] == 1, Remaining: int(res[3*j+1]), RetryAfter: time.Duration(res[3*j+2]) * time.Millisecond}
		}
		if last := made[n-1]; !ds[last].Allowed {
			return ds[:last+1], nil
		}
		return ds, nil
	}
	if err == nil {
		err = fmt.Errorf("unexpected script reply %v", res)
	}
	if r.fallback == nil || ctx.Err() != nil {
		return nil, fmt.Errorf("rate limit: %w", err)
	}
	if !errors.Is(err, redisconn.ErrDegraded) {
		// As in Allow: a Redis that refuses scripts must not fail logins.
		r.client.MarkDown(fmt.Errorf("rate limit: %w", err))
	}
	return r.fallback.AllowAll(ctx, ops)
}

// allowEach is AllowAll one Allow at a time. A failure to give back is not
// returned: it only makes the limits slightly stricter for a while.
func (r *Redis) allowEach(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ds := make([]auth.Decision, 0, len(ops))
	giveBack := func(made []auth.LimitOp) {
		var back []auth.LimitOp
		for _, op := range made {
			if op.Cost > 0 {
				back = append(back, auth.LimitOp{Rule: op.Rule, Key: op.Key, Cost: -op.Cost})
			}
		}
		if len(back) > 0 {
			_, _ = r.Batch(ctx, back)
		}
	}
	for i, op := range ops {
		d, err := r.Allow(ctx, op.Rule, op.Key, op.Cost)
		if err != nil {
			giveBack(ops[:i])
			return nil, err
		}
		ds = append(ds, d)
		if !d.Allowed {
			giveBack(ops[:i])
			break
		}
	}
	return ds, nil
}

// Batch applies ops in order as Allow and Reset would, in one pipeline:
// one round trip (on Cluster, one per node holding some of the keys, sent
// concurrently), where Allow and Reset take one each. Each op stays one
// script or DEL on one key, so it is atomic as alone and runs on Cluster.
// While the client is degraded, or when Redis refuses the batch, Batch
// answers as Allow and Reset do: the Allows from the fallback, the Resets
// remembered for replay.
func (r *Redis) Batch(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ps, err := prepareOps(ops, true)
	if err != nil {
		return nil, err
	}
	ds := make([]auth.Decision, len(ops))
	var sent []auth.LimitOp // the ops to apply in Redis, with their keys
	var allows []int        // the indexes of the Allows among ops
	var resets []string     // the keys of the Resets
	for i, op := range ops {
		switch {
		case op.Reset:
			if r.fallback != nil {
				if err := r.fallback.Reset(ctx, op.Rule, op.Key); err != nil {
					return nil, err
				}
			}
			op.Key = r.key(op.Rule, op.Key)
			sent = append(sent, op)
			resets = append(resets, op.Key)
			ds[i] = auth.Decision{Allowed: true}
		case ps[i] == nil:
			ds[i] = auth.Decision{Allowed: true}
		default:
			op.Key = r.key(op.Rule, op.Key)
			sent = append(sent, op)
			allows = append(allows, i)
		}
	}
	if len(sent) == 0 {
		return ds, nil
	}
	var pending []string
	if len(resets) > 0 {
		// As in Reset: resets still pending go along.
		pending = r.takePending()
	}
	now := r.now().UnixMilli()
	var res [][]int64
	err = r.client.Do(ctx, func(c redis.UniversalClient) error {
		var err error
		res, err = r.pipeline(ctx, c, pending, sent, now)
		return err
	})
	if err == nil {
		for j, i := range allows {
			ds[i] = auth.Decision{Allowed: res[j][0] == 1, Remaining: int(res[j][1]), RetryAfter: time.Duration(res[j][2]) * time.Millisecond}
		}
		return ds, nil
	}
	if len(resets) > 0 {
		r.addPending(append(pending, resets...))
	}
	if r.fallback == nil || ctx.Err() != nil {
		return nil, fmt.Errorf("rate limit batch: %w", err)
	}
	if !errors.Is(err, redisconn.ErrDegraded) {
		// As in Allow: a Redis that refuses scripts must not fail logins.
		r.client.MarkDown(fmt.Errorf("rate limit batch: %w", err))
	}
	if len(allows) == 0 {
		return ds, nil
	}
	fops := make([]auth.LimitOp, len(allows))
	for j, i := range allows {
		fops[j] = ops[i]
	}
	fds, err := r.fallback.Batch(ctx, fops)
	if err != nil {
		return nil, err
	}
	for j, i := range allows {
		ds[i] = fds[j]
	}
	return ds, nil
}

// pipeline deletes the keys pending and then applies ops (their Keys are
// Redis keys) in order, in one pipeline, and returns the replies of the
// Allows among them. A node that has not loaded the script (a restart,
// SCRIPT FLUSH) answers NOSCRIPT without running it: those scripts are
// sent again in full, which costs a second round trip only then.
func (r *Redis) pipeline(ctx context.Context, c redis.UniversalClient, pending []string, ops []auth.LimitOp, now int64) ([][]int64, error) {
	var cmds []*redis.Cmd
	var args [][]any
	for _, op := range ops {
		if !op.Reset {
			p := paramsOf(op.Rule)
			args = append(args, []any{now, p.interval, p.tau, p.maxLock, p.memory, clampCost(op.Cost, op.Rule.Limit)})
		}
	}
	all, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range pending {
			p.Del(ctx, k)
		}
		for _, op := range ops {
			if op.Reset {
				p.Del(ctx, op.Key)
				continue
			}
			cmds = append(cmds, r.script.EvalSha(ctx, p, []string{op.Key}, args[len(cmds)]...))
		}
		return nil
	})
	if err != nil {
		// Pipelined reports the first failure; any but NOSCRIPT fails the
		// batch.
		for _, cmd := range all {
			if err := cmd.Err(); err != nil && !redis.HasErrorPrefix(err, "NOSCRIPT") {
				return nil, err
			}
		}
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			j := 0
			for _, op := range ops {
				if op.Reset {
					continue
				}
				if cmds[j].Err() != nil {
					cmds[j] = r.script.Eval(ctx, p, []string{op.Key}, args[j]...)
				}
				j++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	res := make([][]int64, len(cmds))
	for j, cmd := range cmds {
		v, err := cmd.Int64Slice()
		if err != nil {
			return nil, err
		}
		if len(v) != 3 {
			return nil, fmt.Errorf("unexpected script reply %v", v)
		}
		res[j] = v
	}
	return res, nil
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
