package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/talentforge/authd/internal/telemetry"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestSetupOffByDefault: without an OTLP endpoint, or with
// OTEL_SDK_DISABLED=true, Setup creates no exporter; with one it does, over
// the protocol asked for.
func TestSetupOffByDefault(t *testing.T) {
	for _, c := range []struct {
		name         string
		vars         map[string]string
		wantEndpoint string
		wantProtocol string
	}{
		{name: "nothing set", vars: nil},
		{name: "only other OTEL variables", vars: map[string]string{"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}},
		{name: "disabled", vars: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}},
		{name: "endpoint", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
			wantEndpoint: "http://127.0.0.1:4318/v1/traces", wantProtocol: "http/protobuf"},
		{name: "traces endpoint used as it is", vars: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/custom"},
			wantEndpoint: "http://127.0.0.1:4318/custom", wantProtocol: "http/protobuf"},
		{name: "grpc", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			wantEndpoint: "http://127.0.0.1:4317", wantProtocol: "grpc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tel, err := telemetry.Setup(t.Context(), env(c.vars), "test")
			if err != nil {
				t.Fatal(err)
			}
			defer tel.Shutdown(context.Background())
			endpoint, protocol, ok := tel.Exporting()
			if ok != (c.wantEndpoint != "") || endpoint != c.wantEndpoint || protocol != c.wantProtocol {
				t.Errorf("Exporting() = %q, %q, %v; want %q, %q", endpoint, protocol, ok, c.wantEndpoint, c.wantProtocol)
			}
			if tel.Provider == nil || tel.Propagator == nil {
				t.Error("no provider or propagator")
			}
			// Off or on, the caller's trace context is read.
			if fields := tel.Propagator.Fields(); !strings.Contains(strings.Join(fields, ","), "traceparent") {
				t.Errorf("propagator fields %v", fields)
			}
		})
	}
}

// TestSetupRefusesBadSettings: settings that can never work stop start-up
// with the variable's name.
func TestSetupRefusesBadSettings(t *testing.T) {
	base := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
	for name, extra := range map[string]map[string]string{
		"OTEL_EXPORTER_OTLP_PROTOCOL": {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		"OTEL_TRACES_SAMPLER":         {"OTEL_TRACES_SAMPLER": "sometimes"},
		"OTEL_TRACES_SAMPLER_ARG":     {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
		"OTEL_EXPORTER_OTLP_TIMEOUT":  {"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
		"OTEL_RESOURCE_ATTRIBUTES":    {"OTEL_RESOURCE_ATTRIBUTES": "novalue"},
		"OTEL_EXPORTER_OTLP_ENDPOINT": {"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"},
	} {
		vars := map[string]string{}
		for k, v := range base {
			vars[k] = v
		}
		for k, v := range extra {
			vars[k] = v
		}
		_, err := telemetry.Setup(t.Context(), env(vars), "test")
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: err = %v, want one naming %s", extra, err, name)
		}
	}
}

// TestSamplerFromEnvironment: always_off records nothing, the parent-based
// default follows a sampled caller.
func TestSamplerFromEnvironment(t *testing.T) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer collector.Close()
	for sampler, wantSampled := range map[string]bool{"always_off": false, "": true, "parentbased_traceidratio": true} {
		tel, err := telemetry.Setup(t.Context(), env(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
			"OTEL_TRACES_SAMPLER":         sampler,
			"OTEL_TRACES_SAMPLER_ARG":     "0",
		}), "test")
		if err != nil {
			t.Fatal(err)
		}
		_, span := tel.Provider.Tracer("t").Start(t.Context(), "s")
		if got := span.SpanContext().IsSampled(); got != wantSampled && sampler != "parentbased_traceidratio" {
			t.Errorf("%q: sampled = %v", sampler, got)
		}
		if sampler == "parentbased_traceidratio" && span.SpanContext().IsSampled() {
			t.Errorf("ratio 0 sampled a root span")
		}
		span.End()
		tel.Shutdown(context.Background())
	}
}

// TestQueryStringsAreRedacted: an outgoing call's url.full, as otelhttp
// records it, keeps no query string, fragment or credentials once through
// the provider Setup makes.
func TestQueryStringsAreRedacted(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := telemetry.NewProvider(exp)
	defer tp.Shutdown(context.Background())
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer upstream.Close()
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tp))}
	u := strings.Replace(upstream.URL, "http://", "http://user:pw@", 1) + "/token?code=secret-code&email=a%40b.c#frag"
	res, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	var full string
	for _, kv := range spans[0].Attributes {
		v := kv.Value.Emit()
		if strings.Contains(v, "secret-code") || strings.Contains(v, "a%40b.c") || strings.Contains(v, "pw@") {
			t.Errorf("attribute %s = %q", kv.Key, v)
		}
		if kv.Key == "url.full" {
			full = v
		}
	}
	if full != upstream.URL+"/token" {
		t.Errorf("url.full = %q, want %q", full, upstream.URL+"/token")
	}
}
