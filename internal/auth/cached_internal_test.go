package auth

import (
	"testing"
	"time"
)

// TestSessionStateActive pins each condition of a cached session state on
// its own: the loader also refuses ended sessions, so a condition dropped
// here would otherwise go unnoticed until a state reached the cache by
// another way.
func TestSessionStateActive(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	live := func() *sessionState {
		return &sessionState{Found: true, ExpiresAt: now.Add(time.Hour), User: &User{Status: StatusActive}}
	}
	if !live().active(now) {
		t.Fatal("a live state is not active")
	}
	for name, change := range map[string]func(*sessionState){
		"not found":     func(st *sessionState) { st.Found = false },
		"revoked":       func(st *sessionState) { st.RevokedAt = now.Add(-time.Second) },
		"revoked later": func(st *sessionState) { st.RevokedAt = now.Add(time.Second) },
		"expired":       func(st *sessionState) { st.ExpiresAt = now },
		"no user":       func(st *sessionState) { st.User = nil },
		"user disabled": func(st *sessionState) { st.User.Status = StatusDisabled },
	} {
		st := live()
		change(st)
		if st.active(now) {
			t.Errorf("%s: active", name)
		}
	}
}
