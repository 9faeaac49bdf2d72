package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talentforge/authd/internal/testclock"
)

// sleeper is a worker whose requests take a fixed time on clk; it records
// when each one started. Starting and advancing happen under mu, so that
// concurrent requests pass the clock along one after the other and every
// run on it takes a number of requests that depends on nothing else.
type sleeper struct {
	clk    *testclock.Clock
	took   time.Duration
	mu     *sync.Mutex
	starts *[]time.Time
}

func (s *sleeper) Prepare(context.Context) error { return nil }

func (s *sleeper) Do(context.Context) Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.starts = append(*s.starts, s.clk.Now())
	s.clk.Advance(s.took)
	return Outcome{Status: 200}
}

// paced makes every call of a worker take step of clk's time, so that a run
// of d on clk ends after about d/step calls on any machine, however loaded.
// Prepare takes a step too: a worker that keeps failing to prepare must also
// bring the deadline closer.
type paced struct {
	Worker
	clk  *testclock.Clock
	step time.Duration
}

func (p paced) Prepare(ctx context.Context) error {
	defer p.clk.Advance(p.step)
	return p.Worker.Prepare(ctx)
}

func (p paced) Do(ctx context.Context) Outcome {
	defer p.clk.Advance(p.step)
	return p.Worker.Do(ctx)
}

// pace wraps each of ws in paced.
func pace(clk *testclock.Clock, step time.Duration, ws []Worker) []Worker {
	out := make([]Worker, len(ws))
	for i, w := range ws {
		out[i] = paced{Worker: w, clk: clk, step: step}
	}
	return out
}

// TestRunRespectsDuration runs workers whose requests take 20ms of a test
// clock for 150ms of it: the run's length, its request count and its
// latencies are exact, not estimates of a loaded machine's timing.
func TestRunRespectsDuration(t *testing.T) {
	const (
		d    = 150 * time.Millisecond
		took = 20 * time.Millisecond
	)
	sleepers := func(clk *testclock.Clock, n int) ([]Worker, *[]time.Time) {
		var (
			mu     sync.Mutex
			starts []time.Time
		)
		ws := make([]Worker, n)
		for i := range ws {
			ws[i] = &sleeper{clk: clk, took: took, mu: &mu, starts: &starts}
		}
		return ws, &starts
	}

	t.Run("one worker", func(t *testing.T) {
		clk := testclock.New()
		t0 := clk.Now()
		ws, starts := sleepers(clk, 1)
		s, err := run(t.Context(), clk.Now, ws, d)
		if err != nil {
			t.Fatal(err)
		}
		// Requests start at 0, 20, …, 140ms: none at or after 150ms, and the
		// one in flight at the deadline completes and counts.
		var want []time.Time
		for at := time.Duration(0); at < d; at += took {
			want = append(want, t0.Add(at))
		}
		if !slices.Equal(*starts, want) {
			t.Errorf("requests started at %v, want %v", *starts, want)
		}
		if s.Requests != len(want) || s.Elapsed != time.Duration(len(want))*took {
			t.Errorf("%d requests in %v, want %d in %v", s.Requests, s.Elapsed, len(want), time.Duration(len(want))*took)
		}
		if s.P50 != took || s.Max != took {
			t.Errorf("latency p50 %v, max %v; want %v, as the clock measured", s.P50, s.Max, took)
		}
	})

	t.Run("four workers", func(t *testing.T) {
		const workers = 4
		clk := testclock.New()
		ws, starts := sleepers(clk, workers)
		s, err := run(t.Context(), clk.Now, ws, d)
		if err != nil {
			t.Fatal(err)
		}
		if s.Requests != len(*starts) {
			t.Errorf("%d requests counted, %d sent: in-flight requests at the deadline must complete and count", s.Requests, len(*starts))
		}
		// Only requests move the clock, so the run lasted exactly its
		// requests. It ends once 150ms have passed, after 8 requests (160ms),
		// plus at most one in flight per other worker.
		if s.Elapsed != time.Duration(s.Requests)*took {
			t.Errorf("elapsed %v for %d requests of %v", s.Elapsed, s.Requests, took)
		}
		if minimum := int((d + took - 1) / took); s.Requests < minimum || s.Requests > minimum+workers-1 {
			t.Errorf("%d requests, want %d to %d", s.Requests, minimum, minimum+workers-1)
		}
	})
}

// blocked is a worker whose one request lasts until the run is cancelled;
// started is closed when it has begun.
type blocked struct {
	started chan struct{}
	once    *sync.Once
}

func (blocked) Prepare(context.Context) error { return nil }

func (b blocked) Do(ctx context.Context) Outcome {
	b.once.Do(func() { close(b.started) })
	<-ctx.Done()
	return Outcome{Err: ctx.Err()}
}

// TestRunStopsWhenCancelled cancels a run whose clock never moves: only the
// cancellation can end it, so a run that ignored it would hang (and the test
// time out) rather than pass by chance.
func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := blocked{started: make(chan struct{}), once: new(sync.Once)}
	go func() {
		<-w.started
		cancel()
	}()
	s, err := run(ctx, testclock.New().Now, []Worker{w}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 0 || s.ErrorCount() != 0 {
		t.Errorf("a request cut short by the caller counted: %+v", s)
	}
}

// unprepared sends no request to prepare, so that the server sees only the
// timed ones.
type unprepared struct{ *bearerWorker }

func (unprepared) Prepare(context.Context) error { return nil }

// TestRunCountsOnlySuccesses drives a real HTTP server that fails one
// request in three: the failures appear by status, never as throughput.
func TestRunCountsOnlySuccesses(t *testing.T) {
	var n, ok, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			failed.Add(1)
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		ok.Add(1)
		w.Write([]byte(bareBody))
	}))
	defer srv.Close()
	tg := &target{client: NewClient(4), base: srv.URL}
	ws := make([]Worker, 4)
	for i := range ws {
		ws[i] = unprepared{&bearerWorker{t: tg, path: pathVerify, token: "t"}}
	}
	// Each request takes 1ms of the test clock: about 100 in all.
	clk := testclock.New()
	ws = pace(clk, time.Millisecond, ws)
	s, err := run(t.Context(), clk.Now, ws, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if int64(s.Requests) != ok.Load() || int64(s.Errors["500"]) != failed.Load() || len(s.Errors) != 1 {
		t.Errorf("counted %d ok and errors %v; the server sent %d ok and %d failures", s.Requests, s.Errors, ok.Load(), failed.Load())
	}
	if s.Requests == 0 || s.Rate() != float64(s.Requests)/s.Elapsed.Seconds() {
		t.Errorf("rate %v from %d requests in %v", s.Rate(), s.Requests, s.Elapsed)
	}

	// Nothing listens any more: every request is a transport error.
	srv.Close()
	s, err = run(t.Context(), clk.Now, ws[:1], 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 0 || s.Rate() != 0 || s.Errors[ErrTransport] == 0 {
		t.Errorf("against a closed server: %d requests, rate %v, errors %v", s.Requests, s.Rate(), s.Errors)
	}
}
