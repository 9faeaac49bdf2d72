package logging

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Handler is a slog.Handler that adds the request's attributes (see
// package doc) to every record written with a context that carries a
// Request or a span context, before passing it on.
type Handler struct {
	next slog.Handler
}

// NewHandler returns next decorated with the request's attributes. A
// handler that already is a *Handler is returned as it is, so that layers
// which each make sure of the decoration don't add the attributes twice.
func NewHandler(next slog.Handler) slog.Handler {
	if h, ok := next.(*Handler); ok {
		return h
	}
	return &Handler{next: next}
}

// Enabled reports whether the next handler handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds request_id, trace_id (and span_id), route, client_ip and
// user_id, each when known, and passes the record on.
func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, rec)
	}
	attrs := make([]slog.Attr, 0, 6)
	if r := RequestFrom(ctx); r != nil {
		attrs = append(attrs, slog.String("request_id", r.id))
		if route := r.Route(); route != "" {
			attrs = append(attrs, slog.String("route", route))
		}
		if r.clientIP != "" {
			attrs = append(attrs, slog.String("client_ip", r.clientIP))
		}
		if uid := r.UserID(); uid != "" {
			attrs = append(attrs, slog.String("user_id", uid))
		}
	}
	// A valid span context is either a span this process records or one a
	// caller sent in traceparent while tracing is off here: either way
	// the id joins these lines to the caller's trace.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if len(attrs) > 0 {
		rec = rec.Clone()
		rec.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, rec)
}

// WithAttrs returns the decorated next handler with attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns the decorated next handler with a group. The request's
// attributes then land in the group too; authd doesn't log in groups.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}
