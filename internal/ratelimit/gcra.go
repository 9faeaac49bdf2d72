package ratelimit

import (
	"fmt"
	"time"

	"github.com/talentforge/authd/internal/auth"
)

// params is an auth.Rule in the integer milliseconds both implementations compute
// in.
type params struct {
	interval int64 // T: the time one attempt takes to come back
	tau      int64 // how far tat may run ahead of now: Limit × T
	maxLock  int64 // MaxLockout, 0 without escalation
	memory   int64 // StrikeMemory
}

// paramsOf converts an enabled, valid rule.
func paramsOf(r auth.Rule) params {
	p := params{
		interval: (r.Period / time.Duration(r.Limit)).Milliseconds(),
		memory:   StrikeMemory.Milliseconds(),
	}
	// Limit whole intervals rather than Period, so that a Period that is not
	// a multiple of Limit milliseconds still allows exactly Limit at once.
	p.tau = p.interval * int64(r.Limit)
	if r.MaxLockout > 0 {
		p.maxLock = max(r.MaxLockout.Milliseconds(), 1)
	}
	return p
}

// clampCost bounds cost to the values that make a difference, so that no
// product overflows (or, in Lua, loses precision): giving back more than
// Limit restores the full allowance as Limit does, and asking for more than
// Limit is refused whatever the amount (RetryAfter is then that of Limit+1).
func clampCost(cost, limit int) int64 { return int64(min(max(cost, -limit), limit+1)) }

// state is what is kept per (rule, key). The zero state is a key never seen.
type state struct {
	tat     int64 // theoretical arrival time (Unix ms): the allowance is full once now reaches it
	until   int64 // end of the lockout (Unix ms)
	strikes int64 // refusals that locked the key since the last time strikes were forgotten
	struck  int64 // time of the last of them (Unix ms)
}

// ttl is how long s must be kept, in ms: at most 0 once it says nothing the
// zero state would not, so that forgetting a key never changes an answer.
func (s state) ttl(now, memory int64) int64 {
	t := max(s.tat, s.until) - now
	if s.strikes > 0 {
		t = max(t, s.struck+memory-now)
	}
	return t
}

// step applies Allow(cost) at now to s, returning the new state and whether
// it must be stored (false: the stored state stays as it is). allow.lua is
// its transcription, line for line: change both together.
func step(s state, now int64, p params, cost int64) (state, auth.Decision, bool) {
	if s.strikes > 0 && now >= s.struck+p.memory {
		s.strikes, s.struck = 0, 0
	}
	if now < s.until {
		return s, refused(s.until-now, 0), false
	}
	tat := max(s.tat, now)
	switch {
	case cost < 0:
		s.tat = max(tat+cost*p.interval, now)
		return s, allowed(s.tat, now, p), true
	case cost == 0:
		if wait := tat + p.interval - p.tau - now; wait > 0 {
			return s, refused(wait, remaining(tat, now, p)), false
		}
		return s, allowed(tat, now, p), false
	}
	wait := tat + cost*p.interval - p.tau - now
	if wait <= 0 {
		s.tat = tat + cost*p.interval
		return s, allowed(s.tat, now, p), true
	}
	if p.maxLock == 0 {
		return s, refused(wait, remaining(tat, now, p)), false
	}
	// Refusals do not move tat: the lockout is the penalty.
	s.strikes++
	lock := wait
	for i := int64(1); i < s.strikes && lock < p.maxLock; i++ {
		lock *= 2
	}
	lock = min(lock, p.maxLock)
	s.until, s.struck = now+lock, now
	return s, refused(lock, 0), true
}

// remaining is how many attempts fit between tat and now + tau.
func remaining(tat, now int64, p params) int {
	return int(max((now+p.tau-tat)/p.interval, 0))
}

func allowed(tat, now int64, p params) auth.Decision {
	return auth.Decision{Allowed: true, Remaining: remaining(tat, now, p)}
}

func refused(waitMS int64, remaining int) auth.Decision {
	return auth.Decision{Remaining: remaining, RetryAfter: time.Duration(waitMS) * time.Millisecond}
}

// prepare validates rule and converts it; enabled is false for a rule that
// limits nothing.
func prepare(r auth.Rule) (p params, enabled bool, err error) {
	if err := r.Validate(); err != nil {
		return params{}, false, err
	}
	if !r.Enabled() {
		return params{}, false, nil
	}
	return paramsOf(r), true, nil
}

// prepareOps prepares the rule of each Allow of a batch: nil for a Reset
// (an error unless resets) and for a rule that limits nothing. It fails on the first invalid rule, so
// that a batch is refused before any of it is applied.
func prepareOps(ops []auth.LimitOp, resets bool) ([]*params, error) {
	ps := make([]*params, len(ops))
	for i, op := range ops {
		if op.Reset {
			if !resets {
				return nil, fmt.Errorf("rate limit %s: AllowAll can't reset", op.Rule.Name)
			}
			continue
		}
		p, enabled, err := prepare(op.Rule)
		if err != nil {
			return nil, err
		}
		if enabled {
			ps[i] = &p
		}
	}
	return ps, nil
}
