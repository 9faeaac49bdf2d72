package password

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/talentforge/authd/internal/auth"
)

// TestSpans: Hash and Verify each make a span below the caller's, with the
// time queued for a slot, and nothing of the password or the hash; a call
// that finds no slot records the refusal.
func TestSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	blocking := false
	h := New(Config{Params: cheap, MaxConcurrent: 1, QueueTimeout: time.Millisecond, TracerProvider: tp, Acquired: func() {
		if blocking {
			held <- struct{}{}
			<-release
		}
	}})
	ctx, parent := tp.Tracer("test").Start(t.Context(), "login")
	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, "correct horse battery staple", encoded); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}

	// One call holds the only slot while another times out waiting.
	blocking = true
	done := make(chan error)
	go func() {
		_, err := h.Hash(ctx, "another password here")
		done <- err
	}()
	<-held
	_, _, err = h.Verify(ctx, "x", encoded)
	close(release)
	if auth.ErrorCode(err) != auth.EUnavailable {
		t.Fatalf("Verify without a slot: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	parent.End()

	spans := exp.GetSpans()
	var names []string
	var refused int
	for _, s := range spans {
		names = append(names, s.Name)
		if s.Name == "login" {
			continue
		}
		if s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the caller's span", s.Name)
		}
		if attrValue(s, "password.queue_wait_ms") == "" {
			t.Errorf("%s has no queue wait: %v", s.Name, s.Attributes)
		}
		for _, kv := range s.Attributes {
			if v := kv.Value.Emit(); strings.Contains(v, "horse") || strings.Contains(v, "$argon2id$") {
				t.Errorf("%s: %s = %q", s.Name, kv.Key, v)
			}
		}
		if s.Status.Code == codes.Error {
			refused++
			if s.Name != "password.verify" {
				t.Errorf("%s refused", s.Name)
			}
		} else if len(s.Events) != 1 || s.Events[0].Name != "hashing slot acquired" {
			t.Errorf("%s events: %v", s.Name, s.Events)
		}
	}
	if got := strings.Join(names, ","); strings.Count(got, "password.hash") != 2 || strings.Count(got, "password.verify") != 2 || refused != 1 {
		t.Errorf("spans %s, %d refused", got, refused)
	}
}

func attrValue(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
