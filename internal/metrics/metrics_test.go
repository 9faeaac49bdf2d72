package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/auth"
)

// TestCollectorsArePedantic gathers every collector of the package through
// a pedantic registry, which checks that what each Describes is what it
// Collects, and that every outcome of the domain's lists has a series from
// the start.
func TestCollectorsArePedantic(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a := NewAuth(reg)
	social := NewSocial(reg)
	RegisterBuildInfo(reg, "v1.2.3", "0123456789ab", "go1.26")
	reg.MustRegister(NewDBCollector("postgres", func() DBStats {
		return DBStats{InUse: 2, Idle: 3, Max: 10, Waits: 4, WaitTime: 1500 * time.Millisecond}
	}))
	a.Login("locked")
	social("", "invalid_state")

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				series[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				series[key] = m.GetGauge().GetValue()
			}
		}
	}
	lists := map[string][]string{
		"authd_signups_total outcome=":    auth.SignUpOutcomes,
		"authd_logins_total outcome=":     auth.LoginOutcomes,
		"authd_refreshes_total outcome=":  auth.RefreshOutcomes,
		"authd_tokens_issued_total kind=": auth.TokenKinds,
	}
	for prefix, values := range lists {
		for _, v := range values {
			if _, ok := series[prefix+v]; !ok {
				t.Errorf("no series %s%s before its first event", prefix, v)
			}
		}
	}
	for key, want := range map[string]float64{
		"authd_logins_total outcome=locked":                                    1,
		"authd_logins_total outcome=success":                                   0,
		"authd_social_logins_total outcome=invalid_state provider=unknown":     1,
		"authd_build_info commit=0123456789ab goversion=go1.26 version=v1.2.3": 1,
		"authd_db_connections backend=postgres state=in_use":                   2,
		"authd_db_connections backend=postgres state=idle":                     3,
		"authd_db_max_connections backend=postgres":                            10,
		"authd_db_wait_total backend=postgres":                                 4,
		"authd_db_wait_seconds_total backend=postgres":                         1.5,
	} {
		if got, ok := series[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
}
