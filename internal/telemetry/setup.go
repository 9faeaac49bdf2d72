package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracing is the tracer provider and propagator of one process.
type Tracing struct {
	// Provider makes the spans: the SDK's, exporting over OTLP, when an
	// endpoint is configured, otherwise one that records nothing.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C traceparent/tracestate and baggage.
	Propagator propagation.TextMapPropagator

	sdk      *sdktrace.TracerProvider // nil when off
	endpoint string
	protocol string
}

// Propagator returns the W3C trace context and baggage propagator.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Off returns Tracing that records nothing but still propagates the
// caller's trace context.
func Off() *Tracing {
	return &Tracing{Provider: noop.NewTracerProvider(), Propagator: Propagator()}
}

// Recorder returns the provider to instrument libraries with (the pgx
// tracer, the Redis hooks, traced transports), or nil when t records
// nothing: then they are left out instead of doing their per-query work
// for a provider that drops it.
func (t *Tracing) Recorder() trace.TracerProvider {
	if t == nil {
		return nil
	}
	if _, off := t.Provider.(noop.TracerProvider); off {
		return nil
	}
	return t.Provider
}

// Exporting reports whether spans are exported, and where to and over which
// protocol ("http/protobuf" or "grpc").
func (t *Tracing) Exporting() (endpoint, protocol string, ok bool) {
	return t.endpoint, t.protocol, t.sdk != nil
}

// Shutdown exports the spans still buffered and stops the exporter; ctx
// bounds how long it may take. It does nothing when tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// Setup reads the standard OpenTelemetry variables through getenv (not the
// process environment, so that tests and `run` see the same settings):
//
//   - OTEL_SDK_DISABLED=true turns tracing off whatever else is set;
//   - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is) or
//     OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces over HTTP) turn it on;
//     without either, tracing is off and no exporter is created;
//   - OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL: http/protobuf (default) or grpc;
//   - OTEL_EXPORTER_OTLP_[TRACES_]HEADERS and _TIMEOUT (milliseconds);
//   - OTEL_SERVICE_NAME (default "authd") and OTEL_RESOURCE_ATTRIBUTES;
//   - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default
//     parentbased_always_on).
//
// The batch span processor's OTEL_BSP_* variables are read by the SDK from
// the process environment. version is reported as service.version. Setup
// connects to nothing: an unreachable collector shows as export errors
// later, never as a failure to start.
func Setup(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	off := Off()
	if disabled, _ := strconv.ParseBool(strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))); disabled {
		return off, nil
	}
	endpoint := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	signalSpecific := endpoint != ""
	if !signalSpecific {
		endpoint = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	if endpoint == "" {
		return off, nil
	}
	protocol := strings.TrimSpace(first(getenv, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"))
	if protocol == "" {
		protocol = "http/protobuf"
	}
	headers, err := parseKeyValues(first(getenv, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"))
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %w", err)
	}
	timeout := 10 * time.Second
	if v := strings.TrimSpace(first(getenv, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT: %q is not a positive number of milliseconds", v)
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %q is not an http:// or https:// URL", endpoint)
	}

	var exporter sdktrace.SpanExporter
	switch protocol {
	case "http/protobuf":
		if !signalSpecific {
			// The generic endpoint is a base URL; the signal's path is
			// appended to it (OTLP exporter specification).
			u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		}
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String()), otlptracehttp.WithTimeout(timeout)}
		if len(headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(headers))
		}
		exporter, err = otlptracehttp.New(ctx, opts...)
		endpoint = u.String()
	case "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(u.String()), otlptracegrpc.WithTimeout(timeout)}
		if len(headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(headers))
		}
		exporter, err = otlptracegrpc.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported (http/protobuf or grpc)", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}

	res, err := newResource(getenv, version)
	if err != nil {
		return nil, err
	}
	sampler, err := newSampler(getenv)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
		sdktrace.WithBatcher(redactingExporter{exporter}),
	)
	return &Tracing{Provider: tp, Propagator: Propagator(), sdk: tp, endpoint: endpoint, protocol: protocol}, nil
}

// NewProvider returns a tracer provider that samples every span, redacts
// URLs as Setup's does, and hands each span to exporter as it ends: for
// tests, with an in-memory exporter.
func NewProvider(exporter sdktrace.SpanExporter) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(redactingExporter{exporter}),
	)
}

// first returns the first non-empty value of the variables names.
func first(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// newResource describes this process: service.name from OTEL_SERVICE_NAME,
// else OTEL_RESOURCE_ATTRIBUTES, else "authd"; service.version; and the
// other OTEL_RESOURCE_ATTRIBUTES.
func newResource(getenv func(string) string, version string) (*resource.Resource, error) {
	kv, err := parseKeyValues(getenv("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	attrs := []attribute.KeyValue{semconv.ServiceName("authd"), semconv.ServiceVersion(version)}
	for k, v := range kv {
		attrs = append(attrs, attribute.String(k, v))
	}
	if name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); name != "" {
		attrs = append(attrs, semconv.ServiceName(name))
	}
	// Later attributes win over earlier ones with the same key.
	return resource.NewSchemaless(attrs...), nil
}

// parseKeyValues parses the W3C-baggage-like "k1=v1,k2=v2" lists of
// OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS; values are
// percent-decoded.
func parseKeyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", item)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		out[k] = dv
	}
	return out, nil
}

// newSampler returns the sampler OTEL_TRACES_SAMPLER names.
func newSampler(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))
	arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: %q is not a ratio between 0 and 1", arg)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, errors.New("OTEL_TRACES_SAMPLER: " + strconv.Quote(name) + " is not supported (always_on, always_off, traceidratio and their parentbased_ forms)")
}

// RouteErrors sends the errors of the OpenTelemetry SDK (a collector that
// can't be reached, a full export queue) to log as warnings, instead of the
// plain text the SDK writes to stderr by default. The SDK only reports them
// through its package-global error handler (otel.SetErrorHandler), so this
// is called once, by main.
func RouteErrors(log *slog.Logger) {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: "+err.Error(), "component", "opentelemetry")
	}))
}
