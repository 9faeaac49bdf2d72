package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/auth/authtest"
	"github.com/talentforge/authd/internal/httpapi"
)

// BenchmarkVerifyEndpoint measures the forward-auth handler end to end in
// process: JWT verification plus the session check against SQLite, without
// and with the request metrics (their cost on the hottest path).
func BenchmarkVerifyEndpoint(b *testing.B) {
	f := newFixture(b)
	a := f.register(b, "bench@example.com")
	req := httptest.NewRequest(http.MethodGet, "/api/v1/auth/verify", nil)
	req.Header.Set("Authorization", "Bearer "+a.access)
	measured := httpapi.New(f.svc, f.keys, f.store, httpapi.Config{Issuer: authtest.Issuer, Registerer: prometheus.NewRegistry()}, slog.New(slog.DiscardHandler))
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"plain", f.h}, {"metrics", measured}} {
		b.Run(h.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
		b.Run(h.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.h.ServeHTTP(rec, req.Clone(req.Context()))
					if rec.Code != http.StatusOK {
						b.Errorf("status %d", rec.Code)
						return
					}
				}
			})
		})
	}
}
