package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RouteLogs sends go-redis's own log lines (reconnects, pool and cluster
// messages) to log as warnings, instead of the plain text go-redis writes
// to stderr, which would break the JSON stream. go-redis's logger is
// package-global (redis.SetLogger), so this is called once, by main, before
// any client is opened; the lines carry the request's attributes when
// go-redis logs under a request's context.
func RouteLogs(log *slog.Logger) {
	redis.SetLogger(slogLogger{log})
}

// slogLogger is go-redis's Logging interface over slog.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	l.log.WarnContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
}
