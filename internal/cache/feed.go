package cache

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/talentforge/authd/internal/redisconn"
)

// FeedOptions configure a Feed.
type FeedOptions struct {
	// Prefix is the Redis backend's key prefix (default "authd:").
	Prefix string
	// Interval is how often an idle feed checks that its connection still
	// answers (default 1s). A feed that hears nothing, not even a reply to
	// its check, for three intervals is judged lost: that bounds how long a
	// connection that died without a sign can leave stale entries served.
	Interval time.Duration
	Logger   *slog.Logger
}

// Feed keeps a Near in front of a Redis backend correct with Redis's
// server-assisted client-side caching: one connection of its own turns on
// CLIENT TRACKING in broadcasting mode for the cache's keys and receives,
// as messages on __redis__:invalidate, the name of every such key that
// changes, expires or is evicted, whichever client changed it. A changed
// version key reports its group to Near; entry keys are ignored, since an
// entry never changes under a version. Near serves from memory only while
// the feed is subscribed and answering; a lost connection stops it, and a
// new one starts it afresh, empty.
//
// The connection speaks RESP2, where tracking redirected to a subscribed
// connection arrives as ordinary Pub/Sub messages that go-redis reads as
// they come; go-redis's own client-side cache (RESP3) applies invalidations
// on idle connections only at its drainer's ticks.
type Feed struct {
	near     *Near
	rdb      redis.UniversalClient
	channel  string
	prefix   string // of the cache's keys: <Prefix>c:
	interval time.Duration
	log      *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	connID atomic.Int64 // the server's id of the feed's connection, for tests
}

const invalidateChannel = "__redis__:invalidate"

// StartFeed connects a feed for near to the server of client and keeps it
// connected until Close. It returns false, and starts nothing, on a Redis
// Cluster, where each node would need a feed of its own: near then never
// serves from memory.
func StartFeed(client *redisconn.Client, near *Near, opts FeedOptions) (*Feed, bool) {
	if opts.Prefix == "" {
		opts.Prefix = "authd:"
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	prefix := opts.Prefix + "c:"
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{near: near, prefix: prefix, interval: opts.Interval, log: opts.Logger,
		cancel: cancel, done: make(chan struct{})}
	rdb, ok := client.Dedicated(func(ctx context.Context, cn *redis.Conn) error {
		// Redirecting to itself makes this connection, once subscribed,
		// the receiver of its own tracking messages. The name tells
		// operators what it is in CLIENT LIST.
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		f.connID.Store(id)
		if err := cn.ClientSetName(ctx, "authd-cache-feed").Err(); err != nil {
			return err
		}
		return cn.Do(ctx, "CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST", "PREFIX", prefix).Err()
	})
	if !ok {
		cancel()
		return nil, false
	}
	f.rdb = rdb
	go f.run(ctx)
	return f, true
}

// Close stops the feed (near stops serving from memory) and closes its
// connection.
func (f *Feed) Close() error {
	f.cancel()
	<-f.done
	return f.rdb.Close()
}

func (f *Feed) run(ctx context.Context) {
	defer close(f.done)
	defer f.near.Stop()
	wasLive := false
	for {
		err := f.listen(ctx, &wasLive)
		f.near.Stop()
		if ctx.Err() != nil {
			return
		}
		if wasLive {
			f.log.Warn("redis invalidation feed lost: serving the cache from Redis until it is back", "err", err)
			wasLive = false
		}
		t := time.NewTimer(f.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// listen subscribes and applies what arrives until the feed is judged lost
// (any error: a message may have been missed) or ctx ends.
func (f *Feed) listen(ctx context.Context, wasLive *bool) error {
	ps := f.rdb.Subscribe(ctx, invalidateChannel)
	defer ps.Close()
	heard := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, f.interval)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if time.Since(heard) >= 3*f.interval {
				return errors.New("no answer to three health checks")
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			continue
		}
		heard = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == invalidateChannel {
				// Every change from now on will be reported.
				f.near.Start()
				if !*wasLive {
					f.log.Info("redis invalidation feed live: serving warm cache entries from memory")
					*wasLive = true
				}
			}
		case *redis.Message:
			keys := m.PayloadSlice
			if keys == nil && m.Payload != "" {
				keys = []string{m.Payload}
			}
			for _, k := range keys {
				f.apply(k)
			}
		}
	}
}

// apply reports the group of a changed key. Keys read
// <prefix>{<tag>}:v (a version) or <prefix>{<tag>}:e:<key> (an entry, which
// never changes under a version); a tag holds no '}'. Anything else under
// the prefix is not authd's, and costs a flush rather than a guess.
func (f *Feed) apply(key string) {
	rest, ok := strings.CutPrefix(key, f.prefix+"{")
	end := strings.IndexByte(rest, '}')
	if !ok || end < 0 {
		f.near.Flush()
		return
	}
	switch tail := rest[end+1:]; {
	case tail == ":v":
		f.near.Report(rest[:end])
	case strings.HasPrefix(tail, ":e:"):
	default:
		f.near.Flush()
	}
}
