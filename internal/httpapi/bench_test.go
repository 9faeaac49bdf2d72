package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkVerifyEndpoint measures the forward-auth handler end to end in
// process: JWT verification plus the session check against SQLite.
func BenchmarkVerifyEndpoint(b *testing.B) {
	f := newFixture(b)
	a := f.register(b, "bench@example.com")
	req := httptest.NewRequest(http.MethodGet, "/api/v1/auth/verify", nil)
	req.Header.Set("Authorization", "Bearer "+a.access)
	b.ReportAllocs()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, req.Clone(req.Context()))
				if rec.Code != http.StatusOK {
					b.Errorf("status %d", rec.Code)
					return
				}
			}
		})
	})
}
