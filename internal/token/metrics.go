package token

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the key metrics, read at scrape time from the key set
// this replica holds: an alert on the signing key's age catches a rotation
// that stopped (AUTH_KEY_ROTATION_PERIOD), a published count of zero a
// replica that can't verify anything.
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authd_signing_key_age_seconds",
			Help: "Age of the key that signs new tokens, since it was created (0 when none can sign).",
		}, func() float64 {
			now := m.now()
			if e := m.keys.Load().current(now); e != nil {
				return now.Sub(e.createdAt).Seconds()
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authd_signing_keys_published",
			Help: "Public keys in the JWKS this replica serves.",
		}, func() float64 {
			keys, _ := m.keys.Load().published(m.now())
			return float64(len(keys))
		}),
	}
}
