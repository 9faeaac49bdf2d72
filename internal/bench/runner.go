package bench

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// A Worker is one virtual user of a scenario. The runner calls its methods
// from one goroutine only.
type Worker interface {
	// Prepare readies the worker (logs in). The runner calls it before the
	// clock starts, and during the run after an Outcome with Reset; it is
	// never timed.
	Prepare(ctx context.Context) error
	// Do sends one request and reports its outcome.
	Do(ctx context.Context) Outcome
}

// run prepares every worker, then runs them in a closed loop: each worker
// sends its next request as soon as the previous one returns, until d has
// elapsed since the first request. No request starts after the deadline;
// requests in flight at the deadline complete and are counted, and Elapsed
// runs until the last of them returns. RequestTimeout bounds that tail.
//
// Preparation runs at most GOMAXPROCS workers at once: it is a login each,
// which costs the server a password hash, and a burst of them would only
// queue behind the server's hashing slots and time out. run fails if a
// worker can't be prepared or ctx ends before the first request. When ctx
// ends during the run, the workers stop and the requests it cut short are
// not counted.
//
// Every time (the deadline, Elapsed, latencies) is read from now: time.Now
// in a real run. Tests pass a clock that their workers advance, so that a
// run's length is a number of requests rather than an amount of wall time,
// the same on a loaded machine as on an idle one.
func run(ctx context.Context, now func() time.Time, workers []Worker, d time.Duration) (Summary, error) {
	if err := prepareAll(ctx, workers); err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	return runPrepared(ctx, now, workers, d), nil
}

// runPrepared is run for workers already prepared.
func runPrepared(ctx context.Context, now func() time.Time, workers []Worker, d time.Duration) Summary {
	all := make([]*stats, len(workers))
	for i := range all {
		all[i] = newStats()
	}
	var wg sync.WaitGroup
	start := now()
	deadline := start.Add(d)
	for i, w := range workers {
		wg.Go(func() { loop(ctx, now, w, all[i], deadline) })
	}
	wg.Wait()
	return summarize(now().Sub(start), all)
}

// loop is one worker's closed loop.
func loop(ctx context.Context, now func() time.Time, w Worker, s *stats, deadline time.Time) {
	reset := false
	for ctx.Err() == nil && now().Before(deadline) {
		if reset {
			if err := w.Prepare(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.errors[ErrSetup]++
				continue
			}
			reset = false
			// Preparing may have taken the worker past the deadline.
			continue
		}
		t0 := now()
		o := w.Do(ctx)
		took := now().Sub(t0)
		if ctx.Err() != nil {
			return // cut short by the caller, not a failure of the server
		}
		s.record(o, took)
		reset = o.Reset
	}
}

// prepareAll prepares the workers, GOMAXPROCS at a time, and returns the
// first failure (they tend to fail alike: one is enough to read).
func prepareAll(ctx context.Context, workers []Worker) error {
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := w.Prepare(ctx); err != nil {
				errs[i] = fmt.Errorf("prepare worker %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			first = cmp.Or(first, err)
			failed++
		}
	}
	if failed > 1 {
		return fmt.Errorf("%w (and %d more workers)", first, failed-1)
	}
	return first
}
