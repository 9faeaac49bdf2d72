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
)

// sleeper is a worker whose requests take a fixed time; it records when
// each one started.
type sleeper struct {
	took   time.Duration
	mu     *sync.Mutex
	starts *[]time.Time
}

func (s *sleeper) Prepare(context.Context) error { return nil }

func (s *sleeper) Do(ctx context.Context) Outcome {
	s.mu.Lock()
	*s.starts = append(*s.starts, time.Now())
	s.mu.Unlock()
	select {
	case <-time.After(s.took):
		return Outcome{Status: 200}
	case <-ctx.Done():
		return Outcome{Err: ctx.Err()}
	}
}

func TestRunRespectsDuration(t *testing.T) {
	const (
		d    = 150 * time.Millisecond
		took = 20 * time.Millisecond
	)
	var (
		mu     sync.Mutex
		starts []time.Time
	)
	ws := make([]Worker, 4)
	for i := range ws {
		ws[i] = &sleeper{took: took, mu: &mu, starts: &starts}
	}
	t0 := time.Now()
	s, err := run(t.Context(), ws, d)
	wall := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	first := slices.MinFunc(starts, time.Time.Compare)
	// The clock starts at or before the first request, so no request may
	// start later than d after it.
	for _, st := range starts {
		if st.Sub(first) >= d {
			t.Errorf("a request started %v after the first, past the %v duration", st.Sub(first), d)
		}
	}
	if s.Requests != len(starts) {
		t.Errorf("%d requests counted, %d sent: in-flight requests at the deadline must complete and count", s.Requests, len(starts))
	}
	// A closed loop of 4 workers at 20ms a request sends about 4*150/20.
	if s.Requests < 4*int(d/took)/2 {
		t.Errorf("only %d requests in %v", s.Requests, d)
	}
	// Elapsed covers the duration plus at most one request's tail (and
	// scheduling slack under the race detector).
	if s.Elapsed < d || s.Elapsed > d+took+150*time.Millisecond {
		t.Errorf("elapsed %v, want %v plus at most one request", s.Elapsed, d)
	}
	if wall > d+took+250*time.Millisecond {
		t.Errorf("run took %v for a %v duration", wall, d)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var (
		mu     sync.Mutex
		starts []time.Time
	)
	ws := []Worker{&sleeper{took: time.Hour, mu: &mu, starts: &starts}}
	time.AfterFunc(50*time.Millisecond, cancel)
	t0 := time.Now()
	s, err := run(ctx, ws, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(t0) > 2*time.Second {
		t.Fatalf("run went on %v after cancellation", time.Since(t0))
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
	s, err := run(t.Context(), ws, 100*time.Millisecond)
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
	s, err = run(t.Context(), ws[:1], 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 0 || s.Rate() != 0 || s.Errors[ErrTransport] == 0 {
		t.Errorf("against a closed server: %d requests, rate %v, errors %v", s.Requests, s.Rate(), s.Errors)
	}
}
