package password

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracerName identifies the spans of this package.
const tracerName = "github.com/talentforge/authd/internal/password"

func newTracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(tracerName)
}

// startSpan starts the span of one hash or verification (password.hash,
// password.verify). It carries no attribute of the password or the hash.
func (h *Hasher) startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	return h.tracer.Start(ctx, name, trace.WithAttributes(attribute.String("password.algorithm", "argon2id")))
}

// acquireTraced is acquire, recording on the current span how long the
// call queued for a hashing slot: under load most of a login's time is
// spent there rather than hashing, and the trace should say so.
func (h *Hasher) acquireTraced(ctx context.Context) error {
	start := time.Now()
	err := h.acquire(ctx)
	span := trace.SpanFromContext(ctx)
	wait := attribute.Float64("password.queue_wait_ms", float64(time.Since(start).Microseconds())/1000)
	span.SetAttributes(wait)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "no hashing slot")
		return err
	}
	span.AddEvent("hashing slot acquired", trace.WithAttributes(wait))
	return nil
}
