package cache

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := New(NewMemory(MemoryOptions{}), Options{Registerer: reg})
	for range 3 {
		get(t, c, "u1", "k", constant("v"))
	}
	get(t, c, "u1", "other", constant("v"))
	for result, want := range map[string]float64{"hit": 2, "miss": 2, "error": 0} {
		if got := counter(t, reg, result); got != want {
			t.Errorf("%s count = %v, want %v", result, got, want)
		}
	}
	// A second Cache on the registry adds to the same counter.
	c2 := New(NewMemory(MemoryOptions{}), Options{Registerer: reg})
	get(t, c2, "u1", "k", constant("v"))
	if got := counter(t, reg, "miss"); got != 3 {
		t.Errorf("miss count with two caches = %v, want 3", got)
	}
}

// counter reads authd_cache_requests_total{result=result} from reg.
func counter(tb testing.TB, reg *prometheus.Registry, result string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "authd_cache_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
