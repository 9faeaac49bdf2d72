package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/propagation"

	"github.com/talentforge/authd/internal/logging"
)

func record(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	buf.Reset()
	return rec
}

// TestHandlerAddsTheRequest: lines written under a request's context carry
// its attributes as they become known, and a caller's trace context
// without any span of ours; lines outside a request carry none.
func TestHandlerAddsTheRequest(t *testing.T) {
	var buf bytes.Buffer
	h := logging.NewHandler(slog.NewJSONHandler(&buf, nil))
	if logging.NewHandler(h) != h {
		t.Error("decorating twice")
	}
	log := slog.New(h).With("component", "test")

	req := logging.NewRequest("req-9", "198.51.100.4")
	carrier := propagation.MapCarrier{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	ctx := propagation.TraceContext{}.Extract(logging.WithRequest(context.Background(), req), carrier)

	log.InfoContext(ctx, "before routing")
	rec := record(t, &buf)
	if rec["request_id"] != "req-9" || rec["client_ip"] != "198.51.100.4" || rec["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		rec["route"] != nil || rec["user_id"] != nil || rec["component"] != "test" {
		t.Errorf("before routing: %v", rec)
	}
	req.SetRoute("GET /api/v1/users/me")
	req.SetUserID("u-1")
	log.WarnContext(ctx, "after")
	if rec := record(t, &buf); rec["route"] != "GET /api/v1/users/me" || rec["user_id"] != "u-1" {
		t.Errorf("after: %v", rec)
	}
	log.Info("outside")
	if rec := record(t, &buf); rec["request_id"] != nil || rec["trace_id"] != nil {
		t.Errorf("outside a request: %v", rec)
	}
}
