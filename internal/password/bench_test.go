package password

import (
	"fmt"
	"testing"
	"time"
)

// The benchmarks use DefaultParams, the production cost (all but
// BenchmarkPriorityOverhead), so that their figures say what a login costs.
// A long queue timeout keeps a busy machine from turning slowness into
// EUnavailable failures.
func newDefault(b *testing.B) *Hasher {
	b.Helper()
	return New(Config{QueueTimeout: time.Minute})
}

func BenchmarkHash(b *testing.B) {
	h := newDefault(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := newDefault(b)
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

// BenchmarkVerifyParallel runs GOMAXPROCS goroutines against the default
// bound of GOMAXPROCS slots: the throughput of one authd process.
func BenchmarkVerifyParallel(b *testing.B) {
	h := newDefault(b)
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); !ok || err != nil {
				b.Errorf("Verify = %v, %v", ok, err)
				return
			}
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	h := newDefault(b)
	commonPasswords() // built once per process; not what is measured here
	for _, bm := range []struct{ name, password string }{
		{"accepted", "correct horse battery staple"},
		{"common", "Password123"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Check(bm.password)
			}
		})
	}
}

// BenchmarkCommonPasswordsLoad measures the one-time cost the first Check in
// a process pays to build the list.
func BenchmarkCommonPasswordsLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = loadCommonPasswords()
	}
}

// BenchmarkPriorityOverhead measures what a Priority adds to each hash (a
// fresh OS thread, lowered): at cheap parameters the difference between the
// two is that cost alone, to set against a production hash's tens of
// milliseconds.
func BenchmarkPriorityOverhead(b *testing.B) {
	for _, priority := range []int{0, 10} {
		b.Run(fmt.Sprintf("priority=%d", priority), func(b *testing.B) {
			h := New(Config{Params: cheap, Priority: priority})
			for b.Loop() {
				if _, err := h.Hash(b.Context(), "passw0rd one"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
