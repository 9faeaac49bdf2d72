package telemetry

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// redactingExporter strips the query string from the URL attributes
// instrumentation libraries record before the spans leave the process
// (otelhttp's client spans record url.full as it is, after the span
// started, so a span processor can't): a query may carry a code, a token
// or an address.
type redactingExporter struct {
	sdktrace.SpanExporter
}

// urlKeys are the attributes holding a full URL.
var urlKeys = map[attribute.Key]bool{"url.full": true, "http.url": true}

// ExportSpans exports spans with their URL attributes redacted.
func (e redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redact(s)
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

// redact returns s, or a copy of it without query strings when it has a URL
// attribute.
func redact(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	needed := false
	for _, kv := range s.Attributes() {
		if urlKeys[kv.Key] || kv.Key == "url.query" {
			needed = true
			break
		}
	}
	if !needed {
		return s
	}
	stub := tracetest.SpanStubFromReadOnlySpan(s)
	attrs := make([]attribute.KeyValue, 0, len(stub.Attributes))
	for _, kv := range stub.Attributes {
		switch {
		case kv.Key == "url.query":
			continue
		case urlKeys[kv.Key]:
			kv = attribute.String(string(kv.Key), StripQuery(kv.Value.AsString()))
		}
		attrs = append(attrs, kv)
	}
	stub.Attributes = attrs
	return stub.Snapshot()
}

// StripQuery returns raw without its query string, fragment and user
// information; what can't be parsed is replaced whole.
func StripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "REDACTED"
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}
