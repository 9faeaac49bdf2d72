package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/talentforge/authd/internal/telemetry"
)

// endedSpans hands every span to a channel as it ends.
type endedSpans chan sdktrace.ReadOnlySpan

func (e endedSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd drops what the test no longer reads (discovery retries).
func (e endedSpans) OnEnd(s sdktrace.ReadOnlySpan) {
	select {
	case e <- s:
	default:
	}
}
func (e endedSpans) Shutdown(context.Context) error   { return nil }
func (e endedSpans) ForceFlush(context.Context) error { return nil }

// TestSocialProviderCallsAreTraced: a provider's HTTP calls (here the OIDC
// discovery) are client spans, without traceparent sent to the provider.
func TestSocialProviderCallsAreTraced(t *testing.T) {
	headers := make(chan http.Header, 10)
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case headers <- r.Header.Clone():
		default:
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer issuer.Close()
	vars := map[string]string{
		"AUTH_DATA_DIR":            filepath.Join(t.TempDir(), "data"),
		"AUTH_REDIRECT_URLS":       "https://app.example.com/after-login",
		"AUTH_OIDC_PROVIDERS":      "Corp",
		"AUTH_OIDC_CORP_ISSUER":    issuer.URL,
		"AUTH_OIDC_CORP_CLIENT_ID": "c",
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ended := make(endedSpans, 10)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ended))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := socialConfig(ctx, cfg, slog.New(slog.DiscardHandler), &telemetry.Tracing{Provider: tp, Propagator: telemetry.Propagator()}); err != nil {
		t.Fatal(err)
	}
	// Bounds on a hang, not measures: discovery starts at once.
	select {
	case h := <-headers:
		if h.Get("Traceparent") != "" {
			t.Errorf("traceparent sent to the provider: %v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no discovery request")
	}
	select {
	case s := <-ended:
		if s.SpanKind().String() != "client" || s.Name() != "oauth GET "+issuer.Listener.Addr().String() {
			t.Errorf("span %q kind %v", s.Name(), s.SpanKind())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no span ended")
	}
}
