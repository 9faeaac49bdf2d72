package telemetry

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// redactor strips the query string from the URL attributes instrumentation
// libraries record (otelhttp's client spans record url.full as it is): a
// query may carry a code, a token or an address, and spans leave the
// process.
type redactor struct{}

// redactedKeys are the attributes holding a full URL.
var redactedKeys = []attribute.Key{"url.full", "http.url"}

// OnStart rewrites the URL attributes the span started with.
func (redactor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	for _, kv := range s.Attributes() {
		if kv.Key == "url.query" {
			s.SetAttributes(attribute.String("url.query", "REDACTED"))
			continue
		}
		for _, k := range redactedKeys {
			if kv.Key == k {
				s.SetAttributes(attribute.String(string(k), StripQuery(kv.Value.AsString())))
			}
		}
	}
}

func (redactor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (redactor) Shutdown(context.Context) error   { return nil }
func (redactor) ForceFlush(context.Context) error { return nil }

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
