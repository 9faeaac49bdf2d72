package ratelimit

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/auth"
)

// Metered counts the attempts a Limiter refuses, per rule, as
// authd_rate_limited_total{rule}: a rising count is a brute-force attempt
// (login-account, login-account-global, login-ip, client-ip) or a
// misbehaving client (refresh-ip).
type Metered struct {
	auth.Limiter
	refused *prometheus.CounterVec
}

// NewMetered wraps l and registers its counter on reg.
func NewMetered(l auth.Limiter, reg prometheus.Registerer) *Metered {
	m := &Metered{
		Limiter: l,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authd_rate_limited_total",
			Help: "Attempts refused by a rate limit or lockout, by rule.",
		}, []string{"rule"}),
	}
	reg.MustRegister(m.refused)
	return m
}

// Allow calls the wrapped Limiter and counts a refusal.
func (m *Metered) Allow(ctx context.Context, rule auth.Rule, key string, cost int) (auth.Decision, error) {
	d, err := m.Limiter.Allow(ctx, rule, key, cost)
	if err == nil && !d.Allowed && cost > 0 {
		m.refused.WithLabelValues(rule.Name).Inc()
	}
	return d, err
}

// Batch calls the wrapped Limiter and counts each refused attempt under its
// rule, as Allow does.
func (m *Metered) Batch(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ds, err := m.Limiter.Batch(ctx, ops)
	if err != nil {
		return ds, err
	}
	for i, d := range ds {
		if op := ops[i]; !op.Reset && !d.Allowed && op.Cost > 0 {
			m.refused.WithLabelValues(op.Rule.Name).Inc()
		}
	}
	return ds, nil
}

// AllowAll calls the wrapped Limiter and counts the refusal, if any.
func (m *Metered) AllowAll(ctx context.Context, ops []auth.LimitOp) ([]auth.Decision, error) {
	ds, err := m.Limiter.AllowAll(ctx, ops)
	if err != nil || len(ds) == 0 {
		return ds, err
	}
	if i := len(ds) - 1; !ds[i].Allowed && ops[i].Cost > 0 {
		m.refused.WithLabelValues(ops[i].Rule.Name).Inc()
	}
	return ds, nil
}
