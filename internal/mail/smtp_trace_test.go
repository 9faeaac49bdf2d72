package mail_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/talentforge/authd/internal/mail"
	"github.com/talentforge/authd/internal/mail/mailtest"
)

// TestSMTPSendSpan: each Send is an smtp.send client span below the
// caller's, naming the server but not the recipient or the message, and a
// failed send is an error span.
func TestSMTPSendSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, parent := tp.Tracer("test").Start(t.Context(), "outbox")

	srv := mailtest.StartWith(t, mailtest.Options{StartTLS: true})
	m, _ := verifyMail(t)
	if err := newSMTP(t, srv.URL(), mail.WithTLSConfig(srv.TLSConfig()), mail.WithTracerProvider(tp)).Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := newSMTP(t, "smtp://"+mailtest.Closed(t), mail.WithTracerProvider(tp)).Send(ctx, m); err == nil {
		t.Fatal("no error with nothing listening")
	}
	parent.End()

	var sends []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "smtp.send" {
			sends = append(sends, s)
		}
	}
	if len(sends) != 2 {
		t.Fatalf("%d smtp.send spans", len(sends))
	}
	for i, s := range sends {
		if s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("send %d is not below the caller's span", i)
		}
		var host bool
		for _, kv := range s.Attributes {
			v := kv.Value.Emit()
			if strings.Contains(v, recipient) || strings.Contains(v, testToken) || strings.Contains(v, "@") {
				t.Errorf("send %d: %s = %q", i, kv.Key, v)
			}
			host = host || kv.Key == "server.address" && v != ""
		}
		if !host {
			t.Errorf("send %d names no server: %v", i, s.Attributes)
		}
	}
	if sends[0].Status.Code == codes.Error || sends[1].Status.Code != codes.Error {
		t.Errorf("statuses %v, %v", sends[0].Status, sends[1].Status)
	}
}
