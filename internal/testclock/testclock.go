// Package testclock is a settable clock for tests: time passes only when the
// test says so. It is a regular (non-test) package so that the tests of any
// package can share it.
package testclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use. Pass its Now method wherever a
// func() time.Time clock is accepted.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock set to a fixed instant, 2026-01-02 03:04:05 UTC.
func New() *Clock { return At(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) }

// At returns a clock set to t.
func At(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
