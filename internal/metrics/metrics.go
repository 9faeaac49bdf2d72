// Package metrics holds the Prometheus metrics that belong to no single
// infrastructure package: the domain's outcomes (an auth.Observer) and the
// build information. The packages that own a resource export its metrics
// themselves (the database pools, Redis, the password hasher, the cache,
// the token manager, the outbox, the HTTP layer).
//
// Every label value comes from a fixed list, so no metric's series grow
// with traffic: never a user id, email, client id or raw path.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/talentforge/authd/internal/auth"
)

// Auth counts the domain's outcomes; it implements auth.Observer.
type Auth struct {
	signUps, logins, refreshes, tokens *prometheus.CounterVec
}

var _ auth.Observer = (*Auth)(nil)

// NewAuth registers the outcome counters on reg, each outcome at zero, so
// that rate() and alerts see a series before its first event.
func NewAuth(reg prometheus.Registerer) *Auth {
	counter := func(name, help, label string, values []string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
		for _, v := range values {
			c.WithLabelValues(v)
		}
		reg.MustRegister(c)
		return c
	}
	return &Auth{
		signUps: counter("authd_signups_total",
			"Self-service sign-ups by outcome.", "outcome", auth.SignUpOutcomes),
		logins: counter("authd_logins_total",
			"Password logins by outcome (locked: an account lockout; rate_limited: the per-IP limit).", "outcome", auth.LoginOutcomes),
		refreshes: counter("authd_refreshes_total",
			"Refresh-token exchanges by outcome (reuse_detected: a retired token presented again; its session was revoked).", "outcome", auth.RefreshOutcomes),
		tokens: counter("authd_tokens_issued_total",
			"Tokens issued by kind: access (users'), refresh, client (service clients' access tokens).", "kind", auth.TokenKinds),
	}
}

func (a *Auth) SignUp(outcome string)   { a.signUps.WithLabelValues(outcome).Inc() }
func (a *Auth) Login(outcome string)    { a.logins.WithLabelValues(outcome).Inc() }
func (a *Auth) Refresh(outcome string)  { a.refreshes.WithLabelValues(outcome).Inc() }
func (a *Auth) TokenIssued(kind string) { a.tokens.WithLabelValues(kind).Inc() }

// NewSocial registers authd_social_logins_total and returns the
// auth.SocialConfig.Observe that counts into it. Provider names are the
// configured ones (or "unknown"), so the label set stays bounded whatever
// callbacks strangers send.
func NewSocial(reg prometheus.Registerer) func(provider, outcome string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authd_social_logins_total",
		Help: "Social sign-in callbacks by provider and outcome: success, or the error code sent back to the app.",
	}, []string{"provider", "outcome"})
	reg.MustRegister(c)
	return func(provider, outcome string) {
		if provider == "" {
			provider = "unknown"
		}
		c.WithLabelValues(provider, outcome).Inc()
	}
}

// RegisterBuildInfo registers authd_build_info, always 1, whose labels say
// which build runs: dashboards join on it to show versions during a rollout.
func RegisterBuildInfo(reg prometheus.Registerer, version, commit, goVersion string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "authd_build_info",
		Help:        "The running build: version, commit and Go version as labels; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": goVersion},
	})
	g.Set(1)
	reg.MustRegister(g)
}
