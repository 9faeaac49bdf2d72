package auth_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/auth"
	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/ratelimit"
	"github.com/talentforge/authd/internal/redisconn/redistest"
)

// roundTrips counts what a go-redis client sends: each command or pipeline
// is one round trip to the server.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestLoginRoundTrips counts the round trips a login's limits cost on a
// real Redis: the three counts of a stranger are taken in one and adjusted
// in one after a success, and a failure or a refusal costs one.
func TestLoginRoundTrips(t *testing.T) {
	url := redistest.URL(t)
	client := openRedis(t, url)
	var rt roundTrips
	client.Universal().AddHook(&rt)
	clock := authtest.NewClock()
	limiter := ratelimit.NewRedis(client, nil, ratelimit.RedisOptions{Prefix: redistest.Prefix(t, url), Now: clock.Now})
	limits := testLimits
	limits.LoginAccount.Limit = 2
	e := newEnv(t, authtest.Options{Clock: clock, Limiter: limiter, Limits: limits})
	e.register(t, "ada@example.com")
	const ip = "192.0.2.1"
	// The first use of the script on a server may load it (NOSCRIPT, then
	// EVAL): not counted.
	if err := login(e, t, "ada@example.com", pw, ip); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name     string
		password string
		want     auth.Code
		trips    int64
	}{
		{"success", pw, "", 2},
		{"failure", "wrong", auth.EInvalidCredentials, 1},
		{"failure", "wrong", auth.EInvalidCredentials, 1},
		{"refusal", "wrong", auth.ETooManyAttempts, 1},
	} {
		before := rt.n.Load()
		if err := login(e, t, "ada@example.com", step.password, ip); auth.ErrorCode(err) != step.want {
			t.Fatalf("%s: %v, want %q", step.name, err, step.want)
		}
		if got := rt.n.Load() - before; got != step.trips {
			t.Errorf("%s: %d round trips to Redis, want %d", step.name, got, step.trips)
		}
	}
}
