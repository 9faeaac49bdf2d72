package token

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gauges reads the manager's metrics through a registry, as /metrics does.
func gauges(t *testing.T, m *Manager) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	return out
}

func TestKeyMetrics(t *testing.T) {
	clk := newClock()
	cfg := testConfig(clk, ES256)
	m := newTestManager(t, newMemKeyStore(), cfg)
	want := func(step string, age time.Duration, published float64) {
		t.Helper()
		g := gauges(t, m)
		// Keys are created at whole seconds; the test clock is not.
		if a := g["authd_signing_key_age_seconds"] - age.Seconds(); a < 0 || a >= 1 || g["authd_signing_keys_published"] != published {
			t.Errorf("%s: %v, want age %v (+<1s) and %v published", step, g, age, published)
		}
	}
	want("fresh", 0, 1)
	clk.Advance(time.Hour)
	want("an hour later", time.Hour, 1)

	rec, err := m.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The new key is published at once but signs only after the delay:
	// until then the age is still the old key's.
	want("rotated", time.Hour, 2)
	clk.Advance(rec.ActivatesAt.Sub(clk.Now()))
	want("new key active", cfg.PublishDelay, 2)
}
