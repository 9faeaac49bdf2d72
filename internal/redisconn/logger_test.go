package redisconn

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/talentforge/authd/internal/logging"
)

// TestGoRedisLinesAreJSON: what go-redis prints through the logger
// RouteLogs installs is one JSON record, with the request's attributes when
// go-redis logs under a request's context.
func TestGoRedisLinesAreJSON(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logging.NewHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := logging.WithRequest(t.Context(), logging.NewRequest("req-1", "192.0.2.7"))
	slogLogger{log}.Printf(ctx, "redis: %s:%d: connection pool: %s\n", "127.0.0.1", 6379, "failed to dial")
	slogLogger{log}.Printf(nil, "sentinel: new master=%q", "mymaster")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.Bytes())
	}
	var rec map[string]any
	if err := json.Unmarshal(lines[0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "redis: 127.0.0.1:6379: connection pool: failed to dial" || rec["level"] != "WARN" ||
		rec["component"] != "go-redis" || rec["request_id"] != "req-1" || rec["client_ip"] != "192.0.2.7" {
		t.Errorf("record %v", rec)
	}
	if err := json.Unmarshal(lines[1], &rec); err != nil || rec["msg"] != `sentinel: new master="mymaster"` {
		t.Errorf("record %v (%v)", rec, err)
	}
}
